//! No address leaks through the relay. A full run over the real mail stack
//! (two requests, a question and its answer, with addresses in signatures
//! and quotes, a decline, an accept, a close), then every mail the relay sent
//! is read, headers and decoded text and HTML: the requester's address is in
//! no mail to a member except that member's introduction, and a member's
//! address is in no mail to the requester except the introduction to them.

#[path = "inbox_support/mod.rs"]
mod support;

use std::time::Duration;

use support::{
    DaemonProcess, Mail, import_members, inbox_mails, submit_raw, until_inbox, until_processed,
    write_config,
};

const ASKER: &str = "asker@circle.test";
const MEMBERS: [&str; 3] = [
    "nurse1@circle.test",
    "nurse2@circle.test",
    "coach1@circle.test",
];

/// Everything a reader could see in `mail`: raw headers and bytes, and the
/// decoded text and HTML of every part (base64 and quoted-printable hide
/// addresses from a byte search).
fn visible(mail: &Mail) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(&mail.raw)
        .expect("parses");
    let mut out = String::from_utf8_lossy(&mail.raw).to_lowercase();
    for i in 0..m.text_body_count() {
        out.push_str(&m.body_text(i).unwrap_or_default().to_lowercase());
    }
    for i in 0..m.html_body_count() {
        out.push_str(&m.body_html(i).unwrap_or_default().to_lowercase());
    }
    out
}

fn reply_to(mail: &Mail) -> String {
    let m = mail_parser::MessageParser::default()
        .parse(&mail.raw)
        .expect("parses");
    m.reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .expect("a Reply-To")
        .to_string()
}

async fn send(from: &str, to: &str, in_reply_to: &str, id: &str, body: &str) {
    submit_raw(
        from,
        to,
        &format!(
            "From: {from}\nTo: {to}\nSubject: Re: request\nIn-Reply-To: <{in_reply_to}>\n\
             Message-ID: <{id}@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
        ),
    )
    .await;
}

fn user(address: &str) -> &str {
    address.trim_end_matches("@circle.test")
}

