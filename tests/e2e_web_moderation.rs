//! The console's held requests and set-aside messages (issue 17's gaps) in a
//! real browser, against the daemon as a process on the mail stack:
//! - a held request approved from its page reaches the fitting member, and
//!   only them; one rejected there gets the requester the rejection and no
//!   member anything; closing from the timeline tells the requester and the
//!   member that the organiser closed it; times name their zone;
//! - a message set aside (not a member yet) is handled again with the Mail
//!   page's button once the admin has added the sender, and its forward arrives;
//! - a tour of every console page in English and Japanese, phone and
//!   desktop, for the screenshots (target/screenshots/web/console-*).
//!
//! Mail-stack users: wrelay6 wadmin6 wmember6a wmember6b wasker6 (the
//! tests take turns with them).

mod inbox_support;
mod web_support;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use inbox_support::{
    DaemonProcess, Mail, cli, mailbox, require_stack, reset_user, send_text, setup_circle,
    until_mail_where, until_processed,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, session_for, until_listening};

const USERS: [&str; 5] = ["wrelay6", "wadmin6", "wmember6a", "wmember6b", "wasker6"];
const RELAY: &str = "wrelay6@circle.test";
const ADMIN: &str = "wadmin6@circle.test";
const ASKER: &str = "wasker6@circle.test";
const NURSE: &str = "wmember6a";
const ACCOUNTANT: &str = "wmember6b";

/// The admin is not a member: the console speaks the browser's language
/// and shows times in the circle's zone (Asia/Tokyo).
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember6a@circle.test,Carol Nurse,registered nurse; first aid instructor,Nurse teaching first aid to staff.,en,Tokyo,active\n\
    wmember6b@circle.test,Dan Accountant,accounting; tax returns,,en,Osaka,active\n";

const FIRST: &str = "First aid trainer for our volunteers";
const FIRST_BODY: &str =
    "We need a registered nurse to teach first aid to our volunteers in Tokyo.";
const SECOND: &str = "Another first aid course";
const SECOND_BODY: &str = "Could a nurse teach first aid to our new staff in Tokyo next month?";

struct Console {
    _dir: tempfile::TempDir,
    _daemon: DaemonProcess,
    config: std::path::PathBuf,
    db: String,
    port: u16,
}

impl Console {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A browser in `lang` signed in as the admin.
    async fn browser(&self, size: (u32, u32), lang: &str) -> Browser {
        let token = session_for(&self.db, ADMIN).await;
        let browser = Browser::start_lang(size, lang).await;
        browser.with_session(self.port, &token).await;
        browser
    }
}

