//! `db copy --to URL` as an admin moves a circle (issue 13, part 7): a
//! circle on SQLite with a pending forward is copied to PostgreSQL; the
//! daemon, now on PostgreSQL, ties the member's reply to its request and
//! introduces; the history is copied back to SQLite and reads the same.
//! The daemon runs as a real process with Maildir in and out.

#[path = "maildir_support/mod.rs"]
mod support;

mod common;

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

fn cli(config: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .unwrap()
}

fn ok(config: &Path, args: &[&str]) -> String {
    let out = cli(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(config: &Path, args: &[&str]) -> String {
    let out = cli(config, args);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

struct Daemon(Child);

impl Daemon {
    fn start(config: &Path) -> Self {
        Self(
            Command::new(BIN)
                .arg("--config")
                .arg(config)
                .arg("run")
                .env("RUST_LOG", "warn")
                .spawn()
                .unwrap(),
        )
    }

    /// SIGTERM, and wait until it has exited (its lease given back).
    fn stop(mut self) {
        let pid = self.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn until_lease(url: &str) {
    let store = common::store_at(url).await;
    let start = Instant::now();
    while store
        .running_daemon(jiff::Timestamp::now().as_second())
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the daemon never took the inbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store.close().await;
}

fn use_database(config: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    assert!(text.contains(from));
    std::fs::write(config, text.replace(from, to)).unwrap();
}

/// Every table's rows, as text, to compare two databases outright.
async fn dump(url: &str) -> Vec<(String, Vec<String>)> {
    let store = common::store_at(url).await;
    let mut out = Vec::new();
    for (table, cols) in [
        ("members", "id, email, name, status"),
        (
            "requests",
            "id, inbound_id, requester_email, subject, status, wave",
        ),
        (
            "forwards",
            "id, request_id, member_id, wave, state, message_id",
        ),
        (
            "outbox",
            "id, kind, to_email, message_id, status, request_id",
        ),
        ("inbound_messages", "id, message_id, kind, outcome"),
        ("replies", "id, inbound_id, request_id, forward_id, intent"),
        ("introductions", "id, request_id, forward_id, member_id"),
    ] {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM {table} ORDER BY id"
        )))
        .fetch_all(store.pool())
        .await
        .unwrap();
        let text = rows
            .iter()
            .map(|r| {
                use sqlx::Row;
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<i64>, _>(i)
                            .map(|v| format!("{v:?}"))
                            .or_else(|_| {
                                r.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}"))
                            })
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        out.push((table.to_string(), text));
    }
    store.close().await;
    out
}

const REQUEST: &str = "From: Greg Miller <greg@school.example>\nTo: circle@circle.test\n\
    Subject: First aid course for our teachers\nMessage-ID: <copy-1@school.example>\n\
    Content-Type: text/plain; charset=UTF-8\n\n\
    Our school in Tokyo needs a nurse to teach a first aid course to 15 teachers.\n";

#[tokio::test]
async fn sqlite_to_postgres_and_back_keeps_a_pending_forward_tied_to_its_request() {
    let dir = tempfile::tempdir().unwrap();
    support::config(dir.path());
    let config = dir.path().join("circle-relay.toml");
    let sqlite = format!("sqlite://{}", dir.path().join("relay.db").display());
    std::fs::write(dir.path().join("m.csv"), support::MEMBERS).unwrap();
    ok(
        &config,
        &[
            "members",
            "import",
            dir.path().join("m.csv").to_str().unwrap(),
        ],
    );
    ok(
        &config,
        &[
            "members",
            "pause",
            "dan@example.org",
            "--until",
            "2031-01-31",
        ],
    );

    let daemon = Daemon::start(&config);
    until_lease(&sqlite).await;
    support::drop_in(&dir.path().join("inbox"), "1.eml", REQUEST);
    let sent = dir.path().join("sent/new");
    let files = support::until_files(&sent, 2).await;
    let forward = files
        .iter()
        .map(|f| support::parsed(f))
        .find(|(to, _, _)| to == "aiko@example.org")
        .expect("a forward to the nurse");

    let postgres = common::fresh_postgres_url().await;
    let err = fails(&config, &["db", "copy", "--to", &postgres]);
    assert!(
        err.contains("a daemon (")
            && err.contains(") is reading the inbox of this database: stop every daemon first"),
        "{err}"
    );
    daemon.stop();

    let out = ok(&config, &["db", "copy", "--to", &postgres]);
    assert!(out.starts_with("copying sqlite://"), "{out}");
    for (table, rows) in [
        ("members", 2),
        ("requests", 1),
        ("forwards", 1),
        ("outbox", 2),
        ("inbound_messages", 1),
    ] {
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>()[..]
                    == [table, &rows.to_string(), "rows,", "same", "in", "both"]),
            "{table}: {out}"
        );
    }
    assert!(
        !out.lines().any(|l| l.trim_start().starts_with("leases ")),
        "leases are not copied: {out}"
    );
    assert!(out.contains("leases start afresh"), "{out}");
    let before = dump(&sqlite).await;
    assert_eq!(dump(&postgres).await, before);
    let err = fails(&config, &["db", "copy", "--to", &postgres]);
    assert!(err.contains("the target database is not empty: "), "{err}");

    // On PostgreSQL now: the nurse answers her forward; it ties to request 1.
    use_database(&config, &sqlite, &postgres);
    let listed = ok(&config, &["members", "list"]);
    assert!(
        listed.contains("dan@example.org") && listed.contains("paused"),
        "{listed}"
    );
    let daemon = Daemon::start(&config);
    until_lease(&postgres).await;
    let reply = format!(
        "From: Aiko Sato <aiko@example.org>\nTo: circle@circle.test\nSubject: Re: {}\n\
         In-Reply-To: <{id}>\nReferences: <{id}>\nMessage-ID: <copy-reply@example.org>\n\
         Content-Type: text/plain; charset=UTF-8\n\nはい、お受けします。\n",
        forward.2.lines().next().unwrap(),
        id = forward.1,
    );
    support::drop_in(&dir.path().join("inbox"), "2.eml", &reply);
    let files = support::until_files(&sent, 4).await;
    let mut to: Vec<String> = files.iter().map(|f| support::parsed(f).0).collect();
    to.sort();
    assert_eq!(
        to,
        [
            "aiko@example.org",
            "aiko@example.org",
            "greg@school.example",
            "greg@school.example"
        ],
        "forward, acknowledgement and the two introductions"
    );
    let show = ok(&config, &["requests", "show", "1"]);
    assert!(show.contains("Status:   filled"), "{show}");
    assert!(
        show.contains("aiko@example.org") && show.contains("accepted"),
        "{show}"
    );
    daemon.stop();

    // And back to a new SQLite file: the same history, the same story.
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    ok(&config, &["db", "copy", "--to", &back]);
    assert_eq!(dump(&back).await, dump(&postgres).await);
    use_database(&config, &postgres, &back);
    assert_eq!(ok(&config, &["requests", "show", "1"]), show);
}
