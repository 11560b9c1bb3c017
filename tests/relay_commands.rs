//! Flow 5 on both databases: every command in both languages changes the
//! member's state and answers in the member's language; a paused member gets
//! no forward; the List-Unsubscribe mailto works; non-members get help only.
//! Also bounces (flow "Mail hygiene"): hard ones count, policy ones do not.

mod common;

use std::sync::Arc;

use circle_relay::config::{CircleConfig, MatchingConfig, RelayConfig, Secret};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::{EmailAddress, MemberStatus};
use circle_relay::matching::Matcher;
use circle_relay::relay::templates::Templates;
use circle_relay::relay::{CommandOutcome, IncomingCommand, IncomingRequest, Relay};
use circle_relay::store::Store;
use circle_relay::understand::{BounceReport, Severity, parse_command};
use sqlx::Row;

const T0: i64 = 1_800_000_000;
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    aiko@example.org,佐藤 愛子,看護師;救命講習,看護師です。,ja,東京,\n\
    beth@example.org,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n";

async fn setup(store: &Store) -> Relay {
    store
        .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
        .await
        .unwrap();
    Relay::new(
        CircleConfig {
            name: "Care Circle".into(),
            address: "circle@circle.test".into(),
            admins: vec!["admin@circle.test".into()],
            ..CircleConfig::default()
        },
        RelayConfig::default(),
        MatchingConfig {
            shortlist: 2,
            ..MatchingConfig::default()
        },
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap()
    .with_clock(Arc::new(|| T0))
}

async fn command(relay: &Relay, store: &Store, from: &str, line: &str, n: u32) -> CommandOutcome {
    let mut tx = store.begin().await.unwrap();
    let out = relay
        .take_command(
            &mut tx,
            &IncomingCommand {
                inbound_id: None,
                from: EmailAddress::parse(from).unwrap(),
                command: parse_command(line).unwrap_or_else(|| panic!("{line} is a command")),
                message_id: Some(format!("cmd{n}@example.org")),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    out
}

/// (kind, subject) of the newest outbox row to `to`.
async fn last_mail(store: &Store, to: &str) -> (String, String, String) {
    let r = sqlx::query(
        "SELECT kind, subject, message FROM outbox WHERE to_email = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(store.pool())
    .await
    .unwrap();
    let raw: Vec<u8> = r.get("message");
    let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
    (
        r.get("kind"),
        r.get("subject"),
        m.body_text(0).unwrap_or_default().to_string(),
    )
}

async fn status(store: &Store, email: &str) -> (MemberStatus, Option<String>) {
    let m = store
        .member_by_email(&EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .unwrap();
    (m.status, m.paused_until)
}

#[tokio::test]
async fn every_command_in_both_languages() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let relay = setup(&store).await;
        // Japanese member, Japanese commands (full-width too); answers in Japanese.
        let ja = "aiko@example.org";
        assert_eq!(
            command(&relay, &store, ja, "ヘルプ", 1).await,
            CommandOutcome::Help
        );
        assert_eq!(last_mail(&store, ja).await.0, "command_help");
        assert!(
            last_mail(&store, ja).await.1.contains("使い方"),
            "{backend}"
        );
        let until = Some("2026-12-01".to_string());
        assert_eq!(
            command(&relay, &store, ja, "休止 ２０２６年１２月１日まで", 2).await,
            CommandOutcome::Paused {
                until: until.clone()
            }
        );
        assert_eq!(
            status(&store, ja).await,
            (MemberStatus::Paused, until.clone()),
            "{backend}"
        );
        assert!(last_mail(&store, ja).await.1.contains("休止しました"));
        assert_eq!(
            command(&relay, &store, ja, "プロフィール", 3).await,
            CommandOutcome::Profile
        );
        let (_, subject, text) = last_mail(&store, ja).await;
        assert!(
            subject.contains("プロフィール")
                && text.contains("看護師; 救命講習")
                && text.contains("休止中"),
            "{text}"
        );
        assert_eq!(
            command(&relay, &store, ja, "再開", 4).await,
            CommandOutcome::Resumed
        );
        assert_eq!(status(&store, ja).await, (MemberStatus::Active, None));
        assert!(last_mail(&store, ja).await.1.contains("再開しました"));
        assert_eq!(
            command(&relay, &store, ja, "退会します", 5).await,
            CommandOutcome::Unsubscribed
        );
        assert_eq!(status(&store, ja).await.0, MemberStatus::Left, "{backend}");
        assert!(last_mail(&store, ja).await.1.contains("退会"));

        // English member, English commands in any case; answers in English.
        let en = "beth@example.org";
        assert_eq!(
            command(&relay, &store, en, "HELP", 11).await,
            CommandOutcome::Help
        );
        assert!(last_mail(&store, en).await.1.contains("How to use"));
        assert_eq!(
            command(&relay, &store, en, "Pause", 12).await,
            CommandOutcome::Paused { until: None }
        );
        assert_eq!(status(&store, en).await, (MemberStatus::Paused, None));
        assert!(last_mail(&store, en).await.1.contains("Paused"));
        assert_eq!(
            command(&relay, &store, en, "ｒｅｓｕｍｅ", 13).await,
            CommandOutcome::Resumed
        );
        assert_eq!(status(&store, en).await.0, MemberStatus::Active);
        assert!(last_mail(&store, en).await.1.contains("Welcome back"));
        assert_eq!(
            command(&relay, &store, en, "profile", 14).await,
            CommandOutcome::Profile
        );
        assert!(
            last_mail(&store, en)
                .await
                .2
                .contains("registered nurse; first aid instructor")
        );
        assert_eq!(
            command(&relay, &store, en, "pause until 2026-12-31", 15).await,
            CommandOutcome::Paused {
                until: Some("2026-12-31".into())
            }
        );
        assert!(last_mail(&store, en).await.1.contains("until 2026-12-31"));
        assert_eq!(
            command(&relay, &store, en, "unsubscribe", 16).await,
            CommandOutcome::Unsubscribed
        );
        assert_eq!(status(&store, en).await.0, MemberStatus::Left);
        assert!(last_mail(&store, en).await.1.contains("You have left"));
    }
}

#[tokio::test]
async fn non_members_get_help_only_and_cannot_touch_anyone() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let relay = setup(&store).await;
        let stranger = "stranger@example.net";
        assert_eq!(
            command(&relay, &store, stranger, "unsubscribe", 1).await,
            CommandOutcome::NotAMember
        );
        assert_eq!(
            last_mail(&store, stranger).await.0,
            "command_help",
            "{backend}"
        );
        assert_eq!(
            command(&relay, &store, stranger, "pause", 2).await,
            CommandOutcome::NotAMember
        );
        assert_eq!(
            status(&store, "aiko@example.org").await.0,
            MemberStatus::Active
        );
        assert_eq!(
            status(&store, "beth@example.org").await.0,
            MemberStatus::Active
        );
        // The same message taken twice answers once.
        command(&relay, &store, stranger, "help", 3).await;
        command(&relay, &store, stranger, "help", 3).await;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE to_email = $1")
            .bind(stranger)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 3, "{backend}");
    }
}

