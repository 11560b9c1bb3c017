//! The Maildir inbox: once fed by the real mail stack (Postfix → Dovecot LMTP
//! into erin's Maildir, checked back over IMAP), and on private temporary
//! Maildirs for the crash and size cases.

mod inbox_support;

use std::path::Path;
use std::time::Duration;

use circle_relay::config::{InboxConfig, InboxKind};
use circle_relay::inbox::{AfterCommitHook, Inbox, MaildirInbox};
use inbox_support::*;

const WAIT: Duration = Duration::from_secs(30);

fn maildir_inbox(path: &Path, max_message_bytes: u64) -> Inbox {
    let config = InboxConfig {
        kind: InboxKind::Maildir,
        path: path.display().to_string(),
        poll_seconds: 1,
        max_message_bytes,
        ..InboxConfig::default()
    };
    Inbox::Maildir(MaildirInbox::new(&config).expect("maildir config"))
}

/// Delivers like a local MTA: write into tmp/, rename into new/.
fn deliver(maildir: &Path, name: &str, message_id: &str, subject: &str, body_bytes: usize) {
    for leaf in ["tmp", "new", "cur"] {
        std::fs::create_dir_all(maildir.join(leaf)).expect("maildir");
    }
    let body = "x".repeat(body_bytes);
    let msg = format!(
        "From: a@example.org\r\nTo: circle@circle.test\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n\r\nhello {body}\r\n"
    );
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, msg).expect("write");
    std::fs::rename(&tmp, maildir.join("new").join(name)).expect("rename");
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[tokio::test]
async fn maildir_reader_on_dovecot_delivered_mail() {
    require_stack();
    reset_user("erin");
    let maildir = maildir_of("erin");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let a = new_message_id("md-a");
    let b = new_message_id("md-b");
    send_mail("erin@circle.test", "first", &a, 0).await;
    send_mail("erin+tok9@circle.test", "second", &b, 0).await;
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    wait_until(WAIT, "both delivered to erin's INBOX", || {
        let want = want.clone();
        async move { folder_message_ids("erin", "INBOX").await == want }
    })
    .await;

    let recorder = Recorder::default();
    let reader = Reader::spawn(
        maildir_inbox(&maildir, 10 << 20),
        store.clone(),
        recorder.clone(),
        None,
    );
    wait_until(WAIT, "Dovecot sees both in Processed", || {
        let want = want.clone();
        async move { folder_message_ids("erin", "Processed").await == want }
    })
    .await;
    reader.stop().await.expect("reader ends cleanly");
    assert!(folder_message_ids("erin", "INBOX").await.is_empty());
    assert_eq!(recorder.message_ids(), want);
    assert_eq!(effect_rows(&store).await, 2);
}

#[tokio::test]
async fn maildir_crash_after_commit_only_moves_on_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let maildir = dir.path().join("inbox");
    let store = temp_store(&dir).await;
    let id = new_message_id("md-crash");
    deliver(&maildir, "1700000000.M1P1.test", &id, "hello", 0);

    let first = Recorder::default();
    let hook: AfterCommitHook = std::sync::Arc::new(|_key| panic!("simulated crash after commit"));
    let reader = Reader::spawn(
        maildir_inbox(&maildir, 10 << 20),
        store.clone(),
        first.clone(),
        Some(hook),
    );
    assert!(
        reader.join().await.is_err(),
        "the reader crashed in the hook"
    );
    assert_eq!(first.count(), 1);
    assert_eq!(
        files_in(&maildir.join("new")),
        1,
        "not moved before the crash"
    );

    let second = Recorder::default();
    let reader = Reader::spawn(
        maildir_inbox(&maildir, 10 << 20),
        store.clone(),
        second.clone(),
        None,
    );
    let processed = maildir.join(".Processed/cur");
    wait_until(WAIT, "the message is in .Processed", || {
        let p = processed.clone();
        async move { files_in(&p) == 1 }
    })
    .await;
    reader.stop().await.expect("reader ends cleanly");
    assert_eq!(second.count(), 0, "the handler was not called again");
    assert_eq!(effect_rows(&store).await, 1);
    assert_eq!(
        files_in(&maildir.join("new")) + files_in(&maildir.join("cur")),
        0
    );
}

#[tokio::test]
async fn maildir_oversize_and_failing_mail_go_to_failed_and_the_next_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let maildir = dir.path().join("inbox");
    let store = temp_store(&dir).await;
    let big = new_message_id("md-big");
    let bad = new_message_id("md-bad");
    let good = new_message_id("md-good");
    deliver(&maildir, "1700000001.M1P1.test", &big, "big", 50_000);
    deliver(&maildir, "1700000002.M1P1.test", &bad, "FAIL", 0);
    deliver(&maildir, "1700000003.M1P1.test", &good, "good", 0);
    // The same message delivered twice (new name, same Message-ID).
    deliver(&maildir, "1700000004.M1P1.test", &good, "good", 0);

    let recorder = Recorder::default();
    let reader = Reader::spawn(
        maildir_inbox(&maildir, 10_000),
        store.clone(),
        recorder.clone(),
        None,
    );
    let (failed, processed) = (maildir.join(".Failed/cur"), maildir.join(".Processed/cur"));
    wait_until(WAIT, "2 in .Failed and 2 in .Processed", || {
        let (f, p) = (failed.clone(), processed.clone());
        async move { files_in(&f) == 2 && files_in(&p) == 2 }
    })
    .await;
    reader.stop().await.expect("reader ends cleanly");
    assert_eq!(
        recorder.message_ids(),
        vec![good],
        "the duplicate was not handled again"
    );
    assert_eq!(effect_rows(&store).await, 1);
    assert_eq!(
        files_in(&maildir.join("new")) + files_in(&maildir.join("cur")),
        0
    );
}
