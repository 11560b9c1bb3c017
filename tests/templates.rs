//! The mails as a reader sees them. Every template in both languages (and
//! for a carrier phone): buttons are `mailto:` links to the mail's own reply
//! address whose prefilled words the relay reads as the answer they name; no
//! subject or body shows the reply token or a word from inside the relay; a
//! carrier phone's mail holds no link. Then forwards through the real relay:
//! headers, sizes, deadlines in the reader's language and zone.

mod common;

use std::sync::Arc;

use circle_relay::config::{CircleConfig, MatchingConfig, RelayConfig, Secret};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::human_time::{ReaderZone, deadline, sensible_deadline};
use circle_relay::domain::{EmailAddress, MailKind};
use circle_relay::matching::Matcher;
use circle_relay::relay::intent::{Intent, read_intent};
use circle_relay::relay::templates::{MailOptions, RenderedMail, Templates};
use circle_relay::relay::{IncomingReply, IncomingRequest, Relay, ReplyOutcome, read_outcome};
use minijinja::{Value, context};
use sqlx::Row;

const TOKEN: &str = "k3j9q2m7x5v8w4t6r1p0";
const REPLY: &str = "circle+k3j9q2m7x5v8w4t6r1p0@circle.test";
const VOLUNTEER: &str = "circle+v12x3xq8w2e7r4t9y1u6i3o5p@circle.test";
/// Words from inside the relay that no reader should meet.
const INTERNAL: &[&str] = &[
    "skills:",
    "→",
    "bio",
    "unmatched",
    "[ref:",
    "member(s)",
    "forward(s)",
    "==",
    "-----",
];

/// Every mail the relay sends, from the one list the relay itself uses, so a
/// new kind is checked here without touching this file.
fn kinds() -> impl Iterator<Item = &'static str> {
    MailKind::ALL.iter().map(|k| k.as_str())
}

fn vars(ja: bool) -> Value {
    context! {
        circle => context! { name => if ja { "コーチング・サークル" } else { "Care Circle" }, address => "circle@circle.test" },
        unsubscribe_url => "mailto:circle@circle.test?subject=unsubscribe",
        request => context! {
            number => 12, subject => if ja { "就業規則を作り直したい" } else { "First aid course" },
            body => "社員が10名を超えたので、就業規則を\n作り直したいです。\n\nよろしくお願いします。",
            requester_name => "山田 達", requester_email => "tatsu@shop.example", status => "open",
        },
        member => context! { name => "佐藤 健太", email => "kenta@example.org", skills => "社労士", bio => "社労士です", languages => "ja", region => "東京", status => "active" },
        hold => context! {
            number => 3, reason_en => "not a member", reason_ja => "メンバーではない方から",
            requester_email => "stranger@example.net", requester_name => "Sam Stranger",
            subject => "Looking for a photographer", body => "Could someone photograph our event?", detail => "",
        },
        held => vec![context! { number => 3, state => "held", reason_en => "not a member", reason_ja => "メンバーではない方から", requester_email => "stranger@example.net", subject => "Looking for a photographer" }],
        expired => Vec::<Value>::new(),
        token => TOKEN, reasons => vec!["就業規則 → skills: 就業規則", "training → bio", "region: 東京"],
        deadline => if ja { "12月4日（金）18時まで" } else { "by Fri 4 Dec, 6 pm (Tokyo time)" },
        forwarded => 1, answer_within_hours => 48, asked => 1, count => 3, status => "5.1.1",
        text => "日程は？", accept_text => "はい、お受けします。", reply_direct => true,
        reason_ja => "条件に合うメンバーが見つかりません", reason_en => "no member fits this request",
        outcome => "yes",
        d => context! {
            week => "2026-W49", period => "2026-11-30 – 2026-12-07",
            numbers => context! { requests => 1, introductions => 1, median_minutes => 90, helped => 1 },
            requests => vec![
                context! { number => 12, subject => "看護師さん", status => "open", volunteer => VOLUNTEER },
                context! { number => 11, subject => "配管", status => "unmatched" },
            ],
            introductions => vec![context! { number => 10, subject => "研修", who => "佐藤" }],
            thanks => vec![context! { number => 9, subject => "講習", who => "山田", text => "ありがとう" }],
            new_members => vec!["鈴木"],
            admin => context! {
                unmatched => vec![context! { number => 11, subject => "配管", status => "unmatched" }],
                bounces => Vec::<Value>::new(), silent => vec![context! { number => 1, who => "Dan <dan@x.org>" }],
            },
        },
    }
}