#[tokio::test]
async fn no_mail_shows_an_address_before_the_introduction() {
    support::require_stack();
    for u in ["relay", "relayadmin", "nurse1", "nurse2", "coach1", "asker"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "relay",
        &format!("sqlite://{}", dir.path().join("relay.db").display()),
        "[security]\ntoken_secret = \"no-leaks-secret-1234\"\n[matching]\nshortlist = 2\n",
    );
    import_members(
        &config,
        "email,name,skills,bio,languages,region,status\n\
         nurse1@circle.test,佐藤 愛子,看護師;救命講習,看護師です。救命講習をしています。,ja,東京,\n\
         nurse2@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
         coach1@circle.test,Dan Roe,business coaching;leadership,Coach for founders and leaders.,en,Tokyo,\n",
    );
    let _daemon = DaemonProcess::run(&config);

    // Request 1 (Japanese), with the requester's address in its signature.
    submit_raw(
        ASKER,
        "relay@circle.test",
        "From: =?UTF-8?B?5bGx5pysIOagoemVtw==?= <asker@circle.test>\nTo: relay@circle.test\nSubject: =?UTF-8?B?5pWR5ZG96Kyb57+S44Gu6Kyb5bir?=\n\
         Message-ID: <leak-req1@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\
         Content-Transfer-Encoding: base64\n\n\
         5a2m5qCh44Gu5pWZ5ZOh5ZCR44GR44Gr44CB55yL6K235bir44GV44KT44Gr5pWR5ZG96Kyb57+S\n\
         44KS44GK6aGY44GE44GX44Gf44GE44Gn44GZ44CC5p2x5Lqs44Gn44GZ44CCCgrlsbHmnKwgYXNr\n\
         ZXJAY2lyY2xlLnRlc3QK\n",
    )
    .await;
    // Request 2 (English), address in the signature too.
    submit_raw(
        ASKER,
        "relay@circle.test",
        "From: Greg <asker@circle.test>\nTo: relay@circle.test\nSubject: Nurse for a first aid class\n\
         Message-ID: <leak-req2@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
         We need a registered nurse to teach first aid in Tokyo.\n\nGreg\nasker@circle.test\n",
    )
    .await;
    until_inbox("asker", 2, Duration::from_secs(30)).await;
    let n1 = until_inbox("nurse1", 2, Duration::from_secs(30)).await;
    let n2 = until_inbox("nurse2", 2, Duration::from_secs(30)).await;
    let forward_of = |mails: &[Mail], needle: &str| -> Mail {
        mails
            .iter()
            .find(|m| m.subject.contains(needle))
            .unwrap_or_else(|| panic!("no forward about {needle}"))
            .clone()
    };
    let n1_req1 = forward_of(&n1, "救命講習");
    let n2_req1 = forward_of(&n2, "救命講習");
    let n2_req2 = forward_of(&n2, "first aid class");

    // nurse2 asks about request 2, signing with her address; the requester
    // answers, quoting her question with its signature.
    send("nurse2@circle.test", &reply_to(&n2_req2), &n2_req2.message_id, "leak-q",
        "Which dates? Beth\nnurse2@circle.test\n\nOn Sat, relay wrote:\n> Nurse for a first aid class").await;
    let question = until_inbox("asker", 3, Duration::from_secs(30))
        .await
        .into_iter()
        .find(|m| m.subject.contains("question"))
        .expect("the question reaches the requester");
    send(
        ASKER,
        &reply_to(&question),
        &question.message_id,
        "leak-a",
        "December 10th. Greg (asker@circle.test)\n\n> Which dates? Beth\n> nurse2@circle.test\n",
    )
    .await;
    until_inbox("nurse2", 3, Duration::from_secs(30)).await;
    // nurse2 declines request 1, quoting the forward; nurse1 accepts it.
    send(
        "nurse2@circle.test",
        &reply_to(&n2_req1),
        &n2_req1.message_id,
        "leak-d",
        "申し訳ありませんが、お受けできません。\nnurse2@circle.test",
    )
    .await;
    send(
        "nurse1@circle.test",
        &reply_to(&n1_req1),
        &n1_req1.message_id,
        "leak-y",
        "ぜひお受けします。\n佐藤 nurse1@circle.test\n\n> 依頼の内容",
    )
    .await;
    let asker = until_inbox("asker", 4, Duration::from_secs(30)).await;
    let intro = asker
        .iter()
        .find(|m| m.subject.contains("紹介") || m.subject.contains("Introduction"))
        .expect("the introduction to the requester")
        .clone();
    // The requester closes request 2.
    let ack2 = asker
        .iter()
        .find(|m| m.in_reply_to == "leak-req2@circle.test")
        .expect("the acknowledgement of request 2")
        .clone();
    send(
        ASKER,
        &reply_to(&ack2),
        &ack2.message_id,
        "leak-c",
        "close\n\nGreg asker@circle.test",
    )
    .await;
    until_inbox("asker", 5, Duration::from_secs(30)).await;
    until_inbox("nurse2", 4, Duration::from_secs(30)).await;
    // Both requests and their five answers handled, and all they caused delivered.
    until_processed(&config, "relay", 7).await;

    let mut checked = 0;
    for member in MEMBERS {
        for mail in inbox_mails(user(member)) {
            let seen = visible(&mail);
            let is_intro = mail.message_id.contains(".intro@");
            if !(is_intro && member == "nurse1@circle.test") {
                assert!(
                    !seen.contains(ASKER),
                    "{member} sees the requester's address in {:?}",
                    mail.subject
                );
            }
            for other in MEMBERS.iter().filter(|o| **o != member) {
                assert!(
                    !seen.contains(other),
                    "{member} sees {other} in {:?}",
                    mail.subject
                );
            }
            checked += 1;
        }
    }
    for mail in inbox_mails("asker") {
        let seen = visible(&mail);
        for member in MEMBERS {
            if mail.message_id == intro.message_id && member == "nurse1@circle.test" {
                assert!(seen.contains(member), "the introduction names nurse1");
                continue;
            }
            assert!(
                !seen.contains(member),
                "the requester sees {member} in {:?}",
                mail.subject
            );
        }
        checked += 1;
    }
    assert!(
        inbox_mails("coach1").is_empty(),
        "the coach fits neither request"
    );
    assert_eq!(
        checked,
        5 + inbox_mails("nurse1").len() + inbox_mails("nurse2").len()
    );
    eprintln!("mails checked for leaks: {checked}");
}
