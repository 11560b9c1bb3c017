//! Flow 5 as members meet it (issue #6): the daemon runs as a real process
//! against the mail stack, members send commands by SMTP to the circle
//! address, and the test checks each member's state and what arrived in
//! which mailbox. Every command appears in both languages (and a full-width
//! form); answers come in the member's language whatever the command's.

#[path = "inbox_support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Instant;

use sqlx::{Connection, Row};
use support::{Mail, mailbox, send_text, until_mail_where, until_processed};

const RELAY_USER: &str = "relay6";
const RELAY: &str = "relay6@circle.test";
const JA: &str = "cmdja@circle.test";
const EN: &str = "cmden@circle.test";
const STRANGER: &str = "cmdx@circle.test";
const ASKER: &str = "asker6@circle.test";
const USERS: &[&str] = &["relay6", "cmdja", "cmden", "cmdx", "asker6"];
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    cmdja@circle.test,佐藤 愛子,看護師;救命講習,看護師です。企業や学校で救命講習をしています。,ja,東京,\n\
    cmden@circle.test,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n";

fn user(address: &str) -> &str {
    address.split('@').next().unwrap()
}

/// Waits for the relay's answer to the message `id` that `from` sent.
async fn answer_to(from: &str, id: &str) -> Mail {
    until_mail_where(user(from), &format!("the answer to <{id}>"), |m| {
        m.header("In-Reply-To").is_some_and(|h| h.contains(id))
    })
    .await
}

/// Sends a command to the circle address and waits for its answer.
async fn command(from: &str, subject: &str, body: &str) -> Mail {
    let id = send_text(from, RELAY, subject, "", body).await;
    answer_to(from, &id).await
}

