//! What the weekly digest reports, and the once-per-week bookkeeping.

use sqlx::Row;

use super::{Result, Store, decode};
use crate::domain::RequestStatus;

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Debug, Clone, PartialEq)]
pub struct WeekRequest {
    pub id: i64,
    pub subject: String,
    pub requester_email: String,
    pub status: RequestStatus,
    pub created_at: i64,
    /// When the first member accepted, if anyone did.
    pub first_accept_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeekIntroduction {
    pub request_id: i64,
    pub subject: String,
    pub member_id: i64,
    pub member_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeekThanks {
    pub request_id: i64,
    pub subject: String,
    pub member_name: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WeekBounce {
    pub recipient: String,
    pub severity: String,
    pub status_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
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

impl Store {
    pub async fn week_data(&self, from: i64, to: i64) -> Result<WeekData> {
        let p = &self.pool;
        let requests = sqlx::query(
            "SELECT r.id, r.subject, r.requester_email, r.status, r.created_at, \
             (SELECT MIN(f.answered_at) FROM forwards f WHERE f.request_id = r.id AND f.state = 'accepted') AS first_accept \
             FROM requests r WHERE r.created_at >= $1 AND r.created_at < $2 ORDER BY r.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            let id = r.try_get("id")?;
            let status: String = r.try_get("status")?;
            Ok(WeekRequest {
                id,
                subject: r.try_get("subject")?,
                requester_email: r.try_get("requester_email")?,
                status: decode("requests", id, "status", &status, RequestStatus::from_word)?,
                created_at: r.try_get("created_at")?,
                first_accept_at: r.try_get("first_accept")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let introductions = sqlx::query(
            "SELECT i.request_id, r.subject, i.member_id, m.name FROM introductions i \
             JOIN requests r ON r.id = i.request_id JOIN members m ON m.id = i.member_id \
             WHERE i.created_at >= $1 AND i.created_at < $2 ORDER BY i.id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            Ok(WeekIntroduction {
                request_id: r.try_get("request_id")?,
                subject: r.try_get("subject")?,
                member_id: r.try_get("member_id")?,
                member_name: r.try_get("name")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let thanks = sqlx::query(
            "SELECT i.request_id, r.subject, m.name, i.outcome_text FROM introductions i \
             JOIN requests r ON r.id = i.request_id JOIN members m ON m.id = i.member_id \
             WHERE i.outcome = 'yes' AND i.outcome_at >= $1 AND i.outcome_at < $2 ORDER BY i.outcome_at",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            Ok(WeekThanks {
                request_id: r.try_get("request_id")?,
                subject: r.try_get("subject")?,
                member_name: r.try_get("name")?,
                text: r.try_get::<Option<String>, _>("outcome_text")?.unwrap_or_default(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let new_members = sqlx::query(
            "SELECT name FROM members WHERE created_at >= $1 AND created_at < $2 AND status <> 'left' ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| r.try_get("name").map_err(Into::into))
        .collect::<Result<Vec<String>>>()?;
        let bounces = sqlx::query(
            "SELECT recipient, severity, status_code FROM bounces WHERE created_at >= $1 AND created_at < $2 ORDER BY id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            Ok(WeekBounce {
                recipient: r.try_get("recipient")?,
                severity: r.try_get("severity")?,
                status_code: r.try_get("status_code")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let silent = sqlx::query(
            "SELECT m.name, m.email, COUNT(*) AS n FROM forwards f JOIN members m ON m.id = f.member_id \
             WHERE f.created_at >= $1 AND f.created_at < $2 GROUP BY m.id, m.name, m.email \
             HAVING SUM(CASE WHEN f.state IN ('accepted', 'declined') THEN 1 ELSE 0 END) = 0 \
             AND SUM(CASE WHEN f.state = 'expired' THEN 1 ELSE 0 END) > 0 ORDER BY m.id",
        )
        .bind(to - 28 * 86_400)
        .bind(to)
        .fetch_all(p)
        .await?
        .iter()
        .map(|r| {
            Ok(SilentMember {
                name: r.try_get("name")?,
                email: r.try_get("email")?,
                forwards: r.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(WeekData {
            from,
            to,
            requests,
            introductions,
            thanks,
            new_members,
            bounces,
            silent,
        })
    }

    /// Whether this week's digest run finished.
    pub async fn digest_run_finished(&self, week: &str) -> Result<bool> {
        let row = sqlx::query("SELECT finished_at FROM digest_runs WHERE week = $1")
            .bind(week)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>("finished_at")?.is_some(),
            None => false,
        })
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
