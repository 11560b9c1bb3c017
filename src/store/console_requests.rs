//! What the console's Requests pages read (and `requests show` prints): a
//! page of requests with their forward and accept counts, and one request's
//! forwards (with reasons and introductions) and replies. Every list is an
//! indexed query with a LIMIT: nothing loads all rows.

use super::{Result, Store, from_rows, like_pattern};
use crate::domain::{ForwardState, RequestStatus};

/// Which requests a page shows; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    /// Part of the subject, the requester's name or address (any case).
    pub text: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One line of the requests list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestListRow {
    pub id: i64,
    pub subject: String,
    pub requester_name: String,
    pub requester_email: String,
    pub status: RequestStatus,
    pub created_at: i64,
    pub forwards: i64,
    pub accepts: i64,
}

/// A forward of one request, with who it went to and what came of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ForwardDetail {
    pub id: i64,
    pub wave: i64,
    #[sqlx(rename = "email")]
    pub member_email: String,
    #[sqlx(rename = "name")]
    pub member_name: String,
    pub state: ForwardState,
    pub score: f64,
    #[sqlx(try_from = "String")]
    pub reasons: Reasons,
    pub created_at: i64,
    pub answered_at: Option<i64>,
    /// When the member was introduced to the requester, if they were.
    pub introduced_at: Option<i64>,
}

/// The matcher's reason strings ("nurse → skills: 看護師", "region: 東京"),
/// stored as a JSON list; a list that does not read is none.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reasons(pub Vec<String>);

impl From<String> for Reasons {
    fn from(json: String) -> Self {
        Self(serde_json::from_str(&json).unwrap_or_default())
    }
}

impl std::ops::Deref for Reasons {
    type Target = Vec<String>;

    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

/// A reply recorded for a request: who wrote, and what it meant.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReplyDetail {
    pub from_email: String,
    pub direction: String,
    pub intent: String,
    pub created_at: i64,
}

/// The WHERE clause for the filters given (only those, so that a state
/// filter is read through the status index); `$1` is the state, `$2` the
/// text, when present, in that order.
fn page_where(status: bool, text: bool) -> String {
    let mut parts = Vec::new();
    if status {
        parts.push("r.status = $1".to_string());
    }
    if text {
        let n = if status { 2 } else { 1 };
        parts.push(format!(
            "(LOWER(r.subject) LIKE ${n} ESCAPE '\\' OR LOWER(r.requester_name) LIKE ${n} ESCAPE '\\' \
             OR LOWER(r.requester_email) LIKE ${n} ESCAPE '\\')"
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", parts.join(" AND "))
    }
}

impl Store {
    /// A page of requests, newest first, and how many match in all.
    pub async fn requests_page(&self, f: &RequestFilter) -> Result<(Vec<RequestListRow>, i64)> {
        let status = f.status.map(RequestStatus::as_str);
        let text = f
            .text
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(like_pattern);
        let filter = page_where(status.is_some(), text.is_some());
        let n = 1 + usize::from(status.is_some()) + usize::from(text.is_some());
        let sql = format!(
            "SELECT r.id, r.subject, r.requester_name, r.requester_email, r.status, r.created_at, \
             (SELECT COUNT(*) FROM forwards f WHERE f.request_id = r.id) AS forwards, \
             (SELECT COUNT(*) FROM forwards f WHERE f.request_id = r.id AND f.state = 'accepted') AS accepts \
             FROM requests r {filter} ORDER BY r.id DESC LIMIT ${n} OFFSET ${}",
            n + 1
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let count = format!("SELECT COUNT(*) AS n FROM requests r {filter}");
        let mut counting = sqlx::query_scalar(sqlx::AssertSqlSafe(count));
        for value in [status.map(str::to_string), text].into_iter().flatten() {
            query = query.bind(value.clone());
            counting = counting.bind(value);
        }
        let rows = query
            .bind(f.limit.max(1))
            .bind(f.offset.max(0))
            .fetch_all(self.pool())
            .await?;
        let list: Vec<RequestListRow> = from_rows("requests", &rows)?;
        // A short page is the last one: its end is the count.
        let total: i64 =
            if (list.len() as i64) < f.limit.max(1) && (f.offset == 0 || !list.is_empty()) {
                f.offset.max(0) + list.len() as i64
            } else {
                counting.fetch_one(self.pool()).await?
            };
        Ok((list, total))
    }

    /// Request `id`'s forwards by wave and rank, with their introductions.
    pub async fn request_forwards(&self, id: i64) -> Result<Vec<ForwardDetail>> {
        let rows = sqlx::query(
            "SELECT f.id, f.wave, f.score, f.reasons, f.state, f.created_at, f.answered_at, \
             m.email, m.name, i.created_at AS introduced_at FROM forwards f \
             JOIN members m ON m.id = f.member_id \
             LEFT JOIN introductions i ON i.forward_id = f.id \
             WHERE f.request_id = $1 ORDER BY f.wave, f.rank",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        from_rows("forwards", &rows)
    }

    /// The replies recorded for request `id`, oldest first (at most 200).
    pub async fn request_replies(&self, id: i64) -> Result<Vec<ReplyDetail>> {
        Ok(sqlx::query_as(
            "SELECT from_email, direction, intent, created_at FROM replies \
             WHERE request_id = $1 ORDER BY id LIMIT 200",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }
}
