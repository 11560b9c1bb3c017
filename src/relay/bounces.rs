//! Bounces: a delivery failure for one of our mails is tied to the member
//! whose address failed. Only hard failures (the address does not work)
//! count, judged per recipient; a policy or spam rejection says nothing about
//! the address and a soft or unknown one passes. After `HARD_BOUNCE_LIMIT` hard bounces the member is
//! paused, so the circle stops mailing a dead address, and the admins are told.

use crate::domain::MailKind;
use minijinja::context;

use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::domain::{Member, MemberStatus};
use crate::store::circle::{NewBounce, add_hard_bounce, insert_bounce, set_member_status};
use crate::store::member_by_key;
use crate::understand::{BounceReport, FailedRecipient, Severity};

/// Hard bounces after which a member is paused.
pub const HARD_BOUNCE_LIMIT: i64 = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceOutcome {
    /// Failed recipients that are members.
    pub members: Vec<i64>,
    /// Members whose hard-bounce count went up.
    pub counted: Vec<i64>,
    /// Members paused by this bounce.
    pub paused: Vec<i64>,
}

impl Relay {
    pub async fn take_bounce(
        &self,
        tx: &mut Tx<'_>,
        report: &BounceReport,
        inbound_id: Option<i64>,
    ) -> Result<BounceOutcome, RelayError> {
        let mut outcome = BounceOutcome::default();
        // Each recipient with its own severity: a notice may hold a bad
        // address beside a spam rejection, and only the first counts.
        for failure in report.failures() {
            let member = member_by_key(&mut **tx, &failure.address.to_ascii_lowercase()).await?;
            let b = NewBounce {
                inbound_id,
                member_id: member.as_ref().map(|m| m.id),
                recipient: &failure.address,
                severity: stored_severity(failure.severity),
                status_code: failure.status.as_deref(),
                diagnostic: failure.diagnostic.as_deref(),
            };
            insert_bounce(tx, &b, self.now()).await?;
            let Some(member) = member else {
                continue;
            };
            outcome.members.push(member.id);
            if failure.severity == Severity::Hard {
                self.count_hard_bounce(tx, &member, &failure, &mut outcome)
                    .await?;
            }
        }
        Ok(outcome)
    }

    /// One more hard bounce for `member`; at the limit an active member is
    /// paused and the admins are told.
    async fn count_hard_bounce(
        &self,
        tx: &mut Tx<'_>,
        member: &Member,
        failure: &FailedRecipient,
        outcome: &mut BounceOutcome,
    ) -> Result<(), RelayError> {
        let now = self.now();
        let count = add_hard_bounce(tx, member.id, now).await?;
        outcome.counted.push(member.id);
        tracing::info!(
            member_id = member.id,
            hard_bounces = count,
            "hard bounce counted"
        );
        if count < HARD_BOUNCE_LIMIT || member.status != MemberStatus::Active {
            return Ok(());
        }
        set_member_status(tx, member.id, MemberStatus::Paused, None, now).await?;
        outcome.paused.push(member.id);
        tracing::warn!(
            member_id = member.id,
            "member paused after repeated hard bounces"
        );
        for admin in self.admin_addresses() {
            let key = format!("admin_bounce:{}:{}", member.id, admin.key());
            let vars = context! {
                member => context! { name => member.name.clone(), email => member.email.as_str() },
                count => count,
                status => failure.status.clone(),
                diagnostic => failure.diagnostic.clone(),
            };
            let mid = self.message_id(&format!(
                "admin.bounce.{}",
                self.key.mint(&format!("{key}:{now}"))
            ));
            let to = Recipient::address(admin, self.default_language());
            let key = format!("{key}:{count}");
            let mail = Queued::generated(MailKind::AdminBounce, key, to, vars, Thread::start(mid))
                .about(None, Some(member.id));
            self.queue(tx, mail).await?;
        }
        Ok(())
    }
}

/// The bounces table knows hard, soft, policy (and delay); an unknown
/// severity is kept as soft: it never counts against the member.
fn stored_severity(s: Severity) -> &'static str {
    match s {
        Severity::Hard => "hard",
        Severity::Policy => "policy",
        Severity::Soft | Severity::Unknown => "soft",
    }
}
