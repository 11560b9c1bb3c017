//! The outbox table: queued in the transaction that causes a mail, claimed
//! with a lease by whichever sender gets there first, never deleted.

use std::collections::HashMap;

use sqlx::Row;

use super::{Backend, Result, Store, Tx, values_rows};

/// A mail to write into the outbox, already rendered.
#[derive(Debug, Clone)]
pub struct NewOutboxMail {
    /// Queuing the same key twice is a no-op: e.g. `forward:12:34`.
    pub idempotency_key: String,
    pub kind: String,
    pub to_email: String,
    /// Without angle brackets; stable, so a resend can be deduplicated.
    pub message_id: String,
    pub subject: String,
    pub message: Vec<u8>,
    pub request_id: Option<i64>,
    pub member_id: Option<i64>,
}

/// A row claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedMail {
    pub id: i64,
    pub kind: String,
    pub to_email: String,
    pub message_id: String,
    pub message: Vec<u8>,
    /// Including this one.
    pub attempts: i64,
}

/// Counts by status, for `check`, metrics and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OutboxCounts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub held: i64,
}

/// Queues a mail inside the caller's transaction. Returns false when a mail
/// with the same idempotency key was already queued (nothing is written).
pub async fn enqueue(tx: &mut Tx<'_>, mail: &NewOutboxMail, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO outbox (idempotency_key, kind, to_email, message_id, subject, message, \
         request_id, member_id, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', 0, $9, $9) \
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(&mail.idempotency_key)
    .bind(&mail.kind)
    .bind(&mail.to_email)
    .bind(&mail.message_id)
    .bind(&mail.subject)
    .bind(mail.message.clone())
    .bind(mail.request_id)
    .bind(mail.member_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// [`enqueue`] for several mails in one statement (a request's forwards and
/// acknowledgement); a mail whose key was already queued is skipped. Rows get
/// their ids in the order given. Returns how many were written.
pub async fn enqueue_many(tx: &mut Tx<'_>, mails: &[NewOutboxMail], now: i64) -> Result<u64> {
    let mut written = 0;
    // 9 values a row: well under either backend's limit of bound values.
    for chunk in mails.chunks(100) {
        let rows = values_rows(chunk.len(), 8, "'queued', 0, $1, $1");
        let sql = format!(
            "INSERT INTO outbox (idempotency_key, kind, to_email, message_id, subject, message, \
             request_id, member_id, status, attempts, next_attempt_at, created_at) \
             VALUES {rows} ON CONFLICT (idempotency_key) DO NOTHING"
        );
        // Only numbered placeholders are formatted in; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
        for m in chunk {
            query = query
                .bind(&m.idempotency_key)
                .bind(&m.kind)
                .bind(&m.to_email)
                .bind(&m.message_id)
                .bind(&m.subject)
                .bind(m.message.clone())
                .bind(m.request_id)
                .bind(m.member_id);
        }
        written += query.execute(&mut **tx).await?.rows_affected();
    }
    Ok(written)
}

// A row is due when it is queued and its time has come, or when a sender
// claimed it and its lease ran out (that sender died mid-send).
const CLAIM_SQLITE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $1 \
     WHERE id = (SELECT id FROM outbox \
                 WHERE (status = 'queued' AND next_attempt_at <= $2) \
                    OR (status = 'sending' AND lease_until <= $2) \
                 ORDER BY next_attempt_at, id LIMIT 1) \
     RETURNING id, kind, to_email, message_id, message, attempts";

// PostgreSQL: SKIP LOCKED lets several daemons claim different rows at once;
// the outer condition re-checks a row another sender claimed meanwhile.
const CLAIM_POSTGRES: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $1 \
     WHERE id = (SELECT id FROM outbox \
                 WHERE (status = 'queued' AND next_attempt_at <= $2) \
                    OR (status = 'sending' AND lease_until <= $2) \
                 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) \
       AND ((status = 'queued' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2)) \
     RETURNING id, kind, to_email, message_id, message, attempts";

// The same claims, for up to $3 rows at once (one write per batch of mails).
const CLAIM_MANY_SQLITE: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $1 \
     WHERE id IN (SELECT id FROM outbox \
                  WHERE (status = 'queued' AND next_attempt_at <= $2) \
                     OR (status = 'sending' AND lease_until <= $2) \
                  ORDER BY next_attempt_at, id LIMIT $3) \
     RETURNING id, kind, to_email, message_id, message, attempts";

const CLAIM_MANY_POSTGRES: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = $1 \
     WHERE id IN (SELECT id FROM outbox \
                  WHERE (status = 'queued' AND next_attempt_at <= $2) \
                     OR (status = 'sending' AND lease_until <= $2) \
                  ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) \
       AND ((status = 'queued' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until <= $2)) \
     RETURNING id, kind, to_email, message_id, message, attempts";

/// What became of one claimed mail, to be recorded with the others of its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Sent { at: i64 },
    Retry { at: i64, error: String },
    Failed { error: String },
    Held { reason: String },
}

