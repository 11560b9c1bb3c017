//! IDLE wake-up latency: SMTP submit → message handed to the pipeline by the
//! IMAP reader (STARTTLS, IDLE), next to plain Postfix → Dovecot delivery
//! (SMTP submit → file in the user's Maildir `new/`), both measured in the
//! same run against the deploy/mailstack stack. Median of 50 each. Then, in
//! the same run: SMTP submit → handed to the pipeline through the LMTP intake
//! (Postfix delivers lmtp.circle.test to it), and through IMAP IDLE on Cyrus
//! (deploy/cyrus, with idled; Postfix → Cyrus LMTP), and on Cyrus without
//! idled with poll_seconds = 1 (the bounded IDLE's check).
//!
//! Run: `deploy/mailstack/up.sh && deploy/cyrus/up.sh && cargo bench --bench inbox_latency`.

#[path = "../tests/inbox_support/mod.rs"]
mod inbox_support;

use std::path::Path;
use std::time::{Duration, Instant};

use inbox_support::cyrus;
use inbox_support::*;

const SAMPLES: usize = 50;
const TARGET_RATIO: f64 = 1.5;

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// Plain delivery: submit to erin (no reader) and watch her Maildir's new/.
async fn plain_delivery(i: usize) -> Duration {
    let new_dir = maildir_of("erin").join("new");
    let before = count_files(&new_dir);
    let t0 = Instant::now();
    send_mail(
        "erin@circle.test",
        "plain",
        &new_message_id(&format!("plain{i}")),
        0,
    )
    .await;
    loop {
        if count_files(&new_dir) > before {
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "plain delivery timed out"
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Through the reader: submit to admin and wait for the handler to see it.
/// Returns (submit → handed over, submit → file in admin's Maildir new/):
/// the difference is what the IMAP path adds after delivery.
async fn relay_delivery(recorder: &Recorder, i: usize) -> (Duration, Duration) {
    let new_dir = maildir_of("admin").join("new");
    let files_before = count_files(&new_dir);
    let before = recorder.count();
    let t0 = Instant::now();
    send_mail(
        "admin@circle.test",
        "relay",
        &new_message_id(&format!("relay{i}")),
        0,
    )
    .await;
    let mut delivered = None;
    loop {
        if delivered.is_none() && count_files(&new_dir) > files_before {
            delivered = Some(t0.elapsed());
        }
        let seen = recorder
            .seen
            .lock()
            .expect("lock")
            .get(before)
            .map(|(_, at)| *at);
        if let Some(at) = seen {
            let handed = at.duration_since(t0);
            return (handed, delivered.unwrap_or(handed));
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "reader hand-off timed out"
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Submit to `to` and wait for the handler to see it: submit → handed over.
async fn handoff(recorder: &Recorder, to: &str, i: usize) -> Duration {
    let before = recorder.count();
    let t0 = Instant::now();
    send_mail(to, "handoff", &new_message_id(&format!("handoff{i}")), 0).await;
    loop {
        let seen = recorder
            .seen
            .lock()
            .expect("lock")
            .get(before)
            .map(|(_, at)| *at);
        if let Some(at) = seen {
            return at.duration_since(t0);
        }
        assert!(
            t0.elapsed() < Duration::from_secs(90),
            "hand-off to {to} timed out"
        );
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Median hand-off through `inbox` for mail to `to` (`samples` of them).
async fn through(inbox: circle_relay::inbox::Inbox, to: &str, samples: usize) -> Vec<Duration> {
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let reader = Reader::spawn(inbox, store, recorder.clone(), None);
    handoff(&recorder, to, 999).await; // warm up: connected, idling or listening
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    for i in 0..samples {
        out.push(handoff(&recorder, to, i).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reader.stop().await.expect("reader ends cleanly");
    out
}

fn lmtp_inbox() -> circle_relay::inbox::Inbox {
    let config = circle_relay::config::InboxConfig {
        kind: circle_relay::config::InboxKind::Lmtp,
        listen: "127.0.0.1:11049".into(),
        ..circle_relay::config::InboxConfig::default()
    };
    let intake = circle_relay::inbox::LmtpIntake::new(&config)
        .expect("lmtp config")
        .for_address("circle@lmtp.circle.test");
    circle_relay::inbox::Inbox::Lmtp(Box::new(intake))
}

fn report(name: &str, v: &[Duration], plain: Duration) {
    let m = median(v.to_vec());
    println!(
        "  {name}: median {:.1} ms (min {:.1}, max {:.1}), {:.2}× plain delivery",
        ms(m),
        ms(*v.iter().min().expect("samples")),
        ms(*v.iter().max().expect("samples")),
        m.as_secs_f64() / plain.as_secs_f64()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    require_stack();
    reset_user("admin");
    reset_user("erin");
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let reader = Reader::spawn(imap_inbox("admin", 10 << 20), store, recorder.clone(), None);
    // Warm up: the reader is connected and idling once this one went through.
    relay_delivery(&recorder, 999).await;
    plain_delivery(999).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let (mut plain, mut relay, mut after_delivery) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..SAMPLES {
        plain.push(plain_delivery(i).await);
        // Let the reader finish the move and go back to IDLE between samples.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (handed, delivered) = relay_delivery(&recorder, i).await;
        relay.push(handed);
        after_delivery.push(handed.saturating_sub(delivered));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reader.stop().await.expect("reader ends cleanly");
    let (p, r) = (median(plain.clone()), median(relay.clone()));
    let ratio = r.as_secs_f64() / p.as_secs_f64();
    println!("inbox_latency: {SAMPLES} samples each");
    println!(
        "  plain Postfix → Dovecot delivery (SMTP submit → Maildir new/): median {:.1} ms (min {:.1}, max {:.1})",
        ms(p),
        ms(*plain.iter().min().expect("samples")),
        ms(*plain.iter().max().expect("samples"))
    );
    println!(
        "  SMTP submit → handed to the pipeline via IMAP IDLE:           median {:.1} ms (min {:.1}, max {:.1})",
        ms(r),
        ms(*relay.iter().min().expect("samples")),
        ms(*relay.iter().max().expect("samples"))
    );
    println!(
        "  of which after the file reached admin's Maildir (Dovecot IDLE notice + reader): median {:.1} ms",
        ms(median(after_delivery))
    );
    println!(
        "  ratio {ratio:.2} (target ≤ {TARGET_RATIO}): {}",
        if ratio <= TARGET_RATIO {
            "OK"
        } else {
            "ABOVE TARGET"
        }
    );
    println!(
        "  note: Dovecot delays every IDLE notification by a fixed 500 ms \
         (NOTIFY_DELAY_MSECS in its mailbox-watch.c); that floor is the server's, not the reader's"
    );
    println!(
        "  IMAP via Dovecot minus its 500 ms floor: {:.1} ms above plain delivery + 500 ms (target ≤ 30)",
        ms(r) - ms(p) - 500.0
    );

    ensure_intake_routes();
    let lmtp = through(lmtp_inbox(), "circle@lmtp.circle.test", SAMPLES).await;
    report(
        "SMTP submit → handed to the pipeline via LMTP intake (target ≤ 2×)",
        &lmtp,
        p,
    );
    cyrus::require_cyrus();
    cyrus::reset(cyrus::PUSH, "cyrcircle").await;
    let mut config = cyrus::config(cyrus::PUSH, "cyrcircle");
    config.poll_seconds = 60;
    let push = through(cyrus::inbox(config), "cyrcircle@cyrus.circle.test", SAMPLES).await;
    report(
        "SMTP submit → handed via IMAP IDLE on Cyrus with idled",
        &push,
        p,
    );
    cyrus::reset(cyrus::NOIDLE, "cyrnoidle").await;
    let config = cyrus::config(cyrus::NOIDLE, "cyrnoidle"); // poll_seconds = 1
    // Postfix routes cyrus.circle.test to the idled instance: store straight
    // into the other one instead, and time store → handed.
    let db = tempfile::tempdir().expect("tempdir");
    let store = temp_store(&db).await;
    let recorder = Recorder::default();
    let reader = Reader::spawn(cyrus::inbox(config), store, recorder.clone(), None);
    let mut noidle = Vec::new();
    for i in 0..10 {
        let before = recorder.count();
        let t0 = Instant::now();
        cyrus::append(
            cyrus::NOIDLE,
            "cyrnoidle",
            "x",
            &new_message_id(&format!("noidle{i}")),
        )
        .await;
        while recorder.count() == before {
            assert!(
                t0.elapsed() < Duration::from_secs(90),
                "no-idled hand-off timed out"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        noidle.push(t0.elapsed());
    }
    reader.stop().await.expect("reader ends cleanly");
    println!(
        "  APPEND → handed via IMAP on Cyrus without idled, poll_seconds = 1: median {:.0} ms, max {:.0} ms (bound 1000 ms + a round trip)",
        ms(median(noidle.clone())),
        ms(*noidle.iter().max().expect("samples"))
    );
}
