//! A member changing their own entry from their page (issue 17): each change
//! and its line in `admin_actions` (actor `member:EMAIL`) in one transaction.

use super::admin::{AdminChange, record_action};
use super::{Result, Store, StoreError};
use crate::domain::{Language, Member, MemberStatus, TimeZoneName};

/// What a member may change about themselves (name and address stay the
/// organiser's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileEdit {
    pub skills: Vec<String>,
    pub bio: String,
    pub languages: Vec<Language>,
    pub region: String,
    /// `None`: the circle's zone.
    pub timezone: Option<TimeZoneName>,
}

impl Store {
    /// Writes `edit` to member `id` and records it.
    pub async fn member_edit_own(
        &self,
        id: i64,
        edit: &ProfileEdit,
        change: &AdminChange<'_>,
    ) -> Result<Member> {
        let mut tx = self.begin().await?;
        let languages: Vec<&str> = edit.languages.iter().map(Language::as_str).collect();
        sqlx::query(
            "UPDATE members SET skills = $1, bio = $2, languages = $3, region = $4, timezone = $5, \
             updated_at = $6 WHERE id = $7",
        )
        .bind(edit.skills.join(";"))
        .bind(&edit.bio)
        .bind(languages.join(";"))
        .bind(&edit.region)
        .bind(edit.timezone.as_ref().map(|t| t.as_str().to_string()))
        .bind(change.now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record_action(&mut tx, change, None, None, None).await?;
        tx.commit().await?;
        tracing::info!(member_id = id, "member changed their profile");
        self.member_by_id(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("member {id}")))
    }

    /// Pauses (until a day), resumes or retires member `id` and records it.
    pub async fn member_status_own(
        &self,
        id: i64,
        status: MemberStatus,
        until: Option<&str>,
        change: &AdminChange<'_>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        super::circle::set_member_status(&mut tx, id, status, until, change.now).await?;
        record_action(&mut tx, change, None, None, None).await?;
        tx.commit().await?;
        tracing::info!(
            member_id = id,
            status = status.as_str(),
            "member changed their status"
        );
        Ok(())
    }
}
