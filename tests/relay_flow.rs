//! Flows 2–4 on both databases: answers, introductions, filled notices,
//! waves, relayed questions, closing, and replies that must not be trusted.

mod common;

use common::recipients;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use circle_relay::config::{CircleConfig, MatchingConfig, RelayConfig, Secret};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::EmailAddress;
use circle_relay::matching::Matcher;
use circle_relay::relay::templates::Templates;
use circle_relay::relay::{IncomingReply, IncomingRequest, Relay, ReplyOutcome};
use circle_relay::store::Store;
use sqlx::Row;

const T0: i64 = 1_800_000_000;
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    aiko@example.org,佐藤 愛子,看護師;救命講習,看護師です。企業向けの救命講習をしています。,ja,東京,\n\
    beth@example.org,Beth Moore,registered nurse;first aid instructor,Nurse teaching first aid and CPR.,en,Tokyo,\n\
    chie@example.org,木村 千恵,看護師;保健指導,病院勤務の看護師。,ja,東京,\n\
    dan@example.org,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";
const REQUESTER: &str = "school@example.net";

struct Circle {
    store: Store,
    relay: Relay,
    matcher: Matcher,
    now: Arc<AtomicI64>,
    delivered: common::Delivered,
}

impl Circle {
    async fn new(store: Store) -> Self {
        store
            .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
            .await
            .unwrap();
        let matcher = Matcher::with_default_vocabulary(store.members().await.unwrap()).unwrap();
        let now = Arc::new(AtomicI64::new(T0));
        let clock = now.clone();
        let relay = Relay::new(
            CircleConfig {
                name: "Care Circle".into(),
                address: "circle@circle.test".into(),
                admins: vec!["admin@circle.test".into()],
                ..CircleConfig::default()
            },
            RelayConfig {
                waves: 2,
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
        .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        Self {
            store,
            relay,
            matcher,
            now,
            delivered: common::Delivered::new(),
        }
    }

    async fn request(&self) -> i64 {
        let mut tx = self.store.begin().await.unwrap();
        let outcome = self
            .relay
            .take_request(
                &mut tx,
                &self.matcher,
                Default::default(),
                &IncomingRequest {
                    inbound_id: None,
                    from: EmailAddress::parse(REQUESTER).unwrap(),
                    from_name: "山本 校長".into(),
                    subject: "救命講習の講師（看護師）を探しています".into(),
                    body: "学校の教員向けに、看護師さんに救命講習をお願いしたいです。".into(),
                    message_id: Some("req@example.net".into()),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            outcome.forwarded_to.len(),
            2,
            "two nurses in the first wave"
        );
        outcome.request_id
    }

    /// (member email, member token, requester-side token) of each forward, in wave order.
    async fn forwards(&self) -> Vec<(String, String, String)> {
        sqlx::query(
            "SELECT m.email AS email, f.token AS token, f.requester_token AS rt FROM forwards f \
             JOIN members m ON m.id = f.member_id ORDER BY f.wave, f.rank",
        )
        .fetch_all(self.store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("email"), r.get("token"), r.get("rt")))
        .collect()
    }

    async fn reply(&self, from: &str, token: &str, text: &str, n: i64) -> ReplyOutcome {
        let mut tx = self.store.begin().await.unwrap();
        let outcome = self
            .relay
            .take_reply(
                &mut tx,
                &self.matcher,
                &IncomingReply {
                    inbound_id: None,
                    from: EmailAddress::parse(from).unwrap(),
                    token: token.into(),
                    new_text: text.into(),
                    message_id: Some(format!("reply{n}@example.org")),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        outcome
    }

    /// Mails delivered since the last call: (recipient, decoded subject + text).
    async fn new_mail(&mut self) -> Vec<(String, String)> {
        self.delivered.new_mail(&self.store, self.now.clone()).await
    }
}

#[tokio::test]
async fn an_accept_introduces_both_sides_and_tells_the_others() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        c.request().await;
        assert_eq!(
            c.new_mail().await.len(),
            3,
            "{backend}: two forwards and the acknowledgement"
        );
        let fw = c.forwards().await;
        let (first, first_token, _) = &fw[0];
        let (second, second_token, _) = &fw[1];

        let outcome = c.reply(first, first_token, "はい、お受けします。", 1).await;
        assert_eq!(
            outcome,
            ReplyOutcome::Accepted { filled: true },
            "{backend}"
        );
        let mails = c.new_mail().await;
        let mut want = vec![first.as_str(), second.as_str(), REQUESTER];
        want.sort();
        assert_eq!(
            recipients(&mails),
            want,
            "{backend}: intro to both sides, filled to the other"
        );
        let to_requester = &mails.iter().find(|(to, _)| to == REQUESTER).unwrap().1;
        assert!(
            to_requester.contains(first.as_str()),
            "{backend}: the requester learns the member's address"
        );
        let to_member = &mails.iter().find(|(to, _)| to == first).unwrap().1;
        assert!(
            to_member.contains(REQUESTER),
            "{backend}: the member learns the requester's address"
        );
        let to_other = &mails.iter().find(|(to, _)| to == second).unwrap().1;
        assert!(
            !to_other.contains(REQUESTER) && !to_other.contains(first.as_str()),
            "{backend}: {to_other}"
        );

        // A late accept is thanked, not introduced.
        assert_eq!(
            c.reply(second, second_token, "Yes, happy to help", 2).await,
            ReplyOutcome::AlreadyFilled
        );
        let mails = c.new_mail().await;
        assert_eq!(recipients(&mails), vec![second.as_str()], "{backend}");
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM introductions")
            .fetch_one(c.store.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(count, 1, "{backend}");
    }
}

#[tokio::test]
async fn untrusted_replies_change_nothing() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        c.request().await;
        c.new_mail().await;
        let fw = c.forwards().await;
        let (first, first_token, _) = &fw[0];
        let (second, _, _) = &fw[1];

        // The other shortlisted member uses the first one's token.
        assert_eq!(
            c.reply(second, first_token, "yes", 1).await,
            ReplyOutcome::NotYours,
            "{backend}"
        );
        assert_eq!(
            recipients(&c.new_mail().await),
            vec![second.as_str()],
            "{backend}: only an explanation"
        );
        // A made-up or altered token.
        let mut forged = first_token.clone();
        forged.replace_range(0..1, if forged.starts_with('a') { "b" } else { "a" });
        assert_eq!(
            c.reply(first, &forged, "yes", 2).await,
            ReplyOutcome::Untrusted,
            "{backend}"
        );
        assert!(
            c.new_mail().await.is_empty(),
            "{backend}: nothing is answered"
        );
        let accepted: i64 =
            sqlx::query("SELECT COUNT(*) AS n FROM forwards WHERE state = 'accepted'")
                .fetch_one(c.store.pool())
                .await
                .unwrap()
                .get("n");
        assert_eq!(accepted, 0, "{backend}");
        let _ = first;
    }
}

#[tokio::test]
async fn declines_start_the_next_wave_and_then_nobody_is_available() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        c.request().await;
        c.new_mail().await;
        let fw = c.forwards().await;
        assert_eq!(
            c.reply(&fw[0].0, &fw[0].1, "辞退します", 1).await,
            ReplyOutcome::Declined { next_wave: false }
        );
        assert!(
            c.new_mail().await.is_empty(),
            "{backend}: one decline is only recorded"
        );
        assert_eq!(
            c.reply(&fw[1].0, &fw[1].1, "Sorry, I can't this time", 2)
                .await,
            ReplyOutcome::Declined { next_wave: true }
        );
        let mails = c.new_mail().await;
        let fw = c.forwards().await;
        assert_eq!(fw.len(), 3, "{backend}: the third nurse is asked in wave 2");
        assert_eq!(recipients(&mails), vec![fw[2].0.as_str()], "{backend}");
        assert!(
            fw[2].0 != "dan@example.org",
            "{backend}: the coach does not fit"
        );

