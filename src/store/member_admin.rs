//! The directory as the web console's admin sees and changes it: a paged
//! search, one member's edit, and an import's preview; each change is
//! recorded in `admin_actions` in the same transaction.

use sqlx::Row;

use super::admin::{AdminChange, record_action};
use super::members::{bind_profile, insert_member, member_from_row};
use super::{Result, Store, StoreError, like_pattern};
use crate::directory::changed_fields;
use crate::domain::{Member, MemberStatus};

/// What the directory page asks for; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct MemberSearch {
    /// Part of a name, address, skill or region (case-insensitive).
    pub text: String,
    pub status: Option<MemberStatus>,
    /// 0-based.
    pub page: i64,
    pub per_page: i64,
}

/// One member in the list, with how often mail to them bounced.
#[derive(Debug, Clone)]
pub struct MemberListRow {
    pub member: Member,
    pub hard_bounces: i64,
}

/// One page of matches and how many there are in all.
#[derive(Debug, Clone)]
pub struct MemberPage {
    pub rows: Vec<MemberListRow>,
    pub total: i64,
}

/// What an import would do, before it is applied.
#[derive(Debug, Clone, Default)]
pub struct ImportPreview {
    pub added: Vec<Member>,
    /// The incoming member and the fields that change.
    pub changed: Vec<(Member, Vec<&'static str>)>,
    pub unchanged: usize,
}

const FILTER: &str = "WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
     AND ($2 = '' OR LOWER(name) LIKE $2 ESCAPE '\\' OR email_key LIKE $2 ESCAPE '\\' \
          OR LOWER(skills) LIKE $2 ESCAPE '\\' OR LOWER(region) LIKE $2 ESCAPE '\\')";

impl Store {
    /// One page of the members matching `q`, in the order they were added.
    pub async fn search_members(&self, q: &MemberSearch) -> Result<MemberPage> {
        let status = q.status.map(MemberStatus::as_str);
        let pattern = like_pattern(&q.text);
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) AS n FROM members {FILTER}"
        )))
        .bind(status)
        .bind(&pattern)
        .fetch_one(self.pool())
        .await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, email, name, skills, bio, languages, region, status, paused_until, \
             timezone, hard_bounces FROM members {FILTER} ORDER BY id LIMIT $3 OFFSET $4"
        )))
        .bind(status)
        .bind(&pattern)
        .bind(q.per_page)
        .bind(q.page * q.per_page)
        .fetch_all(self.pool())
        .await?;
        let rows = rows
            .iter()
            .map(|r| {
                Ok(MemberListRow {
                    member: member_from_row(r)?,
                    hard_bounces: r.try_get("hard_bounces")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(MemberPage { rows, total })
    }

    /// Adds `member` and records who did it; an existing address is a conflict.
    pub async fn add_member_by(&self, member: &Member, change: &AdminChange<'_>) -> Result<i64> {
        if self.member_by_email(&member.email).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} is already in the directory",
                member.email
            )));
        }
        let mut tx = self.begin().await?;
        let id = insert_member(&mut tx, member, change.now).await?;
        record_action(&mut tx, change, None, None, None).await?;
        tx.commit().await?;
        tracing::info!(member_id = id, actor = change.actor, "member added");
        Ok(id)
    }

    /// Replaces member `id`'s profile (not the address) and records who did it.
    pub async fn update_member_by(
        &self,
        id: i64,
        m: &Member,
        change: &AdminChange<'_>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let q = sqlx::query(
            "UPDATE members SET name = $1, skills = $2, bio = $3, languages = $4, region = $5, \
             status = $6, timezone = $7, paused_until = $8, updated_at = $9 WHERE id = $10",
        );
        let done = bind_profile(q, m)
            .bind(m.paused_until.clone())
            .bind(change.now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("member {id}")));
        }
        record_action(&mut tx, change, None, None, None).await?;
        tx.commit().await?;
        tracing::info!(member_id = id, actor = change.actor, "member changed");
        Ok(())
    }

    /// Records a change made elsewhere (an import, which commits on its own).
    pub async fn record_admin_change(&self, change: &AdminChange<'_>) -> Result<()> {
        let mut tx = self.begin().await?;
        record_action(&mut tx, change, None, None, None).await?;
        tx.commit().await?;
        Ok(())
    }

    /// What `import_members(incoming, false)` would change, without changing it.
    pub async fn import_preview(&self, incoming: &[Member]) -> Result<ImportPreview> {
        let existing = self.members_by_key().await?;
        let mut preview = ImportPreview::default();
        for m in incoming {
            match existing.get(m.email.key()) {
                None => preview.added.push(m.clone()),
                Some(old) => {
                    // The import compares what the CSV holds (not the pause date).
                    let fields: Vec<_> = changed_fields(old, m)
                        .into_iter()
                        .filter(|f| *f != "paused_until")
                        .collect();
                    if fields.is_empty() {
                        preview.unchanged += 1;
                    } else {
                        preview.changed.push((m.clone(), fields));
                    }
                }
            }
        }
        Ok(preview)
    }
}
