//! The product as its users meet it: the daemon runs as a real process
//! against Dovecot (IMAP IDLE) and Postfix (SMTP) from deploy/mailstack, and
//! the test looks into each user's mailbox for what arrived.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_circle-relay");
const USERS: &[&str] = &["relay", "relayadmin", "nurse1", "nurse2", "coach1", "asker"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    nurse1@circle.test,佐藤 愛子,看護師;救命講習,看護師です。企業や学校で救命講習をしています。,ja,東京,\n\
    nurse2@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n\
    coach1@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn setup(dir: &Path) -> PathBuf {
    setup_circle(dir, "relay", MEMBERS)
}

fn setup_circle(dir: &Path, relay_user: &str, members: &str) -> PathBuf {
    let config = dir.join("circle-relay.toml");
    std::fs::write(
        &config,
        format!(
            "[circle]\nname = \"Care Circle\"\naddress = \"{relay_user}@circle.test\"\nadmins = [\"relayadmin@circle.test\"]\nposting = \"anyone\"\n\
             [database]\nurl = \"sqlite://{db}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = 10143\ntls = \"none\"\nusername = \"{relay_user}\"\npassword = \"test\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"\n\
             [security]\ntoken_secret = \"an-end-to-end-secret\"\n",
            db = dir.join("relay.db").display()
        ),
    )
    .unwrap();
    let csv = dir.join("members.csv");
    std::fs::write(&csv, members).unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["members", "import"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    config
}

/// Every message in `user`'s mailbox (all folders), parsed: (Message-ID, From, decoded text).
fn mailbox(user: &str) -> Vec<(String, String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let root = support::maildir_of(user);
    let mut dirs = vec![root.join("new"), root.join("cur")];
    if let Ok(entries) = std::fs::read_dir(&root) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                dirs.push(e.path().join("new"));
                dirs.push(e.path().join("cur"));
            }
        }
    }
    for d in dirs {
        for f in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let raw = std::fs::read(f.path()).unwrap();
            let Some(m) = mail_parser::MessageParser::default().parse(&raw) else {
                continue;
            };
            let from = m
                .from()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or("")
                .to_string();
            let text = format!(
                "{}\n{}",
                m.subject().unwrap_or(""),
                m.body_text(0).unwrap_or_default()
            );
            out.push((m.message_id().unwrap_or("").to_string(), from, text, raw));
        }
    }
    out
}

