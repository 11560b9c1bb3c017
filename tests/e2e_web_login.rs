//! The console's sign-in by mailed link (issue 17), against the daemon as a
//! process with the mail stack: the link read from the admin's IMAP mailbox
//! opens a page with a "Sign in" button (the GET changes nothing), only its
//! POST signs in, a second use fails; the typed code works; a non-admin
//! address gets the same page and no mail; cookie flags for an http and an
//! https base_url. Then the overview and audit pages as the admin sees them.
//! Mail-stack users: wrelay1/wadmin1, wrelay1b/wadmin1b, wrelay1c/wadmin1c,
//! wrelay1d/wadmin1d, wmember1a (a member who is not an admin).

mod inbox_support;
mod web_support;

use std::time::Duration;

use inbox_support::{
    DaemonProcess, fetch_all, imap_login, require_stack, reset_user, setup_circle,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, http, until_listening, web_section};

const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember1a@circle.test,Aiko,看護師,,ja,東京,active\n";

struct Console {
    dir: tempfile::TempDir,
    _daemon: DaemonProcess,
    port: u16,
}

impl Console {
    async fn start(relay: &str, admin: &str, web: Option<&str>) -> Self {
        Self::with_members(relay, admin, web, MEMBERS).await
    }

    async fn with_members(relay: &str, admin: &str, web: Option<&str>, members: &str) -> Self {
        require_stack();
        for user in [relay, admin, "wmember1a"] {
            reset_user(user);
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let section = web.map_or_else(
            || web_section(port),
            |base| format!("[web]\nlisten = \"127.0.0.1:{port}\"\nbase_url = \"{base}\"\n"),
        );
        let config = setup_circle(dir.path(), relay, &[admin], members, &section);
        let daemon = DaemonProcess::run(&config);
        until_listening(port).await;
        Self {
            dir,
            _daemon: daemon,
            port,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("relay.db").display())
    }

    async fn ask(&self, email: &str) -> web_support::Response {
        let body = format!("email={}", email.replace('@', "%40"));
        http(self.port, "POST", "/login", &[FORM, ENGLISH], &body).await
    }

    async fn enter(&self, code: &str) -> web_support::Response {
        let body = format!("code={}&next=%2Fadmin%2Faudit", code.replace(' ', "+"));
        http(self.port, "POST", "/login/enter", &[FORM], &body).await
    }
}

const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
const ENGLISH: (&str, &str) = ("Accept-Language", "en");

/// A sign-in mail as its reader finds it: the text, the link, the code.
#[derive(Debug)]
struct SignInMail {
    subject: String,
    text: String,
    link: String,
    code: String,
}

/// Every mail in `user`'s INBOX, read over IMAP (subject and text body).
async fn imap_inbox(user: &str) -> Vec<(String, String)> {
    let mut s = imap_login(user).await;
    s.select("INBOX").await.expect("select INBOX");
    let mut mails = Vec::new();
    for f in &fetch_all(&mut s, "(UID BODY.PEEK[])").await {
        let m = mail_parser::MessageParser::default()
            .parse(f.body().unwrap_or_default())
            .expect("a mail");
        mails.push((
            m.subject().unwrap_or("").to_string(),
            m.body_text(0).unwrap_or_default().to_string(),
        ));
    }
    let _ = s.logout().await;
    mails
}

/// Waits until `user`'s INBOX holds `n` mails and reads the newest as a sign-in mail.
async fn until_sign_in_mail(user: &str, n: usize) -> SignInMail {
    let deadline = std::time::Instant::now() + inbox_support::MAIL_TIMEOUT;
    let mails = loop {
        let mails = imap_inbox(user).await;
        if mails.len() >= n {
            break mails;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sign-in mail for {user}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(mails.len(), n, "{user} got exactly {n} mails: {mails:#?}");
    let (subject, text) = mails.last().cloned().unwrap_or_default();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/login/"))
        .unwrap_or_else(|| panic!("no link in\n{text}"))
        .to_string();
    let code = find_code(&text).unwrap_or_else(|| panic!("no code in\n{text}"));
    SignInMail {
        subject,
        text,
        link,
        code,
    }
}

/// Waits until the page shows `needle` (a click's page has loaded).
async fn until_text(browser: &Browser, needle: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !browser.text().await.contains(needle) {
        assert!(
            std::time::Instant::now() < deadline,
            "the page never showed {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The first `XXXX-XXXX` of upper-case letters and digits in `text`.
fn find_code(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let is = |c: &char| c.is_ascii_uppercase() || c.is_ascii_digit();
    chars.windows(9).find_map(|w| {
        (w[4] == '-' && w[..4].iter().all(is) && w[5..].iter().all(is)).then(|| w.iter().collect())
    })
}

async fn count(db: &str, sql: &'static str) -> i64 {
    let store = circle_relay::store::Store::connect(&circle_relay::config::DatabaseConfig {
        url: circle_relay::config::DatabaseUrl::new(db),
        ..Default::default()
    })
    .await
    .expect("open the database");
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql);
    store.close().await;
    n
}

#[tokio::test]
async fn the_admin_signs_in_with_the_link_from_their_mailbox_once() {
    let c = Console::start("wrelay1", "wadmin1", None).await;
    let browser = Browser::start(DESKTOP).await;
    browser.goto(&c.url("/admin/audit")).await;
    // The address typed in another case than `[circle] admins` has it.
    browser.fill("email", "WAdmin1@Circle.test").await;
    browser.click("Send me a sign-in link").await;
    let text = browser.text().await;
    assert!(
        text.contains("Check your mail") && text.contains("WAdmin1@Circle.test"),
        "{text}"
    );
    browser.screenshot("login-sent-desktop").await;

    let mail = until_sign_in_mail("wadmin1", 1).await;
    assert_eq!(
        mail.subject,
        "[Care Circle] Your sign-in link for the console"
    );
    let base = c.url("/login/");
    assert!(mail.link.starts_with(&base), "{mail:?}");
    assert!(
        mail.link.ends_with("?next=%2Fadmin%2Faudit"),
        "back to the page asked for: {}",
        mail.link
    );
    assert!(mail.text.contains(&mail.code) && mail.text.contains("15 minutes"));

    // A link scanner's GET: the button, no cookie, and the link still works.
    let path = mail.link.trim_start_matches(&c.url(""));
    let scanned = http(c.port, "GET", path, &[ENGLISH], "").await;
    assert_eq!(scanned.status, 200);
    assert!(
        scanned.body.contains(">Sign in</button>"),
        "{}",
        scanned.body
    );
    assert!(
        scanned.header("set-cookie").is_none(),
        "a GET signs nobody in"
    );
    assert_eq!(
        count(
            &c.db(),
            "SELECT COUNT(*) FROM web_login_codes WHERE used_at IS NULL"
        )
        .await,
        1
    );

    browser.goto(&mail.link).await;
    let text = browser.text().await;
    assert!(text.contains("Press the button to sign in"), "{text}");
    browser.screenshot("login-link-desktop").await;
    browser.click("Sign in").await;
    assert!(browser.url().await.ends_with("/admin/audit"));
    let text = browser.text().await;
    assert!(text.contains("Signed in as wadmin1@circle.test"), "{text}");
    assert!(
        text.contains("Signed in to the console"),
        "the sign-in is on the audit page: {text}"
    );
    browser.screenshot("audit-desktop").await;

    // The same link again (another tab, a forwarded mail): refused, clearly.
    browser.goto(&mail.link).await;
    browser.click("Sign in").await;
    let text = browser.text().await;
    assert!(
        text.contains("This link is no longer valid")
            && text.contains("each sign-in link works once"),
        "{text}"
    );
    browser.goto(&c.url("/admin")).await;
    assert!(
        !browser.url().await.contains("/login"),
        "still signed in from the first use"
    );
    browser.click("Sign out").await;
    browser.goto(&c.url("/admin/audit")).await;
    assert!(browser.url().await.contains("/login?next=%2Fadmin%2Faudit"));
    assert_eq!(
        count(
            &c.db(),
            "SELECT COUNT(*) FROM admin_actions WHERE actor = 'web:wadmin1@circle.test' AND action IN ('web_sign_in', 'web_sign_out')"
        )
        .await,
        2,
        "sign-in and sign-out are recorded"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_typed_code_signs_in_and_a_stranger_gets_the_same_page_and_no_mail() {
    let c = Console::start("wrelay1b", "wadmin1b", None).await;
    let stranger = c.ask("wmember1a@circle.test").await;
    let admin = c.ask("wadmin1b@circle.test").await;
    assert_eq!((stranger.status, admin.status), (200, 200));
    assert_eq!(
        stranger.body.replace("wmember1a@circle.test", "ADDRESS"),
        admin.body.replace("wadmin1b@circle.test", "ADDRESS"),
        "the same page whether or not the address is an admin's"
    );
    assert!(admin.body.contains("Check your mail"));
    let first = until_sign_in_mail("wadmin1b", 1).await;
    assert!(
        imap_inbox("wmember1a").await.is_empty(),
        "a member who is not an admin gets no mail"
    );
    assert_eq!(
        count(
            &c.db(),
            "SELECT COUNT(*) FROM outbox WHERE kind = 'web_login'"
        )
        .await,
        1
    );

    // The code typed by hand (lower case, with spaces) over plain HTTP: an
    // http base_url gives a cookie without Secure.
    let typed = first.code.to_lowercase().replace('-', " ");
    let signed = c.enter(&typed).await;
    assert_eq!(signed.status, 303, "{signed:?}");
    assert_eq!(signed.header("location"), Some("/admin/audit"));
    let cookie = signed.header("set-cookie").unwrap_or_default().to_string();
    assert!(cookie.starts_with("circle_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "http base_url: no Secure: {cookie}"
    );
    assert!(
        cookie.contains("Max-Age=43200"),
        "session_hours = 12: {cookie}"
    );
    assert_eq!(c.enter(&first.code).await.status, 403, "used once");
    assert_eq!(c.enter("ABCD-EFGH").await.status, 403, "an unknown code");

    // In the browser, on a phone: ask, then type the code on the same page.
    let browser = Browser::start(PHONE).await;
    browser.goto(&c.url("/login")).await;
    browser.screenshot("login-phone").await;
    browser.fill("email", "wadmin1b@circle.test").await;
    browser.click("Send me a sign-in link").await;
    until_text(&browser, "Check your mail").await;
    browser.screenshot("login-sent-phone").await;
    let second = until_sign_in_mail("wadmin1b", 2).await;
    assert_ne!(second.code, first.code);
    browser.fill("code", &second.code).await;
    browser.click("Sign in").await;
    let landed = browser.until_url("/admin").await;
    assert!(landed.ends_with("/admin"), "{landed}");
    let text = browser.text().await;
    assert!(
        text.contains("This week")
            && text.contains("Members active")
            && text.contains("The last 12 weeks"),
        "{text}"
    );
    browser.screenshot("overview-phone").await;
    browser.goto(&c.url("/admin/audit")).await;
    browser.screenshot("audit-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn an_https_base_url_marks_the_cookie_secure_and_links_use_it() {
    let c = Console::start("wrelay1c", "wadmin1c", Some("https://console.circle.test/")).await;
    c.ask("wadmin1c@circle.test").await;
    let mail = until_sign_in_mail("wadmin1c", 1).await;
    assert!(
        mail.link.starts_with("https://console.circle.test/login/"),
        "{}",
        mail.link
    );
    let code = mail.link.rsplit('/').next().unwrap_or_default();
    let signed = c.enter(code).await;
    assert_eq!(
        signed.status, 303,
        "the link's code works as typed: {signed:?}"
    );
    let cookie = signed.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn the_overview_and_audit_pages_speak_the_admins_language() {
    // The admin is also a member who reads Japanese.
    let members = format!("{MEMBERS}wadmin1d@circle.test,Kenji,コーチ,,ja,大阪,paused\n");
    let c = Console::with_members("wrelay1d", "wadmin1d", None, &members).await;
    let token = web_support::session_for(&c.db(), "wadmin1d@circle.test").await;
    let cookie = format!("circle_session={token}");
    let page = http(
        c.port,
        "GET",
        "/admin",
        &[("Cookie", &cookie), ("Accept-Language", "ja")],
        "",
    )
    .await;
    assert_eq!(page.status, 200);
    for word in [
        "今週",
        "活動中のメンバー",
        "過去12週間",
        "<svg",
        "<title id=\"chart-title\">",
    ] {
        assert!(page.body.contains(word), "{word} in {}", page.body);
    }
    assert!(
        page.body.contains("<b>1</b><span>活動中のメンバー</span>"),
        "one active member"
    );
    assert!(page.body.contains("<b>1</b><span>休止中のメンバー</span>"));
    let browser = Browser::start(DESKTOP).await;
    browser.with_session(c.port, &token).await;
    browser.goto(&c.url("/admin")).await;
    assert!(
        browser.text().await.contains("該当者なし"),
        "Japanese for a Japanese admin"
    );
    browser.screenshot("overview-ja-desktop").await;
    browser.goto(&c.url("/admin/audit")).await;
    assert!(
        browser
            .text()
            .await
            .contains("まだ手作業での操作はありません")
    );
    browser.screenshot("audit-ja-desktop").await;
    browser.close().await;
    let phone = Browser::start(PHONE).await;
    phone.with_session(c.port, &token).await;
    phone.goto(&c.url("/admin")).await;
    phone.screenshot("overview-ja-phone").await;
    phone.close().await;
}

/// A form of the console's own kind, for the CSRF check of [`AdminForm`].
#[derive(serde::Deserialize)]
struct Note {
    #[serde(default)]
    csrf: String,
    text: String,
}

impl circle_relay::web::Csrf for Note {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The console's state on a fresh database, as the daemon builds it.
async fn state(dir: &tempfile::TempDir) -> circle_relay::web::WebState {
    use circle_relay::config::{
        CircleConfig, MatchingConfig, Posting, RelayConfig, Secret, WebConfig,
    };
    use std::sync::Arc;
    let store = inbox_support::temp_store(dir).await;
    store.migrate().await.expect("migrate");
    let circle = CircleConfig {
        name: "Care Circle".into(),
        address: "wrelay1@circle.test".into(),
        admins: vec!["wadmin1@circle.test".into()],
        ..Default::default()
    };
    let relay = circle_relay::relay::Relay::new(
        circle.clone(),
        RelayConfig::default(),
        MatchingConfig::default(),
        Secret::new("a-test-secret"),
        circle_relay::relay::templates::Templates::embedded(),
    )
    .expect("relay");
    let pipeline = circle_relay::pipeline::Pipeline::new(
        Arc::new(relay),
        store.clone(),
        circle_relay::understand::Limits::default(),
        Posting::Anyone,
    )
    .expect("pipeline");
    circle_relay::web::WebState::new(circle_relay::web::Inner {
        store,
        pipeline: Arc::new(pipeline),
        web: WebConfig {
            listen: "127.0.0.1:0".into(),
            base_url: "http://127.0.0.1/".into(),
            ..Default::default()
        },
        circle,
        tokens: circle_relay::relay::token::TokenKey::new(Secret::new("a-test-secret")),
        clock: circle_relay::clock::system(),
        outbox_waker: Arc::new(tokio::sync::Notify::new()),
    })
}

#[tokio::test]
async fn an_admin_post_without_the_sessions_csrf_token_is_refused() {
    use axum::routing::post;
    use circle_relay::web::AdminForm;
    let dir = tempfile::tempdir().unwrap();
    let state = state(&dir).await;
    let (token, now) = ("a-session-token", jiff::Timestamp::now().as_second());
    let session = circle_relay::store::web::WebSession {
        admin: "wadmin1@circle.test".into(),
        csrf: "the-form-token".into(),
        expires_at: now + 3600,
    };
    state
        .store
        .web_session_create(&circle_relay::web::session::hash_hex(token), &session, now)
        .await
        .expect("a session");
    let app = axum::Router::new()
        .route(
            "/admin/note",
            post(|AdminForm(admin, note): AdminForm<Note>| async move {
                format!("{} wrote {}", admin.email, note.text)
            }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let cookie = format!("circle_session={token}");
    let post = |body: &'static str, with_cookie: bool| {
        let cookie = cookie.clone();
        async move {
            let mut headers = vec![FORM];
            if with_cookie {
                headers.push(("Cookie", cookie.as_str()));
            }
            http(port, "POST", "/admin/note", &headers, body).await
        }
    };
    let no_session = post("csrf=the-form-token&text=hi", false).await;
    assert_eq!(no_session.status, 303);
    assert!(
        no_session
            .header("location")
            .unwrap_or_default()
            .starts_with("/login?next=")
    );
    for forged in [
        "text=hi",
        "csrf=&text=hi",
        "csrf=another-token&text=hi",
        "text=hi&csrf=the-form-toke",
    ] {
        let r = post(forged, true).await;
        assert_eq!(r.status, 403, "{forged}: {r:?}");
        assert!(r.body.contains("This form has expired") && r.body.contains("Nothing was changed"));
        assert!(!r.body.contains("wrote"), "the handler did not run");
    }
    let ok = post("csrf=the-form-token&text=hi", true).await;
    assert_eq!(
        (ok.status, ok.body.as_str()),
        (200, "wadmin1@circle.test wrote hi")
    );
}
