//! Flow 3: when a wave's members all declined or its time ran out, the next
//! best members are asked; after the last wave the requester and the admins
//! are told that nobody was available.

use super::AlertReason;
use crate::domain::{ForwardState, MailKind, RequestStatus};
use std::collections::{HashMap, HashSet};

use minijinja::context;

use super::intake::Wave;
use super::{Queued, Relay, RelayError, Tx};
use crate::domain::EmailAddress;
use crate::matching::{MatchContext, Matcher};
use crate::store::Store;
use crate::store::requests::{
    RequestRow, forwards_of, forwards_this_week, request_for_update, set_forward_state,
    set_request_state,
};

impl Relay {
    /// Starts the next wave of `request`, or ends it as exhausted.
    pub(super) async fn next_wave(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        recent_forwards: HashMap<i64, u32>,
        request: &RequestRow,
    ) -> Result<(), RelayError> {
        let now = self.now();
        let asked: HashSet<i64> = forwards_of(tx, request.id)
            .await?
            .iter()
            .map(|f| f.member_id)
            .collect();
        let wave = request.wave + 1;
        let due = self.wave_due(now);
        let mut forwarded = 0;
        if wave <= i64::from(self.relay.waves) {
            let requester = EmailAddress::parse(&request.requester_email).ok();
            let ctx = MatchContext {
                exclude_emails: requester.into_iter().collect(),
                exclude_members: asked.clone(),
                recent_forwards,
                weekly_cap: Some(self.matching.max_forwards_per_member_per_week),
            };
            let shortlist = matcher.rank(
                &request.subject,
                &request.body,
                &ctx,
                self.matching.shortlist as usize,
            );
            let request_ctx = Self::request_vars(request);
            let of = Wave {
                request_id: request.id,
                wave,
                request_ctx: &request_ctx,
                matcher,
                due,
            };
            for (rank, c) in shortlist.iter().enumerate() {
                if self.forward(tx, &of, rank, c).await? {
                    forwarded += 1;
                }
            }
        }
        if forwarded > 0 {
            set_request_state(tx, request.id, RequestStatus::Open, wave, Some(due), now).await?;
            tracing::info!(
                request_id = request.id,
                wave,
                forwards = forwarded,
                "next wave"
            );
            return Ok(());
        }
        self.exhausted(tx, matcher, request, asked.len()).await
    }

    /// Every wave ran out: the request ends, and the requester and the
    /// admins are told that nobody was available.
    async fn exhausted(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
        asked: usize,
    ) -> Result<(), RelayError> {
        let (id, wave, now) = (request.id, request.wave, self.now());
        set_request_state(tx, id, RequestStatus::Exhausted, wave, None, now).await?;
        let mut exhausted = request.clone();
        exhausted.status = RequestStatus::Exhausted;
        let request_ctx = Self::request_vars(&exhausted);
        let vars = context! { request => request_ctx.clone(), asked => asked };
        let mail = Queued::generated(
            MailKind::NobodyAvailable,
            format!("nobody_available:{}", request.id),
            self.requester(request, matcher)?,
            vars,
            self.requester_thread(request, "nobody"),
        )
        .about(Some(request.id), None);
        self.queue(tx, mail).await?;
        self.alert_admins(tx, request.id, &request_ctx, AlertReason::NobodyAvailable)
            .await?;
        tracing::info!(request_id = request.id, "nobody available");
        Ok(())
    }

    /// Moves every request whose wave timed out to its next wave. Each
    /// request is its own transaction (a replica sees it moved at once, and
    /// one failure holds back no other), which is why this takes the store,
    /// not a [`Tx`]; returns how many moved.
    pub async fn expire_waves(
        &self,
        store: &Store,
        matcher: &Matcher,
    ) -> Result<usize, RelayError> {
        let now = self.now();
        let mut moved = 0;
        for id in store.requests_due(now).await? {
            let mut tx = store.begin().await?;
            // Re-read under the lock: another daemon may have moved it already.
            let Some(request) = request_for_update(&mut tx, id).await? else {
                continue;
            };
            if request.status != RequestStatus::Open || request.wave_due_at.is_none_or(|d| d > now)
            {
                continue;
            }
            for f in forwards_of(&mut tx, id)
                .await?
                .iter()
                .filter(|f| f.state == ForwardState::Pending)
            {
                set_forward_state(&mut tx, f.id, ForwardState::Expired, now).await?;
            }
            let recent = forwards_this_week(&mut tx, now).await?;
            self.next_wave(&mut tx, matcher, recent, &request).await?;
            tx.commit().await?;
            moved += 1;
        }
        Ok(moved)
    }
}
