//! The console's Requests and Mail pages (issue 17) in a real browser,
//! against the daemon as a process on the mail stack: a held mail released
//! from /admin/mail arrives; a request sent by SMTP shows in the list and its
//! timeline names the member it went to; closing it from the timeline changes
//! its state; a POST without the CSRF token changes nothing.
//! Mail-stack users: wrelay2 wadmin2 wmember2a wmember2b wasker2 (the tests
//! take turns with them).

mod inbox_support;
mod web_support;

use std::time::{Duration, Instant};

use fantoccini::Locator;
use inbox_support::{
    DaemonProcess, cli, mailbox, require_stack, reset_user, send_text, setup_circle,
    until_mail_where,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, http, session_for, until_listening};

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
}

/// The tests share one set of mail-stack users: one at a time.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn console(relay: &str, users: &[&str], admin: &str, members: &str, extra: &str) -> Console {
    require_stack();
    for u in users {
        reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let extra = format!("{extra}{}", web_support::web_section(port));
    let config = setup_circle(dir.path(), relay, &[admin], members, &extra);
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

/// `outbox list --status STATUS` rows (id, to, subject) once at least `n` are listed.
async fn until_outbox(
    config: &std::path::Path,
    status: &str,
    n: usize,
) -> Vec<(String, String, String)> {
    let start = Instant::now();
    loop {
        let list = cli(config, &["outbox", "list", "--status", status]);
        let rows: Vec<(String, String, String)> = list
            .lines()
            .skip(1)
            .filter(|l| l.contains(&format!(" {status} ")))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f[0].to_string(), f[3].to_string(), f[9..].join(" "))
            })
            .collect();
        if rows.len() >= n {
            return rows;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "never {n} {status} mails: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a click's navigation has reached a URL containing `part`.
async fn until_url(browser: &Browser, part: &str) {
    let start = Instant::now();
    while !browser.url().await.contains(part) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never reached {part}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const HELD_MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember2a@circle.test,佐藤 愛子,看護師; nurse; first aid,,ja,東京,active\n\
    wadmin2@circle.test,管理 花子,会計,,ja,大阪,active\n";

#[tokio::test]
async fn releases_a_held_mail_and_sees_it_arrive() {
    let _turn = TURN.lock().await;
    let users = ["wrelay2", "wadmin2", "wmember2a", "wmember2b", "wasker2"];
    let c = console(
        "wrelay2",
        &users,
        "wadmin2",
        HELD_MEMBERS,
        "max_mails_per_address_per_hour = 1\n",
    )
    .await;
    // Two requests from one address within the hour: the second request's
    // mails (the forward to the nurse, the confirmation to the requester)
    // are over the per-address cap and held.
    let asker = "wasker2@circle.test";
    let relay = "wrelay2@circle.test";
    send_text(
        asker,
        relay,
        "救命講習の講師を探しています",
        "",
        "東京で社員向けの救命講習をしてくださる看護師の方を探しています。",
    )
    .await;
    until_outbox(&c.config, "sent", 2).await;
    let long = "2回目のお願い：来月の土曜日に区民センターで開く地域の防災訓練で、応急手当と心肺蘇生のデモをしてくださる看護師さんを探しています";
    send_text(
        asker,
        relay,
        long,
        "",
        "東京で、看護師の方に応急手当の指導をお願いしたいです。",
    )
    .await;
    let held = until_outbox(&c.config, "held", 2).await;
    let to_asker = held
        .iter()
        .find(|(_, to, _)| to == asker)
        .expect("the requester's mail is held")
        .clone();
    let to_member = held
        .iter()
        .find(|(_, to, _)| to == "wmember2a@circle.test")
        .expect("the member's forward is held")
        .clone();
    let before_asker = mailbox("wasker2").len();

    // The admin's member language is Japanese: the console speaks it.
    let token = session_for(&c.db, "wadmin2@circle.test").await;
    for (size, tag) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
        let browser = Browser::start(size).await;
        browser.with_session(c.port, &token).await;
        browser.goto(&c.url("/admin/requests")).await;
        let text = browser.text().await;
        assert!(text.contains("救命講習の講師を探しています"), "{text}");
        assert!(text.contains("回答待ち"), "state in Japanese: {text}");
        browser.screenshot(&format!("requests-list-ja-{tag}")).await;
        browser.goto(&c.url("/admin/requests/2")).await;
        let text = browser.text().await;
        assert!(
            text.contains("佐藤 愛子") && text.contains("保留"),
            "{text}"
        );
        browser
            .screenshot(&format!("requests-timeline-ja-{tag}"))
            .await;
        browser.goto(&c.url("/admin/mail")).await;
        let text = browser.text().await;
        assert!(text.contains("保留中") && text.contains(asker), "{text}");
        browser.screenshot(&format!("mail-ja-{tag}")).await;
        if tag == "desktop" {
            let button = format!("form[action='/admin/mail/{}/release'] button", to_asker.0);
            browser
                .client
                .find(Locator::Css(&button))
                .await
                .expect("a release button for the requester's held mail")
                .click()
                .await
                .expect("click");
            until_url(&browser, "/admin/mail?done=released").await;
            let text = browser.text().await;
            assert!(text.contains("送信を再開しました"), "the notice: {text}");
        }
        browser.close().await;
    }
    // It arrives, with the subject of the second request's confirmation.
    let arrived = until_mail_where("wasker2", "the released confirmation", |m| {
        m.subject == to_asker.2
    })
    .await;
    assert!(
        arrived.subject.contains("依頼番号 2"),
        "{}",
        arrived.subject
    );
    assert_eq!(
        mailbox("wasker2").len(),
        before_asker + 1,
        "one mail arrived"
    );
    // The other held mail stays held; the release is on record as the admin's.
    let still = until_outbox(&c.config, "held", 1).await;
    assert_eq!(
        still,
        vec![to_member],
        "only the released mail left the hold"
    );
    let show = cli(&c.config, &["requests", "show", "2"]);
    assert!(
        show.contains("outbox_release") && show.contains("web:wadmin2@circle.test"),
        "{show}"
    );
}

const OPEN_MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember2b@circle.test,Carol Nurse,nurse; first aid,,en,Tokyo,active\n\
    wmember2a@circle.test,Dan Accountant,accounting; tax,,en,Osaka,active\n";

#[tokio::test]
async fn a_request_by_smtp_shows_its_timeline_and_closes_only_with_the_form_token() {
    let _turn = TURN.lock().await;
    let users = ["wrelay2", "wadmin2", "wmember2a", "wmember2b", "wasker2"];
    let c = console("wrelay2", &users, "wadmin2", OPEN_MEMBERS, "").await;
    let subject = "Looking for a nurse to teach first aid to our volunteers at the community centre next month";
    send_text(
        "wasker2@circle.test",
        "wrelay2@circle.test",
        subject,
        "",
        "We need a registered nurse to teach first aid to our staff in Tokyo.",
    )
    .await;
    until_mail_where("wmember2b", "the forward", |m| {
        m.subject.contains("first aid")
    })
    .await;

    let token = session_for(&c.db, "wadmin2@circle.test").await;
    let browser = Browser::start(DESKTOP).await;
    browser.with_session(c.port, &token).await;
    let text = browser
        .until_page_shows(&c.url("/admin/requests"), subject)
        .await;
    assert!(
        text.contains("wasker2@circle.test") && text.contains("Waiting for answers"),
        "{text}"
    );
    browser.screenshot("requests-list-en-desktop").await;
    browser
        .client
        .find(Locator::Css("a.row[href='/admin/requests/1']"))
        .await
        .expect("the request in the list")
        .click()
        .await
        .expect("click");
    until_url(&browser, "/admin/requests/1").await;
    let text = browser
        .until_page_shows(&c.url("/admin/requests/1"), "Sent")
        .await;
    assert!(
        text.contains("Carol Nurse"),
        "the member it went to: {text}"
    );
    assert!(text.contains("Skill: nurse"), "why, in plain words: {text}");
    assert!(
        text.contains("Request to a member → wmember2b@circle.test"),
        "{text}"
    );
    // Not the accountant (offered under "Forward to a member" instead).
    let went_to = text
        .split_once("Who it went to")
        .and_then(|(_, rest)| rest.split_once("Forward to a member"))
        .map(|(list, _)| list)
        .unwrap_or_else(|| panic!("who it went to, then the forward form: {text}"));
    assert!(
        went_to.contains("Carol Nurse") && !went_to.contains("Dan Accountant"),
        "not the accountant: {text}"
    );
    browser.screenshot("requests-timeline-en-desktop").await;
    browser.goto(&c.url("/admin/mail")).await;
    browser.screenshot("mail-en-desktop").await;

    // A POST without the form's token is refused and changes nothing.
    let cookie = format!("{}={token}", circle_relay::web::session::COOKIE);
    let refused = http(
        c.port,
        "POST",
        "/admin/requests/1/close",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "",
    )
    .await;
    assert_eq!(refused.status, 403, "{refused:?}");
    assert!(
        refused.body.contains("This form has expired"),
        "{}",
        refused.body
    );
    let forged = http(
        c.port,
        "POST",
        "/admin/requests/1/close",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        "csrf=0000",
    )
    .await;
    assert_eq!(forged.status, 403, "a wrong token too: {forged:?}");
    browser.goto(&c.url("/admin/requests/1")).await;
    assert!(
        browser.text().await.contains("Waiting for answers"),
        "still open"
    );
    let show = cli(&c.config, &["requests", "show", "1"]);
    assert!(show.contains("Status:   open"), "{show}");

    browser.click("Close this request").await;
    until_url(&browser, "/admin/requests/1?done=closed").await;
    let text = browser.text().await;
    assert!(text.contains("The request is closed"), "the notice: {text}");
    assert!(
        text.contains("Closed") && !text.contains("Close this request"),
        "{text}"
    );
    assert!(
        text.contains("wadmin2@circle.test: Closed the request"),
        "{text}"
    );
    let show = cli(&c.config, &["requests", "show", "1"]);
    assert!(show.contains("Status:   closed"), "{show}");
    until_mail_where("wasker2", "the closed notice", |m| {
        m.subject.contains("is closed")
    })
    .await;
    browser.close().await;

    for (size, tag) in [(PHONE, "phone")] {
        let browser = Browser::start(size).await;
        browser.with_session(c.port, &token).await;
        browser.goto(&c.url("/admin/requests")).await;
        browser.screenshot(&format!("requests-list-en-{tag}")).await;
        browser.goto(&c.url("/admin/requests/1")).await;
        browser
            .screenshot(&format!("requests-timeline-en-{tag}"))
            .await;
        browser.goto(&c.url("/admin/mail")).await;
        browser.screenshot(&format!("mail-en-{tag}")).await;
        browser.close().await;
    }
}