async fn until_mail(user: &str, n: usize) -> Vec<(String, String, String, Vec<u8>)> {
    for _ in 0..300 {
        let m = mailbox(user);
        if m.len() >= n {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{user} never received {n} mails: has {}",
        mailbox(user).len()
    );
}

async fn submit(from: &str, to: &str, raw: String) {
    support::submit_raw(from, to, &raw).await;
}

#[tokio::test]
async fn a_japanese_request_by_smtp_ends_in_introductions() {
    support::require_stack();
    for u in USERS {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = setup(dir.path());
    let _daemon = support::DaemonProcess::run(&config);

    submit(
        "asker@circle.test",
        "relay@circle.test",
        "From: =?UTF-8?B?5bGx5pysIOagoemVtw==?= <asker@circle.test>\nTo: relay@circle.test\n\
         Subject: =?UTF-8?B?5pWZ5ZOh5ZCR44GR5pWR5ZG96Kyb57+S44Gu6Kyb5bir?=\nMessage-ID: <e2e-req@circle.test>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         学校の教員向けに、看護師さんに救命講習をお願いしたいです。東京です。\n"
            .into(),
    )
    .await;

    let forwards = until_mail("nurse1", 1).await;
    let ack = until_mail("asker", 1).await;
    assert!(ack[0].2.contains("受け付けました"), "{}", ack[0].2);
    let nurse2 = until_mail("nurse2", 1).await;
    let forward = &forwards[0];
    assert!(
        forward.2.contains("救命講習をお願いしたい"),
        "the request's text: {}",
        forward.2
    );
    for (who, m) in [("nurse1", forward), ("nurse2", &nurse2[0])] {
        let raw = String::from_utf8_lossy(&m.3);
        assert!(
            !raw.contains("asker@circle.test"),
            "{who}'s forward leaks the requester's address"
        );
    }
    assert!(
        !ack[0].3.windows(6).any(|w| w == b"nurse1"),
        "the acknowledgement names no member"
    );

    // nurse1 answers Gmail-style, above the quoted forward, to its Reply-To.
    let parsed = mail_parser::MessageParser::default()
        .parse(&forward.3)
        .unwrap();
    let reply_to = parsed
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap()
        .to_string();
    submit(
        "nurse1@circle.test",
        &reply_to,
        format!(
            "From: nurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <e2e-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             ぜひお受けします\n\n2026年11月28日(土) 10:00 Care Circle <relay@circle.test>:\n> 依頼の内容\n> 救命講習\n",
            id = forward.0
        ),
    )
    .await;

    let asker = until_mail("asker", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.0.contains(".intro@"))
        .expect("introduction to the requester");
    assert!(intro.2.contains("nurse1@circle.test"), "{}", intro.2);
    let nurse1 = until_mail("nurse1", 2).await;
    assert!(
        nurse1
            .iter()
            .any(|m| m.0.contains(".intro@") && m.2.contains("asker@circle.test"))
    );
    let nurse2 = until_mail("nurse2", 2).await;
    assert!(
        nurse2.iter().any(|m| m.2.contains("is filled")),
        "the other nurse is told"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(mailbox("coach1").is_empty(), "the coach was never bothered");
    assert_eq!(
        mailbox("asker").len(),
        2,
        "acknowledgement and introduction, nothing else"
    );
    assert_eq!(
        mailbox("nurse1").len(),
        2,
        "forward and introduction, nothing else"
    );
    assert_eq!(
        mailbox("nurse2").len(),
        2,
        "forward and filled notice, nothing else"
    );
    assert_eq!(
        mailbox("relay").len(),
        2,
        "both inbound messages are kept (moved to Processed)"
    );
}

const MEMBERS_2: &str = "email,name,skills,bio,languages,region,status\n\
    nurse3@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
    nurse4@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n";

fn header_of(raw: &[u8], name: &str) -> String {
    let m = mail_parser::MessageParser::default().parse(raw).unwrap();
    match name {
        "reply-to" => m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or("")
            .to_string(),
        _ => m.message_id().unwrap_or("").to_string(),
    }
}

async fn reply(from: &str, to: &str, in_reply_to: &str, extra: &str, body: &str, n: u32) {
    submit(
        from,
        to,
        format!(
            "From: {from}\nTo: {to}\nSubject: Re: request\nIn-Reply-To: <{in_reply_to}>\n{extra}\
             Message-ID: <e2e2-{n}@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
        ),
    )
    .await;
}

#[tokio::test]
async fn auto_replies_spoofs_questions_close_and_late_accepts() {
    support::require_stack();
    for u in ["relay2", "nurse3", "nurse4", "asker2", "stranger"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = setup_circle(dir.path(), "relay2", MEMBERS_2);
    let _daemon = support::DaemonProcess::run(&config);
    submit(
        "asker2@circle.test",
        "relay2@circle.test",
        "From: Greg <asker2@circle.test>\nTo: relay2@circle.test\nSubject: Nurse for a first aid class\n\
         Message-ID: <e2e2-req@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a registered nurse to teach first aid to our staff in Tokyo.\n"
            .into(),
    )
    .await;
    let fw3 = until_mail("nurse3", 1).await.remove(0);
    let fw4 = until_mail("nurse4", 1).await.remove(0);
    let ack = until_mail("asker2", 1).await.remove(0);
    let (to3, to4) = (header_of(&fw3.3, "reply-to"), header_of(&fw4.3, "reply-to"));

    // An out-of-office reply is recorded and never answered.
    reply(
        "nurse4@circle.test",
        &to4,
        &fw4.0,
        "Auto-Submitted: auto-replied\n",
        "I am out of the office.",
        1,
    )
    .await;
    // Someone else answers with nurse3's reply address: only told it does not count.
    reply(
        "stranger@circle.test",
        &to3,
        &fw3.0,
        "",
        "Yes, happy to help",
        2,
    )
    .await;
    let told = until_mail("stranger", 1).await;
    assert!(told[0].2.contains("another address"), "{}", told[0].2);

    // nurse3 asks; the requester gets the question without her address, and answers.
    reply(
        "nurse3@circle.test",
        &to3,
        &fw3.0,
        "",
        "Which dates are you thinking of? Write to nurse3@circle.test",
        3,
    )
    .await;
    let question = until_mail("asker2", 2)
        .await
        .into_iter()
        .find(|m| m.0 != ack.0)
        .unwrap();
    assert!(question.2.contains("Which dates"), "{}", question.2);
    assert!(
        !String::from_utf8_lossy(&question.3).contains("nurse3@circle.test"),
        "the member's address leaked"
    );
    let q_reply_to = header_of(&question.3, "reply-to");
    reply(
        "asker2@circle.test",
        &q_reply_to,
        &question.0,
        "",
        "The second week of December. Me: asker2@circle.test",
        4,
    )
    .await;
    let answer = until_mail("nurse3", 2)
        .await
        .into_iter()
        .find(|m| m.0 != fw3.0)
        .unwrap();
    assert!(answer.2.contains("second week of December"), "{}", answer.2);
    assert!(
        !String::from_utf8_lossy(&answer.3).contains("asker2@circle.test"),
        "the requester's address leaked"
    );

    // The requester closes; both nurses are told; a late accept is thanked, not introduced.
    reply(
        "asker2@circle.test",
        &header_of(&ack.3, "reply-to"),
        &ack.0,
        "",
        "close",
        5,
    )
    .await;
    until_mail("nurse4", 2).await;
    until_mail("nurse3", 3).await;
    until_mail("asker2", 3).await;
    reply(
        "nurse4@circle.test",
        &to4,
        &fw4.0,
        "",
        "はい、お受けします",
        6,
    )
    .await;
    let late = until_mail("nurse4", 3).await;
    assert!(
        late.iter().any(|m| m.2.contains("締め切られました")),
        "late accept told it is closed"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        mailbox("stranger").len(),
        1,
        "the spoofer gets one explanation, nothing else"
    );
    assert_eq!(
        mailbox("asker2").len(),
        3,
        "acknowledgement, question, closed; no introduction"
    );
    assert_eq!(mailbox("nurse3").len(), 3, "forward, answer, closed");
    assert_eq!(
        mailbox("nurse4").len(),
        3,
        "forward, closed, already closed; the out-of-office got nothing"
    );
}
