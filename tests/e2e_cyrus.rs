//! The product on a second IMAP server: the circle's inbox is on Cyrus IMAP
//! 3.6 in the classic namespace (deploy/cyrus/up.sh), with
//! `processed_folder = "Processed"` left as shipped; Postfix delivers the
//! circle's domain cyrus.circle.test to Cyrus over LMTP, members and
//! requesters are Dovecot users. The daemon runs as a real process.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::cyrus::{self, NOIDLE, PUSH};
use support::{DaemonProcess, ImapCircle, until_mail};

const CIRCLE: &str = "circle@cyrus.circle.test";
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    cynurse1@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
    cynurse2@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n\
    cycoach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn config(dir: &Path, port: u16) -> PathBuf {
    let circle = ImapCircle {
        name: "Cyrus Circle",
        address: CIRCLE,
        port,
        username: "circle",
        extra: "",
        members: MEMBERS,
    };
    support::server_circle_config(dir, &circle)
}

async fn until_cyrus(port: u16, folder: &str, n: usize) -> Vec<String> {
    let what = format!("Cyrus {folder} of circle holds {n} messages");
    support::wait_until(Duration::from_secs(30), &what, || async {
        cyrus::message_ids(port, "circle", folder).await.len() == n
    })
    .await;
    cyrus::message_ids(port, "circle", folder).await
}

#[tokio::test]
async fn request_to_introductions_on_cyrus_classic_namespace() {
    support::ensure_intake_routes();
    cyrus::require_cyrus();
    for u in ["cyasker", "cynurse1", "cynurse2", "cycoach"] {
        support::reset_user(u);
    }
    cyrus::reset(PUSH, "circle").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), PUSH);
    let check = support::cli(&config, &["check"]);
    assert!(check.contains("logged in, folders ready"), "{check}");
    let _daemon = DaemonProcess::run(&config);

    support::submit_request(
        "cyasker@circle.test",
        CIRCLE,
        "cyrus-req@circle.test",
        "Nurse for a first aid class",
    )
    .await;
    let ack = until_mail("cyasker", 1).await;
    assert_eq!(ack[0].in_reply_to, "cyrus-req@circle.test");
    let forwards = until_mail("cynurse1", 1).await;
    until_mail("cynurse2", 1).await;
    let forward = &forwards[0];
    assert!(
        !forward.raw_contains("cyasker@circle.test"),
        "the forward leaks the requester"
    );
    let reply_to = forward.reply_to();
    support::submit_raw(
        "cynurse1@circle.test",
        &reply_to,
        &format!(
            "From: cynurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <cyrus-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             Happy to help.\n",
            id = forward.message_id
        ),
    )
    .await;
    let asker = until_mail("cyasker", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.message_id.contains(".intro@"))
        .expect("introduction");
    assert!(
        intro.text.contains("cynurse1@circle.test"),
        "{}",
        intro.text
    );
    let nurse1 = until_mail("cynurse1", 2).await;
    assert!(nurse1.iter().any(|m| m.message_id.contains(".intro@")));

    let processed = until_cyrus(PUSH, "INBOX.Processed", 2).await;
    assert_eq!(
        processed,
        ["<cyrus-accept@circle.test>", "<cyrus-req@circle.test>"]
    );
    assert!(cyrus::message_ids(PUSH, "circle", "INBOX").await.is_empty());
    let mut folders = cyrus::folders(PUSH, "circle").await;
    folders.sort();
    assert_eq!(
        folders,
        ["INBOX", "INBOX.Failed", "INBOX.Processed", "INBOX.Spam"]
    );
    assert!(
        support::mailbox("cycoach").is_empty(),
        "the coach was never bothered"
    );
}

#[tokio::test]
async fn cyrus_without_idled_handles_a_request_within_poll_seconds() {
    support::ensure_intake_routes();
    cyrus::require_cyrus();
    support::reset_user("cyasker2");
    cyrus::reset(NOIDLE, "circle").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), NOIDLE);
    let daemon = DaemonProcess::run_logged(
        &config,
        "warn,circle_relay::inbox::imap_idle=debug",
        dir.path().join("daemon.log"),
    );
    // The mail is stored once the daemon is in its IDLE rounds (one already
    // ended by its own poll_seconds deadline), past its start-up look at INBOX.
    support::wait_until(
        Duration::from_secs(30),
        "the daemon made its folders",
        || async { cyrus::folders(NOIDLE, "circle").await.len() == 4 },
    )
    .await;
    daemon
        .until_logged("ending IDLE", Duration::from_secs(30))
        .await;

    let msg = "From: cyasker2@circle.test\r\nTo: circle@cyrus.circle.test\r\nSubject: Nurse for first aid\r\n\
               Message-ID: <cyrus-noidle@circle.test>\r\nMIME-Version: 1.0\r\n\
               Content-Type: text/plain; charset=UTF-8\r\n\r\n\
               We need a registered nurse to teach first aid to our staff in Tokyo.\r\n";
    let mut s = cyrus::login(NOIDLE, "circle").await;
    let stored = Instant::now();
    s.append("INBOX", None, None, msg.as_bytes())
        .await
        .expect("APPEND");
    let _ = s.logout().await;
    until_cyrus(NOIDLE, "INBOX.Processed", 1).await;
    let took = stored.elapsed();
    // poll_seconds = 1; without its own check the daemon waited for Cyrus's 60 s.
    assert!(took <= Duration::from_secs(2), "handled after {took:?}");
    let ack = until_mail("cyasker2", 1).await;
    assert_eq!(ack[0].in_reply_to, "cyrus-noidle@circle.test");
}

#[test]
fn check_reports_a_refused_folder_as_a_fail_with_the_fix() {
    cyrus::require_cyrus();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path(), PUSH);
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replace(
        "poll_seconds = 1\n",
        "poll_seconds = 1\nprocessed_folder = \"user.nobody.Processed\"\n",
    );
    std::fs::write(&config, text).expect("config");
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
        "\"user.nobody.Processed\"",
        "Permission denied",
        "[inbox] processed_folder",
    ] {
        assert!(fail[0].contains(part), "{}", fail[0]);
    }
}
