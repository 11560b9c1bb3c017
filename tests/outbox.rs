//! The outbox on both databases: queued once, sent once, retried, held,
//! taken over after a crash; delivered into a real Maildir.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use circle_relay::config::{OutboundConfig, OutboundKind, Tls};
use circle_relay::domain::EmailAddress;
use circle_relay::outbox::{AutoSubmitted, OutgoingMail, RetryPolicy, Sender, Transport};
use circle_relay::store::Store;
use circle_relay::store::outbox::{NewOutboxMail, enqueue};

const T0: i64 = 1_800_000_000;

fn addr(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap()
}

fn rendered(to: &str, n: usize) -> NewOutboxMail {
    let mail = OutgoingMail {
        from: addr("circle@circle.test"),
        from_name: "Circle".into(),
        reply_to: None,
        to: addr(to),
        to_name: String::new(),
        subject: format!("テスト {n}"),
        text: format!("本文 {n}"),
        html: format!("<p>本文 {n}</p>"),
        message_id: format!("cr.test{n}@circle.test"),
        in_reply_to: None,
        references: vec![],
        auto_submitted: AutoSubmitted::Generated,
        list_unsubscribe: "mailto:circle@circle.test?subject=unsubscribe".into(),
        one_click_unsubscribe: None,
    };
    NewOutboxMail {
        idempotency_key: format!("test:{n}"),
        kind: "test".into(),
        to_email: to.into(),
        message_id: mail.message_id.clone(),
        subject: mail.subject.clone(),
        message: mail.render().unwrap(),
        request_id: None,
        member_id: None,
    }
}

async fn queue(store: &Store, mails: &[NewOutboxMail]) -> usize {
    let mut tx = store.begin().await.unwrap();
    let mut added = 0;
    for m in mails {
        if enqueue(&mut tx, m, T0).await.unwrap() {
            added += 1;
        }
    }
    tx.commit().await.unwrap();
    added
}

fn maildir(dir: &std::path::Path) -> Transport {
    Transport::from_config(&OutboundConfig {
        kind: OutboundKind::Maildir,
        path: dir.display().to_string(),
        ..OutboundConfig::default()
    })
    .unwrap()
}

fn delivered(dir: &std::path::Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir.join("new"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    files
}

fn clock_at(t: &Arc<AtomicI64>) -> circle_relay::outbox::Clock {
    let t = t.clone();
    Arc::new(move || t.load(Ordering::SeqCst))
}

#[tokio::test]
async fn each_mail_is_queued_once_and_sent_once() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let out = tempfile::tempdir().unwrap();
        let mails: Vec<_> = (0..5).map(|n| rendered("member@example.org", n)).collect();
        assert_eq!(queue(&store, &mails).await, 5, "{backend}");
        assert_eq!(
            queue(&store, &mails).await,
            0,
            "{backend}: same keys queue nothing"
        );

        let now = Arc::new(AtomicI64::new(T0));
        let sender = Sender::new(
            store.clone(),
            maildir(out.path()),
            addr("circle@circle.test"),
            20,
        )
        .with_clock(clock_at(&now));
        let report = sender.drain().await.unwrap();
        assert_eq!(report.sent, 5, "{backend}");
        assert_eq!(
            sender.drain().await.unwrap().sent,
            0,
            "{backend}: nothing twice"
        );
        let files = delivered(out.path());
        assert_eq!(files.len(), 5, "{backend}");
        assert!(
            files[0].contains("Message-ID: <cr.test0@circle.test>"),
            "{backend}"
        );
        assert!(
            files[0].contains("Auto-Submitted: auto-generated"),
            "{backend}"
        );
        assert_eq!(store.outbox_counts().await.unwrap().sent, 5, "{backend}");
    }
}

#[tokio::test]
async fn concurrent_senders_never_send_a_row_twice() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let out = tempfile::tempdir().unwrap();
        let mails: Vec<_> = (0..40)
            .map(|n| rendered(&format!("m{n}@example.org"), n))
            .collect();
        queue(&store, &mails).await;
        let now = Arc::new(AtomicI64::new(T0));
        let senders: Vec<_> = (0..4)
            .map(|_| {
                Arc::new(
                    Sender::new(
                        store.clone(),
                        maildir(out.path()),
                        addr("circle@circle.test"),
                        20,
                    )
                    .with_clock(clock_at(&now)),
                )
            })
            .collect();
        let handles: Vec<_> = senders
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(async move { s.drain().await.unwrap().sent })
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        assert_eq!(total, 40, "{backend}");
        let files = delivered(out.path());
        assert_eq!(files.len(), 40, "{backend}");
        let mut ids: Vec<_> = files
            .iter()
            .filter_map(|f| {
                f.lines()
                    .find(|l| l.starts_with("Message-ID:"))
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 40, "{backend}: a Message-ID was delivered twice");
    }
}