fn render(kind: &str, lang: &str, carrier: bool) -> RenderedMail {
    let opts = MailOptions {
        language: lang.into(),
        reply_address: Some(REPLY.into()),
        carrier,
    };
    Templates::embedded()
        .render_mail(kind, &opts, &vars(lang == "ja"))
        .unwrap_or_else(|e| panic!("{kind} {lang}: {e}"))
}

/// Every `href="…"` of an HTML part, unescaped.
fn hrefs(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|h| h.replace("&amp;", "&"))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// (address, subject, body) of a `mailto:` URL.
fn mailto(href: &str) -> (String, String, String) {
    let rest = href.strip_prefix("mailto:").expect("a mailto link");
    let (to, query) = rest.split_once('?').expect("subject and body");
    let mut subject = String::new();
    let mut body = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        match k {
            "subject" => subject = percent_decode(v),
            "body" => body = percent_decode(v),
            other => panic!("unexpected mailto field {other}"),
        }
    }
    (percent_decode(to), subject, body)
}

fn html_without_links(html: &str) -> String {
    let mut out = html.to_string();
    for h in hrefs(html) {
        out = out.replace(&h.replace('&', "&amp;"), "");
    }
    out
}

#[test]
fn no_mail_shows_the_token_or_an_internal_word() {
    for kind in kinds() {
        for lang in ["ja", "en"] {
            for carrier in [false, true] {
                let m = render(kind, lang, carrier);
                let seen = format!("{}\n{}\n{}", m.subject, m.text, html_without_links(&m.html));
                assert!(
                    !seen.contains(TOKEN),
                    "{kind} {lang}: the token shows:\n{seen}"
                );
                for word in INTERNAL {
                    assert!(
                        !seen.contains(word),
                        "{kind} {lang} carrier={carrier}: {word:?} in\n{seen}"
                    );
                }
                assert!(!m.subject.contains('\n') && !m.subject.is_empty());
                assert!(m.text.contains("circle@circle.test"), "{kind}: footer");
            }
        }
    }
}

