//! Moderation and sender trust (issue 14) as people meet them: the daemon
//! runs as a real process on the mail stack, mail goes in by SMTP, and each
//! test asserts what every mailbox holds afterwards. Postfix on the stack
//! adds no Authentication-Results itself, so the tests write the header a
//! receiving server would (with the trusted id `mx.circle.test`).

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use support::{Mail, mailbox, send_text, until_mail_where};

const TRUSTED: &str = "mx.circle.test";
const BODY: &str = "We need a registered nurse to teach first aid to our staff in Tokyo.";

fn addr(user: &str) -> String {
    format!("{user}@circle.test")
}

fn members(users: &[&str]) -> String {
    let mut csv = String::from("email,name,skills,bio,languages,region,status\n");
    for u in users {
        csv.push_str(&format!(
            "{u}@circle.test,Nurse {u},registered nurse;first aid instructor,Nurse teaching first aid and CPR to staff.,en,Tokyo,\n"
        ));
    }
    csv
}

/// A circle at `relay@circle.test` with `admin`, `posting`, and sender
/// authentication from [`TRUSTED`]; `extra` adds sections.
fn circle(
    dir: &Path,
    relay: &str,
    admin: &str,
    posting: &str,
    nurses: &[&str],
    extra: &str,
) -> PathBuf {
    let config = support::setup_circle(dir, relay, &[admin], &members(nurses), extra);
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text
        .replace("posting = \"anyone\"", &format!("posting = \"{posting}\""))
        .replacen(
            "password = \"test\"\n",
            &format!("password = \"test\"\ntrusted_authserv_id = \"{TRUSTED}\"\n"),
            1,
        );
    std::fs::write(&config, text).unwrap();
    config
}

fn reset(users: &[&str]) {
    support::require_stack();
    for u in users {
        support::reset_user(u);
    }
}

/// Subjects of what `user`'s mailbox holds (INBOX and folders), sorted.
fn subjects(user: &str) -> Vec<String> {
    let mut s: Vec<String> = mailbox(user).into_iter().map(|m| m.subject).collect();
    s.sort();
    s
}

/// Waits until the relay has taken `n` messages out of its INBOX (to any folder).
async fn until_taken(relay: &str, n: usize) {
    support::wait_until(
        std::time::Duration::from_secs(30),
        "messages taken",
        || async {
            let all = mailbox(relay);
            let waiting = all.iter().filter(|m| m.folder.is_empty()).count();
            waiting == 0 && all.len() >= n
        },
    )
    .await;
}

/// The `which`-th mailto button of a hold notice's HTML part, sent as a
/// phone mail app would: To, Subject and body only.
async fn tap(from: &str, notice: &Mail, which: usize) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(&notice.raw)
        .expect("the notice parses");
    let html = parsed.body_html(0).expect("the notice has an HTML part");
    let links: Vec<String> = html
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with("mailto:"))
        .map(|href| href.replace("&amp;", "&"))
        .collect();
    let link = links
        .get(which)
        .unwrap_or_else(|| panic!("no mailto button {which} in {html}"));
    let (to, query) = link.trim_start_matches("mailto:").split_once('?').unwrap();
    let mut subject = String::new();
    let mut body = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        let v = percent_decode(v);
        match k {
            "subject" => subject = v,
            "body" => body = v,
            _ => {}
        }
    }
    send_text(from, to, &subject, "", &body).await
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn held_list(config: &Path) -> String {
    support::cli(config, &["requests", "list", "--held"])
}

