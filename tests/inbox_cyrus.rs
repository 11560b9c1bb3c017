//! The IMAP inbox on a second, independent server: Cyrus IMAP 3.6 in the
//! classic namespace (deploy/cyrus/up.sh), where folders live under `INBOX.`
//! and a top-level `Processed` is refused. Each test owns one Cyrus user on
//! an instance of its own.

mod inbox_support;

use std::time::{Duration, Instant};

use inbox_support::cyrus::{self, NO_NAMESPACE, NOIDLE, PUSH, PUSH2};
use inbox_support::*;

const WAIT: Duration = Duration::from_secs(30);

async fn wait_ids(port: u16, user: &str, folder: &str, want: &[&String]) {
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    let what = format!("{folder} of Cyrus user {user} holds exactly {want:?}");
    wait_until(WAIT, &what, || {
        let want = want.clone();
        async move { cyrus::message_ids(port, user, folder).await == want }
    })
    .await;
}

#[tokio::test]
async fn cyrus_classic_namespace_puts_bare_folder_names_under_inbox() {
    cyrus::require_cyrus();
    let user = "cyrcircle";
    cyrus::reset(PUSH, user).await;
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    // processed_folder = "Processed", failed_folder = "Failed", spam_folder = "Spam": as shipped.
    let config = cyrus::config(PUSH, user);
    let reader = Reader::spawn(cyrus::inbox(config), store.clone(), recorder.clone(), None);

    let (a, b, bad) = (
        new_message_id("cyrus-a"),
        new_message_id("cyrus-b"),
        new_message_id("cyrus-fail"),
    );
    cyrus::append(PUSH, user, "Looking for a nurse", &a).await;
    cyrus::append(PUSH, user, "FAIL this one", &bad).await;
    cyrus::append(PUSH, user, "Looking for a coach", &b).await;

    wait_ids(PUSH, user, "INBOX.Processed", &[&a, &b]).await;
    wait_ids(PUSH, user, "INBOX.Failed", &[&bad]).await;
    wait_ids(PUSH, user, "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");

    let mut folders = cyrus::folders(PUSH, user).await;
    folders.sort();
    assert_eq!(
        folders,
        ["INBOX", "INBOX.Failed", "INBOX.Processed", "INBOX.Spam"],
        "the three folders under the personal namespace, nothing else"
    );
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(recorder.message_ids(), want, "each handled exactly once");
    assert_eq!(effect_rows(&store).await, 2);
}

#[tokio::test]
async fn without_namespace_a_refused_bare_folder_is_made_under_inbox() {
    cyrus::require_cyrus();
    let user = "cyrnons";
    cyrus::reset(NO_NAMESPACE, user).await;
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let config = cyrus::config(NO_NAMESPACE, user);
    let (a, bad) = (new_message_id("nons-a"), new_message_id("nons-fail"));
    cyrus::append(NO_NAMESPACE, user, "Looking for a nurse", &a).await;
    cyrus::append(NO_NAMESPACE, user, "FAIL this one", &bad).await;

    let mut probe = cyrus::inbox(config.clone());
    let problems = probe.ensure_folders().await.expect("logged in");
    probe.close().await;
    assert_eq!(
        problems,
        [],
        "Processed refused at the top, made as INBOX.Processed"
    );
    let reader = Reader::spawn(
        cyrus::inbox(config.clone()),
        store.clone(),
        recorder.clone(),
        None,
    );
    wait_ids(NO_NAMESPACE, user, "INBOX.Processed", &[&a]).await;
    wait_ids(NO_NAMESPACE, user, "INBOX.Failed", &[&bad]).await;
    wait_ids(NO_NAMESPACE, user, "INBOX", &[]).await;
    reader.stop().await.expect("reader ends cleanly");

    // A second start finds the folders under INBOX without creating any.
    let b = new_message_id("nons-b");
    cyrus::append(NO_NAMESPACE, user, "Looking for a coach", &b).await;
    let reader = Reader::spawn(cyrus::inbox(config), store.clone(), recorder.clone(), None);
    wait_ids(NO_NAMESPACE, user, "INBOX.Processed", &[&a, &b]).await;
    reader.stop().await.expect("reader ends cleanly");
    let mut folders = cyrus::folders(NO_NAMESPACE, user).await;
    folders.sort();
    assert_eq!(
        folders,
        ["INBOX", "INBOX.Failed", "INBOX.Processed", "INBOX.Spam"],
        "the three folders under INBOX, nothing else"
    );
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(recorder.message_ids(), want, "each handled exactly once");
}

