//! Mail queued by another process goes out at once (issue 13, part 4): the
//! daemon runs as a real process on the mail stack; `digest send` queues from
//! the command line; the digests are in the members' mailboxes within 2 s,
//! on SQLite (PRAGMA data_version) and PostgreSQL (LISTEN/NOTIFY). Without a
//! daemon, `digest send --now` sends them itself, through the same claim.

#[path = "inbox_support/mod.rs"]
mod support;

mod common;

use std::time::{Duration, Instant};

use support::{
    DaemonProcess, circle_config, cli, import_members, inbox_mails, send_text, until_inbox,
};

const TARGET: Duration = Duration::from_secs(2);

/// The mail stack users of one run (runs go in parallel, each with its own).
struct Users {
    relay: &'static str,
    members: [&'static str; 2],
    asker: &'static str,
}

const SQLITE_USERS: Users = Users {
    relay: "relaywake",
    members: ["wakemem1", "wakemem2"],
    asker: "wakeasker",
};
const POSTGRES_USERS: Users = Users {
    relay: "relaywakepg",
    members: ["wakepg1", "wakepg2"],
    asker: "wakepgasker",
};
const NOW_USERS: Users = Users {
    relay: "relayout",
    members: ["outmem1", "outmem2"],
    asker: "outasker",
};

/// A circle at `users.relay` with the two members, on `db`.
fn config(dir: &std::path::Path, db: &str, users: &Users) -> std::path::PathBuf {
    for u in [users.relay, users.asker].iter().chain(&users.members) {
        support::reset_user(u);
    }
    let config = circle_config(
        dir,
        users.relay,
        db,
        &[],
        "[security]\ntoken_secret = \"wake-up-test-secret-1234\"\n",
    );
    let [a, b] = users.members;
    import_members(
        &config,
        &format!(
            "email,name,skills,bio,languages,region,status\n\
             {a}@circle.test,Amy Clark,registered nurse,Nurse.,en,Tokyo,\n\
             {b}@circle.test,木村 千恵,看護師,看護師です。,ja,東京,\n"
        ),
    );
    config
}

/// Waits until a daemon holds the inbox lease (it is running and sending).
async fn until_daemon_runs(db: &str) {
    let store = common::store_at(db).await;
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

async fn queued_by_the_cli_arrives_at_once(db: &str, label: &str, users: &Users) {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), db, users);
    let _daemon = DaemonProcess::run(&config);
    until_daemon_runs(db).await;
    // A request nobody fits: once its notice has arrived, the daemon's sender
    // has drained and sleeps; only a wake-up makes it send again soon.
    send_text(
        &format!("{}@circle.test", users.asker),
        &format!("{}@circle.test", users.relay),
        "Need a plumber this week",
        "",
        "Our sink is leaking. Anyone who does plumbing?",
    )
    .await;
    until_inbox(users.asker, 1, Duration::from_secs(30)).await;

    let started = Instant::now();
    let out = cli(&config, &["digest", "send"]);
    let committed = Instant::now();
    assert!(
        out.contains(": 2 queued, 0 already sent this week"),
        "{label}: {out}"
    );
    assert!(
        out.contains("the running daemon (") && out.contains(") sends them now: "),
        "{label}: {out}"
    );
    let a = until_inbox(users.members[0], 1, Duration::from_secs(30)).await;
    let b = until_inbox(users.members[1], 1, Duration::from_secs(30)).await;
    let took = committed.elapsed();
    println!(
        "{label}: the digests were in both mailboxes {took:?} after `digest send` returned \
         ({:?} after it started)",
        started.elapsed()
    );
    assert!(
        took <= TARGET,
        "{label}: {took:?} from the CLI's commit to the mailboxes (target {TARGET:?})"
    );
    assert!(
        a[0].subject.contains("Care Circle"),
        "{label}: {}",
        a[0].subject
    );
    assert!(
        b[0].subject.contains("Care Circle"),
        "{label}: {}",
        b[0].subject
    );

    // Again: nothing new is queued, and the daemon's claims left nothing due.
    let out = cli(&config, &["digest", "send", "--now"]);
    assert!(
        out.contains(": 0 queued, 2 already sent this week"),
        "{label}: {out}"
    );
    assert!(out.contains("sending 0 due mail(s)"), "{label}: {out}");
    for m in users.members {
        assert_eq!(inbox_mails(m).len(), 1, "{label}: {m} got no double");
    }
}

#[tokio::test]
async fn sqlite_mail_queued_by_the_cli_leaves_within_two_seconds() {
    support::require_stack();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("wake.db").display());
    queued_by_the_cli_arrives_at_once(&db, "SQLite", &SQLITE_USERS).await;
}

#[tokio::test]
async fn postgres_mail_queued_by_the_cli_leaves_within_two_seconds() {
    support::require_stack();
    let db = common::fresh_postgres_url().await;
    queued_by_the_cli_arrives_at_once(&db, "PostgreSQL", &POSTGRES_USERS).await;
}

#[tokio::test]
async fn without_a_daemon_digest_send_says_so_and_now_sends_it() {
    support::require_stack();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("now.db").display());
    let config = config(dir.path(), &db, &NOW_USERS);
    let out = cli(&config, &["digest", "send"]);
    assert!(
        out.contains(": 2 queued, 0 already sent this week"),
        "{out}"
    );
    assert!(
        out.contains(
            "no daemon is running: 2 mail(s) wait in the outbox until `circle-relay run` starts \
             (or send them from here with --now)"
        ),
        "{out}"
    );
    assert!(
        inbox_mails("outmem1").is_empty(),
        "nothing is sent without --now"
    );
    assert!(
        inbox_mails("outmem2").is_empty(),
        "nothing is sent without --now"
    );
    let out = cli(&config, &["digest", "send", "--now"]);
    assert!(
        out.contains(": 0 queued, 2 already sent this week"),
        "{out}"
    );
    assert!(out.contains("sending 2 due mail(s)…"), "{out}");
    assert!(
        out.contains("2 sent, 0 to retry later, 0 failed, 0 held"),
        "{out}"
    );
    until_inbox("outmem1", 1, Duration::from_secs(30)).await;
    until_inbox("outmem2", 1, Duration::from_secs(30)).await;
    let out = cli(&config, &["digest", "send", "--now"]);
    assert!(out.contains("sending 0 due mail(s)…"), "{out}");
    assert!(out.contains("0 sent,"), "{out}");
}