impl Store {
    /// Claims the next due mail for `lease_seconds`, recording the attempt
    /// before anything is sent.
    pub async fn claim_outbox(&self, now: i64, lease_seconds: i64) -> Result<Option<ClaimedMail>> {
        let sql = match self.backend {
            Backend::Sqlite => CLAIM_SQLITE,
            Backend::Postgres => CLAIM_POSTGRES,
        };
        Ok(sqlx::query_as(sql)
            .bind(now + lease_seconds)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Claims up to `limit` due mails at once (in id order), each leased for
    /// `lease_seconds` with its attempt recorded before anything is sent.
    pub async fn claim_outbox_many(
        &self,
        now: i64,
        lease_seconds: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedMail>> {
        let _turn = self.write_turn().await;
        claim_many(&self.pool, self.backend, now, lease_seconds, limit).await
    }

    /// Records what became of a batch of claimed mails in one transaction
    /// (one write, not one per mail: senders and the inbox share SQLite's lock).
    pub async fn outbox_record_many(&self, results: &[(i64, SendResult)]) -> Result<()> {
        self.outbox_record_and_claim(results, 0, 0, 0)
            .await
            .map(drop)
    }

    /// The sender's one write: records what became of `results` and claims
    /// up to `limit` more due mails (as [`Store::claim_outbox_many`]), in one
    /// transaction taken in this process's turn to write. Mails sent at the
    /// same second are marked in one statement.
    pub async fn outbox_record_and_claim(
        &self,
        results: &[(i64, SendResult)],
        now: i64,
        lease_seconds: i64,
        limit: i64,
    ) -> Result<Vec<ClaimedMail>> {
        match (results.is_empty(), limit > 0) {
            (true, false) => return Ok(Vec::new()),
            // A claim alone is one statement: no transaction around it.
            (true, true) => return self.claim_outbox_many(now, lease_seconds, limit).await,
            _ => {}
        }
        let mut tx = self.begin_write().await?;
        record_results(&mut tx, results).await?;
        let mails = if limit > 0 {
            claim_many(&mut *tx, self.backend, now, lease_seconds, limit).await?
        } else {
            Vec::new()
        };
        tx.commit().await?;
        Ok(mails)
    }

    pub async fn outbox_sent(&self, id: i64, now: i64) -> Result<()> {
        finish(&self.pool, id, "sent", None, None, Some(now)).await
    }

    /// Back to the queue after a temporary failure, due again at `next_attempt_at`.
    pub async fn outbox_retry(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<()> {
        finish(
            &self.pool,
            id,
            "queued",
            Some(next_attempt_at),
            Some(error),
            None,
        )
        .await
    }

    /// Retired for good (kept, with its last error).
    pub async fn outbox_failed(&self, id: i64, error: &str) -> Result<()> {
        finish(&self.pool, id, "failed", None, Some(error), None).await
    }

    /// Kept but not sent: the per-address hourly cap was reached (a loop breaker).
    pub async fn outbox_held(&self, id: i64, reason: &str) -> Result<()> {
        finish(&self.pool, id, "held", None, Some(reason), None).await
    }

    /// For each claimed mail of a batch (`id`, recipient), what
    /// [`Store::outbox_sent_to_since`] says, in one query for the batch: mails
    /// to the same recipient sent since `since`, plus those in flight ahead of it.
    pub async fn outbox_sent_to_since_many(
        &self,
        mails: &[(i64, &str)],
        since: i64,
    ) -> Result<HashMap<i64, i64>> {
        if mails.is_empty() {
            return Ok(HashMap::new());
        }
        // The single query's condition once per mail, as one statement.
        let sql = (0..mails.len())
            .map(|i| {
                let (id, to) = (2 + 2 * i, 3 + 2 * i);
                format!(
                    "SELECT CAST(${id} AS BIGINT) AS mail, COUNT(*) AS n FROM outbox \
                     WHERE LOWER(to_email) = LOWER(${to}) \
                     AND ((status = 'sent' AND sent_at >= $1) OR (status = 'sending' AND id < ${id}))"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        // Only numbered placeholders are formatted in; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(since);
        for (id, to) in mails {
            query = query.bind(*id).bind(*to);
        }
        let mut counts = HashMap::with_capacity(mails.len());
        for row in query.fetch_all(&self.pool).await? {
            counts.insert(row.try_get::<i64, _>("mail")?, row.try_get::<i64, _>("n")?);
        }
        Ok(counts)
    }

    /// Mails to `to_email` (case-insensitively) sent since `since`, plus
    /// those in flight ahead of mail `id` (claimed by a sender, lower id):
    /// concurrent senders then agree on which mail is over the cap.
    pub async fn outbox_sent_to_since(&self, to_email: &str, since: i64, id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) AS n FROM outbox WHERE LOWER(to_email) = LOWER($1) \
             AND ((status = 'sent' AND sent_at >= $2) OR (status = 'sending' AND id < $3))",
        )
        .bind(to_email)
        .bind(since)
        .bind(id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// When the next queued mail falls due, if any.
    pub async fn outbox_next_due(&self) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(CASE WHEN status = 'queued' THEN next_attempt_at ELSE lease_until END) AS due \
             FROM outbox WHERE status IN ('queued', 'sending')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let mut c = OutboxCounts::default();
        for (status, n) in rows {
            match status.as_str() {
                "queued" => c.queued = n,
                "sending" => c.sending = n,
                "sent" => c.sent = n,
                "failed" => c.failed = n,
                "held" => c.held = n,
                _ => {}
            }
        }
        Ok(c)
    }
}

/// Claims up to `limit` due mails, in id order.
async fn claim_many<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    backend: Backend,
    now: i64,
    lease_seconds: i64,
    limit: i64,
) -> Result<Vec<ClaimedMail>> {
    let sql = match backend {
        Backend::Sqlite => CLAIM_MANY_SQLITE,
        Backend::Postgres => CLAIM_MANY_POSTGRES,
    };
    let mut mails: Vec<ClaimedMail> = sqlx::query_as(sql)
        .bind(now + lease_seconds)
        .bind(now)
        .bind(limit)
        .fetch_all(db)
        .await?;
    mails.sort_by_key(|m| m.id);
    Ok(mails)
}

/// Writes what became of claimed mails: the sent ones in one UPDATE per
/// second they were sent at, the others one UPDATE each.
async fn record_results(tx: &mut Tx<'_>, results: &[(i64, SendResult)]) -> Result<()> {
    let mut sent: Vec<(i64, Vec<i64>)> = Vec::new();
    for (id, result) in results {
        let (status, next, error) = match result {
            SendResult::Sent { at } => {
                match sent.iter_mut().find(|(t, _)| t == at) {
                    Some((_, ids)) => ids.push(*id),
                    None => sent.push((*at, vec![*id])),
                }
                continue;
            }
            SendResult::Retry { at, error } => ("queued", Some(*at), error.as_str()),
            SendResult::Failed { error } => ("failed", None, error.as_str()),
            SendResult::Held { reason } => ("held", None, reason.as_str()),
        };
        finish(&mut **tx, *id, status, next, Some(error), None).await?;
    }
    for (at, ids) in &sent {
        let sql = format!(
            "UPDATE outbox SET status = 'sent', lease_until = NULL, sent_at = $1 WHERE id IN ({})",
            placeholders(2, ids.len())
        );
        // Only numbered placeholders are formatted in; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*at);
        for id in ids {
            query = query.bind(*id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `$first, $first+1, …` for `n` bound values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ends a claim: the mail's new status, when it is due again, its last
/// error and when it was sent (what is `None` stays as it was).
async fn finish<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    id: i64,
    status: &str,
    next_attempt_at: Option<i64>,
    error: Option<&str>,
    sent_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE outbox SET status = $1, lease_until = NULL, \
         next_attempt_at = COALESCE($2, next_attempt_at), \
         last_error = COALESCE($3, last_error), sent_at = COALESCE($4, sent_at) \
         WHERE id = $5",
    )
    .bind(status)
    .bind(next_attempt_at)
    .bind(error)
    .bind(sent_at)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}
