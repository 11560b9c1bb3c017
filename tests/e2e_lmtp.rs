//! LMTP intake as users meet it: Postfix (deploy/mailstack) delivers the
//! circle's domain lmtp.circle.test over LMTP to the daemon, a real process
//! listening on 127.0.0.1:11049 (`[inbox] kind = "lmtp"`); members and
//! requesters are Dovecot users whose mailboxes the tests look into.
//! One daemon at a time can listen there: the tests take turns.

#[path = "inbox_support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use circle_relay::outbox::SEND_CONCURRENCY;
use sqlx::{Connection, Row};
use support::{
    DaemonProcess, import_members, inbox_mails, submit_request, until_delivered, until_mail,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;

static PORT: Mutex<()> = Mutex::const_new(());
const LISTEN: &str = "127.0.0.1:11049";
const CIRCLE: &str = "circle@lmtp.circle.test";
const MEMBERS: &str = "email,name,skills,bio,languages,region,status\n\
    lmnurse1@circle.test,Amy Clark,registered nurse;first aid instructor,Nurse teaching first aid.,en,Tokyo,\n\
    lmnurse2@circle.test,木村 千恵,看護師;救命講習,看護師。救命講習の講師をしています。,ja,東京,\n\
    lmcoach@circle.test,Dan Roe,business coaching,Coach for founders.,en,Tokyo,\n";

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("circle-relay.toml");
    std::fs::write(
        &path,
        format!(
            "[circle]\nname = \"LMTP Circle\"\naddress = \"{CIRCLE}\"\nadmins = [\"relayadmin@circle.test\"]\n\
             posting = \"anyone\"\n\
             [database]\nurl = \"sqlite://{db}\"\n\
             [inbox]\nkind = \"lmtp\"\nlisten = \"{LISTEN}\"\n\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"\n\
             [security]\ntoken_secret = \"an-lmtp-test-secret\"\nmax_mails_per_address_per_hour = 500\n\
             [matching]\nmax_forwards_per_member_per_week = 500\n\
             [moderation]\nmax_requests_per_sender_per_day = 1000\n",
            db = dir.join("relay.db").display()
        ),
    )
    .expect("write config");
    import_members(&path, MEMBERS);
    path
}

fn reset(users: &[&str]) {
    support::ensure_intake_routes();
    purge_queue();
    for u in users {
        support::reset_user(u);
    }
}

/// Drops mail for lmtp.circle.test still in Postfix's queue (left by an
/// earlier run whose daemon is gone), so it cannot reach this test's daemon.
fn purge_queue() {
    let conf = support::stack_dir().join("postfix");
    let out = std::process::Command::new("postqueue")
        .arg("-c")
        .arg(&conf)
        .arg("-j")
        .output()
        .expect("postqueue runs");
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let recipients = line.split("\"recipients\"").nth(1).unwrap_or("");
        if !recipients.contains("@lmtp.circle.test\"") {
            continue;
        }
        let id = line
            .split("\"queue_id\"")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1));
        if let Some(id) = id {
            let _ = std::process::Command::new("postsuper")
                .arg("-c")
                .arg(&conf)
                .args(["-d", id])
                .output();
        }
    }
}

/// Waits until something listens on [`LISTEN`] (the daemon started).
async fn until_listening() {
    support::wait_until(
        Duration::from_secs(20),
        "the daemon listens for LMTP",
        || async { tokio::net::TcpStream::connect(LISTEN).await.is_ok() },
    )
    .await;
}

