//! The console's overview and audit pages: weekly counts by indexed
//! aggregate queries (a circle of 10,000 members and 5,000 requests answers
//! in a few milliseconds; no rows are loaded), and `admin_actions` newest
//! first, a page at a time.

use super::{Result, Store};

pub const WEEK: i64 = 7 * 86_400;

/// One week of the chart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WeekCounts {
    pub requests: i64,
    pub introductions: i64,
    pub unmatched: i64,
}

/// This week's numbers and the circle as it stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overview {
    pub requests: i64,
    pub forwards: i64,
    pub introductions: i64,
    pub unmatched: i64,
    pub members_active: i64,
    pub members_paused: i64,
    pub mail_queued: i64,
    pub mail_failed: i64,
    pub mail_held: i64,
}

/// A row of the audit page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub action: String,
    pub actor: String,
    pub outbox_id: Option<i64>,
    pub inbound_id: Option<i64>,
    pub request_id: Option<i64>,
    pub detail: String,
    pub created_at: i64,
}

impl Store {
    /// Counts for `weeks` weeks of 7 days from `start` (the oldest first).
    pub async fn weekly_counts(&self, start: i64, weeks: usize) -> Result<Vec<WeekCounts>> {
        let mut out = vec![WeekCounts::default(); weeks];
        let end = start + WEEK * weeks as i64;
        let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT (created_at - $1) / 604800 AS w, COUNT(*) AS n, \
               COALESCE(SUM(CASE WHEN status = 'unmatched' THEN 1 ELSE 0 END), 0) AS u \
             FROM requests WHERE created_at >= $1 AND created_at < $2 \
             GROUP BY (created_at - $1) / 604800",
        )
        .bind(start)
        .bind(end)
        .fetch_all(self.pool())
        .await?;
        for (w, n, u) in rows {
            if let Some(week) = slot(&mut out, w) {
                week.requests = n;
                week.unmatched = u;
            }
        }
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT (created_at - $1) / 604800 AS w, COUNT(*) AS n FROM introductions \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY (created_at - $1) / 604800",
        )
        .bind(start)
        .bind(end)
        .fetch_all(self.pool())
        .await?;
        for (w, n) in rows {
            if let Some(week) = slot(&mut out, w) {
                week.introductions = n;
            }
        }
        Ok(out)
    }

    /// This week's numbers (from `week_start`) and the circle as it stands now.
    pub async fn overview(&self, week_start: i64) -> Result<Overview> {
        // Independent counts: asked at once, on separate connections.
        let forwards =
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM forwards WHERE created_at >= $1")
                .bind(week_start)
                .fetch_one(self.pool());
        let members = sqlx::query_as::<_, (String, i64)>(
            "SELECT status, COUNT(*) FROM members GROUP BY status",
        )
        .fetch_all(self.pool());
        let mail = sqlx::query_as::<_, (String, i64)>(
            "SELECT status, COUNT(*) FROM outbox \
             WHERE status IN ('queued', 'sending', 'failed', 'held') GROUP BY status",
        )
        .fetch_all(self.pool());
        let (week, (forwards,), members, mail) = tokio::try_join!(
            self.weekly_counts(week_start, 1),
            async { forwards.await.map_err(Into::into) },
            async { members.await.map_err(super::StoreError::from) },
            async { mail.await.map_err(super::StoreError::from) },
        )?;
        let of = |list: &[(String, i64)], words: &[&str]| -> i64 {
            list.iter()
                .filter(|(s, _)| words.contains(&s.as_str()))
                .map(|(_, n)| n)
                .sum()
        };
        let w = week.first().copied().unwrap_or_default();
        Ok(Overview {
            requests: w.requests,
            forwards,
            introductions: w.introductions,
            unmatched: w.unmatched,
            members_active: of(&members, &["active"]),
            members_paused: of(&members, &["paused"]),
            mail_queued: of(&mail, &["queued", "sending"]),
            mail_failed: of(&mail, &["failed"]),
            mail_held: of(&mail, &["held"]),
        })
    }

    /// `admin_actions` newest first: `limit` rows after skipping `offset`.
    pub async fn audit_page(&self, offset: i64, limit: i64) -> Result<Vec<AuditRow>> {
        Ok(sqlx::query_as(
            "SELECT id, action, actor, outbox_id, inbound_id, request_id, detail, created_at \
             FROM admin_actions ORDER BY id DESC LIMIT $1 OFFSET $2",
        )
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?)
    }
}

fn slot(weeks: &mut [WeekCounts], w: i64) -> Option<&mut WeekCounts> {
    usize::try_from(w).ok().and_then(|i| weeks.get_mut(i))
}
