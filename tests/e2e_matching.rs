//! Matching as the circle meets it: the daemon runs as a real process on
//! Dovecot and Postfix (deploy/mailstack), requests arrive by SMTP, and the
//! test reads who got a forward from each member's mailbox. A request naming
//! alternatives reaches each kind; a Japanese request reaches a member whose
//! profile is in English and an English one a member whose profile is in
//! Japanese; nobody else gets anything.

#[path = "inbox_support/mod.rs"]
mod support;

use support::{DaemonProcess, Mail, mailbox, until_mail_where, until_processed};

/// Two nurses (so a shortlist in score order alone would spend two of its
/// three places on nurses), a pharmacist, a physiotherapist, a coach.
const CARE: &str = "email,name,skills,bio,languages,region,status\n\
    m3nurse1@circle.test,Ann Lee,registered nurse;first aid,Nurse at a clinic in Tokyo.,en,Tokyo,\n\
    m3nurse2@circle.test,高橋 恵,看護師;訪問看護,訪問看護ステーションの看護師です。,ja,東京,\n\
    m3pharma@circle.test,小林 薫,薬剤師;服薬指導,調剤薬局の薬剤師です。,ja,東京,\n\
    m3physio@circle.test,Tom Hill,physiotherapist;sports rehab,Physiotherapist for runners.,en,Tokyo,\n\
    m3coach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

/// A potter who writes in English, a gardener who writes in Japanese, a coach.
const CRAFTS: &str = "email,name,skills,bio,languages,region,status\n\
    m3potter@circle.test,Mia Stone,pottery classes;wheel throwing,Potter with a small studio in Kamakura.,en,Kamakura,\n\
    m3gardener@circle.test,松本 茂,庭師;庭の手入れ,庭師です。個人宅の庭木の剪定をしています。,ja,東京,\n\
    m3coach2@circle.test,Eve Park,life coaching,Coach for people changing careers.,en,Tokyo,\n";

fn reset(users: &[&str]) {
    support::require_stack();
    for u in users {
        support::reset_user(u);
    }
}

/// The forwards in `user`'s mailbox: mails carrying a request's words.
fn forwards_of(user: &str, snippets: &[&str]) -> Vec<Mail> {
    mailbox(user)
        .into_iter()
        .filter(|m| snippets.iter().any(|s| m.text.contains(s)))
        .collect()
}

#[tokio::test]
async fn a_request_naming_alternatives_reaches_each_kind() {
    let users = [
        "m3relay", "m3admin", "m3asker", "m3nurse1", "m3nurse2", "m3pharma", "m3physio", "m3coach",
    ];
    reset(&users);
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), "m3relay", &["m3admin"], CARE, "");
    let _daemon = DaemonProcess::run(&config);

    let words = "health talk at our school";
    support::send_text(
        "m3asker@circle.test",
        "m3relay@circle.test",
        "Health talk for parents",
        "",
        &format!(
            "Hello,\n\nWe are looking for a nurse to give a {words} in Tokyo; \
             pharmacists or physiotherapists are also welcome.\n\nThanks, Kim\n"
        ),
    )
    .await;

    for who in ["m3pharma", "m3physio"] {
        until_mail_where(who, "the forward", |m| m.text.contains(words)).await;
    }
    until_processed("m3relay", 1).await;
    let nurses = forwards_of("m3nurse1", &[words]).len() + forwards_of("m3nurse2", &[words]).len();
    assert_eq!(nurses, 1, "one nurse, then the best of each alternative");
    for who in ["m3pharma", "m3physio"] {
        assert_eq!(forwards_of(who, &[words]).len(), 1, "{who}: one forward");
    }
    assert!(mailbox("m3coach").is_empty(), "the coach gets nothing");
    let admin: Vec<String> = mailbox("m3admin")
        .iter()
        .map(|m| m.subject.clone())
        .collect();
    assert!(
        admin.is_empty(),
        "the admins are not asked to decide: {admin:?}"
    );
}

#[tokio::test]
async fn requests_reach_members_who_write_in_the_other_language() {
    let users = [
        "m3relay2",
        "m3admin2",
        "m3asker2",
        "m3potter",
        "m3gardener",
        "m3coach2",
    ];
    reset(&users);
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), "m3relay2", &["m3admin2"], CRAFTS, "");
    let _daemon = DaemonProcess::run(&config);

    let japanese = "陶芸を教えてくださる陶芸家";
    support::send_text(
        "m3asker2@circle.test",
        "m3relay2@circle.test",
        "陶芸を教えてくださる方",
        "",
        &format!("こんにちは。\n\n鎌倉で、子ども向けに{japanese}の方を探しています。\n\nよろしくお願いします。\n"),
    )
    .await;
    let english = "prune the trees in our garden";
    support::send_text(
        "m3asker2@circle.test",
        "m3relay2@circle.test",
        "Gardener wanted",
        "",
        &format!("Hi,\n\nCould anyone recommend a gardener to {english} in Tokyo?\n\nThanks\n"),
    )
    .await;

    until_mail_where("m3potter", "the Japanese request", |m| {
        m.text.contains(japanese)
    })
    .await;
    until_mail_where("m3gardener", "the English request", |m| {
        m.text.contains(english)
    })
    .await;
    until_processed("m3relay2", 2).await;
    let both = [japanese, english];
    assert_eq!(
        forwards_of("m3potter", &both).len(),
        1,
        "the potter: only the pottery request"
    );
    assert!(forwards_of("m3potter", &[english]).is_empty());
    assert_eq!(
        forwards_of("m3gardener", &both).len(),
        1,
        "the gardener: only the garden request"
    );
    assert!(forwards_of("m3gardener", &[japanese]).is_empty());
    assert!(mailbox("m3coach2").is_empty(), "the coach gets nothing");
}
