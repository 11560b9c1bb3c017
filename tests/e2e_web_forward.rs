//! Forwarding a request by hand to a chosen member, as an organiser meets
//! it: nobody fits (a tax accountant is asked for; the circle has only a
//! bookkeeper, who "came close"), the admins' alert says how to forward it,
//! and the admin does so from the request's console page ("Forward to a
//! member") and with `circle-relay requests forward N EMAIL`. The daemon
//! runs as a process on the mail stack. The chosen member gets an ordinary
//! forward, accepts by reply, and the requester is introduced; pressing
//! twice sends once; paused members, the requester and a member at the
//! weekly limit are refused with the reason; nobody else gets anything.
//!
//! Mail-stack users: wrelay7 wadmin7 wmember7a wmember7b wmember7c wasker7.

mod inbox_support;
mod web_support;

use std::process::Command;

use fantoccini::Locator;
use inbox_support::{
    DaemonProcess, Mail, cli, mailbox, require_stack, reset_user, send_text, setup_circle,
    until_mail_where, until_processed,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, http, session_for, until_listening};

const USERS: [&str; 6] = [
    "wrelay7",
    "wadmin7",
    "wmember7a",
    "wmember7b",
    "wmember7c",
    "wasker7",
];
const RELAY: &str = "wrelay7@circle.test";
const ADMIN: &str = "wadmin7@circle.test";
const ASKER: &str = "wasker7@circle.test";
const BOOKKEEPER: &str = "wmember7a@circle.test";
const PAUSED: &str = "wmember7b@circle.test";
const COACH: &str = "wmember7c@circle.test";

/// An active bookkeeper (close to a tax accountant), a paused one, a coach,
/// and the requester, who keeps books too. The admin is not a member.
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember7a@circle.test,阿部 健,記帳代行;経理代行,個人事業主の記帳代行をしています。,ja,東京,\n\
    wmember7b@circle.test,伊藤 沙羅,記帳代行;bookkeeping,Bookkeeper for small shops.,en,Tokyo,paused\n\
    wmember7c@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n\
    wasker7@circle.test,金 美香,記帳代行,雑貨店の経理もしています。,ja,東京,\n";

const FIRST: &str = "税理士の方を探しています";
const FIRST_BODY: &str = "来年の確定申告をお願いできる税理士の方を探しています。";
const SECOND: &str = "相続の相談ができる税理士さん";
const SECOND_BODY: &str = "相続税について相談できる税理士の方を探しています。";

