//! One-tap answers over the real mail stack (daemon as a process, Dovecot,
//! Postfix). Members answer as a phone mail app writes mail: from a forward's
//! `mailto:` button (To, Subject and body only, no In-Reply-To or
//! References), and from an app that drops Reply-To and the threading headers
//! and answers the From address with only the subject left.

#[path = "inbox_support/mod.rs"]
mod support;

use support::{Mail, mailbox, until_mail, until_mail_where};

const USERS: &[&str] = &["taprelay", "tapnurse1", "tapnurse2", "tapasker", "tapadmin"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    tapnurse1@circle.test,佐藤 愛子,看護師;救命講習,看護師です。企業や学校で救命講習をしています。,ja,東京,\n\
    tapnurse2@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n";

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// (to, subject, body) of the first answer button (`mailto:` other than unsubscribe).
fn first_button(m: &Mail) -> (String, String, String) {
    let parsed = mail_parser::MessageParser::default().parse(&m.raw).unwrap();
    let html = parsed.body_html(0).unwrap().to_string();
    let href = html
        .split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .find(|h| h.starts_with("mailto:") && !h.contains("unsubscribe"))
        .expect("an answer button");
    let rest = href.strip_prefix("mailto:").unwrap();
    let (to, query) = rest.split_once('?').unwrap();
    let field = |name: &str| {
        query
            .split('&')
            .find_map(|p| p.strip_prefix(&format!("{name}=")))
            .map(percent_decode)
            .unwrap_or_default()
    };
    (percent_decode(to), field("subject"), field("body"))
}

/// A mail as a phone app writes it: no In-Reply-To, no References.
fn phone_mail(from: &str, to: &str, subject: &str, body: &str, n: u32) -> String {
    let subject = format!("=?UTF-8?B?{}?=", base64(subject.as_bytes()));
    format!(
        "From: {from}\nTo: {to}\nSubject: {subject}\nMessage-ID: <tap-{n}@phone.example>\n\
         MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n{body}\n"
    )
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_phone_answers_by_button_and_without_threading_headers() {
    support::require_stack();
    for u in USERS {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), "taprelay", &["tapadmin"], MEMBERS, "");
    let _daemon = support::DaemonProcess::run(&config);
    support::submit_raw(
        "tapasker@circle.test",
        "taprelay@circle.test",
        &phone_mail(
            "Yamamoto <tapasker@circle.test>",
            "taprelay@circle.test",
            "教員向け救命講習の講師",
            "学校の教員向けに、看護師さんに救命講習をお願いしたいです。東京です。",
            1,
        ),
    )
    .await;
    let fw1 = until_mail("tapnurse1", 1).await.remove(0);
    let fw2 = until_mail("tapnurse2", 1).await.remove(0);
    until_mail("tapasker", 1).await;
    for fw in [&fw1, &fw2] {
        assert!(!fw.subject.contains("[ref:"), "{}", fw.subject);
        assert!(fw.subject.contains("依頼番号 1") || fw.subject.contains("request 1"));
    }

    // tapnurse1's app drops Reply-To and threading: it answers the From
    // address with "Re: subject"; the subject's request number and her
    // address tie it to her forward, and her question reaches the requester.
    support::submit_raw(
        "tapnurse1@circle.test",
        "taprelay@circle.test",
        &phone_mail(
            "tapnurse1@circle.test",
            &fw1.from,
            &format!("Re: {}", fw1.subject),
            "質問する\n日程は土曜日でもよいですか？",
            2,
        ),
    )
    .await;
    let question = until_mail_where("tapasker", "the relayed question", |m| {
        m.text.contains("日程は土曜日でもよいですか")
    })
    .await;
    assert!(
        !question.raw_contains("tapnurse1@"),
        "the member's address stays hidden"
    );
    assert!(
        !question.text.contains("質問する\n"),
        "the button word is not relayed"
    );

    // tapnurse2 taps Accept: the app fills To, Subject and body from the link.
    let (to, subject, body) = first_button(&fw2);
    assert_eq!(
        to,
        fw2.reply_to(),
        "the button answers her forward's own address"
    );
    assert_eq!(body.trim(), "Accept");
    support::submit_raw(
        "tapnurse2@circle.test",
        &to,
        &phone_mail("tapnurse2@circle.test", &to, &subject, &body, 3),
    )
    .await;
    let intro = until_mail_where("tapasker", "the introduction", |m| {
        m.message_id.contains(".intro@")
    })
    .await;
    assert_eq!(
        intro.reply_to(),
        "tapnurse2@circle.test",
        "Reply reaches the member"
    );
    assert!(intro.text.contains("tapnurse2@circle.test"));
    let member_intro = until_mail_where("tapnurse2", "her introduction", |m| {
        m.message_id.contains(".intro@")
    })
    .await;
    assert_eq!(
        member_intro.reply_to(),
        "tapasker@circle.test",
        "Reply reaches the requester"
    );
    // Nothing was taken as a new request: the admin heard of none.
    assert!(
        mailbox("tapadmin").is_empty(),
        "no request without a match: {:?}",
        mailbox("tapadmin")
            .iter()
            .map(|m| &m.subject)
            .collect::<Vec<_>>()
    );
}