/// The tests share one set of mail-stack users: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A circle on the stack with `posting`, the console on a free port.
async fn console(posting: &str) -> Console {
    require_stack();
    for u in USERS {
        reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = setup_circle(
        dir.path(),
        "wrelay6",
        &["wadmin6"],
        MEMBERS,
        &web_support::web_section(port),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("posting = \"anyone\"", &format!("posting = \"{posting}\"")),
    )
    .unwrap();
    let daemon = DaemonProcess::run(&config);
    until_listening(port).await;
    let db = format!("sqlite://{}", dir.path().join("relay.db").display());
    Console {
        _dir: dir,
        _daemon: daemon,
        config,
        db,
        port,
    }
}

/// A mail's text with its line breaks read as spaces (lines wrap anywhere).
fn words(m: &Mail) -> String {
    m.text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn subjects(user: &str) -> Vec<String> {
    let mut s: Vec<String> = mailbox(user).into_iter().map(|m| m.subject).collect();
    s.sort();
    s
}

/// The first URL in `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> Option<String> {
    let rest = &text[text.find(prefix)?..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

#[tokio::test]
async fn held_requests_are_approved_and_rejected_from_their_pages() {
    let _turn = TURN.lock().await;
    let c = console("moderated").await;

    // A non-member's request is held; the admin hears of it by mail.
    send_text(ASKER, RELAY, FIRST, "", FIRST_BODY).await;
    until_mail_where("wadmin6", "the first hold notice", |m| {
        words(m).contains(FIRST_BODY)
    })
    .await;
    let browser = c.browser(DESKTOP, "en-US").await;
    // The overview says first that something waits for the admin.
    browser
        .until_page_shows(&c.url("/admin"), "Requests waiting for your approval: 1")
        .await;
    browser.screenshot("overview-held-en-desktop").await;
    browser
        .click_css("a[href='/admin/requests?status=held']")
        .await;
    let text = browser
        .until_page_shows(&c.url("/admin/requests?status=held"), FIRST)
        .await;
    assert!(text.contains("Waiting for your approval (1)"), "{text}");
    browser
        .click_css("a.row[href='/admin/requests/held/1']")
        .await;
    browser.until_url("/admin/requests/held/1").await;
    let text = browser.text().await;
    assert!(
        text.contains(FIRST_BODY) && text.contains("not a member"),
        "{text}"
    );
    assert!(text.contains(" JST"), "the time names its zone: {text}");
    for u in [NURSE, ACCOUNTANT, "wasker6"] {
        assert!(
            subjects(u).is_empty(),
            "nothing goes out before approval: {u}"
        );
    }
    browser.screenshot("held-en-desktop").await;

    // Approve: the nurse gets the forward, the requester the acknowledgement.
    browser.click("Approve and forward").await;
    let url = browser.until_url("done=approved").await;
    assert!(url.contains("/admin/requests/1?"), "to the request: {url}");
    let text = browser.text().await;
    assert!(
        text.contains("Approved: the request is being forwarded."),
        "{text}"
    );
    let forward = until_mail_where(NURSE, "the approved forward", |m| {
        words(m).contains(FIRST_BODY)
    })
    .await;
    assert!(!forward.raw_contains(ASKER), "the requester stays hidden");
    until_mail_where("wasker6", "the acknowledgement", |_| true).await;
    let text = browser
        .until_page_shows(&c.url("/admin/requests/1"), "Carol Nurse")
        .await;
    assert!(
        text.contains("wadmin6@circle.test: Approved a held request"),
        "{text}"
    );
    // It went to the nurse only (the accountant is offered under "Forward to
    // a member", below the list of who it went to).
    let went_to = text
        .split_once("Who it went to")
        .and_then(|(_, rest)| rest.split_once("Forward to a member"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("who it went to, then the forward form: {text}"));
    assert!(
        went_to.contains("Carol Nurse") && !went_to.contains("Dan Accountant"),
        "{text}"
    );
    assert!(
        text.contains("Held request 1"),
        "the decision links its hold: {text}"
    );
    browser
        .client
        .find(Locator::Css("a[href='/admin/requests/held/1']"))
        .await
        .expect("a link to the held request");

    // Closed by the organiser: both sides are told who closed it.
    browser.click("Close this request").await;
    browser.until_url("/admin/requests/1?done=closed").await;
    let closed = until_mail_where("wasker6", "the closed notice", |m| {
        m.subject.contains("Request 1 is closed")
    })
    .await;
    assert!(
        words(&closed).contains("The circle's organiser closed your request"),
        "{}",
        closed.text
    );
    let told = until_mail_where(NURSE, "the member's closed notice", |m| {
        m.subject.contains("Request 1 is closed")
    })
    .await;
    assert!(
        words(&told).contains("The circle's organiser closed")
            && !words(&told).contains("The requester closed"),
        "{}",
        told.text
    );

    // A second request, rejected from its page in Japanese.
    send_text(ASKER, RELAY, SECOND, "", SECOND_BODY).await;
    until_mail_where("wadmin6", "the second hold notice", |m| {
        words(m).contains(SECOND_BODY)
    })
    .await;
    let ja = c.browser(DESKTOP, "ja").await;
    let text = ja
        .until_page_shows(&c.url("/admin/requests/held/2"), SECOND_BODY)
        .await;
    assert!(text.contains("メンバー以外から"), "{text}");
    assert!(
        text.contains("（日本時間）"),
        "the zone in Japanese: {text}"
    );
    ja.screenshot("held-ja-desktop").await;
    ja.click("却下する").await;
    ja.until_url("/admin/requests?done=rejected").await;
    assert!(ja.text().await.contains("却下しました"), "the notice");
    let note = until_mail_where("wasker6", "the rejection", |m| m.subject.contains(SECOND)).await;
    assert!(
        words(&note).contains("could not pass it on"),
        "{}",
        note.text
    );

    // Once everything is sent: who got what, and nothing else.
    until_processed(&c.config, "wrelay6", 0).await;
    assert!(
        subjects(ACCOUNTANT).is_empty(),
        "{:?}",
        subjects(ACCOUNTANT)
    );
    let nurse: Vec<Mail> = mailbox(NURSE);
    assert_eq!(nurse.len(), 2, "the forward and the closed notice only");
    assert!(nurse.iter().all(|m| !words(m).contains(SECOND_BODY)));
    assert_eq!(mailbox("wasker6").len(), 3, "{:?}", subjects("wasker6"));
    assert_eq!(mailbox("wadmin6").len(), 2, "{:?}", subjects("wadmin6"));
    let held = cli(&c.config, &["requests", "list", "--held"]);
    assert!(
        held.contains("non_member approved") && held.contains("non_member rejected"),
        "{held}"
    );

    // The audit page names every decision in plain words, in both languages.
    let text = browser
        .until_page_shows(&c.url("/admin/audit"), "Rejected a held request")
        .await;
    assert!(
        text.contains("Approved a held request") && text.contains("Closed the request"),
        "{text}"
    );
    assert!(!text.contains("hold_approve"), "{text}");
    ja.goto(&c.url("/admin/audit")).await;
    let text = ja.text().await;
    assert!(
        text.contains("保留中の依頼を却下") && text.contains("依頼を終了"),
        "{text}"
    );
    browser.close().await;
    ja.close().await;

    let page = link(&forward.text, &c.url("/me/")).expect("the member page link");
    tour(&c, &page).await;
}

/// Phone and desktop widths, taller than a screen so a shot shows a whole page.
const TOUR: [((u32, u32), &str); 2] = [((PHONE.0, 1800), "phone"), ((DESKTOP.0, 1600), "desktop")];

/// Every console page in English and Japanese at phone and desktop width,
/// as console-PAGE-LANG-SIZE.png; each page must read in its language.
async fn tour(c: &Console, member_page: &str) {
    let pages = [
        ("overview", "/admin".to_string(), "This week", "今週"),
        ("requests", "/admin/requests".into(), "Requests", "依頼"),
        (
            "timeline",
            "/admin/requests/1".into(),
            "Who it went to",
            "転送先とその理由",
        ),
        ("held", "/admin/requests/held/2".into(), "Rejected", "却下"),
        ("mail", "/admin/mail".into(), "Held", "保留"),
        ("directory", "/admin/directory".into(), "English", "英語"),
        (
            "member-form",
            "/admin/directory/1".into(),
            "Skills",
            "スキル",
        ),
        ("import", "/admin/directory/import".into(), "CSV", "CSV"),
        (
            "audit",
            "/admin/audit".into(),
            "Approved a held request",
            "保留中の依頼を承認",
        ),
    ];
    for (size, tag) in TOUR {
        for lang in ["en", "ja"] {
            // Signed out: the sign-in page, and what it says after an address.
            let guest = Browser::start_lang(size, lang).await;
            guest.goto(&c.url("/login")).await;
            let want = if lang == "ja" {
                "ログイン"
            } else {
                "Sign in"
            };
            assert!(guest.text().await.contains(want), "login in {lang}");
            guest
                .screenshot(&format!("console-login-{lang}-{tag}"))
                .await;
            guest.fill("email", "someone@circle.test").await;
            guest.click_css("form[action='/login'] button").await;
            let want = if lang == "ja" {
                "メールをご確認ください"
            } else {
                "Check your mail"
            };
            let start = Instant::now();
            while !guest.text().await.contains(want) {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "login-sent in {lang}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            guest
                .screenshot(&format!("console-login-sent-{lang}-{tag}"))
                .await;
            guest.close().await;
            let browser = c.browser(size, lang).await;
            for (name, path, en, ja) in &pages {
                browser.goto(&c.url(path)).await;
                let text = browser.text().await;
                let want = if lang == "ja" { ja } else { en };
                assert!(text.contains(want), "{name} in {lang}: {text}");
                browser
                    .screenshot(&format!("console-{name}-{lang}-{tag}"))
                    .await;
            }
            browser.goto(member_page).await;
            browser
                .screenshot(&format!("console-member-page-{lang}-{tag}"))
                .await;
            browser.close().await;
        }
    }
}

#[tokio::test]
async fn a_message_set_aside_is_handled_again_from_the_mail_page() {
    let _turn = TURN.lock().await;
    let c = console("members").await;

    // Not a member yet: the request is set aside, nobody gets anything.
    send_text(ASKER, RELAY, FIRST, "", FIRST_BODY).await;
    let browser = c.browser(DESKTOP, "en-US").await;
    let text = browser.until_page_shows(&c.url("/admin/mail"), FIRST).await;
    assert!(text.contains("Messages set aside"), "{text}");
    assert!(text.contains(ASKER), "{text}");
    assert!(
        text.contains("The sender is not a member of the circle yet."),
        "why, in plain words: {text}"
    );
    for u in [NURSE, ACCOUNTANT, "wasker6"] {
        assert!(subjects(u).is_empty(), "{u} got {:?}", subjects(u));
    }
    browser.screenshot("mail-set-aside-en-desktop").await;
    let ja = c.browser(PHONE, "ja").await;
    ja.goto(&c.url("/admin/mail")).await;
    let text = ja.text().await;
    assert!(text.contains("もう一度処理する"), "{text}");
    assert!(
        text.contains("送信者はまだサークルのメンバーではありません"),
        "{text}"
    );
    ja.screenshot("mail-set-aside-ja-phone").await;
    ja.close().await;

    // The admin adds the sender as a member, then handles the message again.
    browser.goto(&c.url("/admin/mail")).await;
    browser.click("Add the sender as a member").await;
    browser.until_url("/admin/directory/new?email=").await;
    let typed = browser
        .client
        .find(Locator::Css("input[name='email']"))
        .await
        .expect("the address field")
        .prop("value")
        .await
        .expect("its value");
    assert_eq!(
        typed.as_deref(),
        Some(ASKER),
        "the form starts with the sender"
    );
    browser.fill("name", "Greg Asker").await;
    browser.choose("lang1", "en").await;
    browser.click("Add a member").await;
    browser.until_url("done=added").await;
    browser.goto(&c.url("/admin/mail")).await;
    browser.click("Handle again").await;
    browser.until_url("/admin/mail?done=reprocessed").await;
    let text = browser.text().await;
    assert!(text.contains("Handled again."), "the notice: {text}");
    assert!(!text.contains(FIRST), "no longer set aside: {text}");

    // Its effect: the nurse's forward and the requester's acknowledgement.
    let forward = until_mail_where(NURSE, "the forward", |m| words(m).contains(FIRST_BODY)).await;
    assert!(!forward.raw_contains(ASKER), "the requester stays hidden");
    until_mail_where("wasker6", "the acknowledgement", |_| true).await;
    until_processed(&c.config, "wrelay6", 0).await;
    assert_eq!(mailbox(NURSE).len(), 1, "{:?}", subjects(NURSE));
    assert!(
        subjects(ACCOUNTANT).is_empty(),
        "{:?}",
        subjects(ACCOUNTANT)
    );
    assert_eq!(mailbox("wasker6").len(), 1, "{:?}", subjects("wasker6"));
    let show = cli(&c.config, &["requests", "show", "1"]);
    assert!(
        show.contains("inbox_reprocess") && show.contains("web:wadmin6@circle.test"),
        "{show}"
    );
    let text = browser
        .until_page_shows(&c.url("/admin/audit"), "Handled an incoming mail again")
        .await;
    assert!(text.contains("Added a member"), "{text}");
    browser.close().await;
}
