//! Requests and their forwards.

use std::collections::HashMap;

use super::console_requests::Reasons;
use super::{Backend, Result, Store, from_row, from_rows, values_rows};
use crate::domain::{ForwardState, MailLanguage, ReplyDirection, RequestStatus};

use super::Tx;

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub inbound_id: Option<i64>,
    pub requester_email: String,
    pub requester_name: String,
    pub requester_member_id: Option<i64>,
    pub subject: String,
    pub body: String,
    pub language: MailLanguage,
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub requester_email: String,
    pub requester_name: String,
    pub subject: String,
    pub body: String,
    pub language: MailLanguage,
    pub message_id: Option<String>,
    pub token: Option<String>,
    pub status: RequestStatus,
    pub wave: i64,
    pub wave_due_at: Option<i64>,
    pub created_at: i64,
    pub closed_at: Option<i64>,
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
             status, wave, wave_due_at, created_at, closed_at FROM requests ",
            $tail
        )
    };
}

fn request_from_row(r: &sqlx::any::AnyRow) -> Result<RequestRow> {
    from_row("requests", r)
}

/// Inserts a request; returns its number.
pub async fn insert_request(tx: &mut Tx<'_>, r: &NewRequest, now: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
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
    .bind(r.language.as_str())
    .bind(r.message_id.clone())
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// [`set_request_state`] for a new request's first wave, with its thread
/// token (minted from its id), in one statement.
pub async fn set_first_wave(
    tx: &mut Tx<'_>,
    id: i64,
    token: &str,
    status: RequestStatus,
    wave_due_at: Option<i64>,
    now: i64,
) -> Result<()> {
    set_state(tx, id, (status, 1, wave_due_at), Some(token), now).await
}

pub async fn set_request_state(
    tx: &mut Tx<'_>,
    id: i64,
    status: RequestStatus,
    wave: i64,
    wave_due_at: Option<i64>,
    now: i64,
) -> Result<()> {
    set_state(tx, id, (status, wave, wave_due_at), None, now).await
}

/// A request's status, wave and its deadline (closed now if the status is
/// final), and its thread token when one is given.
async fn set_state(
    tx: &mut Tx<'_>,
    id: i64,
    (status, wave, wave_due_at): (RequestStatus, i64, Option<i64>),
    token: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE requests SET status = $1, wave = $2, wave_due_at = $3, updated_at = $4, \
         closed_at = CASE WHEN $6 = 1 THEN $4 ELSE closed_at END, token = COALESCE($7, token) \
         WHERE id = $5",
    )
    .bind(status.as_str())
    .bind(wave)
    .bind(wave_due_at)
    .bind(now)
    .bind(id)
    .bind(i64::from(status.is_final()))
    .bind(token)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An unmatched or exhausted request open again, in `wave` until `due`
/// (an admin forwarded it by hand: `relay/by_hand.rs`).
pub async fn reopen_request(tx: &mut Tx<'_>, id: i64, wave: i64, due: i64, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE requests SET status = 'open', wave = $1, wave_due_at = $2, closed_at = NULL, \
         updated_at = $3 WHERE id = $4",
    )
    .bind(wave)
    .bind(due)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts a forward unless this member already has one for this request.
/// Returns its id, or None when it existed (idempotent by request and member).
pub async fn insert_forward(tx: &mut Tx<'_>, f: &NewForward, now: i64) -> Result<Option<i64>> {
    let ids = insert_forwards(tx, std::slice::from_ref(f), now).await?;
    Ok(ids.get(&f.member_id).copied())
}

/// [`insert_forward`] for several forwards in one statement: the ids of
/// those written, by member (a member who already had one is left out).
pub async fn insert_forwards(
    tx: &mut Tx<'_>,
    forwards: &[NewForward],
    now: i64,
) -> Result<HashMap<i64, i64>> {
    let mut ids = HashMap::with_capacity(forwards.len());
    for chunk in forwards.chunks(100) {
        let rows = values_rows(chunk.len(), 9, "'pending', $1");
        let sql = format!(
            "INSERT INTO forwards (request_id, member_id, wave, rank, score, reasons, token, \
             requester_token, message_id, state, created_at) VALUES {rows} \
             ON CONFLICT (request_id, member_id) DO NOTHING RETURNING member_id, id"
        );
        // Only numbered placeholders are formatted in; the values are bound.
        let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(now);
        for f in chunk {
            query = query
                .bind(f.request_id)
                .bind(f.member_id)
                .bind(f.wave)
                .bind(f.rank)
                .bind(f.score)
                .bind(&f.reasons_json)
                .bind(&f.token)
                .bind(&f.requester_token)
                .bind(&f.message_id);
        }
        ids.extend(query.fetch_all(&mut **tx).await?);
    }
    Ok(ids)
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
        from_rows("requests", &rows)
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ForwardRow {
    pub id: i64,
    pub request_id: i64,
    pub member_id: i64,
    pub wave: i64,
    pub token: String,
    pub requester_token: String,
    pub message_id: String,
    pub state: ForwardState,
    /// Why the member was chosen (the matcher's reasons, or an admin's).
    #[sqlx(try_from = "String")]
    pub reasons: Reasons,
}

macro_rules! select_forwards {
    ($tail:literal) => {
        concat!(
            "SELECT id, request_id, member_id, wave, token, requester_token, message_id, state, reasons \
             FROM forwards ",
            $tail
        )
    };
}

fn forward_from_row(r: &sqlx::any::AnyRow) -> Result<ForwardRow> {
    from_row("forwards", r)
}

/// Which thread a reply token belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenOwner {
    /// A member's forward.
    Forward(ForwardRow),
    /// The requester's side of questions about one forward.
    AskerOf(ForwardRow),
    /// The requester's acknowledgement thread.
    Request(RequestRow),
}

pub async fn find_token(tx: &mut Tx<'_>, token: &str) -> Result<Option<TokenOwner>> {
    let token = token.to_ascii_lowercase();
    if let Some(r) = sqlx::query(select_forwards!("WHERE token = $1"))
        .bind(&token)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(Some(TokenOwner::Forward(forward_from_row(&r)?)));
    }
    if let Some(r) = sqlx::query(select_forwards!("WHERE requester_token = $1"))
        .bind(&token)
        .fetch_optional(&mut **tx)
        .await?
    {
        return Ok(Some(TokenOwner::AskerOf(forward_from_row(&r)?)));
    }
    let r = sqlx::query(select_requests!("WHERE token = $1"))
        .bind(&token)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(r.as_ref()
        .map(request_from_row)
        .transpose()?
        .map(TokenOwner::Request))
}

