//! Requests and their forwards.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub inbound_id: Option<i64>,
    pub requester_email: String,
    pub requester_name: String,
    pub requester_member_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequestRow {
    pub id: i64,
    pub requester_email: String,
    pub requester_name: String,
    pub subject: String,
    pub body: String,
    pub language: String,
    pub message_id: Option<String>,
    pub token: Option<String>,
    pub status: String,
    pub wave: i64,
    pub wave_due_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewForward {
    pub request_id: i64,
    pub member_id: i64,
    pub wave: i64,
    pub rank: i64,
    pub score: f64,
    pub reasons_json: String,
    pub token: String,
    pub requester_token: String,
    pub message_id: String,
}

macro_rules! select_requests {
    ($tail:literal) => {
        concat!(
            "SELECT id, requester_email, requester_name, subject, body, language, message_id, token, \
             status, wave, wave_due_at, created_at FROM requests ",
            $tail
        )
    };
}

fn request_from_row(r: &AnyRow) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.try_get("id")?,
        requester_email: r.try_get("requester_email")?,
        requester_name: r.try_get("requester_name")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        language: r.try_get("language")?,
        message_id: r.try_get("message_id")?,
        token: r.try_get("token")?,
        status: r.try_get("status")?,
        wave: r.try_get("wave")?,
        wave_due_at: r.try_get("wave_due_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Inserts a request; returns its number.
pub async fn insert_request(tx: &mut Tx<'_>, r: &NewRequest, now: i64) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO requests (inbound_id, requester_email, requester_name, requester_member_id, \
         subject, body, language, message_id, status, wave, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', 0, $9, $9) RETURNING id",
    )
    .bind(r.inbound_id)
    .bind(&r.requester_email)
    .bind(&r.requester_name)
    .bind(r.requester_member_id)
    .bind(&r.subject)
    .bind(&r.body)
    .bind(&r.language)
    .bind(r.message_id.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

/// Sets the requester's thread token (minted from the request number).
pub async fn set_request_token(tx: &mut Tx<'_>, id: i64, token: &str) -> Result<()> {
    sqlx::query("UPDATE requests SET token = $1 WHERE id = $2")
        .bind(token)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_request_state(
    tx: &mut Tx<'_>,
    id: i64,
    status: &str,
    wave: i64,
    wave_due_at: Option<i64>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE requests SET status = $1, wave = $2, wave_due_at = $3, updated_at = $4, \
         closed_at = CASE WHEN $1 IN ('filled', 'closed', 'unmatched', 'exhausted') THEN $4 ELSE closed_at END \
         WHERE id = $5",
    )
    .bind(status)
    .bind(wave)
    .bind(wave_due_at)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a forward unless this member already has one for this request.
/// Returns its id, or None when it existed (idempotent by request and member).
pub async fn insert_forward(tx: &mut Tx<'_>, f: &NewForward, now: i64) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO forwards (request_id, member_id, wave, rank, score, reasons, token, \
         requester_token, message_id, state, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10) \
         ON CONFLICT (request_id, member_id) DO NOTHING RETURNING id",
    )
    .bind(f.request_id)
    .bind(f.member_id)
    .bind(f.wave)
    .bind(f.rank)
    .bind(f.score)
    .bind(&f.reasons_json)
    .bind(&f.token)
    .bind(&f.requester_token)
    .bind(&f.message_id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

impl Store {
    pub async fn request(&self, id: i64) -> Result<Option<RequestRow>> {
        let row = sqlx::query(select_requests!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(request_from_row).transpose()
    }

    pub async fn requests(&self) -> Result<Vec<RequestRow>> {
        let rows = sqlx::query(select_requests!("ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(request_from_row).collect()
    }

    /// Forwards each member received since `since`, for fairness and the weekly cap.
    pub async fn forward_counts_since(&self, since: i64) -> Result<HashMap<i64, u32>> {
        let rows = sqlx::query(
            "SELECT member_id, COUNT(*) AS n FROM forwards WHERE created_at >= $1 GROUP BY member_id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = HashMap::new();
        for r in rows {
            let n: i64 = r.try_get("n")?;
            counts.insert(
                r.try_get("member_id")?,
                u32::try_from(n).unwrap_or(u32::MAX),
            );
        }
        Ok(counts)
    }
}
