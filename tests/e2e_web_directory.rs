//! The console's directory page (issue 17, item 3) in a real browser against
//! the daemon run as a process with the mail stack: search, edit, add,
//! remove, CSV import with a preview, and that an edit changes who the next
//! request reaches. Mail-stack users: wrelay3, wadmin3, wmember3a, wmember3b,
//! wasker3. The tests share the relay's inbox, so they run one at a time.

mod inbox_support;
mod web_support;

use std::path::PathBuf;

use fantoccini::Locator;
use inbox_support::{
    DaemonProcess, cli, mailbox, member_status, require_stack, reset_user, setup_circle,
    submit_request, until_mail_where, until_processed,
};
use web_support::{Browser, DESKTOP, PHONE, free_port, until_listening, web_section};

const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    wmember3a@circle.test,Aiko Tanaka,piano tuning,Tunes pianos for schools.,en,Tokyo,active\n\
    wmember3b@circle.test,Ben Carter,bookkeeping;tax returns,,en,Osaka,active\n";

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Console {
    _dir: tempfile::TempDir,
    _daemon: DaemonProcess,
    config: PathBuf,
    db: String,
    port: u16,
}

impl Console {
    async fn start() -> Self {
        Self::start_after(|_| {}).await
    }

    /// Starts the daemon after `before` has run on the config (CLI changes
    /// that would wait for the daemon's own writes at start).
    async fn start_after(before: impl FnOnce(&std::path::Path)) -> Self {
        require_stack();
        for user in ["wrelay3", "wadmin3", "wmember3a", "wmember3b", "wasker3"] {
            reset_user(user);
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = setup_circle(
            dir.path(),
            "wrelay3",
            &["wadmin3"],
            MEMBERS,
            &web_section(port),
        );
        let db = format!("sqlite://{}", dir.path().join("relay.db").display());
        before(&config);
        let daemon = DaemonProcess::run(&config);
        until_listening(port).await;
        Self {
            _dir: dir,
            _daemon: daemon,
            config,
            db,
            port,
        }
    }

    /// A browser signed in as the circle's admin, at `size`, in `lang`.
    async fn browser(&self, size: (u32, u32), lang: &str) -> Browser {
        let token = web_support::session_for(&self.db, "wadmin3@circle.test").await;
        let browser = Browser::start_lang(size, lang).await;
        browser.with_session(self.port, &token).await;
        browser
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn export(&self) -> String {
        cli(&self.config, &["members", "export"])
    }

    /// Opens the edit form of the member named `name` from the list.
    async fn open_member(&self, browser: &Browser, name: &str) {
        browser.goto(&self.url("/admin/directory")).await;
        browser.click(name).await;
        until_text(browser, &format!("Edit: {name}")).await;
    }
}

/// Waits until the page (after a click: the next page) shows `needle`; its text.
async fn until_text(browser: &Browser, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(body) = browser.client.find(Locator::Css("body")).await
            && let Ok(text) = body.text().await
        {
            if text.contains(needle) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the page never showed {needle:?}; it shows: {last}");
}

async fn value_of(browser: &Browser, name: &str) -> String {
    browser
        .client
        .find(Locator::Css(&format!("[name='{name}']")))
        .await
        .unwrap_or_else(|e| panic!("no field {name}: {e}"))
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default()
}

/// Chooses `path` in the import form's file field and asks for the preview.
async fn upload(browser: &Browser, path: &std::path::Path) {
    browser
        .client
        .find(Locator::Css("input[name='file']"))
        .await
        .expect("a file field")
        .send_keys(&path.display().to_string())
        .await
        .expect("choose the file");
    browser.click("Show what would change").await;
}

#[tokio::test]
async fn an_edited_skill_makes_the_next_request_reach_that_member() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    // A first request primes the daemon's matcher with the old directory.
    submit_request(
        "wasker3@circle.test",
        "wrelay3@circle.test",
        "dir-e2e-1@circle.test",
        "First aid class",
    )
    .await;
    until_processed(&c.config, "wrelay3", 1).await;
    assert!(
        mailbox("wmember3a").is_empty(),
        "nobody teaches first aid yet"
    );

    let browser = c.browser(DESKTOP, "en-US").await;
    c.open_member(&browser, "Aiko Tanaka").await;
    browser.fill("skills", "registered nurse; first aid").await;
    browser.click("Save").await;
    let text = until_text(&browser, "Saved.").await;
    assert!(
        text.contains("Saved. The next request is matched with this profile."),
        "{text}"
    );
    assert_eq!(
        value_of(&browser, "skills").await,
        "registered nurse; first aid"
    );
    browser.close().await;

    submit_request(
        "wasker3@circle.test",
        "wrelay3@circle.test",
        "dir-e2e-2@circle.test",
        "First aid class again",
    )
    .await;
    let forward = until_mail_where("wmember3a", "the forward of the request", |m| {
        m.text.contains("first aid") && m.from == "wrelay3@circle.test"
    })
    .await;
    assert!(
        forward.text.contains("registered nurse"),
        "{}",
        forward.text
    );
    until_processed(&c.config, "wrelay3", 2).await;
    assert!(
        mailbox("wmember3b").is_empty(),
        "the bookkeeper got nothing"
    );
    assert_eq!(
        mailbox("wmember3a").len(),
        1,
        "one forward, for the second request"
    );
    assert!(
        c.export()
            .contains("wmember3a@circle.test,Aiko Tanaka,registered nurse;first aid,")
    );
}

#[tokio::test]
async fn a_csv_with_two_bad_rows_shows_both_lines_and_applies_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    let before = c.export();
    let file = c.config.with_file_name("bad.csv");
    std::fs::write(
        &file,
        "email,name,skills,bio,languages,region,status\n\
         new3@circle.test,New,nurse,,en,,\n\
         not-an-address,Bad,nurse,,en,,\n\
         wmember3b@circle.test,Ben Carter,bookkeeping,,en,Osaka,active\n\
         other3@circle.test,Other,nurse,,en,,retired\n",
    )
    .unwrap();
    let browser = c.browser(DESKTOP, "en-US").await;
    browser.goto(&c.url("/admin/directory/import")).await;
    upload(&browser, &file).await;
    let text = until_text(&browser, "rows have errors").await;
    assert!(
        text.contains("2 rows have errors, so nothing was imported."),
        "{text}"
    );
    assert!(text.contains("Line 3") && text.contains("Line 5"), "{text}");
    assert!(
        text.contains("“not-an-address” needs one @") && text.contains("“retired” is not a status"),
        "the reasons: {text}"
    );
    assert!(
        !text.contains("Apply these changes"),
        "no way to apply a bad file"
    );
    assert_eq!(c.export(), before, "nothing was applied");
    browser.close().await;
}

#[tokio::test]
async fn a_good_csv_is_previewed_and_applied_only_when_confirmed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    let before = c.export();
    let browser = c.browser(DESKTOP, "en-US").await;
    browser.goto(&c.url("/admin/directory/import")).await;
    browser
        .fill(
            "text",
            "email,name,skills,bio,languages,region,status\n\
             wmember3a@circle.test,Aiko Tanaka,piano tuning,Tunes pianos for schools.,en,Tokyo,active\n\
             wmember3b@circle.test,Ben Carter,bookkeeping;payroll,,en,Osaka,active\n\
             carol3@circle.test,Carol King,speech therapy,,en,Kyoto,\n",
        )
        .await;
    browser.click("Show what would change").await;
    let text = until_text(&browser, "Nothing has changed yet").await;
    assert!(text.contains("Nothing has changed yet"), "{text}");
    assert!(
        text.contains("Carol King") && text.contains("speech therapy"),
        "the new member: {text}"
    );
    assert!(
        text.contains("Ben Carter") && text.contains("· skills"),
        "what changes: {text}"
    );
    assert_eq!(c.export(), before, "a preview changes nothing");
    browser.click("Apply these changes").await;
    let text = until_text(&browser, "Imported:").await;
    assert!(
        text.contains("Imported: 1 added, 1 changed, 1 unchanged."),
        "{text}"
    );
    let after = c.export();
    assert!(
        after.contains("carol3@circle.test,Carol King,speech therapy,,en,Kyoto,active"),
        "{after}"
    );
    assert!(
        after.contains("wmember3b@circle.test,Ben Carter,bookkeeping;payroll,"),
        "{after}"
    );
    browser.close().await;
}