#[tokio::test]
async fn moderated_non_member_is_held_and_only_an_admin_decides() {
    let users = [
        "trelay1",
        "tadmin1",
        "tnurse1a",
        "tnurse1b",
        "tstranger1",
        "tother1",
    ];
    reset(&users);
    let dir = tempfile::tempdir().unwrap();
    let config = circle(
        dir.path(),
        "trelay1",
        "tadmin1",
        "moderated",
        &["tnurse1a", "tnurse1b"],
        "",
    );
    let _daemon = support::DaemonProcess::run(&config);
    let (relay, stranger) = (addr("trelay1"), addr("tstranger1"));

    // A non-member's request: held, only the admin hears of it.
    send_text(&stranger, &relay, "First aid course", "", BODY).await;
    let notice = until_mail_where("tadmin1", "the hold notice", |m| {
        m.subject.contains("承認待ち")
    })
    .await;
    assert!(
        notice.text.contains("First aid course") && notice.text.contains(BODY),
        "{}",
        notice.text
    );
    assert!(
        notice.text.contains("メンバーではない方"),
        "why it was held: {}",
        notice.text
    );
    until_taken("trelay1", 1).await;
    for u in ["tnurse1a", "tnurse1b", "tstranger1", "tother1"] {
        assert!(subjects(u).is_empty(), "{u} got {:?}", subjects(u));
    }
    assert!(
        held_list(&config).contains("non_member held"),
        "{}",
        held_list(&config)
    );

    // The approve button tapped by a non-admin, and a tampered token: nothing.
    tap(&addr("tother1"), &notice, 0).await;
    let hold_to = notice.reply_to();
    let (local, domain) = hold_to.split_once('@').unwrap();
    let mut tampered = local.to_string();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    send_text(
        &addr("tadmin1"),
        &format!("{tampered}@{domain}"),
        "承認",
        "",
        "承認",
    )
    .await;
    until_taken("trelay1", 3).await;
    for u in ["tnurse1a", "tnurse1b", "tstranger1"] {
        assert!(subjects(u).is_empty(), "{u} got {:?}", subjects(u));
    }
    assert!(held_list(&config).contains("non_member held"));

    // The admin taps approve: the forwards and then the acknowledgement.
    tap(&addr("tadmin1"), &notice, 0).await;
    let ack = until_mail_where("tstranger1", "the acknowledgement", |m| {
        !m.subject.is_empty()
    })
    .await;
    for u in ["tnurse1a", "tnurse1b"] {
        let fwd = until_mail_where(u, "the forward", |m| m.text.contains(BODY)).await;
        assert!(
            !fwd.raw_contains(&stranger),
            "the requester's address stays hidden"
        );
    }
    assert_eq!(
        mailbox("tstranger1").len(),
        1,
        "only the acknowledgement: {}",
        ack.subject
    );
    assert!(held_list(&config).contains("non_member approved"));

    // A second request, rejected by the reply word: the polite note only.
    send_text(&stranger, &relay, "Another course", "", BODY).await;
    let second = until_mail_where("tadmin1", "the second notice", |m| {
        m.subject.contains("承認待ち") && m.text.contains("Another course")
    })
    .await;
    tap(&addr("tadmin1"), &second, 1).await;
    let note = until_mail_where("tstranger1", "the polite note", |m| {
        m.subject.contains("Another course")
    })
    .await;
    assert!(note.text.contains("could not pass it on"), "{}", note.text);
    assert_eq!(mailbox("tstranger1").len(), 2);
    for u in ["tnurse1a", "tnurse1b"] {
        assert_eq!(
            mailbox(u).len(),
            1,
            "{u}: only the approved request's forward"
        );
    }
}

