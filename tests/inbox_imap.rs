//! The IMAP inbox against the real mail stack (deploy/mailstack/up.sh):
//! mail submitted to Postfix, delivered to Dovecot over LMTP, read over IMAP
//! with STARTTLS, handled exactly once and moved to Processed.
//! Each test owns one mailbox user; the restart test excludes the others.

mod inbox_support;

use std::time::Duration;

use inbox_support::*;
use tokio::sync::RwLock;

/// Held shared by every test; the Dovecot restart test holds it exclusively.
static DOVECOT: RwLock<()> = RwLock::const_new(());
const WAIT: Duration = Duration::from_secs(30);

async fn wait_folder(user: &str, folder: &str, ids: &[&String]) {
    let mut want: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    want.sort();
    let what = format!("{folder} of {user} holds exactly {want:?}");
    wait_until(WAIT, &what, || {
        let want = want.clone();
        async move { folder_message_ids(user, folder).await == want }
    })
    .await;
}

#[tokio::test]
async fn imap_hand_off_moves_mail_to_processed() {
    let _shared = DOVECOT.read().await;
    require_stack();
    reset_user("circle");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let reader = Reader::spawn(
        imap_inbox("circle", 10 << 20),
        store.clone(),
        recorder.clone(),
        None,
    );

    let plain = new_message_id("plain");
    let plus = new_message_id("plus");
    send_mail("circle@circle.test", "Looking for a nurse", &plain, 0).await;
    send_mail("circle+tok123@circle.test", "Re: token reply", &plus, 0).await;

    wait_folder("circle", "Processed", &[&plain, &plus]).await;
    wait_folder("circle", "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");

    let mut want = vec![plain, plus];
    want.sort();
    assert_eq!(
        recorder.message_ids(),
        want,
        "each message handed over exactly once"
    );
    assert!(folder_message_ids("circle", "Failed").await.is_empty());
    assert_eq!(effect_rows(&store).await, 2);
    let mailbox = "imap://circle@circle.test@localhost:10143/INBOX";
    assert_eq!(store.ledger_count(mailbox).await.expect("count"), 2);
}

#[tokio::test]
async fn imap_reader_reconnects_after_server_restart() {
    let _exclusive = DOVECOT.write().await;
    require_stack();
    reset_user("alice");
    let log_start = dovecot_log_len();
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let reader = Reader::spawn(
        imap_inbox("alice", 10 << 20),
        store.clone(),
        recorder.clone(),
        None,
    );

    let first = new_message_id("before-restart");
    send_mail("alice@circle.test", "before", &first, 0).await;
    wait_folder("alice", "Processed", &[&first]).await;

    restart_imap();
    let second = new_message_id("after-restart");
    send_mail("alice@circle.test", "after", &second, 0).await;
    wait_folder("alice", "Processed", &[&first, &second]).await;
    wait_folder("alice", "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");

    let mut want = vec![first, second];
    want.sort();
    assert_eq!(recorder.message_ids(), want);
    // The reader is alice's only STARTTLS client (the checks log in plain):
    // two TLS logins mean it lost its connection and logged in again.
    let logins = dovecot_log_since(log_start)
        .lines()
        .filter(|l| l.contains("Login: user=<alice@circle.test>") && l.contains(", TLS,"))
        .count();
    assert_eq!(logins, 2, "the reader reconnected once after the restart");
}

#[tokio::test]
async fn imap_uidvalidity_change_does_not_reprocess_old_mail() {
    let _shared = DOVECOT.read().await;
    require_stack();
    reset_user("bob");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;

    // First reader: handles `old`, then dies right after the commit, so
    // `old` stays in the INBOX with a ledger row under the old UIDVALIDITY.
    let old = new_message_id("old");
    send_mail("bob@circle.test", "old mail", &old, 0).await;
    wait_folder("bob", "INBOX", &[&old]).await;
    let first = Recorder::default();
    let hook: circle_relay::inbox::AfterCommitHook =
        std::sync::Arc::new(|_key| panic!("simulated crash after commit"));
    let reader = Reader::spawn(
        imap_inbox("bob", 10 << 20),
        store.clone(),
        first.clone(),
        Some(hook),
    );
    assert!(
        reader.join().await.is_err(),
        "the reader crashed in the hook"
    );
    assert_eq!(first.message_ids(), vec![old.clone()]);
    assert_eq!(folder_message_ids("bob", "INBOX").await, vec![old.clone()]);

    change_uidvalidity("bob", 1_000_000 + std::process::id());
    let new = new_message_id("new");
    send_mail("bob@circle.test", "new mail", &new, 0).await;
    wait_folder("bob", "INBOX", &[&old, &new]).await;

    let second = Recorder::default();
    let reader = Reader::spawn(
        imap_inbox("bob", 10 << 20),
        store.clone(),
        second.clone(),
        None,
    );
    wait_folder("bob", "Processed", &[&old, &new]).await;
    wait_folder("bob", "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");
    assert_eq!(
        second.message_ids(),
        vec![new],
        "old mail was not handed over again"
    );
    assert_eq!(effect_rows(&store).await, 2);
}

