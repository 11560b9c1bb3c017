//! The inbound ledger (`inbound_messages`) and per-mailbox reader state
//! (`mailbox_state`): what makes reading the inbox exactly-once.
//!
//! Portable SQL for SQLite and PostgreSQL through sqlx's `Any`: `$N`
//! placeholders, UNIX-second integers, `INSERT … ON CONFLICT DO NOTHING` and a
//! branch on whether a row came back.

use sqlx::AnyConnection;

use super::{Result, Store, StoreError, Tx};

/// `outcome` of a row whose handling is still inside its transaction.
pub const OUTCOME_PENDING: &str = "pending";
pub const OUTCOME_PROCESSED: &str = "processed";
pub const OUTCOME_FAILED: &str = "failed";
/// `kind` of a message the receiving server marked as spam.
pub const KIND_SPAM: &str = "spam";

/// The natural key of a message, as the ledger stores it.
#[derive(Debug, Clone, Copy)]
pub struct LedgerKey<'a> {
    pub mailbox: &'a str,
    pub uidvalidity: u32,
    pub uid: &'a str,
}

/// What the ledger knows about one message.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LedgerEntry {
    pub id: i64,
    pub kind: String,
    pub outcome: String,
    pub error: Option<String>,
    pub moved_at: Option<i64>,
}

impl LedgerEntry {
    pub fn failed(&self) -> bool {
        self.outcome == OUTCOME_FAILED
    }

    /// Kept aside as spam: it goes to the spam folder, not Processed.
    pub fn spam(&self) -> bool {
        self.kind == KIND_SPAM
    }
}

/// A complete ledger row written in one statement (messages not handed to a
/// handler: duplicates, oversize or unreadable ones, handler failures).
#[derive(Debug, Clone)]
pub struct NewLedgerRow<'a> {
    pub key: LedgerKey<'a>,
    pub headers: LedgerHeaders,
    pub kind: &'a str,
    pub outcome: &'a str,
    pub error: Option<&'a str>,
    pub size_bytes: u64,
    pub raw: Option<&'a [u8]>,
}

/// Header fields kept beside the raw message for listing and deduplication.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerHeaders {
    pub message_id: Option<String>,
    pub from_addr: Option<String>,
    pub subject: Option<String>,
}

fn size_i64(size: u64) -> Result<i64> {
    i64::try_from(size).map_err(|_| StoreError::Corrupt(format!("message size {size} too large")))
}

/// The ledger row of `key`, if any.
pub async fn lookup(conn: &mut AnyConnection, key: LedgerKey<'_>) -> Result<Option<LedgerEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, outcome, error, moved_at FROM inbound_messages \
         WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3",
    )
    .bind(key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(key.uid)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The first earlier row (of any mailbox) with this Message-ID that was not
/// itself a duplicate: the same message delivered again under a new UID.
pub async fn find_by_message_id(
    conn: &mut AnyConnection,
    message_id: &str,
) -> Result<Option<LedgerEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, kind, outcome, error, moved_at FROM inbound_messages \
         WHERE message_id = $1 AND kind <> 'duplicate' AND outcome <> 'pending' \
         ORDER BY id LIMIT 1",
    )
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Claims `key` inside the caller's transaction: a `pending` row whose id the
/// handler's effects can refer to. `None` when the key is already recorded
/// (another reader got there first): the caller must roll back. The row is
/// stamped by the transaction's (the store's) clock.
pub async fn claim(
    tx: &mut Tx<'_>,
    key: LedgerKey<'_>,
    headers: &LedgerHeaders,
    size_bytes: u64,
    raw: &[u8],
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "INSERT INTO inbound_messages \
         (mailbox, uidvalidity, uid, message_id, from_addr, subject, kind, outcome, size_bytes, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'pending', 'pending', $7, $8, $9) \
         ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING id",
    )
    .bind(key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(key.uid)
    .bind(headers.message_id.clone())
    .bind(headers.from_addr.clone())
    .bind(headers.subject.clone())
    .bind(size_i64(size_bytes)?)
    .bind(raw.to_vec())
    .bind(tx.now())
    .fetch_optional(&mut **tx)
    .await?)
}

/// Completes a claimed row with what the handler decided (same transaction).
pub async fn complete(
    conn: &mut AnyConnection,
    id: i64,
    kind: &str,
    outcome: &str,
    error: Option<&str>,
) -> Result<()> {
    let sql = "UPDATE inbound_messages SET kind = $1, outcome = $2, error = $3 WHERE id = $4";
    complete_with(conn, sql, (id, kind, outcome, error)).await
}

