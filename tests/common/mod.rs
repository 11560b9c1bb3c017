//! Shared test helpers: fresh databases on both backends.
//!
//! PostgreSQL comes from `TEST_POSTGRES_URL` (an admin URL, set by
//! scripts/test.sh after deploy/postgres/up.sh). A test that needs it fails
//! when it is missing: nothing is skipped silently.
// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use circle_relay::config::{DatabaseConfig, DatabaseUrl};
use circle_relay::store::Store;
use sqlx::Connection;

pub const POSTGRES_ENV: &str = "TEST_POSTGRES_URL";

pub fn postgres_admin_url() -> String {
    std::env::var(POSTGRES_ENV).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_ENV} is not set: run the tests through scripts/test.sh, \
             which starts PostgreSQL (deploy/postgres/up.sh)"
        )
    })
}

/// A database URL of a new, empty PostgreSQL database.
pub async fn fresh_postgres_url() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let admin = postgres_admin_url();
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond() % 1_000_000
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {admin}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

/// A database URL of a new SQLite file inside `dir`.
pub fn fresh_sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("circle-relay.db").display())
}

pub async fn store_at(url: &str) -> Store {
    let config = DatabaseConfig {
        url: DatabaseUrl::new(url),
        max_connections: 5,
    };
    Store::connect(&config).await.expect("connect and migrate")
}

/// One fresh, migrated store per backend, labelled for assertion messages.
/// Keep the returned TempDir alive as long as the SQLite store is used.
pub async fn stores() -> (tempfile::TempDir, Vec<(&'static str, Store)>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = store_at(&fresh_sqlite_url(&dir)).await;
    let postgres = store_at(&fresh_postgres_url().await).await;
    (dir, vec![("sqlite", sqlite), ("postgres", postgres)])
}

/// GET `path` from the daemon's listener: (status line, body).
pub async fn http_get(address: &str, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// The value of one sample line (`name{labels} value`) in a Prometheus page; 0 when absent.
pub fn sample(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

/// What the relay's outbox delivers to a Maildir, read back mail by mail:
/// each [`Delivered::new_mail`] drains the outbox with the test's clock and
/// returns the mails that arrived since the last call.
pub struct Delivered {
    dir: tempfile::TempDir,
    seen: std::collections::HashSet<std::path::PathBuf>,
}

impl Delivered {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            seen: Default::default(),
        }
    }

    /// Mails delivered since the last call: (recipient, decoded subject +
    /// text), sorted.
    pub async fn new_mail(
        &mut self,
        store: &Store,
        now: std::sync::Arc<std::sync::atomic::AtomicI64>,
    ) -> Vec<(String, String)> {
        use circle_relay::config::{OutboundConfig, OutboundKind};
        let transport = circle_relay::outbox::Transport::from_config(&OutboundConfig {
            kind: OutboundKind::Maildir,
            path: self.dir.path().display().to_string(),
            ..OutboundConfig::default()
        })
        .unwrap();
        circle_relay::outbox::Sender::new(
            store.clone(),
            transport,
            circle_relay::domain::EmailAddress::parse("circle@circle.test").unwrap(),
            50,
        )
        .with_clock(std::sync::Arc::new(move || now.load(Ordering::SeqCst)))
        .drain()
        .await
        .unwrap();
        let fresh: Vec<_> = std::fs::read_dir(self.dir.path().join("new"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| self.seen.insert(p.clone()))
            .collect();
        let mut mails: Vec<(String, String)> = fresh.iter().map(|p| read_mail(p)).collect();
        mails.sort();
        mails
    }
}

fn read_mail(path: &std::path::Path) -> (String, String) {
    let raw = std::fs::read(path).unwrap();
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    let to = m.to().and_then(|a| a.first()).and_then(|a| a.address());
    let text = m.body_text(0).unwrap_or_default();
    (
        to.unwrap_or("").to_string(),
        format!("{}\n{text}", m.subject().unwrap_or("")),
    )
}

/// The recipients of [`Delivered::new_mail`]'s mails, in its order.
pub fn recipients(mails: &[(String, String)]) -> Vec<&str> {
    mails.iter().map(|(to, _)| to.as_str()).collect()
}