/// A mail's text with its line breaks read as spaces.
fn words(m: &Mail) -> String {
    m.text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn flat(s: &str) -> String {
    s.split_whitespace().collect()
}

/// `circle-relay requests forward N EMAIL`: (succeeded, stdout + stderr).
fn forward_cli(config: &std::path::Path, n: &str, email: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_circle-relay"))
        .arg("--config")
        .arg(config)
        .args(["requests", "forward", n, email])
        .output()
        .expect("circle-relay runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `who` accepts the forward `f` by replying to it, as a mail client does.
async fn accept(who: &str, f: &Mail) {
    let headers = format!("In-Reply-To: <{}>\n", f.message_id);
    let body = "ぜひお受けします。\n\n> 依頼の内容\n";
    send_text(who, &f.reply_to(), "Re: 依頼", &headers, body).await;
}

#[tokio::test]
async fn an_admin_forwards_an_unmatched_request_to_a_chosen_member() {
    require_stack();
    for u in USERS {
        reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let extra = format!(
        "{}[matching]\nmax_forwards_per_member_per_week = 1\n",
        web_support::web_section(port)
    );
    let config = setup_circle(dir.path(), "wrelay7", &["wadmin7"], MEMBERS, &extra);
    // The receiving server's verdict is trusted (a forged command is set aside).
    let trust = [("CIRCLE_RELAY_INBOX_TRUSTED_AUTHSERV_ID", "mx.circle.test")];
    let _daemon = DaemonProcess::run_with_env(&config, &trust);
    until_listening(port).await;
    let db = format!("sqlite://{}", dir.path().join("relay.db").display());
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");

    // Nobody fits: the alert names the bookkeeper and says how to forward.
    send_text(ASKER, RELAY, FIRST, "", FIRST_BODY).await;
    let alert = until_mail_where("wadmin7", "the admins' alert", |m| {
        m.subject.contains("要確認") && words(m).contains(FIRST)
    })
    .await;
    let text = flat(&alert.text);
    for want in [
        "近かったメンバー",
        "阿部健<wmember7a@circle.test>",
        "コマンド：circle-relayrequestsforward1メールアドレス",
        "「メンバーに転送する」",
        &flat(&format!("コンソール：{}", url("/admin/requests/1"))),
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{}", alert.text);
    }

    // The request's page offers active members, who came close first; never
    // the paused bookkeeper or the requester.
    let token = session_for(&db, ADMIN).await;
    let browser = Browser::start(DESKTOP).await;
    browser.with_session(port, &token).await;
    let page = browser
        .until_page_shows(&url("/admin/requests/1"), "Forward to a member")
        .await;
    assert!(page.contains("open again once it is forwarded"), "{page}");
    assert!(
        page.contains("Their skill “記帳代行” is a neighbouring trade to “税理士”"),
        "why the bookkeeper came close, as the alert says: {page}"
    );
    let near = option_values(&browser, "optgroup[label='Came close'] option").await;
    assert_eq!(near, [BOOKKEEPER], "who came close");
    let all = option_values(&browser, "select[name='member'] option").await;
    assert_eq!(all, ["", BOOKKEEPER, COACH], "active, not the requester");
    shots(
        port,
        &db,
        "/admin/requests/1",
        "forward-choice",
        ("Forward to a member", "メンバーに転送する"),
    )
    .await;
    let csrf = browser
        .client
        .find(Locator::Css(
            "form[action='/admin/requests/1/forward'] input[name='csrf']",
        ))
        .await
        .expect("the form's token")
        .prop("value")
        .await
        .expect("its value")
        .unwrap_or_default();

    // Forward to the bookkeeper: the notice, and the request is open again.
    browser
        .client
        .find(Locator::Css("select[name='member']"))
        .await
        .expect("the member list")
        .select_by_value(BOOKKEEPER)
        .await
        .expect("choose the bookkeeper");
    browser.click("Forward").await;
    browser.until_url("done=fwd_reopened").await;
    let page = browser.text().await;
    assert!(
        page.contains("Forwarded to 阿部 健. The request is open again"),
        "{page}"
    );
    assert!(page.contains("Chosen by an admin"), "why it went: {page}");
    browser.screenshot("forward-done-en-desktop").await;

    // Pressed again (the same form, sent twice): nothing is sent again.
    let body = format!("csrf={csrf}&member=wmember7a%40circle.test");
    let cookie = format!("{}={token}", circle_relay::web::session::COOKIE);
    let again = http(
        port,
        "POST",
        "/admin/requests/1/forward",
        &[
            ("Cookie", &cookie),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        &body,
    )
    .await;
    assert_eq!(again.status, 303, "{again:?}");
    let to = again.header("location").unwrap_or_default();
    assert!(to.contains("done=fwd_already"), "{to}");
    browser.goto(&url(to)).await;
    assert!(
        browser
            .text()
            .await
            .contains("already has this request: nothing was sent again"),
        "the notice"
    );

    // The bookkeeper gets an ordinary forward, accepts by reply, and the
    // requester is introduced.
    let forward = until_mail_where("wmember7a", "the forward", |m| {
        words(m).contains(FIRST_BODY)
    })
    .await;
    assert!(!forward.raw_contains(ASKER), "the requester stays hidden");
    accept("wmember7a@circle.test", &forward).await;
    let intro = until_mail_where("wasker7", "the introduction", |m| {
        m.message_id.contains(".intro@")
    })
    .await;
    assert!(intro.text.contains(BOOKKEEPER), "{}", intro.text);
    until_mail_where("wmember7a", "the member's introduction", |m| {
        m.message_id.contains(".intro@") && m.text.contains(ASKER)
    })
    .await;

    // The console says so, and records who forwarded it.
    let page = browser
        .until_page_shows(&url("/admin/requests/1"), "Accepted")
        .await;
    assert!(
        page.contains("wadmin7@circle.test: Forwarded the request to a member"),
        "{page}"
    );
    let show = cli(&config, &["requests", "show", "1"]);
    assert!(
        show.contains("request_forward") && show.contains("by web:wadmin7@circle.test"),
        "{show}"
    );

    // A second unmatched request, from the command line: refused with the
    // reason for the paused member, the requester and the one at the weekly
    // limit (1 here); forwarded to the coach.
    send_text(ASKER, RELAY, SECOND, "", SECOND_BODY).await;
    until_mail_where("wadmin7", "the second alert", |m| words(m).contains(SECOND)).await;
    for (who, why) in [
        (PAUSED, "is paused and gets no forwards"),
        (ASKER, "sent this request"),
        (BOOKKEEPER, "the weekly limit"),
        ("nobody7@circle.test", "is not in the member directory"),
    ] {
        let (ok, out) = forward_cli(&config, "2", who);
        assert!(!ok && out.contains(why), "{who}: {out}");
    }
    let (ok, out) = forward_cli(&config, "2", "WMEMBER7C@circle.test");
    assert!(ok, "{out}");
    assert!(
        out.contains("request 2 forwarded to Dan Roe <wmember7c@circle.test>"),
        "{out}"
    );
    let (ok, out) = forward_cli(&config, "2", COACH);
    assert!(!ok && out.contains("already has this request"), "{out}");
    let coach = until_mail_where("wmember7c", "the coach's forward", |m| {
        words(m).contains(SECOND_BODY)
    })
    .await;
    accept(COACH, &coach).await;
    until_mail_where("wasker7", "the second introduction", |m| {
        m.message_id.contains(".intro@") && m.text.contains(COACH)
    })
    .await;
    // A forged "pause" in the coach's name is set aside, not applied; the
    // Mail page says why in the page's words, the server's verdict verbatim.
    let forged =
        "Authentication-Results: mx.circle.test; dmarc=fail (p=reject) header.from=circle.test\n";
    send_text(COACH, RELAY, "pause", forged, "").await;
    let page = browser
        .until_page_shows(&url("/admin/mail"), "could not confirm who sent it")
        .await;
    assert!(page.contains("(DMARC failed for circle.test)"), "{page}");
    until_processed(&config, "wrelay7", 0).await;
    assert_eq!(
        inbox_support::member_status(&config, COACH).as_deref(),
        Some("active")
    );

    // Who got what, and nothing else.
    let count = |u: &str| mailbox(u).len();
    assert_eq!(count("wmember7a"), 2, "the forward and the introduction");
    assert_eq!(count("wmember7c"), 2, "the forward and the introduction");
    assert_eq!(count("wmember7b"), 0, "the paused member gets nothing");
    assert_eq!(count("wadmin7"), 2, "the two alerts");
    let asker: Vec<String> = mailbox("wasker7").into_iter().map(|m| m.subject).collect();
    assert_eq!(
        asker.len(),
        4,
        "two no-match mails, two introductions: {asker:?}"
    );

    for (path, name, words) in [
        (
            "/admin/mail",
            "mail-reasons",
            ("could not confirm who sent it", "差出人を確認できなかった"),
        ),
        (
            "/admin/requests/1",
            "forward-accepted",
            ("Chosen by an admin", "管理者が選んで転送"),
        ),
        ("/admin/requests/2", "forward-cli", ("Dan Roe", "Dan Roe")),
        (
            "/admin/audit",
            "audit-forward",
            ("Forwarded the request to a member", "依頼をメンバーに転送"),
        ),
    ] {
        shots(port, &db, path, name, words).await;
    }
    browser.close().await;
}

/// The `value`s of the `<option>`s `css` finds, in order.
async fn option_values(browser: &Browser, css: &str) -> Vec<String> {
    let mut values = Vec::new();
    for o in browser
        .client
        .find_all(Locator::Css(css))
        .await
        .expect("options")
    {
        values.push(o.attr("value").await.ok().flatten().unwrap_or_default());
    }
    values
}

/// `path` in both languages at phone and desktop width (taller than a
/// screen, to show the whole page), as NAME-LANG-SIZE.png; each must read
/// in its language (`words`: what it shows in English and in Japanese).
async fn shots(port: u16, db: &str, path: &str, name: &str, words: (&str, &str)) {
    for (size, tag) in [((PHONE.0, 1800), "phone"), ((DESKTOP.0, 1400), "desktop")] {
        for lang in ["en", "ja"] {
            let token = session_for(db, ADMIN).await;
            let b = Browser::start_lang(size, lang).await;
            b.with_session(port, &token).await;
            b.goto(&format!("http://127.0.0.1:{port}{path}")).await;
            let text = b.text().await;
            let want = if lang == "ja" { words.1 } else { words.0 };
            assert!(text.contains(want), "{name} in {lang}: {text}");
            b.screenshot(&format!("{name}-{lang}-{tag}")).await;
            b.close().await;
        }
    }
}
