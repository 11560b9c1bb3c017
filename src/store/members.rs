//! The member directory's table.

use std::collections::HashMap;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Executor};

use super::{Result, Store, StoreError, Tx, from_row};
use crate::domain::{EmailAddress, Language, Member, MemberStatus, TimeZoneName};

/// What an import changed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Members missing from the file that `--replace` marked as `left`.
    pub marked_left: usize,
}

/// A change of one member's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Pause { until: Option<String> },
    Resume,
    Leave,
}

/// A `members` row as stored (`select_members!`'s columns).
#[derive(sqlx::FromRow)]
struct MemberRecord {
    id: i64,
    email: String,
    name: String,
    skills: String,
    bio: String,
    languages: String,
    region: String,
    status: String,
    paused_until: Option<String>,
    timezone: Option<String>,
}

pub(super) fn member_from_row(row: &AnyRow) -> Result<Member> {
    let r: MemberRecord = from_row("members", row)?;
    let email = EmailAddress::parse(&r.email)
        .map_err(|e| StoreError::Corrupt(format!("member address: {e}")))?;
    let status = r
        .status
        .parse::<MemberStatus>()
        .map_err(StoreError::Corrupt)?;
    Ok(Member {
        id: r.id,
        email,
        name: r.name,
        skills: split_stored(&r.skills),
        bio: r.bio,
        languages: split_stored(&r.languages)
            .iter()
            .filter_map(|l| Language::parse(l).ok())
            .collect(),
        region: r.region,
        status,
        paused_until: r.paused_until,
        timezone: stored_timezone(r.timezone),
    })
}

/// The member with this (lowercased) address, from the pool or inside a
/// transaction (`&mut **tx`).
pub async fn member_by_key<'e>(
    db: impl Executor<'e, Database = Any>,
    key: &str,
) -> Result<Option<Member>> {
    let row = sqlx::query(select_members!("WHERE email_key = $1"))
        .bind(key.to_string())
        .fetch_optional(db)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

/// The member with this id, from the pool or inside a transaction.
pub async fn member_by_id<'e>(
    db: impl Executor<'e, Database = Any>,
    id: i64,
) -> Result<Option<Member>> {
    let row = sqlx::query(select_members!("WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(member_from_row).transpose()
}

/// Binds what the CSV holds of a member, in the order `email, name, skills,
/// bio, languages, region, status, timezone` (the insert and the import's update).
fn bind_member<'q>(q: Query<'q, Any, AnyArguments>, m: &'q Member) -> Query<'q, Any, AnyArguments> {
    bind_profile(q.bind(m.email.as_str()), m)
}

/// Binds a member's profile without the address, in the order `name, skills,
/// bio, languages, region, status, timezone`.
pub(super) fn bind_profile<'q>(
    q: Query<'q, Any, AnyArguments>,
    m: &'q Member,
) -> Query<'q, Any, AnyArguments> {
    q.bind(&m.name)
        .bind(m.skills.join(";"))
        .bind(&m.bio)
        .bind(join_languages(&m.languages))
        .bind(&m.region)
        .bind(m.status.as_str())
        .bind(m.timezone_name().map(str::to_string))
}

/// A stored zone the time zone database no longer knows reads as none (the
/// circle's), so one odd row never stops mail.
fn stored_timezone(name: Option<String>) -> Option<TimeZoneName> {
    let name = name.filter(|n| !n.is_empty())?;
    match TimeZoneName::parse(&name) {
        Ok(tz) => Some(tz),
        Err(e) => {
            tracing::warn!(error = %e, "a member's stored time zone is unknown; the circle's is used");
            None
        }
    }
}