        // Wave 2 times out: the requester and the admin are told.
        c.now.store(T0 + 48 * 3600, Ordering::SeqCst);
        assert_eq!(
            c.relay.expire_waves(&c.store, &c.matcher).await.unwrap(),
            1,
            "{backend}"
        );
        let mails = c.new_mail().await;
        assert_eq!(
            recipients(&mails),
            vec!["admin@circle.test", REQUESTER],
            "{backend}"
        );
        assert!(
            mails[1].1.contains("引き受けられる方がいませんでした"),
            "{backend}: {}",
            mails[1].1
        );
        assert_eq!(
            c.relay.expire_waves(&c.store, &c.matcher).await.unwrap(),
            0,
            "{backend}: once"
        );
    }
}

#[tokio::test]
async fn questions_and_answers_are_relayed_without_addresses() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        c.request().await;
        c.new_mail().await;
        let fw = c.forwards().await;
        let (member, token, requester_token) = &fw[0];
        let q = format!("日程はいつ頃でしょうか？ 連絡先は {member} です。");
        assert_eq!(
            c.reply(member, token, &q, 1).await,
            ReplyOutcome::QuestionRelayed,
            "{backend}"
        );
        let mails = c.new_mail().await;
        assert_eq!(recipients(&mails), vec![REQUESTER], "{backend}");
        assert!(mails[0].1.contains("日程はいつ頃でしょうか"), "{backend}");
        assert!(
            !mails[0].1.contains(member.as_str()),
            "{backend}: the member's address is scrubbed"
        );

        let a = format!("12月の第2週です。返信先 {REQUESTER}");
        assert_eq!(
            c.reply(REQUESTER, requester_token, &a, 2).await,
            ReplyOutcome::AnswerRelayed,
            "{backend}"
        );
        let mails = c.new_mail().await;
        assert_eq!(recipients(&mails), vec![member.as_str()], "{backend}");
        assert!(mails[0].1.contains("12月の第2週です"), "{backend}");
        assert!(
            !mails[0].1.contains(REQUESTER),
            "{backend}: the requester's address is scrubbed"
        );
    }
}

