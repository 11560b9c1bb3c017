//! What the daemon is doing, for an operator: Prometheus `/metrics` and
//! `/healthz` on `[server] listen` (off by default).
//!
//! Counters of this process (messages handled, mails sent, send failures,
//! IMAP reconnects, processing time) come from the `metrics` facade, which
//! costs nothing when no listener is configured. Totals that belong to the
//! circle rather than to one replica (forwards, accepts, outbox depth and
//! age) are read from the database at scrape time, so every replica reports
//! the same truth.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::shutdown::Shutdown;
use crate::store::Store;

/// Processing-time buckets, in seconds: a message normally takes milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// An inbound message was handled (`outcome`: processed | failed).
pub fn message_handled(kind: &str, outcome: &str, seconds: f64) {
    metrics::counter!("circle_relay_messages_total", "kind" => kind.to_string(), "outcome" => outcome.to_string())
        .increment(1);
    metrics::histogram!("circle_relay_message_processing_seconds").record(seconds);
}

/// An inbound message's write transaction (intake): how long this process
/// waited for its turn to write, and how long it then held the write lock
/// (SQLite's one lock; on PostgreSQL the transaction) until the commit.
pub fn intake_write(waited: f64, held: f64) {
    metrics::histogram!("circle_relay_intake_write_wait_seconds").record(waited);
    metrics::histogram!("circle_relay_intake_write_held_seconds").record(held);
}

/// A request ranked before its write transaction was ranked again inside
/// it, because a member it chose changed meanwhile.
pub fn intake_ranked_again() {
    metrics::counter!("circle_relay_intake_ranked_again_total").increment(1);
}

/// An outbox mail was handed to the transport.
pub fn mail_sent(kind: &str) {
    metrics::counter!("circle_relay_mails_sent_total", "kind" => kind.to_string()).increment(1);
}

/// A send did not go through (`how`: temporary | permanent | held).
pub fn send_failed(how: &'static str) {
    metrics::counter!("circle_relay_send_failures_total", "how" => how).increment(1);
}

/// The IMAP reader connected again after losing its connection.
pub fn imap_reconnected() {
    metrics::counter!("circle_relay_imap_reconnects_total").increment(1);
}

#[derive(Clone)]
struct Served {
    store: Store,
    prometheus: PrometheusHandle,
    clock: crate::clock::Clock,
}

/// Serves `/healthz` and `/metrics` on `listen` until shutdown. Installs the
/// process-wide metrics recorder, so call it once per process.
pub async fn serve(
    listen: &str,
    store: Store,
    clock: crate::clock::Clock,
    mut shutdown: Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let prometheus = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)?
        .install_recorder()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("[server] listen = {listen:?}: {e}"))?;
    tracing::info!(address = %listener.local_addr()?, "serving /healthz and /metrics");
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_page))
        .with_state(Arc::new(Served {
            store,
            prometheus,
            clock,
        }));
    Ok(tokio::spawn(async move {
        let stop = async move { shutdown.wait().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    }))
}

/// 200 `ok` when the database answers, 503 when it does not; 200
/// `degraded` with the reasons while the daemon runs but cannot do its work
/// (a revoked OAuth2 grant: restarting would not help, so not a 503).
async fn healthz(State(s): State<Arc<Served>>) -> Response {
    let probe = tokio::time::timeout(Duration::from_secs(5), s.store.ping()).await;
    match probe {
        Ok(Ok(())) => {
            let problems = degraded();
            if problems.is_empty() {
                (StatusCode::OK, "ok\n").into_response()
            } else {
                (
                    StatusCode::OK,
                    format!("degraded\n{}\n", problems.join("\n")),
                )
                    .into_response()
            }
        }
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("database: {e}\n")).into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "database: no answer in 5 s\n",
        )
            .into_response(),
    }
}

async fn metrics_page(State(s): State<Arc<Served>>) -> Response {
    s.prometheus.run_upkeep();
    let mut page = s.prometheus.render();
    match s.store.circle_stats((s.clock)()).await {
        Ok(stats) => page.push_str(&stats.to_prometheus()),
        Err(e) => tracing::warn!(error = %e, "metrics: the database did not answer"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], page).into_response()
}

/// Problems that keep the daemon from doing its work while it runs on
/// (e.g. "oauth2": a revoked grant), shown by /healthz until cleared.
static DEGRADED: std::sync::Mutex<Vec<(&'static str, String)>> = std::sync::Mutex::new(Vec::new());

/// `what` is failing for `reason` (replaces an earlier reason of `what`).
pub fn set_degraded(what: &'static str, reason: &str) {
    if let Ok(mut d) = DEGRADED.lock() {
        d.retain(|(w, _)| *w != what);
        d.push((what, reason.to_string()));
    }
    metrics::gauge!("circle_relay_degraded", "what" => what).set(1.0);
}

/// `what` works again.
pub fn clear_degraded(what: &'static str) {
    if let Ok(mut d) = DEGRADED.lock() {
        d.retain(|(w, _)| *w != what);
    }
    metrics::gauge!("circle_relay_degraded", "what" => what).set(0.0);
}

/// The current problems, one `what: reason` line each.
pub fn degraded() -> Vec<String> {
    DEGRADED
        .lock()
        .map(|d| d.iter().map(|(w, r)| format!("{w}: {r}")).collect())
        .unwrap_or_default()
}