/// The request, read inside the transaction (and, on PostgreSQL, locked
/// against a concurrent answer to the same request); the transaction knows
/// its backend.
pub async fn request_for_update(tx: &mut Tx<'_>, id: i64) -> Result<Option<RequestRow>> {
    let q = match tx.backend() {
        Backend::Postgres => sqlx::query(select_requests!("WHERE id = $1 FOR UPDATE")),
        Backend::Sqlite => sqlx::query(select_requests!("WHERE id = $1")),
    };
    let r = q.bind(id).fetch_optional(&mut **tx).await?;
    r.as_ref().map(request_from_row).transpose()
}

pub async fn forwards_of(tx: &mut Tx<'_>, request_id: i64) -> Result<Vec<ForwardRow>> {
    let rows = sqlx::query(select_forwards!(
        "WHERE request_id = $1 ORDER BY wave, rank"
    ))
    .bind(request_id)
    .fetch_all(&mut **tx)
    .await?;
    from_rows("forwards", &rows)
}

pub async fn set_forward_state(
    tx: &mut Tx<'_>,
    id: i64,
    state: ForwardState,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE forwards SET state = $1, answered_at = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NewReply {
    pub inbound_id: Option<i64>,
    pub request_id: Option<i64>,
    pub forward_id: Option<i64>,
    pub from_email: String,
    pub direction: ReplyDirection,
    pub intent: &'static str,
    pub body: String,
}

pub async fn insert_reply(tx: &mut Tx<'_>, r: &NewReply, now: i64) -> Result<()> {
    // The replies table needs an inbound row; replies built in tests without one are not recorded.
    let Some(inbound_id) = r.inbound_id else {
        return Ok(());
    };
    sqlx::query(
        "INSERT INTO replies (inbound_id, request_id, forward_id, from_email, direction, intent, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(inbound_id)
    .bind(r.request_id)
    .bind(r.forward_id)
    .bind(&r.from_email)
    .bind(r.direction.as_str())
    .bind(r.intent)
    .bind(&r.body)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records an introduction; false when this forward already has one.
pub async fn insert_introduction(
    tx: &mut Tx<'_>,
    forward: &ForwardRow,
    now: i64,
    followup_due_at: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO introductions (request_id, forward_id, member_id, created_at, followup_due_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (forward_id) DO NOTHING",
    )
    .bind(forward.request_id)
    .bind(forward.id)
    .bind(forward.member_id)
    .bind(now)
    .bind(followup_due_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Open requests whose current wave ran out of time.
    pub async fn requests_due(&self, now: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM requests WHERE status = 'open' AND wave_due_at IS NOT NULL AND wave_due_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Forwards each member received in the 7 days before `now`: what the
/// weekly cap counts.
pub async fn forwards_this_week(tx: &mut Tx<'_>, now: i64) -> Result<HashMap<i64, u32>> {
    forward_counts_since(tx, now - super::web_stats::WEEK).await
}

/// Forwards each member received since `since`, for fairness and the weekly cap.
pub async fn forward_counts_since(tx: &mut Tx<'_>, since: i64) -> Result<HashMap<i64, u32>> {
    counts_since(tx, since).await
}

async fn counts_since(conn: &mut sqlx::AnyConnection, since: i64) -> Result<HashMap<i64, u32>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT member_id, COUNT(*) AS n FROM forwards WHERE created_at >= $1 GROUP BY member_id",
    )
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(member, n)| (member, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// Of each member in `ids` (those still in the directory): whether they are
/// active, and their forwards since `since`. In one statement, inside the
/// write transaction: what a ranking made before it is checked against.
pub async fn members_now(
    tx: &mut Tx<'_>,
    ids: &[i64],
    since: i64,
) -> Result<HashMap<i64, (bool, u32)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks = (0..ids.len())
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT m.id, CASE WHEN m.status = 'active' THEN 1 ELSE 0 END AS active, \
         (SELECT COUNT(*) FROM forwards f WHERE f.member_id = m.id AND f.created_at >= $1) AS n \
         FROM members m WHERE m.id IN ({marks})"
    );
    // Only numbered placeholders are formatted in; the values are bound.
    let mut query = sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(since);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(&mut **tx).await?;
    Ok(rows
        .into_iter()
        .map(|(id, active, n)| (id, (active == 1, u32::try_from(n).unwrap_or(u32::MAX))))
        .collect())
}

impl Store {
    /// [`forward_counts_since`] outside any transaction (read before one).
    pub async fn forward_counts_since(&self, since: i64) -> Result<HashMap<i64, u32>> {
        let mut conn = self.pool.acquire().await?;
        counts_since(&mut conn, since).await
    }
}
