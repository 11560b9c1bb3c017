//! Flow 2, the other answers to a forward: a decline (which may start the
//! next wave) and questions relayed both ways without either address.

use minijinja::context;

use super::replies::{Answer, IncomingReply, ReplyOutcome};
use super::{Queued, Relay, RelayError, Thread, Tx};
use crate::domain::{ForwardState, MailKind, Member, RequestStatus};
use crate::matching::Matcher;
use crate::store::requests::{
    ForwardRow, RequestRow, forwards_of, forwards_this_week, set_forward_state,
};

impl Relay {
    pub(super) async fn decline(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
        f: &ForwardRow,
    ) -> Result<ReplyOutcome, RelayError> {
        if f.state == ForwardState::Pending {
            set_forward_state(tx, f.id, ForwardState::Declined, self.now()).await?;
        }
        let forwards = forwards_of(tx, request.id).await?;
        let wave_open = forwards
            .iter()
            .any(|x| x.wave == request.wave && x.id != f.id && x.state == ForwardState::Pending);
        if request.status == RequestStatus::Open && !wave_open {
            let recent = forwards_this_week(tx, self.now()).await?;
            self.next_wave(tx, matcher, recent, request).await?;
            return Ok(ReplyOutcome::Declined { next_wave: true });
        }
        Ok(ReplyOutcome::Declined { next_wave: false })
    }

    pub(super) async fn relay_question(
        &self,
        tx: &mut Tx<'_>,
        answer: &Answer<'_>,
    ) -> Result<ReplyOutcome, RelayError> {
        let Answer {
            matcher,
            request,
            f,
            member,
            reply,
        } = *answer;
        let key = format!("question:{}:{}", f.id, self.msg_key(reply));
        let vars = context! {
            request => Self::request_vars(request),
            member => context! { name => member.name.clone() },
            text => super::intent::own_words(&self.scrub(&reply.new_text, &[member.email.as_str()])),
        };
        let requester = self.requester(request, matcher)?;
        let mid = self.message_id(&format!("{}.{}", f.requester_token, self.key.mint(&key)));
        let question =
            Queued::generated(MailKind::Question, key, requester, vars, Thread::start(mid))
                .reply_token(f.requester_token.clone())
                .about(Some(request.id), Some(member.id));
        self.queue(tx, question).await?;
        Ok(ReplyOutcome::QuestionRelayed)
    }

    pub(super) async fn relay_answer(
        &self,
        tx: &mut Tx<'_>,
        request: &RequestRow,
        f: &ForwardRow,
        member: &Member,
        reply: &IncomingReply,
    ) -> Result<ReplyOutcome, RelayError> {
        let vars = context! {
            request => Self::request_vars(request),
            member => context! { name => member.name.clone() },
            token => f.token.clone(),
            text => self.scrub(&reply.new_text, &[request.requester_email.as_str()]),
            // After the introduction, no answer buttons: they would ask again.
            introduced => f.state == ForwardState::Accepted,
        };
        let key = format!("answer:{}:{}", f.id, self.msg_key(reply));
        self.queue(
            tx,
            self.to_member(key, MailKind::Answer, member, f, vars, request.id),
        )
        .await?;
        Ok(ReplyOutcome::AnswerRelayed)
    }
}
