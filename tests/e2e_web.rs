//! The web console's frame (issue 17): what it serves without a session, the
//! security headers on every answer, and that a browser renders it.
//! Mail-stack users: wrelay1, wadmin1.

mod inbox_support;
mod web_support;

use inbox_support::{DaemonProcess, require_stack, reset_user, setup_circle};
use web_support::{Browser, DESKTOP, PHONE, free_port, http, until_listening, web_section};

const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember1a@circle.test,Aiko,看護師,,ja,東京,active\n";

async fn console() -> (tempfile::TempDir, DaemonProcess, u16) {
    require_stack();
    reset_user("wrelay1");
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = setup_circle(
        dir.path(),
        "wrelay1",
        &["wadmin1"],
        MEMBERS,
        &web_section(port),
    );
    let daemon = DaemonProcess::run(&config);
    until_listening(port).await;
    (dir, daemon, port)
}

#[tokio::test]
async fn admin_pages_need_a_session_and_every_answer_carries_the_security_headers() {
    let (_dir, _daemon, port) = console().await;
    for path in ["/admin", "/admin/requests", "/admin/directory"] {
        let r = http(port, "GET", path, &[], "").await;
        assert_eq!(r.status, 303, "{path} without a session: {r:?}");
        let to = r.header("location").unwrap_or_default();
        assert!(
            to.starts_with("/login?next=%2Fadmin"),
            "{path} redirects to {to}"
        );
        assert!(
            !r.body.contains("<main>"),
            "no page is shown without a session"
        );
    }
    let login = http(
        port,
        "GET",
        "/login",
        &[("Accept-Language", "ja,en;q=0.5")],
        "",
    )
    .await;
    assert_eq!(login.status, 200);
    assert!(
        login.body.contains("ログイン"),
        "Japanese for a Japanese browser"
    );
    let csp = login.header("content-security-policy").unwrap_or_default();
    assert!(csp.starts_with("default-src 'self'"), "CSP: {csp}");
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert_eq!(login.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let missing = http(port, "GET", "/nothing-here", &[], "").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("There is no such page")
            && missing.body.contains("このページは見つかりません")
    );
    assert_eq!(missing.header("x-frame-options"), Some("DENY"));
    let huge = "x".repeat(5 * 1024 * 1024);
    let refused = http(
        port,
        "POST",
        "/logout",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &huge,
    )
    .await;
    assert_eq!(
        refused.status, 413,
        "an oversized body is refused before it is read"
    );
}

#[tokio::test]
async fn the_login_page_renders_in_a_browser_at_phone_and_desktop_width() {
    let (_dir, _daemon, port) = console().await;
    for (size, name) in [(PHONE, "login-phone"), (DESKTOP, "login-desktop")] {
        let browser = Browser::start(size).await;
        browser
            .goto(&format!("http://127.0.0.1:{port}/admin/directory"))
            .await;
        assert!(
            browser
                .url()
                .await
                .contains("/login?next=%2Fadmin%2Fdirectory")
        );
        let text = browser.text().await;
        assert!(
            text.contains("Sign in") && text.contains("Send me a sign-in link"),
            "{text}"
        );
        browser.screenshot(name).await;
        browser.close().await;
    }
}

#[tokio::test]
async fn a_session_shows_the_admin_menu_and_logout_ends_it() {
    let (dir, _daemon, port) = console().await;
    let db = format!("sqlite://{}", dir.path().join("relay.db").display());
    let token = web_support::session_for(&db, "wadmin1@circle.test").await;
    let browser = Browser::start(DESKTOP).await;
    browser.with_session(port, &token).await;
    browser
        .goto(&format!("http://127.0.0.1:{port}/admin"))
        .await;
    let text = browser.text().await;
    assert!(
        text.contains("Overview") && text.contains("Directory"),
        "{text}"
    );
    assert!(
        text.contains("wadmin1@circle.test"),
        "who is signed in: {text}"
    );
    browser.click("Sign out").await;
    assert!(browser.url().await.ends_with("/login"));
    browser
        .goto(&format!("http://127.0.0.1:{port}/admin"))
        .await;
    assert!(
        browser.url().await.contains("/login?next="),
        "the session has ended"
    );
    browser.close().await;
}
