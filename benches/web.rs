//! The web console (issue 17) on a large circle: 10,000 members, 5,000
//! requests over 12 weeks (15,000 forwards, 1,500 introductions, 2,000
//! outbox rows, 1,000 admin actions), the daemon as a process against the
//! mail stack. p50/p99 of each console page over plain HTTP on loopback,
//! and the idle RSS the console adds (the daemon with and without `[web]`).
//! Targets: ≤ 50 ms p99 a page; ≤ 5 MB added idle RSS.
//!
//! Run: `deploy/mailstack/up.sh && cargo bench --bench web`.

#[path = "../tests/inbox_support/mod.rs"]
mod support;
#[path = "../tests/web_support/mod.rs"]
mod web_support;

use std::path::Path;
use std::time::{Duration, Instant};

use circle_relay::config::{DatabaseConfig, DatabaseUrl};
use circle_relay::digest::schedule::Schedule;
use circle_relay::store::Store;

const MEMBERS: usize = 10_000;
const REQUESTS: i64 = 5_000;
const SAMPLES: usize = 300;
const RELAY: &str = "wrelay1d";
const ADMIN: &str = "wadmin1d";
/// Pages to time; those not built on this branch (404) are skipped.
const PAGES: &[&str] = &[
    "/admin",
    "/admin/audit",
    "/admin/audit?page=10",
    "/admin/requests",
    "/admin/directory",
    "/admin/mail",
    "/login",
];

fn members_csv() -> String {
    let mut csv = String::from("email,name,skills,bio,languages,region,status\n");
    let skills = [
        "看護師",
        "社労士",
        "piano tuning",
        "税理士",
        "first aid",
        "写真",
    ];
    for i in 0..MEMBERS {
        let status = if i % 10 == 0 { "paused" } else { "active" };
        csv.push_str(&format!(
            "m{i}@bench.test,Member {i},{},,ja,東京,{status}\n",
            skills[i % skills.len()]
        ));
    }
    csv
}

async fn open(db: &str) -> Store {
    Store::connect(&DatabaseConfig {
        url: DatabaseUrl::new(db),
        ..Default::default()
    })
    .await
    .expect("open the database")
}

/// Requests, forwards, introductions, outbox rows and admin actions spread
/// over the last 12 weeks; nothing left for the daemon to do.
async fn fill(store: &Store, now: i64) {
    let mut tx = store.begin().await.expect("begin");
    let span = 12 * 7 * 86_400;
    for r in 1..=REQUESTS {
        let at = now - span + r * span / REQUESTS;
        let status = ["filled", "closed", "unmatched", "filled", "exhausted"][(r % 5) as usize];
        sqlx::query(
            "INSERT INTO requests (id, requester_email, subject, body, status, created_at, updated_at) \
             VALUES ($1, $2, 'A request', 'Please help', $3, $4, $4)",
        )
        .bind(r)
        .bind(format!("asker{}@bench.test", r % 400))
        .bind(status)
        .bind(at)
        .execute(&mut *tx)
        .await
        .expect("request");
        for k in 0..3i64 {
            let id = r * 3 + k;
            let member = (r * 7 + k * 13) % MEMBERS as i64 + 1;
            sqlx::query(
                "INSERT INTO forwards (id, request_id, member_id, wave, rank, score, token, requester_token, message_id, state, created_at) \
                 VALUES ($1, $2, $3, 1, $4, 1.0, $5, $6, $7, 'declined', $8)",
            )
            .bind(id)
            .bind(r)
            .bind(member)
            .bind(k)
            .bind(format!("t{id}"))
            .bind(format!("rt{id}"))
            .bind(format!("<f{id}@bench>"))
            .bind(at)
            .execute(&mut *tx)
            .await
            .expect("forward");
        }
        if r % 10 < 3 {
            sqlx::query(
                "INSERT INTO introductions (request_id, forward_id, member_id, created_at, followup_due_at, followup_sent_at) \
                 VALUES ($1, $2, 1, $3, $3, $3)",
            )
            .bind(r)
            .bind(r * 3)
            .bind(at + 3600)
            .execute(&mut *tx)
            .await
            .expect("introduction");
        }
    }
    for o in 0..2_000i64 {
        let status = if o % 50 == 0 {
            "failed"
        } else if o % 97 == 0 {
            "held"
        } else {
            "sent"
        };
        let at = now - span + o * span / 2_000;
        sqlx::query(
            "INSERT INTO outbox (idempotency_key, kind, to_email, message_id, subject, message, request_id, status, next_attempt_at, created_at, sent_at) \
             VALUES ($1, 'forward', $2, $3, 'A request', $4, $5, $6, $7, $7, $7)",
        )
        .bind(format!("k{o}"))
        .bind(format!("m{o}@bench.test"))
        .bind(format!("<o{o}@bench>"))
        .bind(b"Subject: x\r\n\r\nx\r\n".to_vec())
        .bind(o % REQUESTS + 1)
        .bind(status)
        .bind(at)
        .execute(&mut *tx)
        .await
        .expect("outbox");
    }
    for a in 0..1_000i64 {
        let action = [
            "web_sign_in",
            "outbox_retry",
            "outbox_release",
            "web_sign_out",
        ][(a % 4) as usize];
        sqlx::query(
            "INSERT INTO admin_actions (action, actor, request_id, detail, created_at) \
             VALUES ($1, 'web:wadmin1d@circle.test', $2, '', $3)",
        )
        .bind(action)
        .bind(a % REQUESTS + 1)
        .bind(now - span + a * span / 1_000)
        .execute(&mut *tx)
        .await
        .expect("admin action");
    }
    tx.commit().await.expect("commit");
    // This week's digest counts as sent: the daemon must idle, not mail 10,000.
    let week = Schedule::new("mon", "08:00", "Asia/Tokyo")
        .and_then(|s| s.latest_due(now))
        .expect("schedule");
    store
        .start_digest_run(&week.label, now)
        .await
        .expect("digest run");
    store
        .finish_digest_run(&week.label, now)
        .await
        .expect("digest run");
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

/// RSS once it has stopped moving (the daemon is idle): the last of three
/// readings a second apart that differ by under 1%, at most 30 s.
async fn idle_rss(pid: u32) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = rss_kib(pid);
    let mut steady = 0;
    while steady < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = rss_kib(pid);
        steady = if now.abs_diff(last) * 100 < last.max(1) {
            steady + 1
        } else {
            0
        };
        last = now;
    }
    last
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