#[tokio::test]
async fn the_requester_closes_and_pending_members_are_told() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        let id = c.request().await;
        c.new_mail().await;
        let token: String = sqlx::query("SELECT token FROM requests WHERE id = $1")
            .bind(id)
            .fetch_one(c.store.pool())
            .await
            .unwrap()
            .get("token");
        let fw = c.forwards().await;
        assert_eq!(
            c.reply(REQUESTER, &token, "締め切り", 1).await,
            ReplyOutcome::Closed,
            "{backend}"
        );
        let mails = c.new_mail().await;
        let mut want = vec![fw[0].0.as_str(), fw[1].0.as_str(), REQUESTER];
        want.sort();
        assert_eq!(recipients(&mails), want, "{backend}");
        // A member who accepts afterwards is told it is closed.
        assert_eq!(
            c.reply(&fw[0].0, &fw[0].1, "はい", 2).await,
            ReplyOutcome::AlreadyFilled,
            "{backend}"
        );
        let mails = c.new_mail().await;
        assert!(
            mails[0].1.contains("締め切られました"),
            "{backend}: {}",
            mails[0].1
        );
        // Eight weeks after closing, the thread's tokens are dead.
        c.now.store(T0 + 8 * 7 * 86_400 + 1, Ordering::SeqCst);
        assert_eq!(
            c.reply(&fw[1].0, &fw[1].1, "Yes!", 3).await,
            ReplyOutcome::Untrusted,
            "{backend}"
        );
        assert!(
            c.new_mail().await.is_empty(),
            "{backend}: an expired token gets no answer"
        );
    }
}