#[tokio::test]
async fn imap_oversize_and_failing_mail_go_to_failed_and_the_next_goes_on() {
    let _shared = DOVECOT.read().await;
    require_stack();
    reset_user("dave");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let big = new_message_id("big");
    let bad = new_message_id("bad");
    let good = new_message_id("good");
    send_mail("dave@circle.test", "huge", &big, 20_000).await;
    send_mail("dave@circle.test", "FAIL please", &bad, 0).await;
    send_mail("dave@circle.test", "fine", &good, 0).await;
    wait_folder("dave", "INBOX", &[&big, &bad, &good]).await;

    let reader = Reader::spawn(
        imap_inbox("dave", 8_000),
        store.clone(),
        recorder.clone(),
        None,
    );
    wait_folder("dave", "Processed", &[&good]).await;
    wait_folder("dave", "Failed", &[&big, &bad]).await;
    wait_folder("dave", "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");
    assert_eq!(recorder.message_ids(), vec![good]);
    assert_eq!(
        effect_rows(&store).await,
        1,
        "the failed handler's effects were rolled back"
    );

    let failed: Vec<(String, Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT kind, error, raw FROM inbound_messages WHERE outcome = 'failed' ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .expect("ledger");
    assert_eq!(failed.len(), 2);
    // Postfix may deliver the two in either order, so find each by its reason.
    let error_of =
        |row: &(String, Option<String>, Option<Vec<u8>>)| row.1.clone().unwrap_or_default();
    let oversize = failed
        .iter()
        .find(|row| error_of(row).contains("exceeds max_message_bytes"))
        .expect("the oversize message is recorded with its reason");
    assert_eq!(oversize.0, "unreadable");
    assert!(oversize.2.is_none(), "the oversize message was not loaded");
    assert!(
        failed
            .iter()
            .any(|row| error_of(row).contains("refuses FAIL")),
        "the failing handler's error is recorded: {failed:?}"
    );
}

/// kill -9 of the reader between commit and move: a child process (this test
/// binary again, running `kill9_child_reader`) handles the message, commits,
/// signals, and is SIGKILLed before its move. A fresh reader over the same
/// database only moves the message.
#[tokio::test]
async fn imap_kill9_between_commit_and_move_does_not_process_twice() {
    let _shared = DOVECOT.read().await;
    require_stack();
    reset_user("carol");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let id = new_message_id("kill9");
    send_mail("carol@circle.test", "crash me", &id, 0).await;
    wait_folder("carol", "INBOX", &[&id]).await;

    let marker = db.path().join("committed");
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "kill9_child_reader",
            "--include-ignored",
            "--nocapture",
        ])
        .env("KILL9_DB_DIR", db.path())
        .env("KILL9_MARKER", &marker)
        .spawn()
        .expect("child reader starts");
    wait_until(WAIT, "the child committed", || {
        let m = marker.clone();
        async move { m.exists() }
    })
    .await;
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    let _ = child.wait();

    assert_eq!(
        effect_rows(&store).await,
        1,
        "the child's transaction committed"
    );
    assert_eq!(
        folder_message_ids("carol", "INBOX").await,
        vec![id.clone()],
        "not moved yet"
    );
    let recorder = Recorder::default();
    let reader = Reader::spawn(
        imap_inbox("carol", 10 << 20),
        store.clone(),
        recorder.clone(),
        None,
    );
    wait_folder("carol", "Processed", &[&id]).await;
    wait_folder("carol", "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");
    assert_eq!(recorder.count(), 0, "the handler was not called again");
    assert_eq!(effect_rows(&store).await, 1);
    let moved: Vec<(i64,)> =
        sqlx::query_as("SELECT moved_at FROM inbound_messages WHERE moved_at IS NOT NULL")
            .fetch_all(store.pool())
            .await
            .expect("ledger");
    assert_eq!(moved.len(), 1);
}

/// The child half of the kill -9 test; does nothing unless started by it.
#[tokio::test]
#[ignore = "child process of imap_kill9_between_commit_and_move_does_not_process_twice"]
async fn kill9_child_reader() {
    let (Some(dir), Some(marker)) = (
        std::env::var_os("KILL9_DB_DIR"),
        std::env::var_os("KILL9_MARKER"),
    ) else {
        return;
    };
    let url = format!(
        "sqlite://{}",
        std::path::Path::new(&dir).join("relay.db").display()
    );
    let config = circle_relay::config::DatabaseConfig {
        url: circle_relay::config::DatabaseUrl::new(url),
        ..Default::default()
    };
    let store = circle_relay::store::Store::connect(&config)
        .await
        .expect("store");
    let hook: circle_relay::inbox::AfterCommitHook = std::sync::Arc::new(move |_key| {
        let _ = std::fs::write(&marker, b"committed");
        // Wait here, between commit and move, for the parent's SIGKILL.
        std::thread::sleep(Duration::from_secs(120));
    });
    let reader = Reader::spawn(
        imap_inbox("carol", 10 << 20),
        store,
        Recorder::default(),
        Some(hook),
    );
    let _ = reader.join().await;
}

/// Implicit TLS (IMAPS 10993) with the stack's CA works; without trusting
/// that CA the certificate is refused, and the error says retrying won't help.
#[tokio::test]
async fn imap_implicit_tls_and_certificate_checks() {
    let _shared = DOVECOT.read().await;
    require_stack();
    let mut config = imap_config("admin");
    config.tls = circle_relay::config::Tls::Tls;
    config.port = 10993;
    let inbox = circle_relay::inbox::ImapInbox::new(config.clone()).expect("config");
    let mut trusted = circle_relay::inbox::Inbox::Imap(Box::new(inbox.with_extra_ca(ca_file())));
    trusted
        .ensure_folders()
        .await
        .expect("IMAPS with the stack's CA");
    trusted.fetch_batch(1).await.expect("listing over IMAPS");
    trusted.close().await;

    let mut untrusted = circle_relay::inbox::Inbox::Imap(Box::new(
        circle_relay::inbox::ImapInbox::new(config).expect("config"),
    ));
    if std::env::var_os("CIRCLE_RELAY_EXTRA_CA_FILE").is_none() {
        let err = untrusted
            .fetch_batch(1)
            .await
            .expect_err("self-signed CA is not trusted");
        assert!(
            matches!(err, circle_relay::inbox::InboxError::Tls(_)),
            "{err:?}"
        );
        assert!(!err.is_transient());
    }
}
