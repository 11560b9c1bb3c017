//! Held mail (`holds`, migration 0014): requests waiting for an admin, and
//! refused or spam mail the admins' daily summary names.

use super::{Result, Tx, from_row, from_rows};
use crate::domain::stored_words;

stored_words! {
    /// `holds.reason`: why a message was held.
    HoldReason {
        /// A non-member under `posting = "moderated"`: the admins decide.
        NonMember => "non_member",
        /// A non-member under `posting = "members"`: not answered, only summarised.
        Refused => "refused",
        /// The trusted server says the From domain failed authentication.
        Forged => "forged",
        /// Over `max_requests_per_sender_per_day`.
        Rate => "rate",
        /// The receiving server marked it as spam.
        Spam => "spam",
    }
}

impl HoldReason {
    /// Held for a decision (the admins get a notice); the others only appear
    /// in the daily summary, since answering them would be backscatter.
    pub fn asks_admins(self) -> bool {
        matches!(self, Self::NonMember | Self::Forged | Self::Rate)
    }
}

stored_words! {
    /// `holds.state`.
    HoldState {
        Held => "held",
        Approved => "approved",
        Rejected => "rejected",
        Expired => "expired",
    }
}

#[derive(Debug, Clone)]
pub struct NewHold {
    pub inbound_id: Option<i64>,
    pub reason: HoldReason,
    pub detail: String,
    pub requester_email: String,
    pub requester_name: String,
    pub subject: String,
    pub body: String,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct HoldRow {
    pub id: i64,
    pub inbound_id: Option<i64>,
    pub reason: HoldReason,
    pub detail: String,
    pub state: HoldState,
    pub requester_email: String,
    pub requester_name: String,
    pub subject: String,
    pub body: String,
    pub message_id: Option<String>,
    pub request_id: Option<i64>,
    pub decided_by: Option<String>,
    pub created_at: i64,
}

macro_rules! select_holds {
    ($tail:literal) => {
        concat!(
            "SELECT id, inbound_id, reason, detail, state, requester_email, requester_name, \
             subject, body, message_id, request_id, decided_by, created_at FROM holds ",
            $tail
        )
    };
}

fn hold_from_row(r: &sqlx::any::AnyRow) -> Result<HoldRow> {
    from_row("holds", r)
}

/// Records a hold; returns its number. A message handled again (`inbox
/// reprocess`) keeps the hold it already has, so it is listed once.
pub async fn insert_hold(tx: &mut Tx<'_>, h: &NewHold, now: i64) -> Result<i64> {
    if let Some(inbound_id) = h.inbound_id {
        let existing =
            sqlx::query_scalar("SELECT id FROM holds WHERE inbound_id = $1 AND state = 'held'")
                .bind(inbound_id)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(id) = existing {
            return Ok(id);
        }
    }
    Ok(sqlx::query_scalar(
        "INSERT INTO holds (inbound_id, reason, detail, state, requester_email, requester_name, \
         subject, body, message_id, created_at) \
         VALUES ($1, $2, $3, 'held', $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(h.inbound_id)
    .bind(h.reason.as_str())
    .bind(&h.detail)
    .bind(&h.requester_email)
    .bind(&h.requester_name)
    .bind(&h.subject)
    .bind(&h.body)
    .bind(h.message_id.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

pub async fn set_hold_token(tx: &mut Tx<'_>, id: i64, token: &str) -> Result<()> {
    sqlx::query("UPDATE holds SET token = $1 WHERE id = $2")
        .bind(token)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn hold_by_token(tx: &mut Tx<'_>, token: &str) -> Result<Option<HoldRow>> {
    let row = sqlx::query(select_holds!("WHERE token = $1"))
        .bind(token.to_ascii_lowercase())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(hold_from_row).transpose()
}

pub async fn hold_by_id(tx: &mut Tx<'_>, id: i64) -> Result<Option<HoldRow>> {
    let row = sqlx::query(select_holds!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(hold_from_row).transpose()
}

/// Holds, newest first; only undecided ones when `open_only`.
pub async fn list_holds(
    conn: &mut sqlx::AnyConnection,
    open_only: bool,
    limit: i64,
) -> Result<Vec<HoldRow>> {
    let sql = if open_only {
        select_holds!("WHERE state = 'held' ORDER BY id DESC LIMIT $1")
    } else {
        select_holds!("ORDER BY id DESC LIMIT $1")
    };
    let rows = sqlx::query(sql).bind(limit).fetch_all(conn).await?;
    from_rows("holds", &rows)
}

/// Decides an undecided hold; false when it was already decided (a second
/// answer, a retry) so nothing happens twice.
pub async fn decide_hold(
    tx: &mut Tx<'_>,
    id: i64,
    state: HoldState,
    by: &str,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE holds SET state = $1, decided_by = $2, decided_at = $3 \
         WHERE id = $4 AND state = 'held'",
    )
    .bind(state.as_str())
    .bind(by)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn set_hold_request(tx: &mut Tx<'_>, id: i64, request_id: i64) -> Result<()> {
    sqlx::query("UPDATE holds SET request_id = $1 WHERE id = $2")
        .bind(request_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Undecided holds that asked the admins, older than `before`: they expire.
/// Refused and spam mail asked nobody; it stays, to be approved any time.
pub async fn holds_to_expire(tx: &mut Tx<'_>, before: i64) -> Result<Vec<HoldRow>> {
    let rows = sqlx::query(select_holds!(
        "WHERE state = 'held' AND reason IN ('non_member', 'forged', 'rate') \
         AND created_at < $1 ORDER BY id"
    ))
    .bind(before)
    .fetch_all(&mut **tx)
    .await?;
    from_rows("holds", &rows)
}

/// Holds recorded before `before` that no daily summary named yet.
pub async fn holds_to_summarize(tx: &mut Tx<'_>, before: i64) -> Result<Vec<HoldRow>> {
    let rows = sqlx::query(select_holds!(
        "WHERE summarized_at IS NULL AND created_at < $1 ORDER BY id"
    ))
    .bind(before)
    .fetch_all(&mut **tx)
    .await?;
    from_rows("holds", &rows)
}

pub async fn mark_summarized(tx: &mut Tx<'_>, ids: &[i64], now: i64) -> Result<()> {
    for id in ids {
        sqlx::query("UPDATE holds SET summarized_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Requests from `email` recorded since `since` (for the daily limit).
pub async fn requests_from_since(tx: &mut Tx<'_>, email: &str, since: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM requests WHERE LOWER(requester_email) = LOWER($1) AND created_at >= $2",
    )
    .bind(email)
    .bind(since)
    .fetch_one(&mut **tx)
    .await?)
}
