//! Crash safety: the daemon, a real process on the real mail stack, is killed
//! with SIGKILL at random points during a burst of 20 requests and started
//! again each time. Every request is acknowledged once and no member gets a
//! forward twice.
//!
//! The one window no relay can close is a kill after the SMTP server took a
//! mail and before the database recorded it: that mail goes out again after
//! the restart, byte for byte with the same Message-ID, so a receiver can
//! drop the copy. The test allows exactly that (at most one copy per mail in
//! flight at a kill: `SEND_CONCURRENCY` per kill) and nothing else.

#[path = "inbox_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use circle_relay::outbox::SEND_CONCURRENCY;
use support::{
    DaemonProcess, Mail, import_members, inbox_mails, submit_request, until_inbox, until_processed,
    write_config,
};

const REQUESTS: usize = 20;
const KILLS: usize = 4;

/// A small xorshift generator: random kill points, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Distinct Message-IDs in `mails`, each with how many copies arrived.
fn copies(mails: &[Mail]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for m in mails {
        *out.entry(m.message_id.clone()).or_insert(0) += 1;
    }
    out
}

#[tokio::test]
async fn sigkill_during_a_burst_loses_nothing_and_doubles_nothing() {
    support::require_stack();
    for u in ["circle", "alice", "bob", "carol"] {
        support::reset_user(u);
    }
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| jiff::Timestamp::now().as_nanosecond() as u64 | 1);
    eprintln!("crash test seed: {seed} (CRASH_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "circle",
        &format!("sqlite://{}", dir.path().join("relay.db").display()),
        "[security]\ntoken_secret = \"crash-test-secret-1234\"\nmax_mails_per_address_per_hour = 500\n\
         [matching]\nmax_forwards_per_member_per_week = 500\n\
         [moderation]\nmax_requests_per_sender_per_day = 1000\n",
    );
    import_members(
        &config,
        "email,name,skills,bio,languages,region,status\n\
         alice@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
         bob@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n",
    );

    // A mail claimed by a killed sender is retried after this (default 300 s).
    let run =
        || DaemonProcess::run_with_env(&config, &[("CIRCLE_RELAY_OUTBOUND_LEASE_SECONDS", "2")]);
    let started = std::time::Instant::now();
    let mut daemon = run();
    let burst = tokio::spawn(async {
        for k in 0..REQUESTS {
            submit_request(
                "carol@circle.test",
                "circle@circle.test",
                &format!("crash-{k}@circle.test"),
                &format!("Nurse for first aid class {k}"),
            )
            .await;
            tokio::time::sleep(Duration::from_millis(60)).await;
        }
    });
    // Not waits: the burst's pacing and random kill points are what is tested.
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(150 + rng.below(700))).await;
        daemon.kill9();
        daemon = run();
    }
    burst.await.unwrap();

    until_inbox("carol", REQUESTS, Duration::from_secs(90)).await;
    until_inbox("alice", REQUESTS, Duration::from_secs(60)).await;
    until_inbox("bob", REQUESTS, Duration::from_secs(60)).await;
    // Every request handled and nothing left to send: a late double (a
    // killed sender's claim sent again) has been delivered by now.
    until_processed(&config, "circle", REQUESTS).await;
    drop(daemon);

    let mut resent = 0;
    for user in ["carol", "alice", "bob"] {
        let mails = inbox_mails(user);
        let distinct = copies(&mails);
        assert_eq!(
            distinct.len(),
            REQUESTS,
            "{user}: one mail per request: {distinct:?}"
        );
        resent += mails.len() - distinct.len();
        let subjects: BTreeSet<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
        assert_eq!(
            subjects.len(),
            REQUESTS,
            "{user}: a request's mail came twice under two Message-IDs"
        );
    }
    let acks = inbox_mails("carol");
    let answered: BTreeSet<&str> = acks.iter().map(|m| m.in_reply_to.as_str()).collect();
    let asked: BTreeSet<String> = (0..REQUESTS)
        .map(|k| format!("crash-{k}@circle.test"))
        .collect();
    assert_eq!(
        answered,
        asked.iter().map(String::as_str).collect(),
        "every request acknowledged"
    );
    assert!(
        resent <= KILLS * SEND_CONCURRENCY,
        "{resent} copies re-sent after {KILLS} kills: at most the mails in flight at each kill may be"
    );
    eprintln!(
        "all delivered {:?} after the burst began",
        started.elapsed()
    );
    eprintln!("re-sent copies (same Message-ID) after {KILLS} kills: {resent}");
}