#[tokio::test]
async fn cyrus_without_idled_delivers_within_poll_seconds() {
    cyrus::require_cyrus();
    let user = "cyrnoidle";
    cyrus::reset(NOIDLE, user).await;
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let mut config = cyrus::config(NOIDLE, user);
    config.poll_seconds = 2;
    let reader = Reader::spawn(cyrus::inbox(config), store.clone(), recorder.clone(), None);
    // The reader is idling once its folders exist and one poll has passed.
    wait_until(WAIT, "the reader made its folders", || async {
        cyrus::folders(NOIDLE, user).await.len() == 4
    })
    .await;

    let mut late = Vec::new();
    for n in 0..3 {
        let id = new_message_id(&format!("noidle{n}"));
        let stored = Instant::now();
        cyrus::append(NOIDLE, user, "Looking for a nurse", &id).await;
        wait_until(WAIT, "the request is handled", || async {
            recorder.message_ids().contains(&id)
        })
        .await;
        // Cyrus without idled only re-checks an IDLE every 60 s by itself.
        let took = stored.elapsed();
        if took > Duration::from_secs(3) {
            late.push(took);
        }
    }
    reader.stop().await.expect("reader ends cleanly");
    assert!(
        late.is_empty(),
        "handled later than poll_seconds + 1 s: {late:?}"
    );
    assert_eq!(recorder.count(), 3);
    wait_ids(NOIDLE, user, "INBOX", &[]).await;
}

#[tokio::test]
async fn cyrus_refused_folder_is_reported_and_mail_stays_recorded_in_inbox() {
    cyrus::require_cyrus();
    let user = "cyrrefuse";
    cyrus::reset(PUSH2, user).await;
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    // Another user's namespace: used as given, and Cyrus refuses it.
    let mut config = cyrus::config(PUSH2, user);
    config.processed_folder = "user.nobody.Processed".into();

    let mut probe = cyrus::inbox(config.clone());
    let problems = probe.ensure_folders().await.expect("logged in");
    probe.close().await;
    assert_eq!(problems.len(), 1, "{problems:?}");
    let text = problems[0].to_string();
    assert!(
        text.contains("\"user.nobody.Processed\"") && text.contains("[inbox] processed_folder"),
        "{text}"
    );

    let id = new_message_id("refused");
    cyrus::append(PUSH2, user, "Looking for a nurse", &id).await;
    for _ in 0..2 {
        // Twice: a restarted reader sees the ledger row and does not handle it again.
        let reader = Reader::spawn(
            cyrus::inbox(config.clone()),
            store.clone(),
            recorder.clone(),
            None,
        );
        wait_until(WAIT, "the message is recorded", || async {
            store.ledger_count(&mailbox_of(user)).await.unwrap_or(0) == 1
        })
        .await;
        reader.stop().await.expect("reader ends cleanly");
    }
    assert_eq!(recorder.message_ids(), vec![id.clone()], "handled once");
    assert_eq!(cyrus::message_ids(PUSH2, user, "INBOX").await, vec![id]);
    let mut folders = cyrus::folders(PUSH2, user).await;
    folders.sort();
    assert_eq!(folders, ["INBOX", "INBOX.Failed", "INBOX.Spam"]);
}

fn mailbox_of(user: &str) -> String {
    format!("imap://{user}@127.0.0.1:{PUSH2}/INBOX")
}
