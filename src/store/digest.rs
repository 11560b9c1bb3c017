//! What the weekly digest reports, and the once-per-week bookkeeping.

use sqlx::any::AnyRow;

use super::{Result, Store, from_rows};
use crate::domain::RequestStatus;

use super::Tx;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WeekRequest {
    pub id: i64,
    pub subject: String,
    pub requester_email: String,
    pub status: RequestStatus,
    pub created_at: i64,
    /// When the first member accepted, if anyone did.
    #[sqlx(rename = "first_accept")]
    pub first_accept_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WeekIntroduction {
    pub request_id: i64,
    pub subject: String,
    pub member_id: i64,
    pub member_name: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WeekThanks {
    pub request_id: i64,
    pub subject: String,
    pub member_name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WeekBounce {
    pub recipient: String,
    pub severity: String,
    pub status_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SilentMember {
    pub name: String,
    pub email: String,
    pub forwards: i64,
}

/// Everything one week's digest reports, `[from, to)` in UNIX seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeekData {
    pub from: i64,
    pub to: i64,
    pub requests: Vec<WeekRequest>,
    pub introductions: Vec<WeekIntroduction>,
    pub thanks: Vec<WeekThanks>,
    pub new_members: Vec<String>,
    pub bounces: Vec<WeekBounce>,
    /// Members forwarded requests in the last four weeks who answered none.
    pub silent: Vec<SilentMember>,
}

const WEEK_REQUESTS: &str = "SELECT r.id, r.subject, r.requester_email, r.status, r.created_at, \
     (SELECT MIN(f.answered_at) FROM forwards f WHERE f.request_id = r.id AND f.state = 'accepted') AS first_accept \
     FROM requests r WHERE r.created_at >= $1 AND r.created_at < $2 ORDER BY r.id";

const WEEK_INTRODUCTIONS: &str = "SELECT i.request_id, r.subject, i.member_id, m.name AS member_name \
     FROM introductions i JOIN requests r ON r.id = i.request_id JOIN members m ON m.id = i.member_id \
     WHERE i.created_at >= $1 AND i.created_at < $2 ORDER BY i.id";

const WEEK_THANKS: &str = "SELECT i.request_id, r.subject, m.name AS member_name, \
     COALESCE(i.outcome_text, '') AS text FROM introductions i \
     JOIN requests r ON r.id = i.request_id JOIN members m ON m.id = i.member_id \
     WHERE i.outcome = 'yes' AND i.outcome_at >= $1 AND i.outcome_at < $2 ORDER BY i.outcome_at";

const WEEK_NEW_MEMBERS: &str = "SELECT name FROM members \
     WHERE created_at >= $1 AND created_at < $2 AND status <> 'left' ORDER BY id";

const WEEK_BOUNCES: &str = "SELECT recipient, severity, status_code FROM bounces \
     WHERE created_at >= $1 AND created_at < $2 ORDER BY id";

/// Members forwarded requests in `[$1, $2)` who let them all expire.
const SILENT: &str = "SELECT m.name, m.email, COUNT(*) AS forwards FROM forwards f \
     JOIN members m ON m.id = f.member_id \
     WHERE f.created_at >= $1 AND f.created_at < $2 GROUP BY m.id, m.name, m.email \
     HAVING SUM(CASE WHEN f.state IN ('accepted', 'declined') THEN 1 ELSE 0 END) = 0 \
     AND SUM(CASE WHEN f.state = 'expired' THEN 1 ELSE 0 END) > 0 ORDER BY m.id";

impl Store {
    pub async fn week_data(&self, from: i64, to: i64) -> Result<WeekData> {
        Ok(WeekData {
            from,
            to,
            requests: self.week_requests(from, to).await?,
            introductions: self.week_rows(WEEK_INTRODUCTIONS, from, to).await?,
            thanks: self.week_rows(WEEK_THANKS, from, to).await?,
            new_members: sqlx::query_scalar(WEEK_NEW_MEMBERS)
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?,
            bounces: self.week_rows(WEEK_BOUNCES, from, to).await?,
            silent: self.week_rows(SILENT, to - 28 * 86_400, to).await?,
        })
    }

    /// The rows `sql` selects for `[from, to)` (bound as $1 and $2).
    async fn week_rows<T>(&self, sql: &'static str, from: i64, to: i64) -> Result<Vec<T>>
    where
        T: for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        Ok(sqlx::query_as(sql)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn week_requests(&self, from: i64, to: i64) -> Result<Vec<WeekRequest>> {
        let rows = sqlx::query(WEEK_REQUESTS)
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?;
        from_rows("requests", &rows)
    }

    /// Whether this week's digest run finished.
    pub async fn digest_run_finished(&self, week: &str) -> Result<bool> {
        let finished: Option<Option<i64>> =
            sqlx::query_scalar("SELECT finished_at FROM digest_runs WHERE week = $1")
                .bind(week)
                .fetch_optional(&self.pool)
                .await?;
        Ok(finished.flatten().is_some())
    }

    pub async fn start_digest_run(&self, week: &str, now: i64) -> Result<()> {
        sqlx::query("INSERT INTO digest_runs (week, started_at) VALUES ($1, $2) ON CONFLICT (week) DO NOTHING")
            .bind(week)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn finish_digest_run(&self, week: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE digest_runs SET finished_at = $1 WHERE week = $2 AND finished_at IS NULL",
        )
        .bind(now)
        .bind(week)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Claims this member's digest for `week`; false when it was already sent
/// (by an earlier run, before a restart, or by another daemon).
pub async fn claim_digest(tx: &mut Tx<'_>, week: &str, member_id: i64, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO digests (week, member_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (week, member_id) DO NOTHING",
    )
    .bind(week)
    .bind(member_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
