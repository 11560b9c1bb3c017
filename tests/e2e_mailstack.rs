//! The product as its users meet it: the daemon runs as a real process
//! against Dovecot (IMAP IDLE) and Postfix (SMTP) from deploy/mailstack, and
//! the test looks into each user's mailbox for what arrived.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::{mailbox, until_mail, until_processed};

const USERS: &[&str] = &["relay", "relayadmin", "nurse1", "nurse2", "coach1", "asker"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    nurse1@circle.test,佐藤 愛子,看護師;救命講習,看護師です。企業や学校で救命講習をしています。,ja,東京,\n\
    nurse2@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n\
    coach1@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn setup(dir: &Path) -> PathBuf {
    setup_circle(dir, "relay", MEMBERS)
}

fn setup_circle(dir: &Path, relay_user: &str, members: &str) -> PathBuf {
    support::setup_circle(dir, relay_user, &["relayadmin"], members, "")
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
    assert!(ack[0].text.contains("受け付けました"), "{}", ack[0].text);
    let nurse2 = until_mail("nurse2", 1).await;
    let forward = &forwards[0];
    assert!(
        forward.text.contains("救命講習をお願いしたい"),
        "the request's text: {}",
        forward.text
    );
    for (who, m) in [("nurse1", forward), ("nurse2", &nurse2[0])] {
        let raw = String::from_utf8_lossy(&m.raw);
        assert!(
            !raw.contains("asker@circle.test"),
            "{who}'s forward leaks the requester's address"
        );
    }
    assert!(
        !ack[0].raw.windows(6).any(|w| w == b"nurse1"),
        "the acknowledgement names no member"
    );

    // nurse1 answers Gmail-style, above the quoted forward, to its Reply-To.
    let reply_to = forward.reply_to();
    submit(
        "nurse1@circle.test",
        &reply_to,
        format!(
            "From: nurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <e2e-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             ぜひお受けします\n\n2026年11月28日(土) 10:00 Care Circle <relay@circle.test>:\n> 依頼の内容\n> 救命講習\n",
            id = forward.message_id
        ),
    )
    .await;

    let asker = until_mail("asker", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.message_id.contains(".intro@"))
        .expect("introduction to the requester");
    assert!(intro.text.contains("nurse1@circle.test"), "{}", intro.text);
    let nurse1 = until_mail("nurse1", 2).await;
    assert!(
        nurse1
            .iter()
            .any(|m| m.message_id.contains(".intro@") && m.text.contains("asker@circle.test"))
    );
    let nurse2 = until_mail("nurse2", 2).await;
    assert!(
        nurse2.iter().any(|m| m.text.contains("is filled")),
        "the other nurse is told"
    );
    // The request and the accept handled, and all they caused delivered.
    until_processed(&config, "relay", 2).await;
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
    let (to3, to4) = (fw3.reply_to(), fw4.reply_to());

    // An out-of-office reply is recorded and never answered.
    reply(
        "nurse4@circle.test",
        &to4,
        &fw4.message_id,
        "Auto-Submitted: auto-replied\n",
        "I am out of the office.",
        1,
    )
    .await;
    // Someone else answers with nurse3's reply address: only told it does not count.
    reply(
        "stranger@circle.test",
        &to3,
        &fw3.message_id,
        "",
        "Yes, happy to help",
        2,
    )
    .await;
    let told = until_mail("stranger", 1).await;
    assert!(told[0].text.contains("another address"), "{}", told[0].text);

    // nurse3 asks; the requester gets the question without her address, and answers.
    reply(
        "nurse3@circle.test",
        &to3,
        &fw3.message_id,
        "",
        "Which dates are you thinking of? Write to nurse3@circle.test",
        3,
    )
    .await;
    let question = until_mail("asker2", 2)
        .await
        .into_iter()
        .find(|m| m.message_id != ack.message_id)
        .unwrap();
    assert!(question.text.contains("Which dates"), "{}", question.text);
    assert!(
        !String::from_utf8_lossy(&question.raw).contains("nurse3@circle.test"),
        "the member's address leaked"
    );
    let q_reply_to = question.reply_to();
    reply(
        "asker2@circle.test",
        &q_reply_to,
        &question.message_id,
        "",
        "The second week of December. Me: asker2@circle.test",
        4,
    )
    .await;
    let answer = until_mail("nurse3", 2)
        .await
        .into_iter()
        .find(|m| m.message_id != fw3.message_id)
        .unwrap();
    assert!(
        answer.text.contains("second week of December"),
        "{}",
        answer.text
    );
    assert!(
        !String::from_utf8_lossy(&answer.raw).contains("asker2@circle.test"),
        "the requester's address leaked"
    );

    // The requester closes; both nurses are told; a late accept is thanked, not introduced.
    reply(
        "asker2@circle.test",
        &ack.reply_to(),
        &ack.message_id,
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
        &fw4.message_id,
        "",
        "はい、お受けします",
        6,
    )
    .await;
    let late = until_mail("nurse4", 3).await;
    assert!(
        late.iter().any(|m| m.text.contains("締め切られました")),
        "late accept told it is closed"
    );
    // The request and its six answers handled, and all they caused delivered.
    until_processed(&config, "relay2", 7).await;
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