#[test]
fn buttons_prefill_the_words_the_relay_reads() {
    // (kind, language, words of its buttons in order, what each means).
    let accept = |t: &str| read_intent(t) == Intent::Accept;
    let decline = |t: &str| read_intent(t) == Intent::Decline;
    let question = |t: &str| read_intent(t) == Intent::Other;
    let close = |t: &str| read_intent(t) == Intent::Close;
    let worked = |t: &str| read_outcome(t) == "yes";
    let not_yet = |t: &str| read_outcome(t) == "other";
    type Means = fn(&str) -> bool;
    type Case<'a> = (&'a str, &'a str, Vec<(&'a str, Means)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "forward",
            "ja",
            vec![
                ("引き受ける", accept),
                ("辞退する", decline),
                ("質問する", question),
            ],
        ),
        (
            "forward",
            "en",
            vec![
                ("Accept", accept),
                ("Decline", decline),
                ("Ask a question", question),
            ],
        ),
        (
            "answer",
            "ja",
            vec![
                ("引き受ける", accept),
                ("辞退する", decline),
                ("質問する", question),
            ],
        ),
        (
            "answer",
            "en",
            vec![
                ("Accept", accept),
                ("Decline", decline),
                ("Ask a question", question),
            ],
        ),
        ("ack", "ja", vec![("締め切る", close)]),
        ("ack", "en", vec![("Close", close)]),
        (
            "followup",
            "ja",
            vec![("うまくいきました", worked), ("まだです", not_yet)],
        ),
        (
            "followup",
            "en",
            vec![("It worked out", worked), ("Not yet", not_yet)],
        ),
    ];
    for (kind, lang, buttons) in cases {
        let m = render(kind, lang, false);
        let links: Vec<(String, String, String)> = hrefs(&m.html)
            .iter()
            .filter(|h| !h.contains("unsubscribe"))
            .map(|h| mailto(h))
            .collect();
        assert_eq!(links.len(), buttons.len(), "{kind} {lang}: {links:?}");
        for ((to, subject, body), (word, means)) in links.iter().zip(&buttons) {
            assert_eq!(to, REPLY, "{kind} {lang}: the mail's own reply address");
            assert_eq!(subject, &format!("Re: {}", m.subject), "{kind} {lang}");
            assert_eq!(body.trim(), *word, "{kind} {lang}");
            assert!(
                means(body),
                "{kind} {lang}: {word:?} is read as what it says"
            );
            assert!(
                m.html.contains(&format!(">{word}</a>")),
                "{kind} {lang}: labelled {word}"
            );
        }
    }
    // The digest's open requests: one tap volunteers, to that request's address.
    for lang in ["ja", "en"] {
        let m = render("digest", lang, false);
        let help: Vec<_> = hrefs(&m.html)
            .iter()
            .filter(|h| h.contains("circle+v12"))
            .map(|h| mailto(h))
            .collect();
        assert_eq!(help.len(), 1, "{lang}: one button for the one open request");
        let (to, subject, body) = &help[0];
        assert_eq!(to, VOLUNTEER);
        assert!(subject.contains("12"), "{subject}");
        assert_eq!(read_intent(body), Intent::Accept, "{body}");
    }
}

#[test]
fn a_carrier_phone_gets_no_link_and_a_short_subject() {
    for kind in kinds() {
        for lang in ["ja", "en"] {
            let m = render(kind, lang, true);
            for (part, text) in [
                ("subject", &m.subject),
                ("text", &m.text),
                ("html", &m.html),
            ] {
                assert!(!text.contains("http"), "{kind} {lang} {part}:\n{text}");
                assert!(!text.contains("<a "), "{kind} {lang} {part}: a link");
            }
            assert!(
                m.subject.chars().count() <= 30,
                "{kind} {lang}: {}",
                m.subject
            );
        }
    }
    let fw = render("forward", "ja", true);
    assert!(fw.subject.contains("依頼番号 12"), "{}", fw.subject);
    assert!(
        fw.text
            .replace('\n', "")
            .contains("「引き受ける」「辞退する」「質問する」のどれかを書いて返信"),
        "answers by reply keywords: {}",
        fw.text
    );
}

#[test]
fn reasons_deadlines_and_plurals_read_naturally() {
    let ja = render("forward", "ja", false);
    let flat = ja.text.replace('\n', "");
    assert!(
        flat.contains(
            "ご依頼の「就業規則」が、あなたのプロフィールのスキル「就業規則」と一致しました"
        ),
        "{flat}"
    );
    assert!(flat.contains("12月4日（金）18時までにお返事"), "{flat}");
    let en = render("forward", "en", false);
    assert!(
        en.text
            .replace('\n', " ")
            .contains("Please answer by Fri 4 Dec, 6 pm (Tokyo time)."),
        "{}",
        en.text
    );
    let ack = render("ack", "en", false).text.replace('\n', " ");
    assert!(
        ack.contains("It went to 1 member who fits") || ack.contains("It went to 1 member who"),
        "{ack}"
    );
    let ack = render("ack", "ja", false).text.replace('\n', "");
    assert!(ack.contains("メンバー1人に"), "{ack}");
    // Admin notices carry no member's unsubscribe line.
    for lang in ["ja", "en"] {
        let m = render("admin_alert", lang, false);
        assert!(
            !m.text.contains("退会") && !m.text.contains("unsubscribe"),
            "{}",
            m.text
        );
        assert!(!m.html.contains(">配信停止<") && !m.html.contains(">Unsubscribe<"));
    }
    // One word per state: the Japanese digest never shows an English state.
    let d = render("digest", "ja", false);
    assert!(
        d.text.contains("【募集中】") && d.text.contains("【該当者なし】"),
        "{}",
        d.text
    );
}

