//! Flows 6 and 7 on both databases with a moved clock: a scripted week of
//! requests, accepts, a follow-up "yes" and a new member; the digest is sent
//! exactly once per active member across a restart and two daemons, with
//! the right numbers, in Asia/Tokyo and in a daylight-saving zone.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use circle_relay::config::{CircleConfig, MatchingConfig, RelayConfig, Secret};
use circle_relay::digest::{Schedule, preview, send_due_digests};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::EmailAddress;
use circle_relay::matching::Matcher;
use circle_relay::relay::templates::Templates;
use circle_relay::relay::token::ReplyToken;
use circle_relay::relay::{FollowupOutcome, IncomingReply, IncomingRequest, Relay, ReplyOutcome};
use circle_relay::store::Store;
use sqlx::Row;

const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    aiko@example.org,佐藤 愛子,看護師;救命講習,看護師です。企業向けの救命講習をしています。,ja,東京,\n\
    beth@example.org,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n\
    chie@example.org,木村 千恵,看護師;保健指導,病院勤務の看護師。,ja,東京,\n\
    dan@example.org,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n\
    evan@example.org,Evan Paused,registered nurse,Nurse.,en,Tokyo,paused\n\
    fumi@example.org,藤田 文,社労士,社会保険労務士です。,ja,大阪,left\n";

struct Circle {
    store: Store,
    relay: Relay,
    matcher: Matcher,
    now: Arc<AtomicI64>,
    schedule: Schedule,
}

fn relay(tz: &str, now: &Arc<AtomicI64>) -> Relay {
    let clock = now.clone();
    Relay::new(
        CircleConfig {
            name: "Care Circle".into(),
            address: "circle@circle.test".into(),
            admins: vec!["admin@circle.test".into()],
            timezone: tz.into(),
            ..CircleConfig::default()
        },
        RelayConfig {
            followup_after_days: 1,
            ..RelayConfig::default()
        },
        MatchingConfig {
            shortlist: 2,
            ..MatchingConfig::default()
        },
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap()
    .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)))
}

impl Circle {
    async fn new(store: Store, tz: &str) -> Self {
        store
            .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
            .await
            .unwrap();
        let matcher = Matcher::with_default_vocabulary(store.members().await.unwrap()).unwrap();
        let now = Arc::new(AtomicI64::new(0));
        Self {
            relay: relay(tz, &now),
            store,
            matcher,
            now,
            schedule: Schedule::new("mon", "08:00", tz).unwrap(),
        }
    }

    fn set(&self, t: i64) {
        self.now.store(t, Ordering::SeqCst);
    }

