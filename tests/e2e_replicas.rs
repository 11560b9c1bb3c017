//! Several daemons on one PostgreSQL database, each a real process against
//! the real mail stack: exactly one reads the inbox, all of them send, and
//! when the reader dies another takes the inbox over within the lease time.

#[path = "inbox_support/mod.rs"]
mod support;

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::{
    DaemonProcess, Mail, import_members, inbox_mails, submit_request, until_inbox, until_processed,
    write_config,
};

const LEASE_SECONDS: u64 = 6;

/// The daemons' log as the takeover test reads it, and the lines it waits for
/// (src/inbox/lease.rs).
const LEASE_LOG: &str = "warn,circle_relay::inbox::lease=info";
const STANDING_BY: &str = "another daemon reads the inbox; standing by";
const TAKEN_OVER: &str = "another daemon took the inbox over";

/// Mails in `mails` per value of `key`, to find doubles.
fn counts<'a>(mails: &'a [Mail], key: impl Fn(&'a Mail) -> &'a str) -> BTreeMap<&'a str, usize> {
    let mut out = BTreeMap::new();
    for m in mails {
        *out.entry(key(m)).or_insert(0) += 1;
    }
    out
}

async fn lease_holder(store: &circle_relay::store::Store) -> Option<String> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT holder FROM leases WHERE name LIKE 'inbox:%' AND expires_at > $1")
            .bind(jiff::Timestamp::now().as_second())
            .fetch_optional(store.pool())
            .await
            .expect("read leases");
    row.map(|r| r.0)
}

