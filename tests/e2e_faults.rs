//! The daemon, a real process on the real mail stack, recovers by itself when
//! a server it depends on goes away: the IMAP server restarts, PostgreSQL
//! restarts. Nothing is lost and nothing is done twice. (SMTP down for a
//! minute: tests/e2e_smtp_down.rs.)

#[path = "inbox_support/mod.rs"]
mod support;

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{
    DaemonProcess, import_members, inbox_mails, submit_request, until_inbox, until_processed,
    write_config,
};

/// The tests here restart shared servers: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What the daemon logs when an inbox round fails (src/inbox/runner.rs).
const ROUND_FAILED: &str = "inbox round failed";

const NURSE: &str = "email,name,skills,bio,languages,region,status\n";

fn postgres(script: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/postgres")
        .join(script);
    let out = Command::new(&path)
        .output()
        .expect("run the postgres script");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts PostgreSQL again whatever happens, so a failure here does not break later tests.
struct PostgresComesBack;

impl Drop for PostgresComesBack {
    fn drop(&mut self) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/postgres/up.sh");
        let _ = Command::new(path).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn until_health(address: &str, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let status = match tokio::net::TcpStream::connect(address).await {
            Ok(_) => common::http_get(address, "/healthz").await.0,
            Err(_) => String::new(),
        };
        if status.contains(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz never said {want}: last {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn the_daemon_rides_out_a_postgresql_restart() {
    let _one = ONE_AT_A_TIME.lock().await;
    support::require_stack();
    for u in ["relay5", "nurse6", "asker5"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_postgres_url().await;
    let address = format!("127.0.0.1:{}", free_port());
    let config = write_config(
        dir.path(),
        "relay5",
        &db,
        &format!(
            "[security]\ntoken_secret = \"faults-test-secret-123\"\n[server]\nlisten = \"{address}\"\n"
        ),
    );
    import_members(
        &config,
        &format!(
            "{NURSE}nurse6@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n"
        ),
    );
    let daemon = DaemonProcess::run_logged(&config, "warn", dir.path().join("daemon.log"));
    until_health(&address, "200", Duration::from_secs(20)).await;
    submit_request(
        "asker5@circle.test",
        "relay5@circle.test",
        "pg-1@circle.test",
        "Nurse for class one",
    )
    .await;
    until_inbox("asker5", 1, Duration::from_secs(30)).await;
    until_inbox("nurse6", 1, Duration::from_secs(30)).await;
    until_processed(&config, "relay5", 1).await;

    let _comes_back = PostgresComesBack;
    postgres("down.sh");
    until_health(&address, "503", Duration::from_secs(20)).await;
    let failed = daemon.times_logged(ROUND_FAILED);
    submit_request(
        "asker5@circle.test",
        "relay5@circle.test",
        "pg-2@circle.test",
        "Nurse for class two",
    )
    .await;
    // The mail is in the relay's INBOX and the daemon tried a round since:
    // it failed for want of the database, and nothing went out.
    until_inbox("relay5", 1, Duration::from_secs(30)).await;
    daemon
        .until_logged_times(ROUND_FAILED, failed + 1, Duration::from_secs(90))
        .await;
    assert_eq!(
        inbox_mails("asker5").len(),
        1,
        "nothing can be done without the database"
    );
    postgres("up.sh");

    until_health(&address, "200", Duration::from_secs(60)).await;
    until_inbox("asker5", 2, Duration::from_secs(90)).await;
    until_inbox("nurse6", 2, Duration::from_secs(30)).await;
    // All handled and delivered: the counts below are final.
    until_processed(&config, "relay5", 2).await;
    let acks = inbox_mails("asker5");
    assert_eq!(acks.len(), 2, "one acknowledgement per request");
    assert!(acks.iter().any(|m| m.in_reply_to == "pg-2@circle.test"));
    assert_eq!(inbox_mails("nurse6").len(), 2, "one forward per request");
}

#[tokio::test]
async fn the_daemon_rides_out_an_imap_server_restart() {
    let _one = ONE_AT_A_TIME.lock().await;
    support::require_stack();
    for u in ["relay4", "nurse5", "asker4"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "relay4",
        &format!("sqlite://{}", dir.path().join("relay.db").display()),
        "[security]\ntoken_secret = \"faults-test-secret-123\"\n",
    );
    import_members(
        &config,
        &format!(
            "{NURSE}nurse5@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n"
        ),
    );
    let _daemon = DaemonProcess::run(&config);
    submit_request(
        "asker4@circle.test",
        "relay4@circle.test",
        "imap-1@circle.test",
        "Nurse for class one",
    )
    .await;
    until_inbox("asker4", 1, Duration::from_secs(30)).await;

    support::restart_imap();
    submit_request(
        "asker4@circle.test",
        "relay4@circle.test",
        "imap-2@circle.test",
        "Nurse for class two",
    )
    .await;
    until_inbox("asker4", 2, Duration::from_secs(90)).await;
    until_inbox("nurse5", 2, Duration::from_secs(30)).await;
    // All handled and delivered: the counts below are final.
    until_processed(&config, "relay4", 2).await;
    let acks = inbox_mails("asker4");
    assert_eq!(acks.len(), 2, "one acknowledgement per request");
    assert!(acks.iter().any(|m| m.in_reply_to == "imap-2@circle.test"));
    assert_eq!(inbox_mails("nurse5").len(), 2, "one forward per request");
}