/// Beth lives in London: her deadline reads in her own time.
const MEMBERS: &str = "email,name,skills,bio,languages,region,status,timezone\n\
    aiko@example.org,佐藤 愛子,看護師;救命講習,企業向けの救命講習をしています。,ja,東京,,\n\
    beth@example.org,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,,Europe/London\n\
    hana@docomo.ne.jp,木村 花,看護師;救命講習,病院勤務の看護師。,ja,東京,,\n";

/// Forwards through the real relay, read back from the outbox as sent.
#[tokio::test]
async fn forwards_through_the_relay_read_well_in_every_client() {
    let (_dir, stores) = common::stores().await;
    let (_, store) = stores.into_iter().next().unwrap();
    store
        .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
        .await
        .unwrap();
    let matcher = Matcher::with_default_vocabulary(store.members().await.unwrap()).unwrap();
    let now = 1_796_500_000; // 2026-12-05
    let relay = Relay::new(
        CircleConfig {
            name: "Care Circle".into(),
            address: "circle@circle.test".into(),
            timezone: "Asia/Tokyo".into(),
            ..CircleConfig::default()
        },
        RelayConfig::default(),
        MatchingConfig::default(),
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap()
    .with_clock(Arc::new(move || now));
    let mut tx = store.begin().await.unwrap();
    let outcome = relay
        .take_request(
            &mut tx,
            &matcher,
            Default::default(),
            &IncomingRequest {
                inbound_id: None,
                from: EmailAddress::parse("school@example.net").unwrap(),
                from_name: "山本 校長".into(),
                subject: "救命講習の講師（看護師）を探しています".into(),
                body: "学校の教員向けに、看護師さんに\n救命講習をお願いしたいです。\n会場: https://school.example.net/hall".into(),
                message_id: Some("req@example.net".into()),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(outcome.forwarded_to.len(), 3);
    let zone = ReaderZone::pick(None, "Asia/Tokyo");
    let due = sensible_deadline(now + 48 * 3600, now, &zone);
    // The wave ends when the forwards say it does.
    let stored: Option<i64> = sqlx::query("SELECT wave_due_at FROM requests WHERE id = $1")
        .bind(outcome.request_id)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("wave_due_at");
    assert_eq!(stored, Some(due), "the stored due time is the one shown");
    let london = ReaderZone::pick(Some("Europe/London"), "Asia/Tokyo");
    // The requester reads the same deadline, in the circle's time (not a member).
    let ack: Vec<u8> = sqlx::query("SELECT message FROM outbox WHERE kind = 'ack'")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get("message");
    let ack = mail_parser::MessageParser::default().parse(&ack).unwrap();
    let ack_text = ack.body_text(0).unwrap().replace(['\r', '\n'], "");
    assert!(
        ack_text.contains(&format!(
            "{}にお返事がない場合は",
            deadline(due, &zone, true)
        )),
        "{ack_text}"
    );
    let rows = sqlx::query("SELECT to_email, message FROM outbox WHERE kind = 'forward'")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        let to: String = row.get("to_email");
        let raw: Vec<u8> = row.get("message");
        assert!(
            raw.len() <= 30_000,
            "{to}: a forward of {} bytes",
            raw.len()
        );
        let head = String::from_utf8_lossy(&raw);
        let head = head.split("\r\n\r\n").next().unwrap();
        for want in [
            "Auto-Submitted: auto-generated",
            "List-Unsubscribe: <mailto:circle@circle.test?subject=unsubscribe>",
            "multipart/alternative",
        ] {
            assert!(head.contains(want), "{to}: {want} in\n{head}");
        }
        let subject_line = head.lines().find(|l| l.starts_with("Subject:")).unwrap();
        assert!(
            subject_line.contains("=?utf-8?"),
            "RFC 2047: {subject_line}"
        );
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert!(m.message_id().unwrap().ends_with("@circle.test"));
        let reply_to = m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap()
            .to_string();
        let token = reply_to
            .strip_prefix("circle+")
            .unwrap()
            .split('@')
            .next()
            .unwrap()
            .to_string();
        let subject = m.subject().unwrap().to_string();
        let text = m.body_text(0).unwrap().to_string();
        let html = m.body_html(0).unwrap().to_string();
        assert!(
            subject.contains("依頼番号 1") || subject.contains("request 1"),
            "{subject}"
        );
        for part in [&subject, &text] {
            assert!(!part.contains(&token), "{to}: the token shows in {part}");
        }
        let japanese = to != "beth@example.org";
        let when = deadline(due, if japanese { &zone } else { &london }, japanese);
        assert!(
            text.replace(['\r', '\n', ' '], "")
                .contains(&when.replace(' ', "")),
            "{to}: {when} in {text}"
        );
        if !japanese {
            assert!(
                !text.contains("Tokyo time"),
                "Beth reads London time: {text}"
            );
        }
        if to.ends_with("@docomo.ne.jp") {
            assert!(
                text.contains("school.example.net/hall"),
                "the sender's address stays readable: {text}"
            );
            for part in [&subject, &text, &html] {
                assert!(
                    !part.contains("http") && !part.contains("<a "),
                    "{to}: a link in\n{part}"
                );
            }
            assert!(!subject.starts_with("[Care Circle]"), "{subject}");
        } else {
            let accept = hrefs(&html)
                .into_iter()
                .find(|h| !h.contains("unsubscribe"))
                .unwrap();
            let (addr, re, body) = mailto(&accept);
            assert_eq!(
                addr, reply_to,
                "{to}: the Accept button answers this forward"
            );
            assert_eq!(re, format!("Re: {subject}"));
            assert_eq!(read_intent(&body), Intent::Accept);
            assert!(
                text.contains("救命講習をお願いしたいです")
                    || text.contains("看護師さんに救命講習"),
                "{text}"
            );
        }
    }

    // Beth accepts with the button's word and a note of her own.
    let token: String = sqlx::query(
        "SELECT f.token AS token FROM forwards f JOIN members m ON m.id = f.member_id WHERE m.email = 'beth@example.org'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap()
    .get("token");
    let mut tx = store.begin().await.unwrap();
    let outcome = relay
        .take_reply(
            &mut tx,
            &matcher,
            &IncomingReply {
                inbound_id: None,
                from: EmailAddress::parse("beth@example.org").unwrap(),
                token,
                new_text: "Accept\n\nI can do a Saturday in January.".into(),
                message_id: Some("accept@example.org".into()),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(
        matches!(outcome, ReplyOutcome::Accepted { .. }),
        "{outcome:?}"
    );
    let intros = sqlx::query(
        "SELECT kind, to_email, message FROM outbox WHERE kind LIKE 'intro_%' ORDER BY kind",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    assert_eq!(intros.len(), 2);
    for row in intros {
        let kind: String = row.get("kind");
        let raw: Vec<u8> = row.get("message");
        let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
        let reply_to = m
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or("")
            .to_string();
        let text = m.body_text(0).unwrap().replace(['\r', '\n'], " ");
        match kind.as_str() {
            "intro_requester" => {
                assert_eq!(reply_to, "beth@example.org", "Reply goes to the member");
                assert!(
                    text.contains("I can do a Saturday in January."),
                    "her own words: {text}"
                );
                assert!(
                    !text.contains("Accept I can"),
                    "the button word is not quoted: {text}"
                );
            }
            "intro_member" => assert_eq!(
                reply_to, "school@example.net",
                "Reply goes to the requester"
            ),
            other => panic!("{other}"),
        }
        assert!(
            !text.contains("返信で") && !text.contains("Reply to this mail with"),
            "no relay instructions: {text}"
        );
    }
}