/// (status as `members list` shows it, `paused_until` as the database holds it).
async fn state(config: &Path, email: &str) -> (String, Option<String>) {
    let status = support::member_status(config, email)
        .unwrap_or_else(|| panic!("{email} is not in the directory"));
    let db = config.with_file_name("relay.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let until: Option<String> = sqlx::query("SELECT paused_until FROM members WHERE email = ?")
        .bind(email)
        .fetch_one(&mut conn)
        .await
        .unwrap()
        .get("paused_until");
    (status, until)
}

fn st(status: &str, until: Option<&str>) -> (String, Option<String>) {
    (status.to_string(), until.map(str::to_string))
}

/// `user`'s mailbox holds exactly the mails whose subjects contain
/// `subjects` (one each; a subject listed twice means two mails).
fn assert_mailbox(user: &str, subjects: &[&str]) {
    let mails = mailbox(user);
    let mut got: Vec<String> = mails
        .iter()
        .map(|m| {
            subjects
                .iter()
                .find(|s| m.subject.contains(*s))
                .map_or_else(|| format!("unexpected: {}", m.subject), |s| s.to_string())
        })
        .collect();
    let mut want: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{user}'s mailbox");
}

#[tokio::test]
async fn members_command_by_mail_in_both_languages() {
    support::require_stack();
    for u in USERS {
        support::reset_user(u);
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let config = support::setup_circle(dir.path(), RELAY_USER, &[], MEMBERS, "");
    let directory = support::cli(&config, &["members", "export"]);
    let _daemon = support::DaemonProcess::run(&config);
    let mut inbound = 0;

    // help / ヘルプ (full-width ｈｅｌｐ); a non-member gets the help text only.
    let ja_help = send_text(JA, RELAY, "ヘルプ", "", "").await;
    let en_help = send_text(EN, RELAY, "ｈｅｌｐ", "", "").await;
    let x_unsub = send_text(STRANGER, RELAY, "unsubscribe", "", "").await;
    let x_pause = send_text(STRANGER, RELAY, "お願い", "", "休止\n").await;
    inbound += 4;
    let m = answer_to(JA, &ja_help).await;
    assert!(m.subject.contains("使い方のご案内"), "{}", m.text);
    assert!(
        m.text.contains("佐藤 愛子 様") && m.text.contains("休止 YYYY-MM-DDまで"),
        "{}",
        m.text
    );
    let m = answer_to(EN, &en_help).await;
    assert!(m.subject.contains("How to use Care Circle"), "{}", m.text);
    assert!(
        m.text.contains("Hello Beth Moore") && m.text.contains("pause until YYYY-MM-DD"),
        "{}",
        m.text
    );
    for id in [&x_unsub, &x_pause] {
        let m = answer_to(STRANGER, id).await;
        assert!(
            m.subject.contains("使い方のご案内") && m.text.contains("こんにちは。"),
            "a non-member gets the help text in the circle's language: {}",
            m.text
        );
    }
    assert_eq!(state(&config, JA).await, st("active", None));
    assert_eq!(state(&config, EN).await, st("active", None));
    assert_eq!(
        support::cli(&config, &["members", "export"]),
        directory,
        "a non-member's commands change nothing"
    );
    assert_eq!(support::member_status(&config, STRANGER), None);

    // 休止 on the first line of the body: paused until "再開".
    let m = command(JA, "お願い", "休止\n\n佐藤").await;
    inbound += 1;
    assert!(
        m.subject.contains("休止しました") && !m.subject.contains("まで"),
        "{}",
        m.subject
    );
    assert!(
        m.text.contains("「再開」とお送りいただくまで"),
        "{}",
        m.text
    );
    assert_eq!(state(&config, JA).await, st("paused", None));

    // プロフィール shows the pause.
    let m = command(JA, "プロフィール", "").await;
    inbound += 1;
    assert!(m.subject.contains("プロフィールのご確認"), "{}", m.subject);
    assert!(
        m.text.contains("看護師; 救命講習") && m.text.contains("休止中"),
        "{}",
        m.text
    );

    // A request that fits both nurses goes to the active one only.
    let req1 = send_text(
        ASKER,
        RELAY,
        "教員向け救命講習の講師",
        "",
        "学校の教員向けに、看護師さんに救命講習をお願いしたいです。東京です。",
    )
    .await;
    inbound += 1;
    let ack = answer_to(ASKER, &req1).await;
    assert!(
        ack.text
            .replace('\n', "")
            .contains("条件に合うメンバー1人に"),
        "{}",
        ack.text
    );
    until_mail_where("cmden", "the first forward", |m| {
        m.subject.contains("Can you help?")
    })
    .await;
    until_processed(&config, RELAY_USER, inbound).await;
    assert!(
        !mailbox("cmdja")
            .iter()
            .any(|m| m.subject.contains("ご協力")),
        "the paused member got a forward"
    );

    // An English command from the Japanese member is answered in Japanese.
    let m = command(JA, "resume", "").await;
    inbound += 1;
    assert!(m.subject.contains("再開しました"), "{}", m.subject);
    assert_eq!(state(&config, JA).await, st("active", None));

    // Resumed, she gets the next request that fits.
    let req2 = send_text(
        ASKER,
        RELAY,
        "Nurse for a first aid class",
        "",
        "We need a registered nurse to teach first aid to our staff in Tokyo.",
    )
    .await;
    inbound += 1;
    let ack = answer_to(ASKER, &req2).await;
    assert!(
        ack.text
            .replace('\n', " ")
            .contains("It went to 2 members who fit it"),
        "an English request is acknowledged in English: {}",
        ack.text
    );
    let fw_ja = until_mail_where("cmdja", "a forward", |m| {
        m.subject.contains("ご協力のお願い")
    })
    .await;
    assert!(fw_ja.text.contains("registered nurse to teach first aid"));
    let fw_en = until_mail_where("cmden", "the second forward", |m| {
        m.subject.contains("Nurse for a first aid class")
    })
    .await;

    // pause until a date, and 退会, at the same time.
    let en_pause = send_text(EN, RELAY, "pause until 2099-12-31", "", "").await;
    let ja_leave = send_text(JA, RELAY, "退会", "", "").await;
    inbound += 2;
    let m = answer_to(EN, &en_pause).await;
    assert!(
        m.subject.contains("Paused until 2099-12-31"),
        "{}",
        m.subject
    );
    assert_eq!(state(&config, EN).await, st("paused", Some("2099-12-31")));
    let m = answer_to(JA, &ja_leave).await;
    assert!(
        m.subject.contains("退会手続きが完了しました"),
        "{}",
        m.subject
    );
    assert_eq!(state(&config, JA).await, st("left", None));

    // Full-width ＰＲＯＦＩＬＥ, then a Japanese 再開 answered in English.
    let m = command(EN, "ＰＲＯＦＩＬＥ", "").await;
    inbound += 1;
    assert!(m.subject.contains("Your profile"), "{}", m.subject);
    assert!(
        m.text.contains("registered nurse; first aid instructor")
            && m.text.contains("paused (until 2099-12-31)"),
        "{}",
        m.text
    );
    let m = command(EN, "再開", "").await;
    inbound += 1;
    assert!(m.subject.contains("Welcome back"), "{}", m.subject);
    assert_eq!(state(&config, EN).await, st("active", None));

    // Unsubscribe through the List-Unsubscribe mailto of the forward she got.
    let header = fw_en.header("List-Unsubscribe").expect("List-Unsubscribe");
    let mailto = header
        .trim()
        .strip_prefix("<mailto:")
        .and_then(|h| h.strip_suffix('>'))
        .unwrap_or_else(|| panic!("a mailto List-Unsubscribe: {header}"));
    let (to, query) = mailto.split_once('?').unwrap_or((mailto, ""));
    let subject = query
        .split('&')
        .find_map(|p| p.strip_prefix("subject="))
        .unwrap_or("");
    assert_eq!(to, RELAY);
    let id = send_text(EN, to, subject, "", "").await;
    inbound += 1;
    let m = answer_to(EN, &id).await;
    assert!(
        m.subject.contains("You have left Care Circle"),
        "{}",
        m.subject
    );
    assert_eq!(state(&config, EN).await, st("left", None));

    // Nothing else arrived anywhere; everything inbound was processed.
    until_processed(&config, RELAY_USER, inbound).await;
    let relay = mailbox(RELAY_USER);
    assert_eq!(relay.len(), inbound, "the relay's mailbox");
    assert!(relay.iter().all(|m| m.folder == "Processed"));
    assert_mailbox(
        "cmdja",
        &[
            "使い方のご案内",
            "休止しました",
            "プロフィールのご確認",
            "再開しました",
            "ご協力のお願い",
            "退会手続きが完了しました",
        ],
    );
    assert_mailbox(
        "cmden",
        &[
            "How to use",
            "Can you help? 教員向け救命講習の講師",
            "Can you help? Nurse for a first aid class",
            "Paused until 2099-12-31",
            "Your profile",
            "Welcome back",
            "You have left",
        ],
    );
    assert_mailbox("cmdx", &["使い方のご案内", "使い方のご案内"]);
    assert_mailbox("asker6", &["ご依頼を受け付けました", "Request received"]);
    for u in ["cmdja", "cmden", "cmdx", "asker6"] {
        for m in mailbox(u) {
            assert_eq!(
                m.header("List-Unsubscribe").as_deref(),
                Some("<mailto:relay6@circle.test?subject=unsubscribe>"),
                "{u}: {}",
                m.subject
            );
        }
    }
    assert!(fw_ja.from == RELAY && !fw_ja.raw_contains(ASKER));
    eprintln!("e2e_commands took {:?}", started.elapsed());
}
