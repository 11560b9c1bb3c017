//! Flow 1 on both databases: a request is recorded, forwarded one message per
//! member, acknowledged; or, when nobody fits, nobody is bothered.

mod common;

use std::sync::Arc;

use circle_relay::config::{
    CircleConfig, MatchingConfig, OutboundConfig, OutboundKind, RelayConfig, Secret,
};
use circle_relay::directory::parse_members_csv;
use circle_relay::domain::{EmailAddress, RequestStatus};
use circle_relay::matching::Matcher;
use circle_relay::outbox::{Sender, Transport};
use circle_relay::relay::templates::Templates;
use circle_relay::relay::{IncomingRequest, Relay};
use circle_relay::store::Store;

const T0: i64 = 1_800_000_000;
const MEMBERS: &str = include_str!("../data/sample-members.csv");

fn relay() -> Relay {
    let circle = CircleConfig {
        name: "Care Circle".into(),
        address: "circle@circle.test".into(),
        admins: vec!["admin@circle.test".into()],
        ..CircleConfig::default()
    };
    Relay::new(
        circle,
        RelayConfig::default(),
        MatchingConfig::default(),
        Secret::new("test-secret-of-enough-length"),
        Templates::embedded(),
    )
    .unwrap()
    .with_clock(Arc::new(|| T0))
}

async fn directory(store: &Store) -> Matcher {
    store
        .import_members(&parse_members_csv(MEMBERS.as_bytes()).unwrap(), false)
        .await
        .unwrap();
    Matcher::with_default_vocabulary(store.members().await.unwrap()).unwrap()
}

/// Sends what the relay queued into a Maildir and returns (recipient line, message) pairs.
async fn deliver(store: &Store) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let transport = Transport::from_config(&OutboundConfig {
        kind: OutboundKind::Maildir,
        path: dir.path().display().to_string(),
        ..OutboundConfig::default()
    })
    .unwrap();
    let sender = Sender::new(
        store.clone(),
        transport,
        EmailAddress::parse("circle@circle.test").unwrap(),
        20,
    )
    .with_clock(Arc::new(|| T0));
    sender.drain().await.unwrap();
    let mut mails: Vec<String> = std::fs::read_dir(dir.path().join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    mails.sort();
    mails
}

fn header<'a>(mail: &'a str, name: &str) -> Vec<&'a str> {
    mail.split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .filter_map(|l| l.strip_prefix(&format!("{name}: ")))
        .collect()
}

fn decoded_text(mail: &str) -> String {
    let parsed = mail_parser::MessageParser::default()
        .parse(mail.as_bytes())
        .unwrap();
    format!(
        "{}\n{}",
        parsed.subject().unwrap_or(""),
        parsed.body_text(0).unwrap_or_default()
    )
}

#[tokio::test]
async fn an_english_request_is_forwarded_to_a_japanese_nurse_and_acknowledged() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let matcher = directory(&store).await;
        let relay = relay();
        let mut tx = store.begin().await.unwrap();
        let outcome = relay
            .take_request(
                &mut tx,
                &matcher,
                Default::default(),
                &IncomingRequest {
                    inbound_id: None,
                    from: EmailAddress::parse("greg@school.example").unwrap(),
                    from_name: "Greg Miller".into(),
                    subject: "Looking for a nurse to teach first aid".into(),
                    body: "Our school in Tokyo needs a registered nurse to run a first aid and CPR course for teachers.".into(),
                    message_id: Some("req-1@school.example".into()),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(!outcome.forwarded_to.is_empty(), "{backend}: a nurse fits");

        let mails = deliver(&store).await;
        let forwards: Vec<&String> = mails
            .iter()
            .filter(|m| header(m, "Message-ID")[0].contains(".fwd@"))
            .collect();
        let acks: Vec<&String> = mails
            .iter()
            .filter(|m| header(m, "Message-ID")[0].contains(".ack@"))
            .collect();
        assert_eq!(forwards.len(), outcome.forwarded_to.len(), "{backend}");
        assert_eq!(acks.len(), 1, "{backend}");
        assert_eq!(
            mails.len(),
            forwards.len() + 1,
            "{backend}: nothing else is sent"
        );

        let to_hanako = forwards
            .iter()
            .find(|m| {
                header(m, "To")
                    .iter()
                    .any(|t| t.contains("hanako.yamada@example.org"))
            })
            .unwrap_or_else(|| panic!("{backend}: the nurse gets the forward"));
        assert_eq!(
            header(to_hanako, "To").len(),
            1,
            "one recipient per forward"
        );
        assert!(
            !to_hanako.contains("greg@school.example"),
            "{backend}: requester's address stays private"
        );
        let reply_to = header(to_hanako, "Reply-To")[0];
        assert!(
            reply_to.starts_with("circle+") && reply_to.ends_with("@circle.test"),
            "{reply_to}"
        );
        let text = decoded_text(to_hanako);
        assert!(
            text.contains("CPR course"),
            "{backend}: the request's text is in the forward"
        );
        assert!(
            text.contains("「引き受ける」") && text.contains("「辞退する」"),
            "{backend}: Japanese member, Japanese mail"
        );
        assert!(
            header(to_hanako, "Subject")[0].contains("=?utf-8?"),
            "RFC 2047 subject"
        );

        let ack = acks[0];
        assert!(header(ack, "To")[0].contains("greg@school.example"));
        assert!(header(ack, "In-Reply-To")[0].contains("req-1@school.example"));
        assert_eq!(header(ack, "Auto-Submitted")[0], "auto-replied");
        let ack_text = decoded_text(ack);
        assert!(
            ack_text.contains(&format!("went to {} member", forwards.len())),
            "{ack_text}"
        );
        assert!(
            !ack_text.contains("hanako"),
            "{backend}: members stay private"
        );

        let request = store.request(outcome.request_id).await.unwrap().unwrap();
        assert_eq!(
            (request.status.as_str(), request.wave),
            ("open", 1),
            "{backend}"
        );
        assert_eq!(request.wave_due_at, Some(T0 + 48 * 3600), "{backend}");
    }
}

#[tokio::test]
async fn when_nobody_fits_nobody_is_bothered() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let matcher = directory(&store).await;
        let mut tx = store.begin().await.unwrap();
        let outcome = relay()
            .take_request(
                &mut tx,
                &matcher,
                Default::default(),
                &IncomingRequest {
                    inbound_id: None,
                    from: EmailAddress::parse("owner@shop.example").unwrap(),
                    from_name: "店長".into(),
                    subject: "水道の修理ができる方を探しています".into(),
                    body: "店舗の水道管が壊れました。配管工事ができる業者さんを紹介してください。"
                        .into(),
                    message_id: None,
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(outcome.forwarded_to.is_empty(), "{backend}: {outcome:?}");
        let mails = deliver(&store).await;
        assert_eq!(
            mails.len(),
            2,
            "{backend}: the requester and the admin only"
        );
        let to: Vec<&str> = mails.iter().map(|m| header(m, "To")[0]).collect();
        assert!(
            to.iter().any(|t| t.contains("owner@shop.example")),
            "{to:?}"
        );
        assert!(to.iter().any(|t| t.contains("admin@circle.test")), "{to:?}");
        let notice = mails
            .iter()
            .find(|m| header(m, "To")[0].contains("owner@shop.example"))
            .unwrap();
        assert!(
            decoded_text(notice).contains("見つかりませんでした"),
            "{backend}: in Japanese"
        );
        let request = store.request(outcome.request_id).await.unwrap().unwrap();
        assert_eq!(request.status, RequestStatus::Unmatched, "{backend}");
    }
}