    async fn request(&self, n: i64, subject: &str, body: &str) -> i64 {
        let mut tx = self.store.begin().await.unwrap();
        let out = self
            .relay
            .take_request(
                &mut tx,
                &self.matcher,
                Default::default(),
                &IncomingRequest {
                    inbound_id: None,
                    from: EmailAddress::parse("school@example.net").unwrap(),
                    from_name: "山本 校長".into(),
                    subject: subject.into(),
                    body: body.into(),
                    message_id: Some(format!("req{n}@example.net")),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        out.request_id
    }

    async fn forward(&self, request: i64, rank: usize) -> (String, String) {
        let rows = sqlx::query("SELECT m.email AS email, f.token AS token FROM forwards f JOIN members m ON m.id = f.member_id WHERE f.request_id = $1 ORDER BY f.rank")
            .bind(request).fetch_all(self.store.pool()).await.unwrap();
        (rows[rank].get("email"), rows[rank].get("token"))
    }

    async fn reply(&self, from: &str, token: &str, text: &str) -> ReplyOutcome {
        let mut tx = self.store.begin().await.unwrap();
        let r = IncomingReply {
            inbound_id: None,
            from: EmailAddress::parse(from).unwrap(),
            token: token.into(),
            new_text: text.into(),
            message_id: Some(format!("{token}@x")),
        };
        let out = match ReplyToken::read(token) {
            ReplyToken::Volunteer(v) => self
                .relay
                .take_volunteer(&mut tx, &self.matcher, &r, &v)
                .await
                .unwrap(),
            _ => self
                .relay
                .take_reply(&mut tx, &self.matcher, &r)
                .await
                .unwrap(),
        };
        tx.commit().await.unwrap();
        out
    }

    /// Digest rows in the outbox for `week`: (recipient, text).
    async fn digests(&self, week: &str) -> Vec<(String, String)> {
        let rows = sqlx::query(
            "SELECT to_email, message FROM outbox WHERE kind = 'digest' AND idempotency_key LIKE $1 ORDER BY to_email",
        )
        .bind(format!("digest:{week}:%"))
        .fetch_all(self.store.pool())
        .await
        .unwrap();
        rows.iter()
            .map(|r| {
                let raw: Vec<u8> = r.get("message");
                let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
                // A person's subject: the week's dates, never the ISO week label.
                let subject = m.subject().unwrap_or("");
                assert!(!subject.contains(week), "{subject}");
                {
                    let html_ok = m.body_html(0).map(|h| h.len() < 100_000).unwrap_or(false);
                    assert!(html_ok, "an HTML part under 100 KB");
                    (
                        r.get("to_email"),
                        m.body_text(0).unwrap_or_default().to_string(),
                    )
                }
            })
            .collect()
    }
}

/// The scripted week, then the due time; returns the week's label.
async fn scripted_week(c: &Circle, due: i64) -> String {
    let start = due - 7 * 86_400 + 3600;
    c.set(start);
    // A member who joined this week.
    sqlx::query("UPDATE members SET created_at = $1 WHERE email_key = 'chie@example.org'")
        .bind(start)
        .execute(c.store.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE members SET created_at = $1 WHERE email_key <> 'chie@example.org'")
        .bind(start - 90 * 86_400)
        .execute(c.store.pool())
        .await
        .unwrap();
    let r1 = c
        .request(
            1,
            "救命講習の講師（看護師）を探しています",
            "学校の教員向けに、看護師さんに救命講習をお願いしたいです。",
        )
        .await;
    let (m1, t1) = c.forward(r1, 0).await;
    c.set(start + 2 * 3600);
    assert!(matches!(
        c.reply(&m1, &t1, "はい、お受けします").await,
        ReplyOutcome::Accepted { filled: true }
    ));
    c.set(start + 86_400);
    let r2 = c
        .request(
            2,
            "Nurse for a first aid class",
            "We need a registered nurse to teach first aid.",
        )
        .await;
    let (mut m2, mut t2) = c.forward(r2, 0).await;
    if m2 == m1 {
        (m2, t2) = c.forward(r2, 1).await;
    }
    assert_ne!(m1, m2, "a second member helps");
    c.set(start + 86_400 + 4 * 3600);
    assert!(matches!(
        c.reply(&m2, &t2, "Yes, happy to help").await,
        ReplyOutcome::Accepted { filled: true }
    ));
    c.set(start + 2 * 86_400);
    c.request(
        3,
        "税理士を探しています（大阪）",
        "法人の決算をお願いできる税理士さん。",
    )
    .await;
    c.request(
        4,
        "看護師さんに健康相談をお願いしたい",
        "社員向けの健康相談ができる看護師さん。",
    )
    .await;
    // Day 3: the follow-up of the first introduction is answered "yes".
    c.set(start + 3 * 86_400);
    assert_eq!(c.relay.send_due_followups(&c.store).await.unwrap(), 2);
    let token = c.relay.followup_token(1);
    let mut tx = c.store.begin().await.unwrap();
    let r = IncomingReply {
        inbound_id: None,
        from: EmailAddress::parse("school@example.net").unwrap(),
        token,
        new_text: "はい、うまくいきました。ありがとうございました！".into(),
        message_id: None,
    };
    let ReplyToken::Followup(f) = ReplyToken::read(&r.token) else {
        panic!("{} is not a follow-up token", r.token);
    };
    assert_eq!(
        c.relay.take_followup_reply(&mut tx, &r, &f).await.unwrap(),
        FollowupOutcome::Recorded("yes")
    );
    tx.commit().await.unwrap();
    c.schedule.latest_due(due).unwrap().label
}

async fn check_week(backend: &str, tz: &str, due: i64) {
    let (_dir, stores) = common::stores().await;
    let store = stores.into_iter().find(|(b, _)| *b == backend).unwrap().1;
    let c = Circle::new(store, tz).await;
    let week = scripted_week(&c, due).await;
    // The daemon was down at the due time and starts 3 hours late: sent on start.
    c.set(due + 3 * 3600);
    let first = send_due_digests(&c.relay, &c.store, &c.schedule, due + 3 * 3600)
        .await
        .unwrap();
    assert_eq!(first.week, week);
    assert_eq!(
        first.sent, 5,
        "{backend} {tz}: four active members and the admin"
    );
    // A restart (a new relay on the same database), two daemons at once, and later ticks send nothing more.
    let restarted = relay(tz, &c.now);
    let (a, b) = tokio::join!(
        send_due_digests(&restarted, &c.store, &c.schedule, due + 3 * 3600 + 5),
        send_due_digests(&c.relay, &c.store, &c.schedule, due + 3 * 3600 + 5),
    );
    assert_eq!(a.unwrap().sent + b.unwrap().sent, 0);
    assert_eq!(
        send_due_digests(&c.relay, &c.store, &c.schedule, due + 5 * 86_400)
            .await
            .unwrap()
            .sent,
        0
    );
    let mails = c.digests(&week).await;
    let to: Vec<&str> = mails.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        to,
        [
            "admin@circle.test",
            "aiko@example.org",
            "beth@example.org",
            "chie@example.org",
            "dan@example.org"
        ],
        "{backend} {tz}"
    );
    let text = |who: &str| mails.iter().find(|(t, _)| t == who).unwrap().1.clone();
    let en = text("beth@example.org");
    for want in [
        "4 requests",
        "2 introductions",
        "3 h to the first yes (median)",
        "2 members helped",
        "木村 千恵",
        "ありがとうございました",
    ] {
        assert!(en.contains(want), "{backend} {tz}: {want:?} in\n{en}");
    }
    assert!(!en.contains("For admins"));
    let ja = text("aiko@example.org");
    for want in [
        "依頼 4件",
        "紹介 2件",
        "引き受けまで（中央値） 3時間",
        "協力したメンバー 2人",
        "【募集中】",
    ] {
        assert!(ja.contains(want), "{backend} {tz}: {want:?} in\n{ja}");
    }
    let admin = text("admin@circle.test");
    assert!(
        admin.contains("For admins") || admin.contains("運営担当者向け"),
        "{admin}"
    );
    assert!(
        admin.contains("税理士"),
        "unmatched request listed for admins"
    );

    // Dan volunteers for the open nurse request from his digest.
    let dan = text("dan@example.org");
    let line = dan
        .lines()
        .find(|l| l.contains("circle+v"))
        .expect("a volunteer address");
    let token = line
        .split("circle+")
        .nth(1)
        .unwrap()
        .split('@')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        c.reply("beth@example.org", &token, "yes").await,
        ReplyOutcome::NotYours
    );
    assert!(matches!(
        c.reply("dan@example.org", &token, "Yes, I can do it").await,
        ReplyOutcome::Accepted { .. }
    ));
}

#[tokio::test]
async fn tokyo_digest_once_per_week_with_the_right_numbers() {
    // Monday 2027-01-11 08:00 JST.
    let due = "2027-01-10T23:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    check_week("sqlite", "Asia/Tokyo", due).await;
    check_week("postgres", "Asia/Tokyo", due).await;
}

#[tokio::test]
async fn new_york_digest_in_the_week_daylight_saving_ends() {
    // Monday 2026-11-02 08:00 EST; the week began at 08:00 EDT (DST ended 2026-11-01).
    let due = "2026-11-02T13:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    check_week("sqlite", "America/New_York", due).await;
    check_week("postgres", "America/New_York", due).await;
}

#[tokio::test]
async fn previews_for_a_japanese_and_an_english_member() {
    let (_dir, stores) = common::stores().await;
    let store = stores.into_iter().next().unwrap().1;
    let c = Circle::new(store, "Asia/Tokyo").await;
    let due = "2027-01-10T23:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    scripted_week(&c, due).await;
    for who in ["aiko@example.org", "beth@example.org"] {
        let m = preview(
            &c.relay,
            &c.store,
            &c.schedule,
            &EmailAddress::parse(who).unwrap(),
            due,
        )
        .await
        .unwrap();
        let out = format!("Subject: {}\n\n{}", m.subject, m.text.trim_end());
        if let Ok(dir) = std::env::var("DIGEST_PREVIEW_DIR") {
            std::fs::write(format!("{dir}/{who}.txt"), &out).unwrap();
        }
        assert!(m.html.len() < 100_000);
    }
    assert!(
        preview(
            &c.relay,
            &c.store,
            &c.schedule,
            &EmailAddress::parse("nobody@x.org").unwrap(),
            due
        )
        .await
        .is_err()
    );
}

/// A very busy week: 300 requests with long subjects. Every digest still fits
/// under 100 KB of HTML (Gmail clips larger mail): the top items are listed
/// and the rest counted.
#[tokio::test]
async fn a_huge_week_is_summarised_under_100_kb() {
    let (_dir, stores) = common::stores().await;
    let store = stores.into_iter().next().unwrap().1;
    let c = Circle::new(store, "Asia/Tokyo").await;
    let due = "2027-01-10T23:00:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second();
    let long = "救命講習の講師をしてくださる看護師さんを探しています、".repeat(6);
    for n in 0..300 {
        c.set(due - 5 * 86_400 + n * 60);
        c.request(
            n,
            &format!("{long}（{n}）"),
            "看護師さんに救命講習をお願いしたいです。",
        )
        .await;
    }
    for who in ["aiko@example.org", "beth@example.org"] {
        let m = preview(
            &c.relay,
            &c.store,
            &c.schedule,
            &EmailAddress::parse(who).unwrap(),
            due,
        )
        .await
        .unwrap();
        assert!(
            m.html.len() < 100_000,
            "{who}: {} bytes of HTML",
            m.html.len()
        );
        let listed = m
            .text
            .lines()
            .filter(|l| l.starts_with("・依頼番号 ") || l.starts_with("・Request "))
            .count();
        assert!(
            (1..300).contains(&listed),
            "{who}: {listed} requests listed"
        );
        let more = 300 - listed;
        assert!(
            m.text.contains(&format!("{more} more"))
                || m.text.contains(&format!("他 {more}"))
                || m.text.contains(&more.to_string()),
            "{who}: the {more} not listed are counted:\n{}",
            m.text
        );
    }
}
