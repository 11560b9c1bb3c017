//! The inbox tests' side of IMAP: sessions, folders, a recording handler
//! and a background reader over the real Dovecot.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_imap::Session;
use circle_relay::config::{DatabaseConfig, DatabaseUrl, InboxConfig, InboxKind, Tls};
use circle_relay::inbox::{HandleError, Handled, InboundMail, MessageHandler};
use circle_relay::store::Store;
use circle_relay::store::Tx;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;

use super::*;

pub type TestSession = Session<TcpStream>;

pub async fn imap_login(user: &str) -> TestSession {
    let tcp = TcpStream::connect(*IMAP).await.expect("IMAP connect");
    let mut client = async_imap::Client::new(tcp);
    client
        .read_response()
        .await
        .expect("greeting")
        .expect("greeting");
    client
        .login(format!("{user}@{DOMAIN}"), "test")
        .await
        .map_err(|e| e.0)
        .expect("login")
}

/// `items` of every message in the selected folder, in one UID FETCH.
pub async fn fetch_all(s: &mut TestSession, items: &str) -> Vec<async_imap::types::Fetch> {
    let uids = s.uid_search("ALL").await.expect("search");
    if uids.is_empty() {
        return Vec::new();
    }
    let set: Vec<String> = uids.iter().map(u32::to_string).collect();
    s.uid_fetch(set.join(","), items)
        .await
        .expect("fetch")
        .try_collect()
        .await
        .expect("fetch")
}

/// Message-IDs of every message in `folder` (deleted-flagged ones included);
/// empty when the folder does not exist.
pub async fn folder_message_ids(user: &str, folder: &str) -> Vec<String> {
    let mut s = imap_login(user).await;
    if s.examine(folder).await.is_err() {
        let _ = s.logout().await;
        return Vec::new();
    }
    let mut ids = Vec::new();
    for f in &fetch_all(&mut s, "(UID BODY.PEEK[HEADER])").await {
        let header = f.header().unwrap_or_default();
        let m = mail_parser::MessageParser::new().parse_headers(header);
        ids.push(
            m.and_then(|m| m.message_id().map(|x| format!("<{x}>")))
                .unwrap_or_default(),
        );
    }
    ids.sort();
    let _ = s.logout().await;
    ids
}

pub fn imap_config(user: &str) -> InboxConfig {
    InboxConfig {
        kind: InboxKind::Imap,
        host: "localhost".into(),
        port: IMAP.1,
        tls: Tls::Starttls,
        username: format!("{user}@{DOMAIN}"),
        password: circle_relay::config::Secret::new("test"),
        poll_seconds: 1,
        ..InboxConfig::default()
    }
}

pub fn ca_file() -> PathBuf {
    stack_dir().join("ssl/ca.pem")
}

pub async fn temp_store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let config = DatabaseConfig {
        url: DatabaseUrl::new(url),
        ..DatabaseConfig::default()
    };
    Store::connect(&config).await.expect("store")
}

/// A handler that records what it saw and writes one effect row (in the
/// `leases` table) inside the runner's transaction. Subjects containing
/// "FAIL" are refused permanently.
/// Message-ID (in brackets) and when the handler saw it.
pub type Seen = (Option<String>, Instant);

#[derive(Clone, Default)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub notify: Arc<Notify>,
}

impl Recorder {
    pub fn message_ids(&self) -> Vec<String> {
        let seen = self.seen.lock().expect("recorder lock");
        let mut ids: Vec<String> = seen.iter().filter_map(|(m, _)| m.clone()).collect();
        ids.sort();
        ids
    }

    pub fn count(&self) -> usize {
        self.seen.lock().expect("recorder lock").len()
    }
}

impl MessageHandler for Recorder {
    type Prepared = ();

    async fn prepare(&self, _raw: &[u8]) -> Result<(), HandleError> {
        Ok(())
    }

    async fn handle(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        (): (),
    ) -> Result<Handled, HandleError> {
        let text = String::from_utf8_lossy(mail.raw);
        if text.contains("Subject: FAIL") {
            return Err(HandleError::Permanent(
                "test handler refuses FAIL subjects".into(),
            ));
        }
        sqlx::query("INSERT INTO leases (name, holder, expires_at) VALUES ($1, 'test', 0)")
            .bind(format!("effect:{}", mail.inbound_id))
            .execute(&mut **tx)
            .await?;
        let id = mail.message_id.map(|m| format!("<{m}>"));
        self.seen
            .lock()
            .expect("recorder lock")
            .push((id, Instant::now()));
        self.notify.notify_waiters();
        Ok(Handled::processed("request"))
    }
}

pub async fn effect_rows(store: &Store) -> i64 {
    use sqlx::Row;
    let row = sqlx::query("SELECT COUNT(*) AS n FROM leases WHERE name LIKE 'effect:%'")
        .fetch_one(store.pool())
        .await
        .expect("count");
    row.try_get("n").expect("n")
}

/// A reader running in the background until [`Reader::stop`].
pub struct Reader {
    trigger: circle_relay::shutdown::ShutdownTrigger,
    handle: tokio::task::JoinHandle<()>,
}

impl Reader {
    pub fn spawn(
        inbox: circle_relay::inbox::Inbox,
        store: Store,
        handler: Recorder,
        hook: Option<circle_relay::inbox::AfterCommitHook>,
    ) -> Self {
        // Logs stay silent unless asked for with RUST_LOG.
        if std::env::var_os("RUST_LOG").is_some() {
            circle_relay::telemetry::init(circle_relay::config::LogFormat::Text, "info");
        }
        let (trigger, shutdown) = circle_relay::shutdown::ShutdownTrigger::new();
        let handle = tokio::spawn(async move {
            let mut inbox = inbox;
            let options = circle_relay::inbox::RunOptions {
                batch_size: 50,
                after_commit: hook,
            };
            circle_relay::inbox::run_inbox(&mut inbox, &store, &handler, &options, shutdown).await;
        });
        Self { trigger, handle }
    }

    /// Asks the reader to stop and waits for it; Err when it panicked.
    pub async fn stop(self) -> Result<(), tokio::task::JoinError> {
        self.trigger.trigger();
        self.handle.await
    }

    /// Waits for the reader task to end by itself (e.g. a crash hook).
    pub async fn join(self) -> Result<(), tokio::task::JoinError> {
        self.handle.await
    }
}

/// An IMAP inbox on the stack for `user` over STARTTLS, retrying fast.
pub fn imap_inbox(user: &str, max_message_bytes: u64) -> circle_relay::inbox::Inbox {
    let mut config = imap_config(user);
    config.max_message_bytes = max_message_bytes;
    let timeouts = circle_relay::inbox::ImapTimeouts {
        command: Duration::from_secs(10),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        ..circle_relay::inbox::ImapTimeouts::default()
    };
    let inbox = circle_relay::inbox::ImapInbox::with_timeouts(config, timeouts)
        .expect("inbox config")
        .with_extra_ca(ca_file());
    circle_relay::inbox::Inbox::Imap(Box::new(inbox))
}
