//! Flow 2, an accept: the member and the requester are introduced, and once
//! enough members accepted the request is filled and the others told.

use minijinja::context;

use super::replies::{Answer, ReplyOutcome};
use super::{Queued, Relay, RelayError, Thread, Tx};
use crate::domain::{ForwardState, MailKind, RequestStatus};
use crate::matching::Matcher;
use crate::store::requests::{
    ForwardRow, RequestRow, forwards_of, insert_introduction, set_forward_state, set_request_state,
};

impl Relay {
    pub(super) async fn accept(
        &self,
        tx: &mut Tx<'_>,
        answer: &Answer<'_>,
    ) -> Result<ReplyOutcome, RelayError> {
        let (request, f) = (answer.request, answer.f);
        if request.status != RequestStatus::Open || !f.state.may_accept() {
            if f.state == ForwardState::Accepted {
                return Ok(ReplyOutcome::Recorded);
            }
            let key = format!("already_filled:{}:{}", f.id, self.msg_key(answer.reply));
            self.notify_member(
                tx,
                (key, MailKind::AlreadyFilled),
                request,
                answer.member,
                f,
                context! {},
            )
            .await?;
            return Ok(ReplyOutcome::AlreadyFilled);
        }
        let now = self.now();
        set_forward_state(tx, f.id, ForwardState::Accepted, now).await?;
        let followup_due = now + i64::from(self.relay.followup_after_days) * 86_400;
        insert_introduction(tx, f, now, followup_due).await?;
        tracing::info!(
            request_id = request.id,
            forward_id = f.id,
            member_id = answer.member.id,
            "accepted; introducing"
        );
        self.introduce(tx, answer).await?;
        let filled = self.fill_if_enough(tx, answer.matcher, request, f).await?;
        Ok(ReplyOutcome::Accepted { filled })
    }

    /// Introduces the member and the requester: each gets the other's
    /// address as Reply-To, so Reply reaches the other person directly.
    async fn introduce(&self, tx: &mut Tx<'_>, answer: &Answer<'_>) -> Result<(), RelayError> {
        let Answer {
            matcher,
            request,
            f,
            member,
            reply,
        } = *answer;
        let member_vars = context! { name => member.name.clone(), email => member.email.as_str() };
        // The accepter's own words go to the requester.
        let vars = context! {
            request => Self::request_vars(request), member => member_vars, token => f.token.clone(),
            accept_text => super::intent::own_words(&self.scrub(&reply.new_text, &[])), reply_direct => true,
            by_organiser => super::by_hand::chosen_by_admin(f),
        };
        let requester = self.requester(request, matcher)?;
        let requester_email = requester.email.clone();
        let ack = request.token.as_deref().map(|t| self.ack_id(t));
        let mid = self.message_id(&format!("{}.intro", f.requester_token));
        let intro = Queued::generated(
            MailKind::IntroRequester,
            format!("intro_requester:{}", f.id),
            requester,
            vars.clone(),
            Thread::answering(mid, ack).after(request.message_id.clone()),
        )
        .about(Some(request.id), Some(member.id))
        .reply_to(member.email.clone());
        self.queue(tx, intro).await?;
        let key = format!("intro_member:{}", f.id);
        let mut intro = self.to_member(key, MailKind::IntroMember, member, f, vars, request.id);
        intro = intro.reply_to(requester_email);
        intro.thread.message_id = self.message_id(&format!("{}.intro", f.token));
        self.queue(tx, intro).await?;
        Ok(())
    }

    /// Once enough members accepted, the request is filled and the members
    /// still pending are told so. Returns whether it is filled.
    async fn fill_if_enough(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
        f: &ForwardRow,
    ) -> Result<bool, RelayError> {
        let now = self.now();
        let forwards = forwards_of(tx, request.id).await?;
        let accepted = forwards
            .iter()
            .filter(|x| x.state == ForwardState::Accepted || x.id == f.id)
            .count();
        let filled = accepted >= self.relay.accepts_wanted as usize;
        if filled {
            set_request_state(
                tx,
                request.id,
                RequestStatus::Filled,
                request.wave,
                None,
                now,
            )
            .await?;
            for other in forwards
                .iter()
                .filter(|x| x.id != f.id && x.state == ForwardState::Pending)
            {
                set_forward_state(tx, other.id, ForwardState::Filled, now).await?;
                let Ok(m) = self.member_of(matcher, other.member_id) else {
                    continue;
                };
                let key = (format!("filled:{}", other.id), MailKind::Filled);
                self.notify_member(tx, key, request, m, other, context! {})
                    .await?;
            }
        }
        Ok(filled)
    }
}