#[tokio::test]
async fn temporary_failures_back_off_then_retire() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        queue(&store, &[rendered("member@example.org", 1)]).await;
        // Nothing listens on this loopback port: a temporary failure.
        let smtp = Transport::from_config(&OutboundConfig {
            kind: OutboundKind::Smtp,
            host: "127.0.0.1".into(),
            port: 1,
            tls: Tls::None,
            ..OutboundConfig::default()
        })
        .unwrap();
        let now = Arc::new(AtomicI64::new(T0));
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let sender = Sender::new(store.clone(), smtp, addr("circle@circle.test"), 20)
            .with_policy(policy)
            .with_clock(clock_at(&now));
        assert_eq!(sender.drain().await.unwrap().retried, 1, "{backend}");
        // Not due again before its backoff.
        now.store(T0 + 59, Ordering::SeqCst);
        assert_eq!(
            sender.drain().await.unwrap(),
            Default::default(),
            "{backend}"
        );
        now.store(T0 + 60, Ordering::SeqCst);
        assert_eq!(sender.drain().await.unwrap().retried, 1, "{backend}");
        now.store(T0 + 60 + 120, Ordering::SeqCst);
        assert_eq!(sender.drain().await.unwrap().failed, 1, "{backend}");
        let counts = store.outbox_counts().await.unwrap();
        assert_eq!(
            (counts.failed, counts.queued),
            (1, 0),
            "{backend}: kept, not deleted"
        );
    }
}

#[tokio::test]
async fn hourly_cap_holds_mail_to_one_address() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let out = tempfile::tempdir().unwrap();
        let mails: Vec<_> = (0..5).map(|n| rendered("loop@example.org", n)).collect();
        queue(&store, &mails).await;
        queue(&store, &[rendered("other@example.org", 9)]).await;
        let now = Arc::new(AtomicI64::new(T0));
        let sender = Sender::new(
            store.clone(),
            maildir(out.path()),
            addr("circle@circle.test"),
            3,
        )
        .with_clock(clock_at(&now));
        let report = sender.drain().await.unwrap();
        assert_eq!(
            (report.sent, report.held),
            (4, 2),
            "{backend}: 3 to loop@, 1 to other@"
        );
        assert_eq!(delivered(out.path()).len(), 4, "{backend}");
    }
}

#[tokio::test]
async fn hourly_cap_counts_mail_sent_earlier_to_the_address_in_any_case() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let out = tempfile::tempdir().unwrap();
        let now = Arc::new(AtomicI64::new(T0));
        let sender = Sender::new(
            store.clone(),
            maildir(out.path()),
            addr("circle@circle.test"),
            3,
        )
        .with_clock(clock_at(&now));
        queue(
            &store,
            &[
                rendered("Loop@Example.org", 0),
                rendered("loop@example.org", 1),
            ],
        )
        .await;
        let first = sender.drain().await.unwrap();
        assert_eq!((first.sent, first.held), (2, 0), "{backend}: under the cap");
        let sent_at: Vec<i64> =
            sqlx::query_scalar("SELECT sent_at FROM outbox WHERE status = 'sent' ORDER BY id")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(sent_at, vec![T0, T0], "{backend}: each sent mail stamped");
        now.store(T0 + 600, Ordering::SeqCst);
        let later: Vec<_> = (2..5).map(|n| rendered("LOOP@example.org", n)).collect();
        queue(&store, &later).await;
        queue(&store, &[rendered("other@example.org", 9)]).await;
        let second = sender.drain().await.unwrap();
        assert_eq!(
            (second.sent, second.held),
            (2, 2),
            "{backend}: one more to loop@ (2 sent ten minutes ago), 1 to other@"
        );
        assert_eq!(delivered(out.path()).len(), 4, "{backend}");
    }
}

#[tokio::test]
async fn a_sender_that_died_mid_send_is_taken_over_after_its_lease() {
    let (_dir, stores) = common::stores().await;
    for (backend, store) in stores {
        let out = tempfile::tempdir().unwrap();
        queue(&store, &[rendered("member@example.org", 1)]).await;
        // A sender claims the row and dies before recording the result.
        let claimed = store.claim_outbox(T0, 300).await.unwrap().unwrap();
        assert_eq!(claimed.attempts, 1, "{backend}");
        let now = Arc::new(AtomicI64::new(T0 + 10));
        let sender = Sender::new(
            store.clone(),
            maildir(out.path()),
            addr("circle@circle.test"),
            20,
        )
        .with_clock(clock_at(&now));
        assert_eq!(
            sender.drain().await.unwrap().sent,
            0,
            "{backend}: lease still held"
        );
        now.store(T0 + 300, Ordering::SeqCst);
        assert_eq!(
            sender.drain().await.unwrap().sent,
            1,
            "{backend}: taken over"
        );
        assert_eq!(delivered(out.path()).len(), 1, "{backend}");
    }
}
