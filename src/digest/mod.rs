//! The weekly digest (flow 6). `content` builds one reader's digest from a
//! week's data (pure, size-bounded); `schedule` says which week is due in the
//! circle's time zone; this module sends it once per week and per member:
//! each member's digest is claimed in `digests` (unique per week and member)
//! in the same transaction as its outbox row, so a restart, a missed due time
//! or a second daemon never sends it twice.

pub mod content;
pub mod schedule;

use crate::domain::MailLanguage;
use minijinja::Value;

use crate::domain::{EmailAddress, Member};
use crate::relay::templates::RenderedMail;
use crate::relay::{DigestRecipient, Relay, RelayError};
use crate::store::digest::{WeekData, claim_digest};
use crate::store::{Store, StoreError};
use content::{Reader, build};
pub use schedule::{DigestWeek, Schedule, ScheduleError};

/// Gmail clips mail over about 102 KB; stay under 100 KB of HTML.
pub const MAX_HTML_BYTES: usize = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Relay(#[from] RelayError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("{0} is not in the directory")]
    NotAMember(String),
}

impl From<sqlx::Error> for DigestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestRun {
    pub week: String,
    pub sent: usize,
    /// Readers whose digest for this week had already gone out.
    pub already_sent: usize,
}

/// A reader's digest, shrunk (fewer items per list, the rest counted) until
/// its HTML fits under `MAX_HTML_BYTES`.
fn fit(
    relay: &Relay,
    week: &WeekData,
    w: &DigestWeek,
    reader: &Reader<'_>,
    language: MailLanguage,
) -> Result<(Value, RenderedMail), DigestError> {
    let volunteer = |r: i64, m: i64| relay.volunteer_address(r, m);
    let mut last = None;
    for limit in [25, 12, 6, 3, 1] {
        let c = Value::from(minijinja::value::Serde(build(
            week, &w.label, &w.period, reader, limit, &volunteer,
        )));
        let mail = relay.render_digest(language, &c)?;
        if mail.html.len() <= MAX_HTML_BYTES {
            return Ok((c, mail));
        }
        last = Some((c, mail));
    }
    last.ok_or_else(|| DigestError::NotAMember(String::new()))
}

fn is_admin(relay: &Relay, email: &EmailAddress) -> bool {
    relay
        .admin_addresses()
        .iter()
        .any(|a| a.key() == email.key())
}

/// One member's digest for the week due at `now` (what `digest preview` prints).
pub async fn preview(
    relay: &Relay,
    store: &Store,
    schedule: &Schedule,
    email: &EmailAddress,
    now: i64,
) -> Result<RenderedMail, DigestError> {
    let w = schedule.ending_now(now)?;
    let week = store.week_data(w.from, w.due).await?;
    let member = store.member_by_email(email).await?;
    let reader = Reader {
        member_id: member.as_ref().map(|m| m.id),
        email_key: email.key(),
        admin: is_admin(relay, email),
    };
    if member.is_none() && !reader.admin {
        return Err(DigestError::NotAMember(email.to_string()));
    }
    Ok(fit(
        relay,
        &week,
        &w,
        &reader,
        relay.mail_language(member.as_ref()),
    )?
    .1)
}

/// The scheduler's step: sends the digest owed for the most recent due time,
/// if it has not all gone out yet. Safe to call at any time and often.
pub async fn send_due_digests(
    relay: &Relay,
    store: &Store,
    schedule: &Schedule,
    now: i64,
) -> Result<DigestRun, DigestError> {
    let w = schedule.latest_due(now)?;
    // A circle that did not exist yet at the due time owes no digest for it
    // (a new installation would otherwise mail everyone an empty week).
    let circle_began = store.first_member_added_at().await?;
    if circle_began.is_none_or(|t| t > w.due) || store.digest_run_finished(&w.label).await? {
        return Ok(DigestRun {
            week: w.label,
            ..DigestRun::default()
        });
    }
    send_week(relay, store, &w, now).await
}

/// `digest send`: the week ending now, to everyone who has not had this ISO
/// week's digest yet.
pub async fn send_now(
    relay: &Relay,
    store: &Store,
    schedule: &Schedule,
    now: i64,
) -> Result<DigestRun, DigestError> {
    let w = schedule.ending_now(now)?;
    send_week(relay, store, &w, now).await
}

async fn send_week(
    relay: &Relay,
    store: &Store,
    w: &DigestWeek,
    now: i64,
) -> Result<DigestRun, DigestError> {
    store.start_digest_run(&w.label, now).await?;
    let week = store.week_data(w.from, w.due).await?;
    let members: Vec<Member> = store.members().await?;
    let mut run = DigestRun {
        week: w.label.clone(),
        ..DigestRun::default()
    };
    let send = Week {
        relay,
        store,
        week: &week,
        w,
        now,
    };
    for m in members.iter().filter(|m| m.is_active()) {
        run.count(send.to_member(m).await?);
    }
    // Admins outside the directory: the outbox's idempotency key is their claim.
    for admin in relay.admin_addresses() {
        if !members.iter().any(|m| m.email.key() == admin.key()) {
            run.count(send.to_outside_admin(&admin).await?);
        }
    }
    store.finish_digest_run(&w.label, now).await?;
    tracing::info!(week = %w.label, sent = run.sent, already_sent = run.already_sent, "digest run finished");
    Ok(run)
}

impl DigestRun {
    /// Counts one reader: sent now, or had it already.
    fn count(&mut self, sent: bool) {
        if sent {
            self.sent += 1;
        } else {
            self.already_sent += 1;
        }
    }
}

/// One week's digest run: what every reader's digest is made of.
struct Week<'a> {
    relay: &'a Relay,
    store: &'a Store,
    week: &'a WeekData,
    w: &'a DigestWeek,
    now: i64,
}

impl Week<'_> {
    /// Queues a member's digest unless it is already claimed for this week;
    /// the claim and the outbox row commit together. True when queued now.
    async fn to_member(&self, m: &Member) -> Result<bool, DigestError> {
        let mut tx = self.store.begin().await?;
        if !claim_digest(&mut tx, &self.w.label, m.id, self.now).await? {
            return Ok(false);
        }
        let reader = Reader {
            member_id: Some(m.id),
            email_key: m.email.key(),
            admin: is_admin(self.relay, &m.email),
        };
        let language = self.relay.mail_language(Some(m));
        let (content, _) = fit(self.relay, self.week, self.w, &reader, language)?;
        let to = DigestRecipient::member(m, language);
        self.relay
            .queue_digest(&mut tx, to, &self.w.label, &content)
            .await?;
        tx.commit().await?;
        tracing::info!(member_id = m.id, week = %self.w.label, "digest queued");
        Ok(true)
    }

    /// Queues the digest of an admin who is not in the directory; false when
    /// the outbox already had it.
    async fn to_outside_admin(&self, admin: &EmailAddress) -> Result<bool, DigestError> {
        let reader = Reader {
            member_id: None,
            email_key: admin.key(),
            admin: true,
        };
        let language = self.relay.mail_language(None);
        let (content, _) = fit(self.relay, self.week, self.w, &reader, language)?;
        let mut tx = self.store.begin().await?;
        let to = DigestRecipient {
            email: admin.clone(),
            name: String::new(),
            language,
            member_id: None,
        };
        let queued = self
            .relay
            .queue_digest(&mut tx, to, &self.w.label, &content)
            .await?;
        tx.commit().await?;
        Ok(queued)
    }
}