#[tokio::test]
async fn a_paused_member_gets_no_forward_and_list_unsubscribe_works() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let relay = setup(&store).await;
        command(&relay, &store, "aiko@example.org", "休止", 1).await;
        let matcher = Matcher::with_default_vocabulary(store.members().await.unwrap()).unwrap();
        let mut tx = store.begin().await.unwrap();
        let outcome = relay
            .take_request(
                &mut tx,
                &matcher,
                Default::default(),
                &IncomingRequest {
                    inbound_id: None,
                    from: EmailAddress::parse("school@example.net").unwrap(),
                    from_name: "School".into(),
                    subject: "看護師の講師を探しています".into(),
                    body: "救命講習をお願いできる看護師さんを探しています。nurse".into(),
                    message_id: Some("req@example.net".into()),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let beth = store
            .member_by_email(&EmailAddress::parse("beth@example.org").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            outcome.forwarded_to,
            vec![beth.id],
            "{backend}: only the active nurse"
        );

        // Beth uses the List-Unsubscribe header of the forward she got.
        let raw: Vec<u8> =
            sqlx::query("SELECT message FROM outbox WHERE to_email = $1 AND kind = 'forward'")
                .bind("beth@example.org")
                .fetch_one(store.pool())
                .await
                .unwrap()
                .get("message");
        let text = String::from_utf8_lossy(&raw).to_string();
        let header = text
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("list-unsubscribe:"))
            .unwrap();
        let mailto = header.split_once('<').unwrap().1.trim_end_matches('>');
        let (to, query) = mailto
            .trim_start_matches("mailto:")
            .split_once('?')
            .unwrap();
        assert_eq!(to, "circle@circle.test");
        let subject = query.strip_prefix("subject=").unwrap();
        assert_eq!(
            command(&relay, &store, "beth@example.org", subject, 2).await,
            CommandOutcome::Unsubscribed
        );
        assert_eq!(
            status(&store, "beth@example.org").await.0,
            MemberStatus::Left,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn hard_bounces_pause_a_member_and_policy_rejections_do_not_count() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let relay = setup(&store).await;
        let report = |severity| BounceReport {
            recipients: vec!["beth@example.org".into()],
            severity,
            status: Some(
                if severity == Severity::Policy {
                    "5.7.1"
                } else {
                    "5.1.1"
                }
                .into(),
            ),
            diagnostic: Some("550 user unknown".into()),
            ..Default::default()
        };
        for _ in 0..5 {
            let mut tx = store.begin().await.unwrap();
            let out = relay
                .take_bounce(&mut tx, &report(Severity::Policy), None)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert!(out.counted.is_empty() && out.paused.is_empty(), "{backend}");
        }
        let mut paused = vec![];
        for _ in 0..3 {
            let mut tx = store.begin().await.unwrap();
            paused.push(
                relay
                    .take_bounce(&mut tx, &report(Severity::Hard), None)
                    .await
                    .unwrap()
                    .paused,
            );
            tx.commit().await.unwrap();
        }
        assert!(
            paused[0].is_empty() && paused[1].is_empty() && paused[2].len() == 1,
            "{backend}: {paused:?}"
        );
        assert_eq!(
            status(&store, "beth@example.org").await.0,
            MemberStatus::Paused
        );
        assert_eq!(
            last_mail(&store, "admin@circle.test").await.0,
            "admin_bounce"
        );
    }
}
