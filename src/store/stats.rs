//! The circle's running totals, read for `/metrics`.

use std::fmt::Write;

use super::{Result, Store};

/// Totals since the circle began, and the outbox as it stands.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CircleStats {
    pub requests: i64,
    pub forwards: i64,
    pub accepts: i64,
    pub introductions: i64,
    /// Outbox rows by status (queued, sending, sent, failed, held).
    pub outbox: Vec<(String, i64)>,
    /// Seconds the oldest mail still waiting to go out has waited.
    pub oldest_waiting_seconds: i64,
}

impl Store {
    /// Whether the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(self.pool()).await?;
        Ok(())
    }

    pub async fn circle_stats(&self, now: i64) -> Result<CircleStats> {
        let count = |sql: &'static str| async move {
            let (n,): (i64,) = sqlx::query_as(sql).fetch_one(self.pool()).await?;
            Ok::<i64, super::StoreError>(n)
        };
        let outbox: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM outbox GROUP BY status ORDER BY status")
                .fetch_all(self.pool())
                .await?;
        let oldest: (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(created_at) FROM outbox WHERE status IN ('queued', 'sending', 'held')",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(CircleStats {
            requests: count("SELECT COUNT(*) FROM requests").await?,
            forwards: count("SELECT COUNT(*) FROM forwards").await?,
            accepts: count("SELECT COUNT(*) FROM forwards WHERE state = 'accepted'").await?,
            introductions: count("SELECT COUNT(*) FROM introductions").await?,
            outbox,
            oldest_waiting_seconds: oldest.0.map_or(0, |t| (now - t).max(0)),
        })
    }
}

impl CircleStats {
    /// The Prometheus text exposition of these totals.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, value) in [
            (
                "circle_relay_requests_total",
                "Requests received by the circle.",
                self.requests,
            ),
            (
                "circle_relay_forwards_total",
                "Requests forwarded to members.",
                self.forwards,
            ),
            (
                "circle_relay_accepts_total",
                "Forwards a member accepted.",
                self.accepts,
            ),
            (
                "circle_relay_introductions_total",
                "Introductions made.",
                self.introductions,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP circle_relay_outbox_mails Outbox mails by status.\n# TYPE circle_relay_outbox_mails gauge"
        );
        for status in ["queued", "sending", "held", "sent", "failed"] {
            let n = self
                .outbox
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "circle_relay_outbox_mails{{status=\"{status}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP circle_relay_outbox_oldest_waiting_seconds Age of the oldest mail not yet sent.\n\
             # TYPE circle_relay_outbox_oldest_waiting_seconds gauge\n\
             circle_relay_outbox_oldest_waiting_seconds {}",
            self.oldest_waiting_seconds
        );
        out
    }
}
