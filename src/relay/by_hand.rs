//! An admin forwards a request to a member they chose (`requests forward N
//! EMAIL`, the console's "Forward to…"): when nobody fits, the admins' alert
//! names who came close, and a person decides. The member gets an ordinary
//! forward (the same mail, reply token and tracking as a matched one,
//! counted in their weekly cap), so they answer the relay and the requester
//! is introduced when they accept. A request closed as unmatched or
//! exhausted is open again; the admin's action is recorded with it.

use super::intake::Wave;
use super::{Relay, RelayError, Tx};
use crate::domain::{EmailAddress, Member, MemberStatus, RequestStatus};
use crate::matching::{Candidate, Matcher};
use crate::store::admin::{AdminAction, AdminChange, record_action};
use crate::store::requests::{
    ForwardRow, RequestRow, forwards_of, forwards_this_week, reopen_request, request_for_update,
};

/// The reason stored with a forward an admin chose (the console words it).
pub const BY_HAND_REASON: &str = "chosen by an admin";

/// Who an admin forwards to, and who does it (for the record).
pub struct ByHand<'a> {
    pub request_id: i64,
    pub member: &'a EmailAddress,
    /// `web:ADDRESS` from the console, `user@host` from the command line.
    pub actor: &'a str,
}

/// Whether an admin chose `forward`'s member (the requester's introduction
/// says so: they may have been told before that nobody fitted).
pub(super) fn chosen_by_admin(forward: &ForwardRow) -> bool {
    forward.reasons.iter().any(|r| r == BY_HAND_REASON)
}

/// Why a forward by hand was not made; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("there is no request number {0}")]
    NoSuchRequest(i64),
    #[error("request {id} is {} already; only an open, unmatched or exhausted request can be forwarded", status.as_str())]
    RequestOver { id: i64, status: RequestStatus },
    #[error("{0} is not in the member directory (add them first: circle-relay members add)")]
    NotAMember(String),
    #[error("{0} sent this request; it cannot be forwarded to them")]
    Requester(String),
    #[error("{email} is {} and gets no forwards (circle-relay members resume {email})", status.as_str())]
    NotActive { email: String, status: MemberStatus },
    #[error("{0} already has this request (nothing sent again)")]
    AlreadyForwarded(String),
    #[error(
        "{email} has had {count} forwards in the last 7 days, the weekly limit ([matching] max_forwards_per_member_per_week = {cap}); choose someone else or raise the limit"
    )]
    OverCap { email: String, count: u32, cap: u32 },
}

/// What a forward by hand did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded {
    pub member_id: i64,
    pub name: String,
    pub email: String,
    /// The request had been closed as unmatched or exhausted and is open again.
    pub reopened: bool,
}

impl Relay {
    /// `[matching] max_forwards_per_member_per_week`: forwards by hand count too.
    pub fn weekly_cap(&self) -> u32 {
        self.matching.max_forwards_per_member_per_week
    }

    /// Forwards request `by.request_id` to `by.member`, once: in the caller's
    /// transaction, with the admin's action recorded. `Ok(Err(_))` says why
    /// it was not done.
    pub async fn forward_by_hand(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        by: &ByHand<'_>,
    ) -> Result<Result<Forwarded, Refusal>, RelayError> {
        let Some(request) = request_for_update(tx, by.request_id).await? else {
            return Ok(Err(Refusal::NoSuchRequest(by.request_id)));
        };
        let member = match self.may_forward(tx, matcher, &request, by).await? {
            Ok(m) => m,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let reopened = request.status != RequestStatus::Open;
        let wave = request.wave.max(1);
        let due = (request.wave_due_at)
            .filter(|_| !reopened)
            .unwrap_or_else(|| self.wave_due(self.now()));
        if reopened {
            reopen_request(tx, request.id, wave, due, self.now()).await?;
        }
        let open = RequestRow {
            status: RequestStatus::Open,
            ..request.clone()
        };
        let request_ctx = Self::request_vars(&open);
        let of = Wave {
            request_id: request.id,
            wave,
            request_ctx: &request_ctx,
            matcher,
            due,
        };
        let chosen = Candidate {
            member_id: member.id,
            email: member.email.as_str().to_string(),
            name: member.name.clone(),
            score: 0.0,
            reasons: vec![BY_HAND_REASON.to_string()],
            evidence: Vec::new(),
        };
        if !self.forward(tx, &of, 99, &chosen).await? {
            // Another press of the same button got there first.
            return Ok(Err(Refusal::AlreadyForwarded(chosen.email)));
        }
        self.record_by_hand(tx, by, member, reopened).await?;
        Ok(Ok(Forwarded {
            member_id: member.id,
            name: member.name.clone(),
            email: chosen.email,
            reopened,
        }))
    }

    /// The admin's action, with the request it was about.
    async fn record_by_hand(
        &self,
        tx: &mut Tx<'_>,
        by: &ByHand<'_>,
        member: &Member,
        reopened: bool,
    ) -> Result<(), RelayError> {
        let change = AdminChange {
            action: AdminAction::RequestForward,
            actor: by.actor,
            detail: member.email.as_str(),
            now: self.now(),
        };
        record_action(tx, &change, None, None, Some(by.request_id)).await?;
        tracing::info!(
            request_id = by.request_id,
            member_id = member.id,
            reopened,
            "forwarded by hand"
        );
        Ok(())
    }

    /// The member a request may be forwarded to by hand, or why not.
    async fn may_forward<'m>(
        &self,
        tx: &mut Tx<'_>,
        matcher: &'m Matcher,
        request: &RequestRow,
        by: &ByHand<'_>,
    ) -> Result<Result<&'m Member, Refusal>, RelayError> {
        use RequestStatus as S;
        if matches!(request.status, S::Filled | S::Closed) {
            return Ok(Err(Refusal::RequestOver {
                id: request.id,
                status: request.status,
            }));
        }
        let email = by.member.as_str().to_string();
        let Some(member) = matcher
            .members()
            .iter()
            .find(|m| m.email.key() == by.member.key())
        else {
            return Ok(Err(Refusal::NotAMember(email)));
        };
        let email = member.email.as_str().to_string();
        let requester = EmailAddress::parse(&request.requester_email).ok();
        if requester.is_some_and(|r| r.key() == member.email.key()) {
            return Ok(Err(Refusal::Requester(email)));
        }
        if !member.is_active() {
            let status = member.status;
            return Ok(Err(Refusal::NotActive { email, status }));
        }
        let asked = forwards_of(tx, request.id).await?;
        if asked.iter().any(|f| f.member_id == member.id) {
            return Ok(Err(Refusal::AlreadyForwarded(email)));
        }
        let cap = self.matching.max_forwards_per_member_per_week;
        let recent = forwards_this_week(tx, self.now()).await?;
        let count = recent.get(&member.id).copied().unwrap_or(0);
        if count >= cap {
            return Ok(Err(Refusal::OverCap { email, count, cap }));
        }
        Ok(Ok(member))
    }
}