#[tokio::test]
async fn a_shift_jis_csv_with_japanese_names_is_imported_right() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    let csv = "email,name,skills,bio,languages,region,status\n\
        hanako3@circle.test,山田 花子,看護師；保健師、救命講習,病院勤務15年の看護師です。,ja,東京,\n";
    let (sjis, _, bad) = encoding_rs::SHIFT_JIS.encode(csv);
    assert!(!bad);
    let file = c.config.with_file_name("sjis.csv");
    std::fs::write(&file, &sjis).unwrap();
    let browser = c.browser(DESKTOP, "en-US").await;
    browser.goto(&c.url("/admin/directory/import")).await;
    upload(&browser, &file).await;
    let text = until_text(&browser, "Nothing has changed yet").await;
    assert!(
        text.contains("山田 花子") && text.contains("看護師; 保健師; 救命講習"),
        "{text}"
    );
    browser.click("Apply these changes").await;
    until_text(&browser, "Imported: 1 added, 0 changed, 0 unchanged.").await;
    let after = c.export();
    assert!(
        after.contains("hanako3@circle.test,山田 花子,看護師;保健師;救命講習,病院勤務15年の看護師です。,ja,東京,active"),
        "{after}"
    );
    browser
        .goto(&c.url("/admin/directory?q=%E4%BF%9D%E5%81%A5%E5%B8%AB"))
        .await; // 保健師
    let text = browser.text().await;
    assert!(
        text.contains("山田 花子") && !text.contains("Ben Carter"),
        "a search by skill: {text}"
    );
    browser.close().await;
}