#[tokio::test]
async fn two_daemons_share_a_burst_of_50_requests_without_doubles() {
    support::require_stack();
    for u in ["relay8", "asker8", "mem6", "mem7"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_postgres_url().await;
    let config = write_config(
        dir.path(),
        "relay8",
        &db,
        "[security]\ntoken_secret = \"replicas-share-this-secret\"\nmax_mails_per_address_per_hour = 500\n\
         [matching]\nmax_forwards_per_member_per_week = 500\n\
         [moderation]\nmax_requests_per_sender_per_day = 1000\n",
    );
    import_members(
        &config,
        "email,name,skills,bio,languages,region,status\n\
         mem6@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
         mem7@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n",
    );
    let _a = DaemonProcess::run(&config);
    let _b = DaemonProcess::run(&config);
    for k in 0..50 {
        submit_request(
            "asker8@circle.test",
            "relay8@circle.test",
            &format!("burst-{k}@circle.test"),
            &format!("Nurse for first aid class {k}"),
        )
        .await;
    }

    let acks = until_inbox("asker8", 50, Duration::from_secs(120)).await;
    let store = common::store_at(&db).await;
    let forwards: Vec<(String, i64)> = sqlx::query_as(
        "SELECT m.email, COUNT(*) FROM forwards f JOIN members m ON m.id = f.member_id GROUP BY m.email ORDER BY m.email",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    for (member, n) in &forwards {
        let user = member.trim_end_matches("@circle.test");
        until_inbox(user, *n as usize, Duration::from_secs(60)).await;
    }
    // Every request handled and nothing left to send: anything doubled has
    // been delivered by now.
    until_processed(&config, "relay8", 50).await;

    let acks_now = inbox_mails("asker8");
    assert_eq!(acks_now.len(), 50, "one mail per request, nothing else");
    let per_request = counts(&acks_now, |m| m.in_reply_to.as_str());
    assert_eq!(
        per_request.len(),
        50,
        "every request answered once: {per_request:?}"
    );
    assert!(per_request.values().all(|&n| n == 1));
    assert!(acks.iter().all(|m| m.subject.contains("Request received")));
    assert_eq!(
        forwards.iter().map(|f| f.1).sum::<i64>(),
        100,
        "both members fit all 50 requests: {forwards:?}"
    );
    for (member, n) in &forwards {
        let user = member.trim_end_matches("@circle.test");
        let got = inbox_mails(user);
        assert_eq!(got.len() as i64, *n, "{user}: one mail per forward row");
        let per_subject = counts(&got, |m| m.subject.as_str());
        assert!(
            per_subject.values().all(|&n| n == 1),
            "{user} got a forward twice: {per_subject:?}"
        );
    }
    let handled: Vec<(String, i64)> =
        sqlx::query_as("SELECT outcome, COUNT(*) FROM inbound_messages GROUP BY outcome")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(handled, vec![("processed".to_string(), 50)]);
}

#[tokio::test]
async fn when_the_reader_dies_the_other_daemon_takes_the_inbox_over() {
    support::require_stack();
    for u in ["relay9", "asker9", "mem8"] {
        support::reset_user(u);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = common::fresh_postgres_url().await;
    let config = write_config(
        dir.path(),
        "relay9",
        &db,
        "[security]\ntoken_secret = \"replicas-share-this-secret\"\n",
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "password = \"test\"\n[outbound]",
        &format!("password = \"test\"\nlease_seconds = {LEASE_SECONDS}\n[outbound]"),
    );
    std::fs::write(&config, text).unwrap();
    import_members(
        &config,
        "email,name,skills,bio,languages,region,status\n\
         mem8@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n",
    );
    let store = common::store_at(&db).await;
    let mut first = DaemonProcess::run(&config);
    let deadline = Instant::now() + Duration::from_secs(20);
    while lease_holder(&store).await.is_none() {
        assert!(Instant::now() < deadline, "nobody took the inbox lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let holder = lease_holder(&store).await.unwrap_or_default();
    assert!(holder.contains(&format!(":{}:", first.pid())), "{holder}");
    let second = DaemonProcess::run_logged(&config, LEASE_LOG, dir.path().join("second.log"));

    submit_request(
        "asker9@circle.test",
        "relay9@circle.test",
        "takeover-1@circle.test",
        "Nurse for class one",
    )
    .await;
    until_inbox("asker9", 1, Duration::from_secs(30)).await;

    first.kill9();
    let killed = Instant::now();
    submit_request(
        "asker9@circle.test",
        "relay9@circle.test",
        "takeover-2@circle.test",
        "Nurse for class two",
    )
    .await;
    until_inbox("asker9", 2, Duration::from_secs(LEASE_SECONDS + 20)).await;
    let took = killed.elapsed();
    let holder = lease_holder(&store).await.unwrap_or_default();
    assert!(
        holder.contains(&format!(":{}:", second.pid())),
        "the second daemon reads now: {holder}"
    );
    // The lease runs out at most LEASE_SECONDS after the last renewal; the
    // standby looks every second; then a connect and one message.
    assert!(
        took < Duration::from_secs(LEASE_SECONDS + 4),
        "takeover took {took:?} with a {LEASE_SECONDS} s lease"
    );
    until_inbox("mem8", 2, Duration::from_secs(10)).await;
    eprintln!("takeover after SIGKILL: {took:?} (lease {LEASE_SECONDS} s)");

    // A holder that hangs (SIGSTOP: alive, but silent, like a cut-off host)
    // keeps its lease only until it runs out; when it wakes up it finds the
    // inbox taken and stops reading, so there is still one reader.
    let mut third = DaemonProcess::run_logged(&config, LEASE_LOG, dir.path().join("third.log"));
    // The takeover is timed from the holder's hang, so the third is up and
    // standing by first.
    third
        .until_logged(STANDING_BY, Duration::from_secs(20))
        .await;
    second.signal("STOP");
    let stopped = Instant::now();
    submit_request(
        "asker9@circle.test",
        "relay9@circle.test",
        "takeover-3@circle.test",
        "Nurse for class three",
    )
    .await;
    until_inbox("asker9", 3, Duration::from_secs(LEASE_SECONDS + 20)).await;
    let took = stopped.elapsed();
    let holder = lease_holder(&store).await.unwrap_or_default();
    assert!(
        holder.contains(&format!(":{}:", third.pid())),
        "the third daemon reads now: {holder}"
    );
    assert!(
        took < Duration::from_secs(2 * LEASE_SECONDS + 4),
        "takeover from a hung holder took {took:?} with a {LEASE_SECONDS} s lease"
    );
    second.signal("CONT");
    // Its next renewal (due while it hung) finds the lease taken: it stops reading.
    second
        .until_logged(TAKEN_OVER, Duration::from_secs(LEASE_SECONDS))
        .await;
    submit_request(
        "asker9@circle.test",
        "relay9@circle.test",
        "takeover-4@circle.test",
        "Nurse for class four",
    )
    .await;
    until_inbox("asker9", 4, Duration::from_secs(20)).await;
    until_inbox("mem8", 4, Duration::from_secs(10)).await;
    until_processed(&config, "relay9", 4).await;
    let asker = inbox_mails("asker9");
    assert_eq!(asker.len(), 4, "one acknowledgement per request");
    assert_eq!(counts(&asker, |m| m.in_reply_to.as_str()).len(), 4);
    assert_eq!(inbox_mails("mem8").len(), 4, "one forward per request");
    let handled: Vec<(i64,)> = sqlx::query_as("SELECT COUNT(*) FROM inbound_messages")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert_eq!(handled, vec![(4,)], "each message handled once");
    eprintln!("takeover from a hung holder: {took:?} (lease {LEASE_SECONDS} s)");
    third.kill9();
}