fn split_stored(s: &str) -> Vec<String> {
    s.split(';')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

pub(super) fn join_languages(langs: &[Language]) -> String {
    langs
        .iter()
        .map(Language::as_str)
        .collect::<Vec<_>>()
        .join(";")
}

/// True when the stored member differs from the incoming one in anything the CSV holds.
fn differs(a: &Member, b: &Member) -> bool {
    a.email.as_str() != b.email.as_str()
        || a.name != b.name
        || a.skills != b.skills
        || a.bio != b.bio
        || a.languages != b.languages
        || a.region != b.region
        || a.status != b.status
        || a.timezone != b.timezone
}

impl Store {
    /// Every member, in the order they were added.
    pub async fn members(&self) -> Result<Vec<Member>> {
        let rows = sqlx::query(select_members!("ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(member_from_row).collect()
    }

    pub async fn member_by_email(&self, email: &EmailAddress) -> Result<Option<Member>> {
        member_by_key(&self.pool, email.key()).await
    }

    pub async fn member_by_id(&self, id: i64) -> Result<Option<Member>> {
        member_by_id(&self.pool, id).await
    }

    /// Adds one member; an existing address is a conflict.
    pub async fn add_member(&self, member: &Member) -> Result<i64> {
        if self.member_by_email(&member.email).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "{} is already in the directory",
                member.email
            )));
        }
        let mut tx = self.begin().await?;
        let id = insert_member(&mut tx, member, self.now()).await?;
        tx.commit().await?;
        tracing::info!(member_id = id, "member added");
        Ok(id)
    }

    /// Every member, by address key (an import's view of who is there).
    pub(super) async fn members_by_key(&self) -> Result<HashMap<String, Member>> {
        Ok(self
            .members()
            .await?
            .into_iter()
            .map(|m| (m.email.key().to_string(), m))
            .collect())
    }

    /// Adds or updates every member of `incoming` in one transaction. With
    /// `replace`, members not in `incoming` are marked `left` (never deleted).
    pub async fn import_members(
        &self,
        incoming: &[Member],
        replace: bool,
    ) -> Result<ImportSummary> {
        let existing = self.members_by_key().await?;
        let now = self.now();
        let mut summary = ImportSummary::default();
        let mut tx = self.begin().await?;
        for m in incoming {
            match existing.get(m.email.key()) {
                None => {
                    insert_member(&mut tx, m, now).await?;
                    summary.added += 1;
                }
                Some(old) if differs(old, m) => {
                    update_member(&mut tx, old.id, m, now).await?;
                    summary.updated += 1;
                }
                Some(_) => summary.unchanged += 1,
            }
        }
        if replace {
            summary.marked_left = mark_absent_left(&mut tx, &existing, incoming, now).await?;
        }
        tx.commit().await?;
        tracing::info!(
            added = summary.added,
            updated = summary.updated,
            unchanged = summary.unchanged,
            marked_left = summary.marked_left,
            "member directory imported"
        );
        Ok(summary)
    }

    /// Pauses, resumes or retires one member.
    pub async fn change_member(
        &self,
        email: &EmailAddress,
        change: MemberChange,
    ) -> Result<Member> {
        let (status, until) = match &change {
            MemberChange::Pause { until } => (MemberStatus::Paused, until.clone()),
            MemberChange::Resume => (MemberStatus::Active, None),
            MemberChange::Leave => (MemberStatus::Left, None),
        };
        let not_found = || StoreError::NotFound(format!("{email} is not in the directory"));
        let mut tx = self.begin().await?;
        let id = member_by_key(&mut *tx, email.key())
            .await?
            .ok_or_else(not_found)?
            .id;
        super::circle::set_member_status(&mut tx, id, status, until.as_deref(), self.now()).await?;
        tx.commit().await?;
        let member = self.member_by_id(id).await?.ok_or_else(not_found)?;
        tracing::info!(member_id = member.id, status = %member.status, "member status changed");
        Ok(member)
    }

    /// Sets (or with `None` clears, back to the circle's) the time zone a
    /// member reads times in.
    pub async fn set_member_timezone(
        &self,
        email: &EmailAddress,
        timezone: Option<&TimeZoneName>,
    ) -> Result<Member> {
        let not_found = || StoreError::NotFound(format!("{email} is not in the directory"));
        let done =
            sqlx::query("UPDATE members SET timezone = $1, updated_at = $2 WHERE email_key = $3")
                .bind(timezone.map(|t| t.as_str().to_string()))
                .bind(self.now())
                .bind(email.key())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(not_found());
        }
        let member = self.member_by_email(email).await?.ok_or_else(not_found)?;
        tracing::info!(
            member_id = member.id,
            timezone = member.timezone_name().unwrap_or("circle's"),
            "member time zone set"
        );
        Ok(member)
    }

    /// Changes whenever a member is added or changed: (count, a checksum of
    /// who is active, the latest change), for caches of the directory.
    pub async fn members_version(&self) -> Result<(i64, i64)> {
        Ok(sqlx::query_as(
            "SELECT COUNT(*) AS n, \
             CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN id ELSE 0 END), 0) * 1000003 \
               + COALESCE(MAX(updated_at), 0) AS BIGINT) AS v FROM members",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// When the first member was added: the circle's beginning.
    pub async fn first_member_added_at(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MIN(created_at) AS t FROM members")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Members whose pause ended on or before `today` (YYYY-MM-DD) become active.
    pub async fn end_pauses(&self, today: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE members SET status = 'active', paused_until = NULL, updated_at = $1 \
             WHERE status = 'paused' AND paused_until IS NOT NULL AND paused_until <= $2",
        )
        .bind(self.now())
        .bind(today)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

pub(super) async fn insert_member(tx: &mut Tx<'_>, m: &Member, now: i64) -> Result<i64> {
    let q = sqlx::query(
        "INSERT INTO members (email, name, skills, bio, languages, region, status, timezone, \
         email_key, paused_until, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    );
    let row = bind_member(q, m)
        .bind(m.email.key())
        .bind(m.paused_until.clone())
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
    Ok(from_row::<(i64,)>("members", &row)?.0)
}

/// Writes `m` over the member row `id` (an import's changed row).
async fn update_member(tx: &mut Tx<'_>, id: i64, m: &Member, now: i64) -> Result<()> {
    let q = sqlx::query(
        "UPDATE members SET email = $1, name = $2, skills = $3, bio = $4, \
         languages = $5, region = $6, status = $7, \
         paused_until = CASE WHEN $7 = 'paused' THEN paused_until ELSE NULL END, \
         timezone = $8, updated_at = $9 WHERE id = $10",
    );
    bind_member(q, m)
        .bind(now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks `left` every existing member an import with `replace` no longer
/// lists; returns how many.
async fn mark_absent_left(
    tx: &mut Tx<'_>,
    existing: &HashMap<String, Member>,
    incoming: &[Member],
    now: i64,
) -> Result<usize> {
    let keep: std::collections::HashSet<&str> = incoming.iter().map(|m| m.email.key()).collect();
    let mut marked = 0;
    for old in existing.values() {
        if !keep.contains(old.email.key()) && old.status != MemberStatus::Left {
            sqlx::query(
                "UPDATE members SET status = 'left', paused_until = NULL, updated_at = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(old.id)
            .execute(&mut **tx)
            .await?;
            marked += 1;
        }
    }
    Ok(marked)
}
