//! The product on a fourth IMAP server: the circle's inbox is on GNU
//! Mailutils 3.15's imap4d (deploy/mailutils/up.sh), a small IMAP4rev1
//! server with mbox folders in the user's home (namespace "", separator
//! "/"), no UIDPLUS, no MOVE, and an IDLE that does not push. Without
//! UIDPLUS the daemon never expunges (a plain EXPUNGE could take other
//! clients' mail, and imap4d reuses UIDs once an expunge empties the mbox):
//! what it has handled stays in INBOX flagged \Deleted, its copy in
//! Processed. Members and requesters are Dovecot users, reached through the
//! shared Postfix. The daemon runs as a real process.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::mailutils::{self, PORT};
use support::{DaemonProcess, ImapCircle, until_mail};

const CIRCLE: &str = "circle@mailutils.circle.test";
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    munurse1@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
    munurse2@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n\
    mucoach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn config(dir: &Path, user: &str) -> PathBuf {
    let username = mailutils::login_name(user);
    let circle = ImapCircle {
        name: "Mailutils Circle",
        address: CIRCLE,
        port: PORT,
        username: &username,
        extra: "",
        members: MEMBERS,
    };
    support::server_circle_config(dir, &circle)
}

fn request(from: &str, id: &str) -> String {
    format!(
        "From: {from}\nTo: {CIRCLE}\nSubject: Nurse for a first aid class\nMessage-ID: <{id}>\n\
         Date: Wed, 02 Dec 2026 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a registered nurse to teach first aid to our staff in Tokyo.\n"
    )
}

/// Waits until `folder` of `user` holds `n` messages; returns them.
async fn until_messages(user: &str, folder: &str, n: usize) -> Vec<(String, bool)> {
    let what = format!("imap4d {folder} of {user} holds {n} messages");
    support::wait_until(Duration::from_secs(30), &what, || async {
        mailutils::messages(user, folder).await.len() == n
    })
    .await;
    mailutils::messages(user, folder).await
}

/// Waits until every message in INBOX of `user` is flagged \Deleted (handled).
async fn until_inbox_handled(user: &str) -> Vec<(String, bool)> {
    let what = format!("every message in imap4d INBOX of {user} is flagged \\Deleted");
    support::wait_until(Duration::from_secs(30), &what, || async {
        mailutils::messages(user, "INBOX")
            .await
            .iter()
            .all(|(_, deleted)| *deleted)
    })
    .await;
    mailutils::messages(user, "INBOX").await
}

fn handled(ids: &[&str]) -> Vec<(String, bool)> {
    ids.iter().map(|id| (id.to_string(), true)).collect()
}

fn unflagged(ids: &[&str]) -> Vec<(String, bool)> {
    ids.iter().map(|id| (id.to_string(), false)).collect()
}

#[tokio::test]
async fn request_to_introductions_on_mailutils() {
    mailutils::require_mailutils();
    for u in ["muasker", "munurse1", "munurse2", "mucoach"] {
        support::reset_user(u);
    }
    mailutils::reset("mucircle").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "mucircle");
    let check = support::cli(&config, &["check"]);
    assert!(check.contains("logged in, folders ready"), "{check}");
    let _daemon = DaemonProcess::run(&config);

    mailutils::deliver(
        "mucircle",
        &request("muasker@circle.test", "mailutils-req@circle.test"),
    )
    .await;
    let ack = until_mail("muasker", 1).await;
    assert_eq!(ack[0].in_reply_to, "mailutils-req@circle.test");
    let forwards = until_mail("munurse1", 1).await;
    until_mail("munurse2", 1).await;
    let forward = &forwards[0];
    assert!(
        !forward.raw_contains("muasker@circle.test"),
        "the forward leaks the requester"
    );
    let reply_to = forward.reply_to();
    mailutils::deliver(
        "mucircle",
        &format!(
            "From: munurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <mailutils-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             Happy to help.\n",
            id = forward.message_id
        ),
    )
    .await;
    let asker = until_mail("muasker", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.message_id.contains(".intro@"))
        .expect("introduction");
    assert!(
        intro.text.contains("munurse1@circle.test"),
        "{}",
        intro.text
    );
    let nurse1 = until_mail("munurse1", 2).await;
    assert!(nurse1.iter().any(|m| m.message_id.contains(".intro@")));

    let ids = [
        "<mailutils-accept@circle.test>",
        "<mailutils-req@circle.test>",
    ];
    assert_eq!(
        until_messages("mucircle", "Processed", 2).await,
        unflagged(&ids)
    );
    assert_eq!(until_inbox_handled("mucircle").await, handled(&ids));
    assert_eq!(
        mailutils::folders("mucircle").await,
        ["Failed", "INBOX", "Processed", "Spam"]
    );
    assert!(
        support::mailbox("mucoach").is_empty(),
        "the coach was never bothered"
    );
}

