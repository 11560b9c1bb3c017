//! The scheduler's moderation step: undecided holds expire after
//! `[moderation] expire_days`, and once a day the admins get one summary of
//! what was held, refused or kept as spam (nothing refused in silence).
//! Idempotent: holds are marked in the transaction that queues the mail.

use minijinja::context;

use super::moderation::reason_texts;
use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::domain::{EmailAddress, MailKind};
use crate::store::holds::{
    HoldRow, HoldState, decide_hold, holds_to_expire, holds_to_summarize, mark_summarized,
};

/// What one moderation step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SummaryRun {
    pub expired: usize,
    /// Holds named in a summary mail queued now.
    pub summarized: usize,
}

impl Relay {
    /// Expires due holds and queues the daily summary when there is one, in
    /// the caller's transaction (one for the whole step).
    pub async fn moderation_step(&self, tx: &mut Tx<'_>) -> Result<SummaryRun, RelayError> {
        let now = self.now();
        let expire_before = now - i64::from(self.moderation.expire_days) * 86_400;
        let mut expired = Vec::new();
        for h in holds_to_expire(tx, expire_before).await? {
            if decide_hold(tx, h.id, HoldState::Expired, "expiry", now).await? {
                tracing::info!(hold_id = h.id, "hold expired");
                expired.push(h);
            }
        }
        // Yesterday's and older holds: a summary a day, whatever arrives today.
        let held = holds_to_summarize(tx, self.start_of_today()).await?;
        let held: Vec<HoldRow> = held
            .into_iter()
            .filter(|h| !expired.iter().any(|e| e.id == h.id))
            .collect();
        let run = SummaryRun {
            expired: expired.len(),
            summarized: held.len(),
        };
        if !held.is_empty() || !expired.is_empty() {
            let ids: Vec<i64> = held.iter().chain(&expired).map(|h| h.id).collect();
            self.queue_summary(tx, &held, &expired, &ids).await?;
            mark_summarized(tx, &ids, now).await?;
        }
        Ok(run)
    }

    async fn queue_summary(
        &self,
        tx: &mut Tx<'_>,
        held: &[HoldRow],
        expired: &[HoldRow],
        ids: &[i64],
    ) -> Result<(), RelayError> {
        let (first, last) = (
            ids.iter().min().copied().unwrap_or(0),
            ids.iter().max().copied().unwrap_or(0),
        );
        let vars = context! {
            held => held.iter().map(row_ctx).collect::<Vec<_>>(),
            expired => expired.iter().map(row_ctx).collect::<Vec<_>>(),
        };
        for admin in &self.circle.admins {
            let Ok(email) = EmailAddress::parse(admin) else {
                continue;
            };
            let mark = self
                .key
                .mint(&format!("summary:{first}:{last}:{}", email.key()));
            let key = format!("moderation_summary:{first}-{last}:{}", email.key());
            let to = Recipient::address(email, self.default_language());
            let mid = self.message_id(&format!("summary.{mark}"));
            let mail = Queued::generated(
                MailKind::ModerationSummary,
                key,
                to,
                vars.clone(),
                Thread::start(mid),
            );
            self.queue(tx, mail).await?;
        }
        Ok(())
    }

    /// Midnight of today in the circle's time zone, as UNIX seconds.
    fn start_of_today(&self) -> i64 {
        let now = self.now();
        let tz = jiff::tz::TimeZone::get(&self.circle.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_second(now)
            .ok()
            .map(|ts| ts.to_zoned_datetime(tz.clone()).date())
            .and_then(|d| {
                jiff::civil::DateTime::from_parts(d, jiff::civil::Time::midnight())
                    .to_zoned_datetime(tz)
                    .ok()
            })
            .map_or(now, |z| z.timestamp().as_second())
    }
}

fn row_ctx(h: &HoldRow) -> minijinja::Value {
    let (reason_ja, reason_en) = reason_texts(h.reason);
    context! {
        number => h.id, requester_email => h.requester_email.clone(), subject => h.subject.clone(),
        reason_ja => reason_ja, reason_en => reason_en, state => h.state.as_str(),
    }
}