/// [`complete`] for a message delivered to us (LMTP), in no folder: the
/// row is marked moved as it is completed, in the same one statement.
pub async fn complete_delivered(
    conn: &mut AnyConnection,
    id: i64,
    kind: &str,
    outcome: &str,
    error: Option<&str>,
) -> Result<()> {
    let sql = "UPDATE inbound_messages SET kind = $1, outcome = $2, error = $3, \
               moved_at = COALESCE(moved_at, received_at) WHERE id = $4";
    complete_with(conn, sql, (id, kind, outcome, error)).await
}

async fn complete_with(
    conn: &mut AnyConnection,
    sql: &'static str,
    (id, kind, outcome, error): (i64, &str, &str, Option<&str>),
) -> Result<()> {
    sqlx::query(sql)
        .bind(kind)
        .bind(outcome)
        .bind(error)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes a complete row, received at `now` (by the store's clock), unless
/// `key` is already recorded; returns whether it did.
pub async fn record(conn: &mut AnyConnection, row: &NewLedgerRow<'_>, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO inbound_messages \
         (mailbox, uidvalidity, uid, message_id, from_addr, subject, kind, outcome, error, size_bytes, raw, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING",
    )
    .bind(row.key.mailbox)
    .bind(i64::from(row.key.uidvalidity))
    .bind(row.key.uid)
    .bind(row.headers.message_id.clone())
    .bind(row.headers.from_addr.clone())
    .bind(row.headers.subject.clone())
    .bind(row.kind)
    .bind(row.outcome)
    .bind(row.error)
    .bind(size_i64(row.size_bytes)?)
    .bind(row.raw.map(<[u8]>::to_vec))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes, in the caller's transaction, that the message of `key` is in no
/// folder: an LMTP delivery, which the ledger alone keeps from the start.
pub async fn mark_delivered(conn: &mut AnyConnection, key: LedgerKey<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE inbound_messages SET moved_at = received_at \
         WHERE mailbox = $1 AND uidvalidity = $2 AND uid = $3 AND moved_at IS NULL",
    )
    .bind(key.mailbox)
    .bind(i64::from(key.uidvalidity))
    .bind(key.uid)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Notes that the message of ledger row `id` has left the inbox folder.
    pub async fn ledger_mark_moved(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE inbound_messages SET moved_at = $1 WHERE id = $2 AND moved_at IS NULL")
            .bind(self.now())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// [`Store::ledger_mark_moved`] for many rows, in one statement per
    /// 500 (one write for a batch moved in one command).
    pub async fn ledger_mark_moved_many(&self, ids: &[i64]) -> Result<()> {
        let now = self.now();
        let _turn = self.write_turn().await;
        for chunk in ids.chunks(500) {
            let marks = (0..chunk.len())
                .map(|i| format!("${}", i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "UPDATE inbound_messages SET moved_at = $1 WHERE id IN ({marks}) AND moved_at IS NULL"
            );
            // Only numbered placeholders are formatted in; the values are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// The ledger row of `key`, outside any transaction.
    pub async fn ledger_lookup(&self, key: LedgerKey<'_>) -> Result<Option<LedgerEntry>> {
        let mut conn = self.pool().acquire().await?;
        lookup(&mut conn, key).await
    }

    /// How many ledger rows a mailbox has (tests, `check`).
    pub async fn ledger_count(&self, mailbox: &str) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) AS n FROM inbound_messages WHERE mailbox = $1")
                .bind(mailbox)
                .fetch_one(self.pool())
                .await?,
        )
    }

    /// The UIDVALIDITY and highest UID the reader saw last for `mailbox`.
    pub async fn mailbox_state(&self, mailbox: &str) -> Result<Option<(u32, u32)>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1")
                .bind(mailbox)
                .fetch_optional(self.pool())
                .await?;
        let Some((validity, last)) = row else {
            return Ok(None);
        };
        let corrupt =
            |what: &str, v: i64| StoreError::Corrupt(format!("mailbox_state.{what} = {v}"));
        Ok(Some((
            u32::try_from(validity).map_err(|_| corrupt("uidvalidity", validity))?,
            u32::try_from(last).map_err(|_| corrupt("last_uid", last))?,
        )))
    }

    pub async fn set_mailbox_state(
        &self,
        mailbox: &str,
        uidvalidity: u32,
        last_uid: u32,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO mailbox_state (mailbox, uidvalidity, last_uid, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity, \
             last_uid = excluded.last_uid, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(i64::from(uidvalidity))
        .bind(i64::from(last_uid))
        .bind(self.now())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