#[tokio::test]
async fn remove_marks_the_member_left_and_keeps_them() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    let browser = c.browser(DESKTOP, "en-US").await;
    c.open_member(&browser, "Ben Carter").await;
    browser.click("Mark as left").await;
    let text = until_text(&browser, "marked as left").await;
    assert!(text.contains("The member is marked as left"), "{text}");
    assert!(
        text.contains("Ben Carter") && text.contains("Left"),
        "still listed, as left: {text}"
    );
    assert_eq!(
        member_status(&c.config, "wmember3b@circle.test").as_deref(),
        Some("left")
    );
    browser.goto(&c.url("/admin/directory?status=active")).await;
    assert!(
        !browser.text().await.contains("Ben Carter"),
        "not among the active"
    );
    browser.close().await;
}

#[tokio::test]
async fn bad_input_shows_the_message_by_the_field_and_keeps_what_was_typed() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    let before = c.export();
    let browser = c.browser(DESKTOP, "en-US").await;
    browser.goto(&c.url("/admin/directory/new")).await;
    browser.fill("email", "hanako at example").await;
    browser.fill("name", "Hanako").await;
    browser.fill("skills", "midwife; 助産師").await;
    browser.click("Add a member").await;
    let text = until_text(&browser, "Nothing was saved yet").await;
    assert!(text.contains("Nothing was saved yet"), "{text}");
    assert!(
        text.contains("This is not an email address we can send to."),
        "{text}"
    );
    assert_eq!(value_of(&browser, "email").await, "hanako at example");
    assert_eq!(value_of(&browser, "name").await, "Hanako");
    assert_eq!(value_of(&browser, "skills").await, "midwife; 助産師");
    assert_eq!(c.export(), before, "nothing was added");

    c.open_member(&browser, "Aiko Tanaka").await;
    browser.choose("lang1", "en").await;
    browser.fill("paused_until", "30/04/2026").await;
    browser.click("Save").await;
    let text = until_text(&browser, "Nothing was saved yet").await;
    assert!(text.contains("Write the date as YYYY-MM-DD"), "{text}");
    assert_eq!(value_of(&browser, "paused_until").await, "30/04/2026");
    assert_eq!(c.export(), before, "nothing was saved");
    browser.close().await;
}

