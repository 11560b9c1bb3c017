//! A request forwarded by hand (`Relay::forward_by_hand`, behind `requests
//! forward N EMAIL` and the console's "Forward to a member") on both
//! databases: an unmatched request goes to the chosen member as an ordinary
//! forward and is open again; their accept introduces the requester; a
//! second press sends nothing; a paused member, a stranger and a member at
//! the weekly limit are refused and nothing changes.

mod common;

use common::recipients;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use circle_relay::config::{CircleConfig, MatchingConfig, RelayConfig, Secret};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::{EmailAddress, RequestStatus};
use circle_relay::matching::Matcher;
use circle_relay::relay::templates::Templates;
use circle_relay::relay::{
    BY_HAND_REASON, ByHand, IncomingReply, IncomingRequest, Refusal, Relay, ReplyOutcome,
};
use circle_relay::store::Store;
use sqlx::Row;

const T0: i64 = 1_800_000_000;
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    book@example.org,阿部 健,記帳代行;経理代行,個人事業主の記帳代行をしています。,ja,東京,\n\
    paused@example.org,伊藤 沙羅,記帳代行,,ja,東京,paused\n\
    dan@example.org,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";
const REQUESTER: &str = "shop@example.net";

struct Circle {
    store: Store,
    relay: Relay,
    matcher: Matcher,
    now: Arc<AtomicI64>,
    delivered: common::Delivered,
}

impl Circle {
    async fn new(store: Store) -> Self {
        let members = parse_members_csv(MEMBERS.as_bytes()).unwrap();
        store.import_members(&members, false).await.unwrap();
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
            RelayConfig::default(),
            MatchingConfig {
                max_forwards_per_member_per_week: 1,
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

    /// A request for a tax accountant, which nobody in the circle is.
    async fn request(&self, n: i64) -> i64 {
        let mut tx = self.store.begin().await.unwrap();
        let msg = IncomingRequest {
            inbound_id: None,
            from: EmailAddress::parse(REQUESTER).unwrap(),
            from_name: "雑貨店 店主".into(),
            subject: format!("税理士の方を探しています（{n}）"),
            body: "来年の確定申告をお願いできる税理士の方を探しています。".into(),
            message_id: Some(format!("req{n}@example.net")),
        };
        let outcome = self
            .relay
            .take_request(&mut tx, &self.matcher, Default::default(), &msg)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(outcome.forwarded_to.is_empty(), "nobody fits");
        outcome.request_id
    }

    /// Forwards request `id` to `email` by hand, committed when it was made.
    async fn by_hand(&self, id: i64, email: &str) -> Result<bool, Refusal> {
        let mut tx = self.store.begin().await.unwrap();
        let member = EmailAddress::parse(email).unwrap();
        let by = ByHand {
            request_id: id,
            member: &member,
            actor: "web:admin@circle.test",
        };
        let done = self
            .relay
            .forward_by_hand(&mut tx, &self.matcher, &by)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        done.map(|f| f.reopened)
    }

    async fn status(&self, id: i64) -> (RequestStatus, Option<i64>) {
        let r = self.store.request(id).await.unwrap().unwrap();
        (r.status, r.closed_at)
    }

    /// Mails delivered since the last call: (recipient, subject + text).
    async fn new_mail(&mut self) -> Vec<(String, String)> {
        self.delivered.new_mail(&self.store, self.now.clone()).await
    }
}

#[tokio::test]
async fn an_unmatched_request_forwarded_by_hand_is_an_ordinary_forward() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let mut c = Circle::new(store).await;
        let id = c.request(1).await;
        assert_eq!(c.status(id).await.0, RequestStatus::Unmatched, "{backend}");
        c.new_mail().await;

        assert_eq!(
            c.by_hand(id, "BOOK@example.org").await,
            Ok(true),
            "{backend}"
        );
        let (status, closed) = c.status(id).await;
        assert_eq!(
            (status, closed),
            (RequestStatus::Open, None),
            "{backend}: open again"
        );
        let mails = c.new_mail().await;
        assert_eq!(recipients(&mails), ["book@example.org"], "{backend}");
        assert!(mails[0].1.contains("確定申告"), "{backend}: {}", mails[0].1);
        assert!(!mails[0].1.contains(REQUESTER), "{backend}: hidden");

        // Pressed again, and refusals: nothing changes, nothing is sent.
        let already = Err(Refusal::AlreadyForwarded("book@example.org".into()));
        assert_eq!(
            c.by_hand(id, "book@example.org").await,
            already,
            "{backend}"
        );
        assert!(
            matches!(
                c.by_hand(id, "paused@example.org").await,
                Err(Refusal::NotActive { .. })
            ),
            "{backend}"
        );
        assert_eq!(
            c.by_hand(id, "nobody@example.org").await,
            Err(Refusal::NotAMember("nobody@example.org".into())),
            "{backend}"
        );
        assert!(c.new_mail().await.is_empty(), "{backend}: nothing more");

        // The forward's token works as any forward's: an accept introduces.
        let row = sqlx::query("SELECT token, reasons FROM forwards WHERE request_id = $1")
            .bind(id)
            .fetch_one(c.store.pool())
            .await
            .unwrap();
        let reasons: String = row.get("reasons");
        assert!(reasons.contains(BY_HAND_REASON), "{backend}: {reasons}");
        let mut tx = c.store.begin().await.unwrap();
        let reply = IncomingReply {
            inbound_id: None,
            from: EmailAddress::parse("book@example.org").unwrap(),
            token: row.get("token"),
            new_text: "ぜひお受けします".into(),
            message_id: Some("yes@example.org".into()),
        };
        let outcome = c
            .relay
            .take_reply(&mut tx, &c.matcher, &reply)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(
            matches!(outcome, ReplyOutcome::Accepted { .. }),
            "{backend}: {outcome:?}"
        );
        let mails = c.new_mail().await;
        assert_eq!(
            recipients(&mails),
            ["book@example.org", REQUESTER],
            "{backend}: both introduced"
        );
        // The requester, told before that nobody fitted, learns who found them.
        assert!(
            mails[1].1.contains("運営担当者が") && mails[1].1.contains("お声がけ"),
            "{backend}: {}",
            mails[1].1
        );

        // The member has had this week's one forward: a second request is refused.
        let second = c.request(2).await;
        let full = c.by_hand(second, "book@example.org").await;
        assert!(
            matches!(
                full,
                Err(Refusal::OverCap {
                    count: 1,
                    cap: 1,
                    ..
                })
            ),
            "{backend}: {full:?}"
        );
        assert_eq!(
            c.status(second).await.0,
            RequestStatus::Unmatched,
            "{backend}"
        );
        let actions: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_actions WHERE action = 'request_forward' AND request_id = $1",
        )
        .bind(id)
        .fetch_one(c.store.pool())
        .await
        .unwrap();
        assert_eq!(actions, 1, "{backend}: recorded once");
    }
}
