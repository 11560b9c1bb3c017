//! The SMTP server goes away for a while: what the relay has to send waits in
//! the outbox (nothing lost, the failure recorded) and goes out once the
//! server is back, exactly once. Its own test binary, because it stops the
//! shared Postfix.

#[path = "inbox_support/mod.rs"]
mod support;

use std::os::unix::fs::chown;
use std::process::Command;
use std::time::Duration;

use sqlx::{Connection, Row};

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");

fn smtp(action: &str) {
    let out = Command::new(support::script("smtp.sh"))
        .arg(action)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "smtp.sh {action}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Restarts Postfix whatever happens, so a failure here does not break later tests.
struct SmtpComesBack;

impl Drop for SmtpComesBack {
    fn drop(&mut self) {
        let _ = Command::new(support::script("smtp.sh"))
            .arg("start")
            .output();
    }
}

#[tokio::test]
async fn mail_waits_while_smtp_is_down_and_goes_out_once_it_is_back() {
    support::require_stack();
    for u in ["relay4", "nurse5", "asker4"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.db");
    let config = dir.path().join("circle-relay.toml");
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Care Circle\"\naddress = \"relay4@circle.test\"\nposting = \"anyone\"\nlanguage = \"en\"\n\
             [database]\nurl = \"sqlite://{db}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {imap}\ntls = \"none\"\nusername = \"relay4\"\npassword = \"test\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {smtp}\ntls = \"none\"\n\
             [security]\ntoken_secret = \"an-end-to-end-secret\"\n",
            db = db.display(),
            imap = support::IMAP.1,
            smtp = support::SMTP.1,
        ),
    )
    .unwrap();
    let csv = dir.path().join("members.csv");
    std::fs::write(
        &csv,
        "email,name,skills,bio,languages,region,status\nnurse5@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse.,en,Tokyo,\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["members", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());

    smtp("stop");
    let _restart = SmtpComesBack;
    let _daemon = support::DaemonProcess::run(&config);
    // With Postfix down the request is put into the relay's mailbox directly, as LMTP would.
    let new = support::maildir_of("relay4").join("new");
    let file = new.join("1800000000.smtpdown.test");
    std::fs::write(
        &file,
        "From: asker4@circle.test\r\nTo: relay4@circle.test\r\nSubject: Nurse for first aid\r\n\
         Message-ID: <smtp-down@circle.test>\r\n\r\nWe need a registered nurse to teach first aid.\r\n",
    )
    .unwrap();
    chown(&file, Some(8), Some(8)).unwrap();

    // The attempts fail and are recorded; the rows wait in the queue.
    let url = format!("sqlite://{}", db.display());
    let mut waited = 0;
    loop {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'queued' AND attempts >= 1 AND last_error IS NOT NULL",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if row.get::<i64, _>("n") >= 2 {
            break;
        }
        waited += 1;
        assert!(waited < 300, "the failed attempts were never recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (
            support::inbox_count("nurse5"),
            support::inbox_count("asker4")
        ),
        (0, 0)
    );

    smtp("start");
    // The first retry comes a minute after the failure; then all is sent
    // and delivered, so the counts below are final.
    support::wait_until(
        Duration::from_secs(120),
        "the forward and the acknowledgement arrived",
        || async { support::inbox_count("nurse5") >= 1 && support::inbox_count("asker4") >= 1 },
    )
    .await;
    support::until_delivered(&config, "relay4@circle.test").await;
    assert_eq!(
        support::inbox_count("nurse5"),
        1,
        "the forward went out once"
    );
    assert_eq!(
        support::inbox_count("asker4"),
        1,
        "the acknowledgement went out once"
    );
}