#[tokio::test]
async fn screenshots_of_the_list_the_form_and_the_import_errors() {
    let _one = ONE_AT_A_TIME.lock().await;
    let c = Console::start().await;
    cli(
        &c.config,
        &[
            "members",
            "pause",
            "wmember3b@circle.test",
            "--until",
            "2026-12-24",
        ],
    );
    let bad = c.config.with_file_name("bad.csv");
    std::fs::write(
        &bad,
        "email,name,skills,bio,languages,region,status\n\
         not-an-address,Bad,nurse,,en,,\n\
         hanako3@circle.test,山田 花子,看護師,,日本語,東京,\n\
         other3@circle.test,Other,nurse,,en,,retired\n",
    )
    .unwrap();
    for (size, width) in [(PHONE, "phone"), (DESKTOP, "desktop")] {
        for lang in ["en", "ja"] {
            let browser = c.browser(size, lang).await;
            browser.goto(&c.url("/admin/directory")).await;
            let text = browser.text().await;
            let paused = if lang == "ja" {
                "2026-12-24まで休止"
            } else {
                "Paused until 2026-12-24"
            };
            assert!(text.contains(paused), "{lang}: {text}");
            browser
                .screenshot(&format!("directory-list-{width}-{lang}"))
                .await;
            browser.goto(&c.url("/admin/directory/new")).await;
            browser.fill("email", "not an address").await;
            browser.choose("lang1", "ja").await;
            browser.choose_unlisted("lang2", "日本語").await;
            browser
                .client
                .find(Locator::Css("button.primary"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            until_text(
                &browser,
                if lang == "ja" {
                    "まだ保存されていません"
                } else {
                    "Nothing was saved yet"
                },
            )
            .await;
            // What is wrong, in the page's language (item 3 of the gaps).
            let text = browser.text().await;
            let (email, language) = if lang == "ja" {
                (
                    "「not an address」に空白や",
                    "「日本語」は言語コードではありません",
                )
            } else {
                (
                    "“not an address” has a space",
                    "“日本語” is not a language code",
                )
            };
            assert!(
                text.contains(email) && text.contains(language),
                "{lang}: {text}"
            );
            browser
                .screenshot(&format!("directory-form-{width}-{lang}"))
                .await;
            browser.goto(&c.url("/admin/directory/import")).await;
            let file = browser
                .client
                .find(Locator::Css("input[name='file']"))
                .await
                .unwrap();
            file.send_keys(&bad.display().to_string()).await.unwrap();
            browser
                .client
                .find(Locator::Css(
                    "form[action='/admin/directory/import'] button",
                ))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            let text = until_text(&browser, if lang == "ja" { "4行目" } else { "Line 4" }).await;
            let line = if lang == "ja" { "4行目" } else { "Line 4" };
            assert!(text.contains(line), "{lang}: {text}");
            let rows = if lang == "ja" {
                [
                    "送信できるメールアドレスではありません",
                    "「日本語」は言語コードではありません",
                    "「retired」は状態として使えません",
                ]
            } else {
                [
                    "“not-an-address” needs one @",
                    "“日本語” is not a language code",
                    "“retired” is not a status",
                ]
            };
            for row in rows {
                assert!(text.contains(row), "{lang}: {row}: {text}");
            }
            if lang == "ja" {
                assert!(
                    !text.contains("unknown status"),
                    "no English on the Japanese page: {text}"
                );
            }
            browser
                .screenshot(&format!("directory-import-errors-{width}-{lang}"))
                .await;
            browser.close().await;
        }
    }
}
