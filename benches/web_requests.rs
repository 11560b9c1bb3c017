//! The console's Requests and Mail pages read at scale (issue 17): 10,000
//! members and 5,000 requests (three forwards and three mails each) on
//! SQLite; p99 of what each page reads: the list's first page, a filtered
//! page, a text search, a deep page, one request's timeline, the mail page.
//! Target: a page in ≤ 50 ms p99.
//!
//! Run: `cargo bench --bench web_requests`.

use std::time::{Duration, Instant};

use circle_relay::config::{DatabaseConfig, DatabaseUrl};
use circle_relay::domain::RequestStatus;
use circle_relay::store::Store;
use circle_relay::store::admin::{OutboxFilter, OutboxStatus};
use circle_relay::store::console_requests::RequestFilter;

const MEMBERS: i64 = 10_000;
const REQUESTS: i64 = 5_000;
const SAMPLES: usize = 200;

const SEED: &[&str] = &[
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000) \
     INSERT INTO members (email_key, email, name, skills, languages, region, created_at, updated_at) \
     SELECT 'm' || i || '@example.org', 'm' || i || '@example.org', 'Member ' || i, 'nurse;first aid', 'ja', '東京', 0, 0 FROM n",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) \
     INSERT INTO requests (requester_email, requester_name, subject, body, language, token, status, wave, created_at, updated_at) \
     SELECT 'asker' || (i % 300) || '@example.org', 'Asker ' || (i % 300), '救命講習の講師を探しています ' || i, 'body', 'ja', 'tok' || i, \
     CASE i % 5 WHEN 0 THEN 'open' WHEN 1 THEN 'filled' WHEN 2 THEN 'closed' WHEN 3 THEN 'unmatched' ELSE 'exhausted' END, 1, 1800000000 + i * 60, 0 FROM n",
    "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 2) \
     INSERT INTO forwards (request_id, member_id, wave, rank, score, reasons, token, requester_token, message_id, state, created_at) \
     SELECT r.id, ((r.id * 3 + k.j) % 10000) + 1, 1, k.j, 0.8, '[\"\\\"nurse\\\" matches their skill \\\"nurse\\\"\"]', \
     'f' || r.id || '-' || k.j, 'rf' || r.id || '-' || k.j, 'mf' || r.id || '-' || k.j, \
     CASE k.j WHEN 0 THEN 'accepted' ELSE 'pending' END, r.created_at FROM requests r, k",
    "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 2) \
     INSERT INTO outbox (idempotency_key, kind, to_email, message_id, subject, message, request_id, status, next_attempt_at, created_at) \
     SELECT 'o' || r.id || '-' || k.j, 'forward', 'm' || r.id || '@example.org', 'mo' || r.id || '-' || k.j, 'subject', X'00', r.id, \
     CASE WHEN r.id % 97 = 0 THEN 'held' WHEN r.id % 89 = 0 THEN 'failed' ELSE 'sent' END, 0, r.created_at FROM requests r, k",
];

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

async fn measure<F, Fut>(name: &str, mut f: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut times = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let t0 = Instant::now();
        f(i).await;
        times.push(t0.elapsed());
    }
    let p = p99(times);
    let verdict = if p <= Duration::from_millis(50) {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "{name:<28} p99 {:>7.2} ms  (target 50 ms: {verdict})",
        p.as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = DatabaseConfig {
        url: DatabaseUrl::new(format!(
            "sqlite://{}",
            dir.path().join("bench.db").display()
        )),
        ..DatabaseConfig::default()
    };
    let store = Store::connect(&config).await.expect("store");
    for sql in SEED {
        sqlx::query(sqlx::AssertSqlSafe(*sql))
            .execute(store.pool())
            .await
            .expect("seed");
    }
    println!("{MEMBERS} members, {REQUESTS} requests, 3 forwards and 3 mails each");
    let page = |status: Option<RequestStatus>, text: Option<&str>, offset: i64| RequestFilter {
        status,
        text: text.map(String::from),
        limit: 25,
        offset,
    };
    let s = &store;
    measure("requests: first page", |_| async move {
        s.requests_page(&page(None, None, 0)).await.expect("page");
    })
    .await;
    measure("requests: open only", |_| async move {
        s.requests_page(&page(Some(RequestStatus::Open), None, 0))
            .await
            .expect("page");
    })
    .await;
    measure("requests: text search", |_| async move {
        s.requests_page(&page(None, Some("asker 12"), 0))
            .await
            .expect("page");
    })
    .await;
    measure("requests: page 150", |_| async move {
        s.requests_page(&page(None, None, 149 * 25))
            .await
            .expect("page");
    })
    .await;
    measure("a request's timeline", |i| async move {
        let id = (i as i64 * 37) % REQUESTS + 1;
        s.request(id).await.expect("request");
        s.request_forwards(id).await.expect("forwards");
        s.request_replies(id).await.expect("replies");
        let filter = OutboxFilter {
            request_id: Some(id),
            limit: 200,
            ..Default::default()
        };
        s.outbox_rows(&filter).await.expect("mails");
        s.admin_actions_for_request(id).await.expect("actions");
    })
    .await;
    measure("mail page", |_| async move {
        s.outbox_counts().await.expect("counts");
        for status in [
            OutboxStatus::Held,
            OutboxStatus::Failed,
            OutboxStatus::Queued,
        ] {
            s.outbox_with_status(status, 50).await.expect("rows");
        }
        s.inbound_failed(50).await.expect("inbound");
    })
    .await;
    store.close().await;
}