/// imap4d's IDLE does not tell of new mail: a request stored while the
/// daemon idles is handled within poll_seconds (1 s) + 1 s all the same.
#[tokio::test]
async fn a_request_is_handled_within_poll_seconds() {
    mailutils::require_mailutils();
    support::reset_user("muasker2");
    mailutils::reset("muwake").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "muwake");
    let daemon = DaemonProcess::run_logged(
        &config,
        "warn,circle_relay::inbox=debug",
        dir.path().join("daemon.log"),
    );
    support::wait_until(
        Duration::from_secs(30),
        "the daemon made its folders",
        || async { mailutils::folders("muwake").await.len() == 4 },
    )
    .await;
    daemon
        .until_logged("ending IDLE", Duration::from_secs(30))
        .await;

    let id = "mailutils-wake@circle.test";
    let stored = Instant::now();
    mailutils::deliver("muwake", &request("muasker2@circle.test", id)).await;
    until_messages("muwake", "Processed", 1).await;
    let took = stored.elapsed();
    assert!(took <= Duration::from_secs(2), "handled after {took:?}");
    let ack = until_mail("muasker2", 1).await;
    assert_eq!(ack[0].in_reply_to, id);
}

/// Twenty requests (from twenty requesters: the trust gate holds a sixth from
/// one sender) wait in INBOX when the daemon starts: each is handled once,
/// and a restart handles none of them again.
#[tokio::test]
async fn a_backlog_of_twenty_is_handled_once() {
    mailutils::require_mailutils();
    let askers: Vec<String> = (0..20).map(|i| format!("muback{i:02}")).collect();
    for a in &askers {
        support::reset_user(a);
    }
    mailutils::reset("mubacklog").await;
    let ids: Vec<String> = (0..20)
        .map(|i| format!("<mailutils-backlog-{i:02}@circle.test>"))
        .collect();
    for (id, asker) in ids.iter().zip(&askers) {
        let raw = request(&format!("{asker}@circle.test"), id.trim_matches(['<', '>']));
        mailutils::deliver("mubacklog", &raw).await;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "mubacklog");
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    {
        let _daemon = DaemonProcess::run(&config);
        let processed = until_messages("mubacklog", "Processed", 20).await;
        assert_eq!(processed, unflagged(&id_refs));
        assert_eq!(until_inbox_handled("mubacklog").await, handled(&id_refs));
    }
    // The handled messages are still in INBOX (flagged): a second run must
    // neither answer nor copy them again.
    let daemon = DaemonProcess::run_logged(
        &config,
        "warn,circle_relay::inbox=debug",
        dir.path().join("daemon2.log"),
    );
    daemon
        .until_logged("ending IDLE", Duration::from_secs(30))
        .await;
    assert_eq!(
        mailutils::messages("mubacklog", "Processed").await.len(),
        20
    );
    for (id, asker) in ids.iter().zip(&askers) {
        let acks = until_mail(asker, 1).await;
        let acks: Vec<_> = acks
            .iter()
            .filter(|m| !m.message_id.contains(".intro@"))
            .collect();
        assert_eq!(acks.len(), 1, "{asker} answered once");
        assert_eq!(format!("<{}>", acks[0].in_reply_to), *id);
    }
}

/// A message another client flagged \Deleted (and has not expunged) stays
/// as it is; the relay's own handled message stays beside it, flagged
/// \Deleted (written to the mailbox, so other clients see it), its copy in
/// Processed.
#[tokio::test]
async fn another_clients_deleted_message_is_never_expunged() {
    mailutils::require_mailutils();
    support::reset_user("muasker3");
    mailutils::reset("muforeign").await;
    let theirs = format!(
        "From: someone@circle.test\nTo: {CIRCLE}\nSubject: old news\n\
         Message-ID: <mailutils-theirs@circle.test>\nDate: Tue, 01 Dec 2026 09:00:00 +0000\n\n\
         Deleted in a mail client, not yet expunged.\n"
    );
    mailutils::deliver_deleted("muforeign", &theirs).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), "muforeign");
    let _daemon = DaemonProcess::run(&config);

    let id = "mailutils-beside@circle.test";
    mailutils::deliver("muforeign", &request("muasker3@circle.test", id)).await;
    let ack = until_mail("muasker3", 1).await;
    assert_eq!(ack[0].in_reply_to, id);
    assert_eq!(
        until_messages("muforeign", "Processed", 1).await,
        unflagged(&["<mailutils-beside@circle.test>"])
    );
    assert_eq!(
        until_inbox_handled("muforeign").await,
        [
            ("<mailutils-beside@circle.test>".to_string(), true),
            ("<mailutils-theirs@circle.test>".to_string(), true),
        ]
    );
}