fn config(dir: &Path, web: &str) -> std::path::PathBuf {
    support::circle_config(
        dir,
        RELAY,
        &format!("sqlite://{}", dir.join("relay.db").display()),
        &[ADMIN],
        &format!("[security]\ntoken_secret = \"a-bench-secret-long-enough\"\n{web}"),
    )
}

#[tokio::main]
async fn main() {
    support::require_stack();
    support::reset_user(RELAY);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("relay.db").display());
    let t0 = Instant::now();
    support::import_members(&config(dir.path(), ""), &members_csv());
    let store = open(&db).await;
    fill(&store, jiff::Timestamp::now().as_second()).await;
    store.close().await;
    println!(
        "database: {MEMBERS} members, {REQUESTS} requests, 15000 forwards, 1500 introductions, 2000 outbox rows, 1000 admin actions ({:.1} s)",
        t0.elapsed().as_secs_f64()
    );

    let without = support::DaemonProcess::run(&config(dir.path(), ""));
    let base_rss = idle_rss(without.pid()).await;
    drop(without);

    let port = web_support::free_port();
    let daemon = support::DaemonProcess::run(&config(dir.path(), &web_support::web_section(port)));
    web_support::until_listening(port).await;
    let web_rss = idle_rss(daemon.pid()).await;

    let token = web_support::session_for(&db, &format!("{ADMIN}@circle.test")).await;
    let cookie = format!("circle_session={token}");
    println!(
        "{:<24} {:>9} {:>9} {:>9}",
        "page", "p50 ms", "p99 ms", "max ms"
    );
    let mut worst = Duration::ZERO;
    for path in PAGES {
        let first = web_support::http(port, "GET", path, &[("Cookie", &cookie)], "").await;
        if first.status != 200 {
            println!("{path:<24} skipped (answers {})", first.status);
            continue;
        }
        let mut times = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let t = Instant::now();
            let r = web_support::http(port, "GET", path, &[("Cookie", &cookie)], "").await;
            times.push(t.elapsed());
            assert_eq!(r.status, 200, "{path}");
        }
        times.sort();
        let p99 = percentile(&times, 0.99);
        worst = worst.max(p99);
        println!(
            "{path:<24} {:>9.2} {:>9.2} {:>9.2}",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            times[times.len() - 1].as_secs_f64() * 1e3
        );
    }
    let served_rss = idle_rss(daemon.pid()).await;
    println!(
        "worst p99 {:.2} ms (target ≤ 50: {})",
        worst.as_secs_f64() * 1e3,
        if worst <= Duration::from_millis(50) {
            "met"
        } else {
            "NOT met"
        }
    );
    let added = web_rss.saturating_sub(base_rss);
    println!(
        "idle RSS without [web] {:.1} MB, with [web] {:.1} MB: the console adds {:.2} MB (target ≤ 5: {}); after serving the pages {:.1} MB (+{:.2} MB)",
        base_rss as f64 / 1024.0,
        web_rss as f64 / 1024.0,
        added as f64 / 1024.0,
        if added <= 5 * 1024 { "met" } else { "NOT met" },
        served_rss as f64 / 1024.0,
        served_rss.saturating_sub(base_rss) as f64 / 1024.0
    );
}
