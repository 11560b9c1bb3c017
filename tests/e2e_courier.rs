//! The product on a third IMAP server: the circle's inbox is on Courier-IMAP
//! 5.0 (deploy/courier/up.sh), Maildir++ folders under `INBOX.`, no MOVE,
//! and (in Debian's settings) an IDLE that only looks for new mail every 60 s.
//! Mail reaches the circle's Maildir as files, as a local delivery agent
//! writes them; members and requesters are Dovecot users, reached through
//! the shared Postfix. The daemon runs as a real process.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::courier::{self, IDLE, NOIDLE, PUSH};
use support::{DaemonProcess, ImapCircle, until_mail};

const CIRCLE: &str = "circle@courier.circle.test";
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    conurse1@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
    conurse2@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n\
    cocoach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn config(dir: &Path, port: u16, user: &str, extra: &str) -> PathBuf {
    let circle = ImapCircle {
        name: "Courier Circle",
        address: CIRCLE,
        port,
        username: user,
        extra,
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

async fn until_courier(port: u16, user: &str, folder: &str, n: usize) -> Vec<String> {
    let what = format!("Courier {folder} of {user} holds {n} messages");
    support::wait_until(Duration::from_secs(30), &what, || async {
        courier::message_ids(port, user, folder).await.len() == n
    })
    .await;
    courier::message_ids(port, user, folder).await
}

#[tokio::test]
async fn request_to_introductions_on_courier() {
    courier::require_courier();
    for u in ["coasker", "conurse1", "conurse2", "cocoach"] {
        support::reset_user(u);
    }
    courier::reset(IDLE, "circle").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), IDLE, "circle", "");
    let check = support::cli(&config, &["check"]);
    assert!(check.contains("logged in, folders ready"), "{check}");
    let _daemon = DaemonProcess::run(&config);

    courier::deliver(
        IDLE,
        "circle",
        &request("coasker@circle.test", "courier-req@circle.test"),
    );
    let ack = until_mail("coasker", 1).await;
    assert_eq!(ack[0].in_reply_to, "courier-req@circle.test");
    let forwards = until_mail("conurse1", 1).await;
    until_mail("conurse2", 1).await;
    let forward = &forwards[0];
    assert!(
        !forward.raw_contains("coasker@circle.test"),
        "the forward leaks the requester"
    );
    let reply_to = forward.reply_to();
    courier::deliver(
        IDLE,
        "circle",
        &format!(
            "From: conurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <courier-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             Happy to help.\n",
            id = forward.message_id
        ),
    );
    let asker = until_mail("coasker", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.message_id.contains(".intro@"))
        .expect("introduction");
    assert!(
        intro.text.contains("conurse1@circle.test"),
        "{}",
        intro.text
    );
    let nurse1 = until_mail("conurse1", 2).await;
    assert!(nurse1.iter().any(|m| m.message_id.contains(".intro@")));

    let processed = until_courier(IDLE, "circle", "INBOX.Processed", 2).await;
    assert_eq!(
        processed,
        ["<courier-accept@circle.test>", "<courier-req@circle.test>"]
    );
    assert!(
        courier::message_ids(IDLE, "circle", "INBOX")
            .await
            .is_empty()
    );
    assert_eq!(
        courier::folders(IDLE, "circle").await,
        ["INBOX", "INBOX.Failed", "INBOX.Processed", "INBOX.Spam"]
    );
    assert!(
        support::mailbox("cocoach").is_empty(),
        "the coach was never bothered"
    );
}

/// A request stored while the daemon idles is handled within poll_seconds
/// (1 s) + 1 s, whether the server pushes (PUSH), only looks every 60 s
/// (IDLE, Debian's settings) or has no IDLE at all (NOIDLE).
async fn handled_while_idling(port: u16, user: &str, asker: &str) {
    courier::require_courier();
    support::reset_user(asker);
    courier::reset(port, user).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), port, user, "");
    let daemon = DaemonProcess::run_logged(
        &config,
        "warn,circle_relay::inbox=debug",
        dir.path().join("daemon.log"),
    );
    support::wait_until(
        Duration::from_secs(30),
        "the daemon made its folders",
        || async { courier::folders(port, user).await.len() == 4 },
    )
    .await;
    if port != NOIDLE {
        // Past its start-up look at INBOX, in its IDLE rounds (one ended by
        // its own poll_seconds deadline); without IDLE it polls unlogged.
        daemon
            .until_logged("ending IDLE", Duration::from_secs(30))
            .await;
    }

    let id = format!("courier-wake-{port}@circle.test");
    let stored = Instant::now();
    courier::deliver(port, user, &request(&format!("{asker}@circle.test"), &id));
    until_courier(port, user, "INBOX.Processed", 1).await;
    let took = stored.elapsed();
    assert!(took <= Duration::from_secs(2), "handled after {took:?}");
    let ack = until_mail(asker, 1).await;
    assert_eq!(ack[0].in_reply_to, id);
}

#[tokio::test]
async fn a_request_is_handled_within_poll_seconds_on_debians_idle() {
    handled_while_idling(IDLE, "coucircle", "coasker2").await;
}

#[tokio::test]
async fn a_request_is_handled_within_poll_seconds_without_idle() {
    handled_while_idling(NOIDLE, "circle", "coasker3").await;
}

#[tokio::test]
async fn a_request_is_handled_within_poll_seconds_when_idle_pushes() {
    handled_while_idling(PUSH, "circle", "coasker4").await;
}

/// Twenty requests (from twenty requesters: the trust gate holds a sixth from
/// one sender) wait in INBOX when the daemon starts: each is handled once.
#[tokio::test]
async fn a_backlog_of_twenty_is_handled_once() {
    courier::require_courier();
    let askers: Vec<String> = (0..20).map(|i| format!("coback{i:02}")).collect();
    for a in &askers {
        support::reset_user(a);
    }
    courier::reset(IDLE, "coubacklog").await;
    let mut ids: Vec<String> = (0..20)
        .map(|i| format!("<courier-backlog-{i:02}@circle.test>"))
        .collect();
    for (id, asker) in ids.iter().zip(&askers) {
        let raw = request(&format!("{asker}@circle.test"), id.trim_matches(['<', '>']));
        courier::deliver(IDLE, "coubacklog", &raw);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), IDLE, "coubacklog", "");
    let _daemon = DaemonProcess::run(&config);

    let processed = until_courier(IDLE, "coubacklog", "INBOX.Processed", 20).await;
    ids.sort();
    assert_eq!(processed, ids);
    assert!(
        courier::message_ids(IDLE, "coubacklog", "INBOX")
            .await
            .is_empty()
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

#[test]
fn check_reports_a_refused_folder_with_couriers_answer() {
    courier::require_courier();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(
        dir.path(),
        NOIDLE,
        "coucheck",
        "processed_folder = \"shared.Processed\"\n",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .output()
        .expect("check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "check must fail: {stdout}");
    let fail: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fail.len(), 1, "{stdout}");
    for part in [
        "\"shared.Processed\"",
        "Access denied for CREATE",
        "[inbox] processed_folder",
    ] {
        assert!(fail[0].contains(part), "{}", fail[0]);
    }
}
