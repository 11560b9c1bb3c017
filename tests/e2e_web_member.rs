//! A member's own page and one-click unsubscribe (issue 17, items 4 and 5):
//! the daemon runs as a process with `[web]` on against the mail stack; the
//! member reads their links from the mails in their IMAP mailbox, uses the
//! page in a real browser, and the next request shows the change.
//! Mail-stack users: wrelay4, wmember4a, wmember4b, wasker4.

mod inbox_support;
mod web_support;

use std::path::{Path, PathBuf};

use inbox_support::{
    DaemonProcess, Mail, cli, mailbox, require_stack, reset_user, send_text, setup_circle,
    until_mail_where, until_processed,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, http, until_listening, web_section};

const RELAY: &str = "wrelay4@circle.test";
const AIKO: &str = "wmember4a@circle.test";
const BETH: &str = "wmember4b@circle.test";
const ASKER: &str = "wasker4@circle.test";
const USERS: &[&str] = &["wrelay4", "wmember4a", "wmember4b", "wasker4"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember4a@circle.test,佐藤 愛子,看護師;救命講習,看護師です。学校で救命講習をしています。,ja,東京,active\n\
    wmember4b@circle.test,Beth Moore,看護師;介護,Nurse and carer.,en;ja,Yokohama,active\n";
const SECRET: &str = "an-end-to-end-secret";

/// The tests share the mailboxes of user set 4: one at a time.
static MAILBOXES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Circle {
    _dir: tempfile::TempDir,
    config: PathBuf,
    _daemon: DaemonProcess,
    port: u16,
}

impl Circle {
    async fn start(extra: &str, web: bool) -> Self {
        require_stack();
        for u in USERS {
            reset_user(u);
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let web = if web {
            web_section(port)
        } else {
            String::new()
        };
        let config = setup_circle(
            dir.path(),
            "wrelay4",
            &["wadmin4"],
            MEMBERS,
            &format!("{web}{extra}"),
        );
        let daemon = DaemonProcess::run(&config);
        if !web.is_empty() {
            until_listening(port).await;
        }
        Self {
            _dir: dir,
            config,
            _daemon: daemon,
            port,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn db(&self) -> String {
        format!(
            "sqlite://{}",
            self.config.with_file_name("relay.db").display()
        )
    }

    async fn query_one(&self, sql: &'static str, bind: &str) -> Option<String> {
        use sqlx::{Connection, Row};
        let mut conn = sqlx::SqliteConnection::connect(&self.db()).await.unwrap();
        let row = sqlx::query(sql)
            .bind(bind)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
        row.map(|r| {
            r.try_get::<String, _>(0)
                .or_else(|_| r.try_get::<i64, _>(0).map(|n| n.to_string()))
                .unwrap()
        })
    }

    async fn member_id(&self, email: &str) -> i64 {
        self.query_one("SELECT id FROM members WHERE email = ?", email)
            .await
            .expect("a member")
            .parse()
            .unwrap()
    }

    /// `email`'s row of `members export` (the CSV an admin takes away).
    fn exported(&self, email: &str) -> String {
        cli(&self.config, &["members", "export"])
            .lines()
            .find(|l| l.starts_with(email))
            .unwrap_or_else(|| panic!("{email} is not exported"))
            .to_string()
    }
}

fn user(address: &str) -> &str {
    address.split('@').next().unwrap()
}

fn forwards(address: &str) -> Vec<Mail> {
    mailbox(user(address))
        .into_iter()
        .filter(|m| m.message_id.ends_with(".fwd@circle.test"))
        .collect()
}

async fn until_forwards(address: &str, n: usize) -> Vec<Mail> {
    until_mail_where(user(address), &format!("forward #{n}"), |_| {
        forwards(address).len() >= n
    })
    .await;
    forwards(address)
}

/// The first URL in `text` that starts with `prefix`.
fn link(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)?;
    let rest = &text[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '>' || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The https (here http) URL of a mail's List-Unsubscribe header.
fn one_click_url(m: &Mail) -> String {
    let h = m.header("List-Unsubscribe").expect("List-Unsubscribe");
    let url = h
        .split(',')
        .map(|p| p.trim().trim_matches(['<', '>']))
        .find(|p| p.starts_with("http"))
        .unwrap_or_else(|| panic!("no web URL in List-Unsubscribe: {h}"));
    url.to_string()
}

fn key() -> circle_relay::relay::token::TokenKey {
    circle_relay::relay::token::TokenKey::new(circle_relay::config::Secret::new(SECRET))
}

fn today() -> i64 {
    jiff::Timestamp::now().as_second().div_euclid(86_400)
}

async fn request(subject: &str, body: &str) {
    send_text(ASKER, RELAY, subject, "", body).await;
}

/// The page's text once it contains `needle` (after a click the old page
/// may still be there for a moment); the last text seen on timeout.
async fn text_with(browser: &Browser, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let text = match browser.client.find(fantoccini::Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) || std::time::Instant::now() > deadline {
            return text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sets a date field the way a date picker would (typing dates is locale-bound).
async fn pick_date(browser: &Browser, id: &str, day: &str) {
    browser
        .client
        .execute(
            &format!("document.getElementById('{id}').value = arguments[0];"),
            vec![serde_json::json!(day)],
        )
        .await
        .expect("set the date");
}

#[tokio::test]
async fn a_member_pauses_from_the_forwards_footer_and_the_next_request_skips_them() {
    let _one = MAILBOXES.lock().await;
    let c = Circle::start("", true).await;
    request(
        "看護師さんに相談したいです",
        "母の介護のことで、看護師さんに相談したいです。",
    )
    .await;
    let aiko = until_forwards(AIKO, 1).await;
    until_forwards(BETH, 1).await;
    let footer_link = link(&aiko[0].text, &c.url("/me/")).expect("the page link in the footer");
    assert!(aiko[0].text.contains("プロフィール"), "{}", aiko[0].text);
    assert_eq!(
        aiko[0].header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    let browser = Browser::start(PHONE).await;
    browser.goto(&footer_link).await;
    let page = browser.text().await;
    assert!(
        page.contains("あなたのプロフィール") && page.contains("看護師"),
        "{page}"
    );
    assert!(page.contains("依頼を受け付け中"), "{page}");
    let back = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap())
        .date()
        .checked_add(jiff::Span::new().days(20))
        .unwrap();
    pick_date(&browser, "until", &back.to_string()).await;
    browser.click("一時停止する").await;
    let page = text_with(&browser, "一時停止しました").await;
    assert!(page.contains("一時停止しました"), "{page}");
    assert!(
        page.contains(&format!(
            "{}年{}月{}日まで",
            back.year(),
            back.month(),
            back.day()
        )),
        "{page}"
    );
    browser.close().await;
    let actor = c
        .query_one(
            "SELECT detail FROM admin_actions WHERE actor = ?",
            &format!("member:{AIKO}"),
        )
        .await;
    assert_eq!(actor, Some(format!("{AIKO} paused until {back}")));

    request(
        "看護師の方を探しています",
        "夜勤のある看護師の方に、働き方について聞きたいです。",
    )
    .await;
    until_forwards(BETH, 2).await;
    until_processed(&c.config, "wrelay4", 2).await;
    assert_eq!(
        forwards(AIKO).len(),
        1,
        "the paused member got no second forward"
    );
}

#[tokio::test]
async fn editing_skills_on_the_page_changes_who_the_next_request_reaches() {
    let _one = MAILBOXES.lock().await;
    let c = Circle::start("", true).await;
    let beth = c.member_id(BETH).await;
    let page = format!(
        "/me/{}",
        circle_relay::relay::member_link::page_token(&key(), beth, today() + 3)
    );
    request(
        "税理士さんを紹介してください",
        "確定申告について税理士さんに相談したいです。",
    )
    .await;
    until_processed(&c.config, "wrelay4", 1).await;
    assert!(
        forwards(BETH).is_empty() && forwards(AIKO).is_empty(),
        "nobody has the skill yet"
    );

    let browser = Browser::start(DESKTOP).await;
    browser.goto(&c.url(&page)).await;
    // The languages are chosen from lists, by name; a tag no list offers
    // (an old form, a hand-made POST) is refused with the reason.
    let names = option_names(&browser, "lang2").await;
    assert!(
        names.contains(&"Japanese".to_string()) && names.contains(&"Chinese".to_string()),
        "{names:?}"
    );
    browser.choose("lang1", "en").await;
    browser.choose_unlisted("lang2", "日本語").await;
    browser.click("Save changes").await;
    let text = text_with(&browser, "is not a language code").await;
    assert!(text.contains("“日本語” is not a language code"), "{text}");
    for (list, kept) in [("lang1", "en"), ("lang2", "日本語")] {
        let value = browser
            .client
            .find(fantoccini::Locator::Css(&format!("[name='{list}']")))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap();
        assert_eq!(value.as_deref(), Some(kept), "the choice is kept");
    }
    assert!(c.exported(BETH).contains("看護師;介護"), "nothing changed");
    browser.choose("lang2", "ja").await;
    browser.fill("skills", "看護師; 介護; 税理士").await;
    browser.fill("timezone", "Europe/London").await;
    browser.click("Save changes").await;
    let text = text_with(&browser, "Saved.").await;
    assert!(
        text.contains("Saved. The next request is matched"),
        "{text}"
    );
    assert!(text.contains("税理士"), "{text}");
    browser.close().await;
    let row = c.exported(BETH);
    assert!(
        row.contains("看護師;介護;税理士") && row.ends_with(",Europe/London"),
        "{row}"
    );

    request(
        "税理士さんを探しています",
        "確定申告について税理士さんに相談したいです。",
    )
    .await;
    let got = until_forwards(BETH, 1).await;
    assert!(got[0].text.contains("確定申告"), "{}", got[0].text);
    until_processed(&c.config, "wrelay4", 2).await;
    assert!(forwards(AIKO).is_empty(), "Aiko has no such skill");
}

#[tokio::test]
async fn tampered_and_expired_links_are_refused_and_one_click_unsubscribes_without_a_session() {
    let _one = MAILBOXES.lock().await;
    let c = Circle::start("", true).await;
    request(
        "看護師さんに相談したいです",
        "母の介護のことで、看護師さんに相談したいです。",
    )
    .await;
    let beth = until_forwards(BETH, 1).await;
    let page = link(&beth[0].text, &c.url("/me/")).expect("page link");
    let path = page.trim_start_matches(&c.url(""));
    let ok = http(c.port, "GET", path, &[], "").await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(ok.body.contains("Beth Moore"));
    let id = c.member_id(BETH).await;
    let mac_end = path.len() - 1;
    let flipped = if path.ends_with('a') { 'b' } else { 'a' };
    let tampered = format!("{}{flipped}", &path[..mac_end]);
    let someone_else = path.replacen(&format!("/me/{id}-"), &format!("/me/{}-", id - 1), 1);
    let expired = format!(
        "/me/{}",
        circle_relay::relay::member_link::page_token(&key(), id, today() - 1)
    );
    for bad in [
        tampered.as_str(),
        someone_else.as_str(),
        expired.as_str(),
        "/me/garbage",
        "/u/1-abc",
    ] {
        let r = http(c.port, "GET", bad, &[], "").await;
        assert_eq!(r.status, 403, "{bad}: {r:?}");
        assert!(r.body.contains("This link is no longer valid"), "{bad}");
        assert!(
            !r.body.contains("Beth") && !r.body.contains("佐藤"),
            "no profile shown"
        );
    }
    let refused = http(
        c.port,
        "POST",
        &format!("{tampered}/pause"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "until=",
    )
    .await;
    assert_eq!(refused.status, 403);

    let url = one_click_url(&beth[0]);
    assert!(
        beth[0]
            .header("List-Unsubscribe")
            .unwrap()
            .contains("mailto:wrelay4@circle.test")
    );
    let u = url.trim_start_matches(&c.url(""));
    let asked = http(c.port, "GET", u, &[], "").await;
    assert_eq!(asked.status, 200);
    assert!(asked.body.contains("Yes, unsubscribe me"), "{}", asked.body);
    assert!(
        c.exported(BETH).contains(",active"),
        "a GET changes nothing: {}",
        c.exported(BETH)
    );
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let done = http(c.port, "POST", u, &form, "List-Unsubscribe=One-Click").await;
    assert_eq!(done.status, 200, "{done:?}");
    assert!(
        done.body.contains("You have left the circle"),
        "{}",
        done.body
    );
    assert!(done.header("set-cookie").is_none(), "no session is made");
    assert!(c.exported(BETH).contains(",left"), "{}", c.exported(BETH));
    let actor = c
        .query_one(
            "SELECT detail FROM admin_actions WHERE actor = ?",
            &format!("member:{BETH}"),
        )
        .await;
    assert_eq!(actor, Some(format!("{BETH} unsubscribed (one-click)")));
    assert!(c.exported(AIKO).contains(",active"), "only Beth left");
}

#[tokio::test]
async fn carrier_phones_get_no_link_in_forwards_but_get_it_in_the_profile_reply() {
    let _one = MAILBOXES.lock().await;
    let c = Circle::start("[relay]\ncarrier_domains = [\"circle.test\"]\n", true).await;
    request(
        "看護師さんに相談したいです",
        "母の介護のことで、看護師さんに相談したいです。",
    )
    .await;
    let aiko = until_forwards(AIKO, 1).await;
    let raw = String::from_utf8_lossy(&aiko[0].raw).to_string();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    assert!(
        !body.contains("http://") && !body.contains("/me/"),
        "no link in a carrier mail: {}",
        aiko[0].text
    );
    assert!(
        aiko[0].header("List-Unsubscribe").unwrap().contains("/u/"),
        "the header still offers one-click"
    );
    let id = send_text(AIKO, RELAY, "profile", "", "").await;
    let reply = until_mail_where("wmember4a", "the profile reply", |m| {
        m.in_reply_to.contains(&id)
    })
    .await;
    assert!(
        link(&reply.text, &c.url("/me/")).is_some(),
        "{}",
        reply.text
    );
}

#[tokio::test]
async fn without_web_mails_carry_only_the_mailto_unsubscribe() {
    let _one = MAILBOXES.lock().await;
    let _c = Circle::start("", false).await;
    request(
        "看護師さんに相談したいです",
        "母の介護のことで、看護師さんに相談したいです。",
    )
    .await;
    let aiko = until_forwards(AIKO, 1).await;
    assert_eq!(
        aiko[0].header("List-Unsubscribe").as_deref(),
        Some("<mailto:wrelay4@circle.test?subject=unsubscribe>")
    );
    assert!(aiko[0].header("List-Unsubscribe-Post").is_none());
    assert!(!aiko[0].raw_contains("/me/") && !aiko[0].raw_contains("/u/"));
}

async fn shoot(browser: &Browser, url: &str, name: &str) {
    browser.goto(url).await;
    browser.screenshot(name).await;
}

#[tokio::test]
async fn screenshots_of_the_member_pages_in_both_languages() {
    let _one = MAILBOXES.lock().await;
    let c = Circle::start("", true).await;
    for (email, lang, bad) in [(AIKO, "ja", "日本語"), (BETH, "en", "en/fr")] {
        let id = c.member_id(email).await;
        let page = c.url(&format!(
            "/me/{}",
            circle_relay::relay::member_link::page_token(&key(), id, today() + 30)
        ));
        let unsub = c.url(&format!(
            "/u/{}",
            circle_relay::relay::member_link::unsubscribe_token(&key(), id)
        ));
        for (size, width) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
            let b = Browser::start(size).await;
            shoot(&b, &page, &format!("member-profile-{lang}-{width}")).await;
            b.choose_unlisted("lang2", bad).await;
            let save = if lang == "ja" {
                "変更を保存"
            } else {
                "Save changes"
            };
            b.click(save).await;
            let problem = if lang == "ja" {
                "言語コードではありません"
            } else {
                "is not a language code"
            };
            let text = text_with(&b, problem).await;
            assert!(text.contains(problem) && text.contains(bad), "{text}");
            b.screenshot(&format!("member-edit-error-{lang}-{width}"))
                .await;
            shoot(&b, &unsub, &format!("member-unsubscribe-{lang}-{width}")).await;
            if lang == "ja" {
                shoot(
                    &b,
                    &c.url("/me/1-1-tampered"),
                    &format!("member-bad-link-{width}"),
                )
                .await;
            }
            b.close().await;
        }
    }
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots/web/member-profile-ja-phone.png")
            .exists()
    );
}

/// The names the list `name` offers, in order.
async fn option_names(browser: &Browser, name: &str) -> Vec<String> {
    let mut names = Vec::new();
    let css = format!("select[name='{name}'] option");
    for o in browser
        .client
        .find_all(fantoccini::Locator::Css(&css))
        .await
        .expect("options")
    {
        names.push(o.text().await.unwrap_or_default());
    }
    names
}