#[tokio::test]
async fn forged_senders_spam_and_the_daily_limit() {
    let users = ["trelay2", "tadmin2", "tnurse2a", "tnurse2b", "tnurse2c"];
    reset(&users);
    let dir = tempfile::tempdir().unwrap();
    let config = circle(
        dir.path(),
        "trelay2",
        "tadmin2",
        "members",
        &["tnurse2a", "tnurse2b", "tnurse2c"],
        "",
    );
    let _daemon = support::DaemonProcess::run(&config);
    let relay = addr("trelay2");
    let forged_member = addr("tnurse2a");

    // dmarc=fail at the trusted server: held, nobody but the admin told,
    // and the forged member is not treated as the sender.
    let fail = format!(
        "Authentication-Results: {TRUSTED}; dmarc=fail (p=reject) header.from=circle.test\n"
    );
    send_text(&forged_member, &relay, "Forged first aid", &fail, BODY).await;
    let notice = until_mail_where("tadmin2", "the hold notice", |m| {
        m.text.contains("Forged first aid")
    })
    .await;
    assert!(notice.text.contains("偽装"), "{}", notice.text);
    until_taken("trelay2", 1).await;
    for u in ["tnurse2a", "tnurse2b", "tnurse2c"] {
        assert!(subjects(u).is_empty(), "{u} got {:?}", subjects(u));
    }
    // A forged pause is not applied.
    send_text(&addr("tnurse2b"), &relay, "pause", &fail, "").await;
    until_taken("trelay2", 2).await;
    assert_eq!(
        support::member_status(&config, &addr("tnurse2b")).as_deref(),
        Some("active")
    );
    let failed: Vec<_> = mailbox("trelay2")
        .into_iter()
        .filter(|m| m.folder == "Failed")
        .collect();
    assert_eq!(failed.len(), 1, "the forged command is kept in Failed");

    // The same header from an untrusted server is ignored; dmarc=pass flows.
    let untrusted = "Authentication-Results: evil.test; dmarc=fail header.from=circle.test\n";
    send_text(&forged_member, &relay, "Untrusted header", untrusted, BODY).await;
    until_mail_where("tnurse2a", "the acknowledgement", |m| {
        m.in_reply_to.contains("e2e")
    })
    .await;
    let pass = format!("Authentication-Results: {TRUSTED}; dmarc=pass header.from=circle.test\n");
    send_text(&forged_member, &relay, "Passing header", &pass, BODY).await;
    until_mail_where("tnurse2b", "the second forward", |m| {
        m.text.contains("Passing header")
    })
    .await;

    // Both flowed: two acknowledgements, two forwards to each other member.
    support::wait_until(
        std::time::Duration::from_secs(30),
        "both requests delivered",
        || async {
            ["tnurse2a", "tnurse2b", "tnurse2c"]
                .iter()
                .all(|u| mailbox(u).len() == 2)
        },
    )
    .await;

    // Spam: the Spam folder, nothing sent.
    let before: Vec<usize> = users.iter().map(|u| mailbox(u).len()).collect();
    send_text(
        &forged_member,
        &relay,
        "Cheap pills",
        "X-Spam-Flag: YES\n",
        BODY,
    )
    .await;
    support::wait_until(
        std::time::Duration::from_secs(30),
        "spam kept aside",
        || async {
            mailbox("trelay2")
                .iter()
                .any(|m| m.folder == "Spam" && m.subject == "Cheap pills")
        },
    )
    .await;
    let after: Vec<usize> = users.iter().map(|u| mailbox(u).len()).collect();
    assert_eq!(before[1..], after[1..], "nobody got mail for the spam");

    // Three more from the same member make five today; the sixth is held.
    for i in 3..=5 {
        send_text(&forged_member, &relay, &format!("Request {i}"), "", BODY).await;
    }
    send_text(&forged_member, &relay, "Request 6", "", BODY).await;
    let rate = until_mail_where("tadmin2", "the rate hold", |m| m.text.contains("Request 6")).await;
    assert!(
        rate.text.contains("1日に受け付ける依頼の数"),
        "{}",
        rate.text
    );
    support::wait_until(
        std::time::Duration::from_secs(30),
        "five acknowledgements",
        || async { mailbox("tnurse2a").len() >= 5 },
    )
    .await;
    until_taken("trelay2", 8).await;
    let got = subjects("tnurse2a");
    assert_eq!(
        got.len(),
        5,
        "five requests acknowledged, the sixth not: {got:?}"
    );
    assert!(
        got.iter().all(|s| s.contains("Request received")),
        "{got:?}"
    );
    assert!(
        held_list(&config).contains("rate       held"),
        "{}",
        held_list(&config)
    );
}

#[tokio::test]
async fn refused_non_member_is_summarised_and_can_be_approved() {
    let users = ["trelay4", "tadmin4", "tnurse4a", "tnurse4b", "tstranger4"];
    reset(&users);
    let dir = tempfile::tempdir().unwrap();
    let config = circle(
        dir.path(),
        "trelay4",
        "tadmin4",
        "members",
        &["tnurse4a", "tnurse4b"],
        "",
    );
    let offset = dir.path().join("clock-offset");
    std::fs::write(&offset, "0").unwrap();
    let env = [("CIRCLE_RELAY_CLOCK_OFFSET_FILE", offset.to_str().unwrap())];
    let daemon = support::DaemonProcess::run_with_env(&config, &env);
    let stranger = addr("tstranger4");

    send_text(
        &stranger,
        &addr("trelay4"),
        "Stranger's first aid",
        "",
        BODY,
    )
    .await;
    until_taken("trelay4", 1).await;
    assert_eq!(mailbox("trelay4")[0].folder, "Failed");
    // The next day the admins' summary names it; the sender is never answered.
    std::fs::write(&offset, "90000").unwrap();
    let summary = until_mail_where("tadmin4", "the daily summary", |m| {
        m.subject.contains("保留・不受理")
    })
    .await;
    assert!(
        summary.text.contains(&stranger) && summary.text.contains("Stranger's first aid"),
        "{}",
        summary.text
    );
    assert_eq!(mailbox("tadmin4").len(), 1);
    for u in ["tstranger4", "tnurse4a", "tnurse4b"] {
        assert!(subjects(u).is_empty(), "{u} got {:?}", subjects(u));
    }
    assert!(
        held_list(&config).contains("refused    held"),
        "{}",
        held_list(&config)
    );

    // `requests approve` lets it through (the daemon sends when it starts).
    drop(daemon);
    let out = support::cli(&config, &["requests", "approve", "1"]);
    assert!(out.contains("hold 1 approved"), "{out}");
    let _daemon = support::DaemonProcess::run_with_env(&config, &env);
    until_mail_where("tstranger4", "the acknowledgement", |m| {
        !m.subject.is_empty()
    })
    .await;
    for u in ["tnurse4a", "tnurse4b"] {
        until_mail_where(u, "the forward", |m| m.text.contains(BODY)).await;
    }
    assert_eq!(mailbox("tstranger4").len(), 1);
}