/// Ledger rows (Message-ID, kind, raw size) of the daemon's database.
async fn ledger(dir: &Path) -> Vec<(String, String, usize)> {
    let url = format!("sqlite://{}", dir.join("relay.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open db");
    sqlx::query("SELECT message_id, kind, raw FROM inbound_messages ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .expect("ledger")
        .iter()
        .map(|r| {
            let raw: Option<Vec<u8>> = r.get("raw");
            (
                r.get::<Option<String>, _>("message_id").unwrap_or_default(),
                r.get("kind"),
                raw.map_or(0, |b| b.len()),
            )
        })
        .collect()
}

/// Ledger rows not marked as out of the inbox: an LMTP delivery is in no
/// folder, so every row should be marked from the start.
async fn unmoved(dir: &Path) -> i64 {
    let url = format!("sqlite://{}", dir.join("relay.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open db");
    sqlx::query("SELECT COUNT(*) AS n FROM inbound_messages WHERE moved_at IS NULL")
        .fetch_one(&mut conn)
        .await
        .expect("ledger")
        .get("n")
}

#[tokio::test]
async fn lmtp_request_by_postfix_ends_in_introductions() {
    let _turn = PORT.lock().await;
    reset(&["lmasker1", "lmnurse1", "lmnurse2", "lmcoach"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let _daemon = DaemonProcess::run(&config);
    until_listening().await;

    submit_request(
        "lmasker1@circle.test",
        CIRCLE,
        "lmtp-flow@circle.test",
        "Nurse for a first aid class",
    )
    .await;
    let ack = until_mail("lmasker1", 1).await;
    assert_eq!(ack[0].in_reply_to, "lmtp-flow@circle.test");
    let forwards = until_mail("lmnurse1", 1).await;
    until_mail("lmnurse2", 1).await;
    let forward = &forwards[0];
    assert!(forward.text.contains("first aid"), "{}", forward.text);
    assert!(
        !forward.raw_contains("lmasker1@circle.test"),
        "the forward leaks the requester"
    );

    let reply_to = forward.reply_to();
    assert!(reply_to.ends_with("@lmtp.circle.test"), "{reply_to}");
    support::submit_raw(
        "lmnurse1@circle.test",
        &reply_to,
        &format!(
            "From: lmnurse1@circle.test\nTo: {reply_to}\nSubject: Re: request\nIn-Reply-To: <{id}>\n\
             Message-ID: <lmtp-accept@circle.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n\n\
             Yes, I can do it.\n",
            id = forward.message_id
        ),
    )
    .await;
    let asker = until_mail("lmasker1", 2).await;
    let intro = asker
        .iter()
        .find(|m| m.message_id.contains(".intro@"))
        .expect("introduction to the requester");
    assert!(
        intro.text.contains("lmnurse1@circle.test"),
        "{}",
        intro.text
    );
    let nurse1 = until_mail("lmnurse1", 2).await;
    assert!(nurse1.iter().any(|m| m.message_id.contains(".intro@")));
    assert!(
        support::mailbox("lmcoach").is_empty(),
        "the coach was never bothered"
    );

    let rows = ledger(dir.path()).await;
    assert_eq!(unmoved(dir.path()).await, 0, "LMTP rows are in no folder");
    let kinds: Vec<(&str, &str)> = rows
        .iter()
        .map(|(m, k, _)| (m.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("lmtp-flow@circle.test", "request"),
            ("lmtp-accept@circle.test", "reply")
        ],
        "both inbound messages recorded once"
    );
    assert!(
        rows.iter().all(|(_, _, raw)| *raw > 100),
        "raw messages kept: {rows:?}"
    );
}

/// One LMTP conversation: each line sent, the replies read, returned in order.
async fn lmtp_talk(script: &[&str], replies: usize) -> Vec<String> {
    let stream = tokio::net::TcpStream::connect(LISTEN)
        .await
        .expect("LMTP connect");
    let mut r = BufReader::new(stream);
    let mut out = Vec::new();
    let mut line = String::new();
    r.read_line(&mut line).await.expect("greeting");
    out.push(line.trim_end().to_string());
    // Everything pipelined at once (the 354 is awaited by reading it below).
    for cmd in script {
        r.get_mut().write_all(cmd.as_bytes()).await.expect("write");
    }
    while out.len() < replies {
        let mut line = String::new();
        if r.read_line(&mut line).await.expect("reply") == 0 {
            break;
        }
        if !line.starts_with("250-") {
            out.push(line.trim_end().to_string());
        }
    }
    out
}

#[tokio::test]
async fn lmtp_answers_per_recipient_refuses_strangers_and_oversize() {
    let _turn = PORT.lock().await;
    reset(&["lmasker1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let _daemon = DaemonProcess::run(&config);
    until_listening().await;
    let msg = "From: lmasker1@circle.test\r\nTo: circle@lmtp.circle.test\r\nSubject: Nurse for first aid\r\n\
               Message-ID: <lmtp-direct@circle.test>\r\n\r\nWe need a registered nurse to teach first aid.\r\n\
               ..a line that began with a dot\r\n.\r\n";
    let replies = lmtp_talk(
        &[
            "LHLO test\r\n",
            "MAIL FROM:<lmasker1@circle.test>\r\n",
            "RCPT TO:<circle@lmtp.circle.test>\r\n",
            "RCPT TO:<nobody@lmtp.circle.test>\r\n",
            "RCPT TO:<Circle+tok@LMTP.circle.test>\r\n",
            "DATA\r\n",
            msg,
            "MAIL FROM:<x@circle.test> SIZE=999999999\r\n",
            "QUIT\r\n",
        ],
        11,
    )
    .await;
    let codes: Vec<&str> = replies.iter().map(|l| l.get(..9).unwrap_or(l)).collect();
    assert_eq!(
        codes,
        [
            "220 circl",
            "250 SIZE ",
            "250 2.1.0",
            "250 2.1.5",
            "550 5.1.1",
            "250 2.1.5",
            "354 go ah",
            "250 2.0.0",
            "250 2.0.0",
            "552 5.3.4",
            "221 2.0.0"
        ],
        "{replies:#?}"
    );
    let ack = until_mail("lmasker1", 1).await;
    assert_eq!(ack.len(), 1, "two accepted recipients, one message handled");
    let rows = ledger(dir.path()).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
}

#[tokio::test]
async fn lmtp_kill9_during_a_burst_of_50_loses_nothing_and_doubles_nothing() {
    const REQUESTS: usize = 50;
    const KILLS: usize = 4;
    let _turn = PORT.lock().await;
    reset(&["lmasker2", "lmnurse1", "lmnurse2", "lmcoach"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let run =
        || DaemonProcess::run_with_env(&config, &[("CIRCLE_RELAY_OUTBOUND_LEASE_SECONDS", "2")]);
    let mut daemon = run();
    until_listening().await;
    let burst = tokio::spawn(async {
        for k in 0..REQUESTS {
            let (id, subject) = (
                format!("lmtp-burst-{k}@circle.test"),
                format!("Nurse for first aid class {k}"),
            );
            submit_request("lmasker2@circle.test", CIRCLE, &id, &subject).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    // Not waits: the burst's pacing and random kill points are what is tested.
    let mut seed = jiff::Timestamp::now().as_nanosecond() as u64 | 1;
    eprintln!("kill points from seed {seed}");
    for _ in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(100 + seed % 500)).await;
        daemon.kill9();
        daemon = run();
    }
    burst.await.expect("burst");
    let asked: BTreeSet<String> = (0..REQUESTS)
        .map(|k| format!("lmtp-burst-{k}@circle.test"))
        .collect();
    // Waits for the requests answered, not for a count of mails: a double
    // sent again after a kill would make the count before the last request
    // (maybe still deferred in Postfix's queue to us) is handled.
    support::wait_until(
        Duration::from_secs(120),
        "every request is acknowledged",
        || async {
            let answered: BTreeSet<String> = inbox_mails("lmasker2")
                .into_iter()
                .map(|m| m.in_reply_to)
                .collect();
            asked.is_subset(&answered)
        },
    )
    .await;
    // Nothing left to send: a late double (a killed sender's claim sent
    // again) has been delivered by now.
    until_delivered(&config, CIRCLE).await;
    drop(daemon);

    let acks = inbox_mails("lmasker2");
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &acks {
        *copies.entry(m.message_id.as_str()).or_default() += 1;
    }
    let answered: BTreeSet<&str> = acks.iter().map(|m| m.in_reply_to.as_str()).collect();
    assert_eq!(
        answered,
        asked.iter().map(String::as_str).collect(),
        "every request acknowledged"
    );
    assert_eq!(
        copies.len(),
        REQUESTS,
        "one acknowledgement per request: {copies:?}"
    );
    let resent = acks.len() - copies.len();
    assert!(
        resent <= KILLS * SEND_CONCURRENCY,
        "{resent} acknowledgements re-sent"
    );
    let rows = ledger(dir.path()).await;
    let ids: BTreeSet<&str> = rows.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(
        rows.len(),
        REQUESTS,
        "one ledger row per request, none twice"
    );
    assert_eq!(ids.len(), REQUESTS);
    assert!(rows.iter().all(|(_, k, _)| k == "request"), "{rows:?}");
    assert_eq!(unmoved(dir.path()).await, 0, "LMTP rows are in no folder");
}

#[tokio::test]
async fn lmtp_database_outage_answers_451_and_postfix_delivers_later() {
    let _turn = PORT.lock().await;
    reset(&["lmasker3"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(dir.path());
    let _daemon = DaemonProcess::run(&config);
    until_listening().await;
    let log = support::stack_dir().join("log/postfix.log");
    let log_start = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);

    // The outage: another process holds SQLite's write lock.
    let url = format!("sqlite://{}", dir.path().join("relay.db").display());
    let mut lock = sqlx::SqliteConnection::connect(&url)
        .await
        .expect("open db");
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .expect("lock");
    let msg = "From: lmasker3@circle.test\r\nTo: circle@lmtp.circle.test\r\nSubject: Nurse for first aid\r\n\
               Message-ID: <lmtp-outage-direct@circle.test>\r\n\r\nWe need a registered nurse.\r\n.\r\n";
    let replies = lmtp_talk(
        &[
            "LHLO test\r\n",
            "MAIL FROM:<lmasker3@circle.test>\r\n",
            "RCPT TO:<circle@lmtp.circle.test>\r\n",
            "DATA\r\n",
            msg,
        ],
        6,
    )
    .await;
    assert!(replies[5].starts_with("451 4.3.0"), "{replies:#?}");
    submit_request(
        "lmasker3@circle.test",
        CIRCLE,
        "lmtp-outage@circle.test",
        "Nurse for first aid",
    )
    .await;
    let deferred = Instant::now();
    support::wait_until(
        Duration::from_secs(30),
        "Postfix was told 451 and keeps the mail",
        || async {
            let all = std::fs::read(&log).unwrap_or_default();
            let new = String::from_utf8_lossy(
                &all[usize::try_from(log_start).unwrap_or(0).min(all.len())..],
            )
            .into_owned();
            new.lines().any(|l| {
                l.contains("to=<circle@lmtp.circle.test>")
                    && l.contains("status=deferred")
                    && l.contains("451 4.3.0")
            })
        },
    )
    .await;
    assert!(
        inbox_mails("lmasker3").is_empty(),
        "nothing handled during the outage"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut lock)
        .await
        .expect("unlock");
    drop(lock);

    let ack = until_mail("lmasker3", 1).await;
    assert_eq!(ack[0].in_reply_to, "lmtp-outage@circle.test");
    eprintln!("delivered {:?} after the first 451", deferred.elapsed());
    let rows = ledger(dir.path()).await;
    let ids: Vec<&str> = rows.iter().map(|(m, _, _)| m.as_str()).collect();
    assert_eq!(
        ids,
        ["lmtp-outage@circle.test"],
        "the refused direct delivery left no trace"
    );
}
