//! Members looking after themselves (flow 5), follow-ups (flow 7) and
//! bounces, written in the caller's transaction.

use super::{Result, Tx};
use crate::domain::MemberStatus;

/// Sets a member's status; `until` only means something for a pause.
pub async fn set_member_status(
    tx: &mut Tx<'_>,
    id: i64,
    status: MemberStatus,
    until: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE members SET status = $1, paused_until = $2, updated_at = $3 WHERE id = $4")
        .bind(status.as_str())
        .bind(until.map(str::to_string))
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewBounce<'a> {
    pub inbound_id: Option<i64>,
    pub member_id: Option<i64>,
    pub recipient: &'a str,
    pub severity: &'static str,
    pub status_code: Option<&'a str>,
    pub diagnostic: Option<&'a str>,
}

/// Records a bounce (the table needs an inbound row: without one nothing is
/// stored, as with replies built in tests).
pub async fn insert_bounce(tx: &mut Tx<'_>, b: &NewBounce<'_>, now: i64) -> Result<()> {
    let Some(inbound_id) = b.inbound_id else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO bounces (inbound_id, member_id, recipient, severity, status_code, diagnostic, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(inbound_id)
    .bind(b.member_id)
    .bind(b.recipient)
    .bind(b.severity)
    .bind(b.status_code.map(str::to_string))
    .bind(b.diagnostic.map(str::to_string))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Counts one more hard bounce; returns the member's new total.
pub async fn add_hard_bounce(tx: &mut Tx<'_>, member_id: i64, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "UPDATE members SET hard_bounces = hard_bounces + 1, updated_at = $1 WHERE id = $2 RETURNING hard_bounces",
    )
    .bind(now)
    .bind(member_id)
    .fetch_one(&mut **tx)
    .await?)
}

/// An introduction whose "did it work out?" is due.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DueFollowup {
    pub id: i64,
    pub request_id: i64,
    pub member_id: i64,
}

pub async fn due_followups(pool: &sqlx::AnyPool, now: i64) -> Result<Vec<DueFollowup>> {
    Ok(sqlx::query_as(
        "SELECT id, request_id, member_id FROM introductions \
         WHERE followup_sent_at IS NULL AND followup_due_at <= $1 ORDER BY id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?)
}

/// Claims a follow-up for sending; false when another run already did.
pub async fn claim_followup(tx: &mut Tx<'_>, id: i64, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE introductions SET followup_sent_at = $1 WHERE id = $2 AND followup_sent_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The request and member of an introduction.
pub async fn introduction(tx: &mut Tx<'_>, id: i64) -> Result<Option<DueFollowup>> {
    Ok(
        sqlx::query_as("SELECT id, request_id, member_id FROM introductions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

pub async fn set_outcome(
    tx: &mut Tx<'_>,
    id: i64,
    outcome: &str,
    text: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE introductions SET outcome = $1, outcome_text = $2, outcome_at = $3 WHERE id = $4",
    )
    .bind(outcome)
    .bind(text)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
