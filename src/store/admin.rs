//! Queries for the admin's commands (`outbox …`, `digest send`) and the
//! outbox wake-up: what is waiting, whether a daemon is running, and the
//! record of what an admin did by hand (`admin_actions`).

use sqlx::Row;

use super::{Result, Store};

impl Store {
    /// Whether any queued mail is due at `now` (cheap: the outbox_due index).
    pub async fn outbox_due_now(&self, now: i64) -> Result<bool> {
        Ok(self.outbox_due_count(now).await? > 0)
    }

    /// How many queued mails are due at `now`.
    pub async fn outbox_due_count(&self, now: i64) -> Result<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM outbox WHERE status = 'queued' AND next_attempt_at <= $1",
        )
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The holder of a live inbox lease: a daemon is running (and sending).
    pub async fn running_daemon(&self, now: i64) -> Result<Option<String>> {
        let row = sqlx::query(
            "SELECT holder FROM leases WHERE name LIKE 'inbox:%' AND expires_at > $1 \
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("holder")?),
            None => None,
        })
    }
}
