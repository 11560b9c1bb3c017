//! The pipeline ranks a request before its write transaction
//! (`MessageHandler::prepare`) and applies it inside (`handle`): a member
//! paused in between gets no forward, because the ranking is checked in the
//! transaction and made again; with nothing changed the prepared ranking is
//! what is written. SQLite in a temporary directory, the real pipeline.

use std::sync::Arc;

use circle_relay::config::{
    CircleConfig, DatabaseConfig, DatabaseUrl, MatchingConfig, Posting, RelayConfig, Secret,
};
use circle_relay::directory::ProfileInput;
use circle_relay::domain::MemberStatus;
use circle_relay::inbox::{InboundMail, MessageHandler, MessageKey};
use circle_relay::pipeline::Pipeline;
use circle_relay::relay::Relay;
use circle_relay::relay::templates::Templates;
use circle_relay::store::Store;
use circle_relay::store::admin::{AdminAction, AdminChange};
use circle_relay::store::circle::set_member_status;
use circle_relay::store::ledger::{self, LedgerHeaders, LedgerKey};
use circle_relay::understand::Limits;

const NURSES: [&str; 2] = ["aiko@circle.test", "ben@circle.test"];

const REQUEST: &str = "From: Kei <kei@example.org>\r\nTo: circle@circle.test\r\n\
Subject: Looking for a registered nurse\r\nMessage-ID: <req-1@example.org>\r\n\r\n\
Hello, we are looking for a registered nurse for a first aid class.\r\n";

async fn store(dir: &tempfile::TempDir) -> Store {
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    Store::connect(&DatabaseConfig {
        url: DatabaseUrl::new(&url),
        max_connections: 5,
    })
    .await
    .unwrap()
}

fn pipeline(store: &Store) -> Pipeline {
    let circle = CircleConfig {
        name: "Care Circle".into(),
        address: "circle@circle.test".into(),
        admins: vec!["admin@circle.test".into()],
        ..CircleConfig::default()
    };
    let relay = Relay::new(
        circle,
        RelayConfig::default(),
        MatchingConfig::default(),
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap();
    Pipeline::new(
        Arc::new(relay),
        store.clone(),
        Limits::default(),
        Posting::Anyone,
    )
    .unwrap()
}

/// The two nurses' member ids, in [`NURSES`] order.
async fn nurses(store: &Store) -> Vec<i64> {
    let mut ids = Vec::new();
    for email in NURSES {
        let member = ProfileInput {
            email: email.into(),
            name: "Nurse".into(),
            skills: "registered nurse; first aid".into(),
            languages: "en".into(),
            ..ProfileInput::default()
        }
        .to_member()
        .unwrap();
        let change = AdminChange {
            action: AdminAction::MemberAdd,
            actor: "test",
            detail: email,
            now: store.now(),
        };
        ids.push(store.add_member_by(&member, &change).await.unwrap());
    }
    ids
}

/// Claims the request in the ledger and lets the pipeline apply what it
/// prepared, in one transaction, as the inbox runner does.
async fn apply(
    store: &Store,
    pipeline: &Pipeline,
    prepared: <Pipeline as MessageHandler>::Prepared,
) {
    let key = MessageKey {
        mailbox: "INBOX".into(),
        uidvalidity: 1,
        uid: "1".into(),
    };
    let headers = LedgerHeaders {
        message_id: Some("req-1@example.org".into()),
        ..LedgerHeaders::default()
    };
    let lkey = LedgerKey {
        mailbox: &key.mailbox,
        uidvalidity: key.uidvalidity,
        uid: &key.uid,
    };
    let raw = REQUEST.as_bytes();
    let mut tx = store.begin_write().await.unwrap();
    let size = raw.len() as u64;
    let id = ledger::claim(&mut tx, lkey, &headers, size, raw)
        .await
        .unwrap()
        .expect("a new key");
    let mail = InboundMail {
        inbound_id: id,
        key: &key,
        message_id: headers.message_id.as_deref(),
        raw,
    };
    let handled = pipeline.handle(&mut tx, &mail, prepared).await.unwrap();
    assert_eq!((handled.kind.as_str(), handled.failure), ("request", None));
    tx.commit().await.unwrap();
}

/// The members the request was forwarded to, and the mails queued for them.
async fn forwarded(store: &Store) -> (Vec<i64>, Vec<String>) {
    let mut members: Vec<i64> = sqlx::query_scalar("SELECT member_id FROM forwards")
        .fetch_all(store.pool())
        .await
        .unwrap();
    members.sort();
    let mut mails: Vec<String> =
        sqlx::query_scalar("SELECT to_email FROM outbox WHERE kind = 'forward'")
            .fetch_all(store.pool())
            .await
            .unwrap();
    mails.sort();
    (members, mails)
}

#[tokio::test]
async fn a_member_paused_after_the_ranking_gets_no_forward() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let ids = nurses(&store).await;
    let pipeline = pipeline(&store);
    let prepared = pipeline.prepare(REQUEST.as_bytes()).await.unwrap();

    // Aiko pauses (an email command, the console) before the request's turn to write.
    let mut tx = store.begin_write().await.unwrap();
    let (paused, now) = (MemberStatus::Paused, store.now());
    set_member_status(&mut tx, ids[0], paused, Some("2099-01-01"), now)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    apply(&store, &pipeline, prepared).await;
    let (members, mails) = forwarded(&store).await;
    assert_eq!(members, vec![ids[1]], "only the active nurse");
    assert_eq!(mails, vec![NURSES[1].to_string()]);
}

#[tokio::test]
async fn with_nothing_changed_the_prepared_ranking_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    let ids = nurses(&store).await;
    let pipeline = pipeline(&store);
    let prepared = pipeline.prepare(REQUEST.as_bytes()).await.unwrap();
    apply(&store, &pipeline, prepared).await;
    let (members, mails) = forwarded(&store).await;
    assert_eq!(members, ids, "both nurses");
    assert_eq!(mails, NURSES.map(String::from).to_vec());
}
