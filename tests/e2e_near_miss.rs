//! A request for a trade the circle only has a neighbour of, as the circle
//! meets it: the daemon runs as a real process on Dovecot and Postfix
//! (deploy/mailstack), the request arrives by SMTP. Nobody is forwarded to,
//! the requester gets the no-match mail (naming nobody), and the admin's
//! alert names the near-miss (a bookkeeper, 記帳代行, for a tax accountant,
//! 税理士: `related` in data/skills.toml), but never a paused or departed
//! member or the requester, though they list the same trade.

#[path = "inbox_support/mod.rs"]
mod support;

use support::{DaemonProcess, mailbox, until_mail_where, until_processed};

/// One active bookkeeper; a paused and a departed one; the requester, who
/// keeps books too; a coach.
const CIRCLE: &str = "email,name,skills,bio,languages,region,status\n\
    nmbook@circle.test,阿部 健,記帳代行;経理代行,個人事業主の記帳代行をしています。,ja,東京,\n\
    nmbook2@circle.test,伊藤 沙羅,記帳代行;bookkeeping,Bookkeeper for small shops.,en,Tokyo,paused\n\
    nmbook3@circle.test,古川 守,記帳代行,経理の代行をしていました。,ja,東京,left\n\
    nmasker@circle.test,金 美香,記帳代行,雑貨店の経理もしています。,ja,東京,\n\
    nmcoach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

const USERS: [&str; 7] = [
    "nmrelay", "nmadmin", "nmasker", "nmbook", "nmbook2", "nmbook3", "nmcoach",
];

#[tokio::test]
async fn a_near_miss_is_named_to_the_admins_and_sent_nothing() {
    support::require_stack();
    for u in USERS {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), "nmrelay", &["nmadmin"], CIRCLE, "");
    let _daemon = DaemonProcess::run(&config);

    let words = "来年の確定申告をお願いできる税理士の方";
    support::send_text(
        "nmasker@circle.test",
        "nmrelay@circle.test",
        "税理士の方を探しています",
        "",
        &format!("こんにちは。\n\n{words}を探しています。\n\nよろしくお願いします。\n"),
    )
    .await;

    let alert = until_mail_where("nmadmin", "the admins' alert", |m| {
        m.subject.contains("要確認")
    })
    .await;
    until_processed(&config, "nmrelay", 1).await;

    // The alert names the near-miss, in the member's own words, and why.
    // Lines are wrapped: compare without whitespace.
    let flat = |s: &str| s.split_whitespace().collect::<String>();
    let named = flat(&alert.text)
        .split_once("近かったメンバー")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_else(|| panic!("the alert names nobody:\n{}", alert.text));
    for want in [
        "阿部 健 <nmbook@circle.test>",
        "スキル「記帳代行」",
        "「税理士」に近い分野",
    ] {
        assert!(
            named.contains(&flat(want)),
            "missing {want:?} in:\n{}",
            alert.text
        );
    }
    for never in [
        "nmbook2",
        "伊藤",
        "nmbook3",
        "古川",
        "nmasker",
        "金美香",
        "nmcoach",
    ] {
        assert!(!named.contains(never), "{never} named in:\n{}", alert.text);
    }
    assert!(
        flat(&alert.text).contains(words),
        "the alert carries the request"
    );
    assert_eq!(mailbox("nmadmin").len(), 1, "one alert, nothing else");

    // The requester is told nobody fits, and about nobody.
    let asker = mailbox("nmasker");
    assert_eq!(asker.len(), 1, "only the no-match mail: {asker:?}");
    assert!(asker[0].text.contains("税理士の方を探しています"));
    for never in ["nmbook", "阿部", "記帳代行"] {
        assert!(
            !asker[0].text.contains(never),
            "{never} told to the requester"
        );
    }

    // Nobody was forwarded the request.
    for who in ["nmbook", "nmbook2", "nmbook3", "nmcoach"] {
        assert!(mailbox(who).is_empty(), "{who} got mail");
    }
}
