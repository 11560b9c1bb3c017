//! Flows 2 and 4: a reply to one of the relay's threads, checked and handed
//! to its flow (accept.rs, questions.rs for declines and questions both ways,
//! close.rs), with what those flows share. A reply is trusted only when its
//! token verifies and it comes from the address its thread belongs to.

use crate::domain::{MailKind, MailLanguage, ReplyDirection, RequestStatus};
use minijinja::{Value, context};

use super::intent::{Intent, read_intent};
use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::domain::{EmailAddress, Member};
use crate::matching::Matcher;
use crate::store::requests::{
    ForwardRow, NewReply, RequestRow, TokenOwner, find_token, insert_reply, request_for_update,
};

/// How long after its request closed a token still counts: late thanks and
/// "already filled" answers keep working for a while, then the thread is dead.
pub const TOKEN_LIFETIME_AFTER_CLOSE: i64 = 8 * 7 * 86_400;

#[derive(Debug, Clone)]
pub struct IncomingReply {
    pub inbound_id: Option<i64>,
    pub from: EmailAddress,
    pub token: String,
    /// Quotes and signature already removed.
    pub new_text: String,
    pub message_id: Option<String>,
}

/// A member's answer to their forward, with what its flows read.
#[derive(Clone, Copy)]
pub(super) struct Answer<'a> {
    pub matcher: &'a Matcher,
    pub request: &'a RequestRow,
    pub f: &'a ForwardRow,
    pub member: &'a Member,
    pub reply: &'a IncomingReply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// No thread has this token, or its MAC does not verify: nothing is sent.
    Untrusted,
    /// Someone other than the thread's owner answered: they are told so.
    NotYours,
    Accepted {
        filled: bool,
    },
    AlreadyFilled,
    Declined {
        next_wave: bool,
    },
    QuestionRelayed,
    AnswerRelayed,
    Closed,
    Recorded,
}

impl Relay {
    pub async fn take_reply(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        reply: &IncomingReply,
    ) -> Result<ReplyOutcome, RelayError> {
        let Some((owner, request)) = self.trusted_thread(tx, reply).await? else {
            return Ok(ReplyOutcome::Untrusted);
        };
        let intent = read_intent(&reply.new_text);
        match owner {
            TokenOwner::Forward(f) => {
                self.member_answered(tx, matcher, &request, &f, reply, intent)
                    .await
            }
            TokenOwner::AskerOf(f) => {
                if request.requester_email.to_ascii_lowercase() != reply.from.key() {
                    return self.not_yours(tx, reply).await;
                }
                let direction = ReplyDirection::RequesterToMember;
                self.record(tx, reply, &request, Some(&f), direction, intent)
                    .await?;
                let member = self.member_of(matcher, f.member_id)?;
                self.relay_answer(tx, &request, &f, member, reply).await
            }
            TokenOwner::Request(r) => {
                if r.requester_email.to_ascii_lowercase() != reply.from.key() {
                    return self.not_yours(tx, reply).await;
                }
                self.record(tx, reply, &request, None, ReplyDirection::ToRelay, intent)
                    .await?;
                if intent == Intent::Close && request.status == RequestStatus::Open {
                    self.close(tx, matcher, &request).await
                } else {
                    Ok(ReplyOutcome::Recorded)
                }
            }
        }
    }

    /// The thread a reply's token names with its request (locked on
    /// PostgreSQL), when the token verifies and has not expired.
    async fn trusted_thread(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
    ) -> Result<Option<(TokenOwner, RequestRow)>, RelayError> {
        let Some(owner) = find_token(tx, &reply.token).await? else {
            return Ok(None);
        };
        let purpose = match &owner {
            TokenOwner::Forward(f) => format!("forward:{}:{}", f.request_id, f.member_id),
            TokenOwner::AskerOf(f) => format!("asker:{}:{}", f.request_id, f.member_id),
            TokenOwner::Request(r) => format!("request:{}", r.id),
        };
        if !self.key.verify(&purpose, &reply.token) {
            tracing::warn!("reply token does not verify; ignored");
            return Ok(None);
        }
        let request_id = match &owner {
            TokenOwner::Forward(f) | TokenOwner::AskerOf(f) => f.request_id,
            TokenOwner::Request(r) => r.id,
        };
        let Some(request) = request_for_update(tx, request_id).await? else {
            return Ok(None);
        };
        // Tokens of a request closed long ago are no longer honoured.
        if request
            .closed_at
            .is_some_and(|c| self.now() - c > TOKEN_LIFETIME_AFTER_CLOSE)
        {
            tracing::info!(request_id = request.id, "reply token expired; ignored");
            return Ok(None);
        }
        Ok(Some((owner, request)))
    }

    /// A member answered their forward: an accept, a decline, or a question.
    async fn member_answered(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
        f: &ForwardRow,
        reply: &IncomingReply,
        intent: Intent,
    ) -> Result<ReplyOutcome, RelayError> {
        let member = self.member_of(matcher, f.member_id)?;
        if member.email.key() != reply.from.key() {
            return self.not_yours(tx, reply).await;
        }
        let direction = ReplyDirection::MemberToRequester;
        self.record(tx, reply, request, Some(f), direction, intent)
            .await?;
        let answer = Answer {
            matcher,
            request,
            f,
            member,
            reply,
        };
        match intent {
            Intent::Accept => self.accept(tx, &answer).await,
            Intent::Decline => self.decline(tx, matcher, request, f).await,
            Intent::Close | Intent::Other => self.relay_question(tx, &answer).await,
        }
    }

    pub(super) fn member_of<'m>(
        &self,
        matcher: &'m Matcher,
        id: i64,
    ) -> Result<&'m Member, RelayError> {
        matcher
            .members()
            .iter()
            .find(|m| m.id == id)
            .ok_or(RelayError::MissingMember(id))
    }

    pub(super) fn msg_key(&self, reply: &IncomingReply) -> String {
        self.message_key(reply.inbound_id, reply.message_id.as_deref())
    }

    async fn record(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
        request: &RequestRow,
        forward: Option<&ForwardRow>,
        direction: ReplyDirection,
        intent: Intent,
    ) -> Result<(), RelayError> {
        let row = NewReply {
            inbound_id: reply.inbound_id,
            request_id: Some(request.id),
            forward_id: forward.map(|f| f.id),
            from_email: reply.from.as_str().to_string(),
            direction,
            intent: intent.as_str(),
            body: reply.new_text.clone(),
        };
        Ok(insert_reply(tx, &row, self.now()).await?)
    }

    async fn not_yours(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
    ) -> Result<ReplyOutcome, RelayError> {
        tracing::warn!("reply from an address other than the thread's owner");
        // Whoever wrote gets the answer in the language they wrote in.
        let language = self.language_of(None, "", &reply.new_text);
        let msg = self.msg_key(reply);
        self.queue_not_yours(tx, reply, language, &msg).await?;
        Ok(ReplyOutcome::NotYours)
    }

    /// Tells whoever answered a thread that is not theirs, in `language`.
    /// `mid_seed` is what the Message-ID is minted from (forward threads and
    /// digest volunteers have always used different seeds; kept as they were).
    pub(super) async fn queue_not_yours(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
        language: MailLanguage,
        mid_seed: &str,
    ) -> Result<(), RelayError> {
        let key = format!("not_yours:{}", self.msg_key(reply));
        let to = Recipient::address(reply.from.clone(), language);
        let mid = self.message_id(&format!("notyours.{}", self.key.mint(mid_seed)));
        let thread = Thread::answering(mid, reply.message_id.clone());
        let mail = Queued::replied(MailKind::NotYourForward, key, to, Value::from(()), thread);
        self.queue(tx, mail).await?;
        Ok(())
    }

    pub(super) fn request_vars(request: &RequestRow) -> Value {
        context! {
            number => request.id, subject => request.subject.clone(), body => request.body.clone(),
            requester_name => request.requester_name.clone(), requester_email => request.requester_email.clone(),
            status => request.status.as_str(),
        }
    }

    /// The requester's address as stored with the request.
    pub(super) fn requester_address(request: &RequestRow) -> Result<EmailAddress, RelayError> {
        EmailAddress::parse(&request.requester_email).map_err(|source| {
            RelayError::RequesterAddress {
                request_id: request.id,
                source,
            }
        })
    }

    pub(super) fn requester(
        &self,
        request: &RequestRow,
        matcher: &Matcher,
    ) -> Result<Recipient, RelayError> {
        let email = Self::requester_address(request)?;
        let member = matcher
            .members()
            .iter()
            .find(|m| m.email.key() == email.key());
        Ok(self.requester_as(request, email, member))
    }

    /// The requester at `email`: in their own language when they are a
    /// member, else in the request's.
    pub(super) fn requester_as(
        &self,
        request: &RequestRow,
        email: EmailAddress,
        member: Option<&Member>,
    ) -> Recipient {
        let language = match member {
            Some(m) => Recipient::member(m, self.default_language()).language,
            None => request.language,
        };
        Recipient {
            email,
            name: request.requester_name.clone(),
            language,
            member_id: member.map(|m| m.id),
        }
    }

    /// A mail to the requester in their acknowledgement's thread:
    /// `cr.TOKEN.WHAT@domain`, answering the acknowledgement.
    pub(super) fn requester_thread(&self, request: &RequestRow, what: &str) -> Thread {
        let token = request.token.clone().unwrap_or_default();
        let mid = self.message_id(&format!("{token}.{what}"));
        Thread::answering(mid, Some(self.ack_id(&token)))
    }

    /// A mail to a member in their forward's thread.
    pub(super) fn to_member(
        &self,
        key: String,
        kind: MailKind,
        member: &Member,
        f: &ForwardRow,
        vars: Value,
        request_id: i64,
    ) -> Queued {
        let mid = self.message_id(&format!("{}.{}", f.token, self.key.mint(&key)));
        let thread = Thread::answering(mid, Some(f.message_id.clone()));
        let to = Recipient::member(member, self.default_language());
        Queued::generated(kind, key, to, vars, thread)
            .reply_token(f.token.clone())
            .about(Some(request_id), Some(member.id))
    }

    /// Tells a member about their forward's request in the forward's thread
    /// (already filled, filled by others, closed): the mail's templates read
    /// `request`, `member`, the forward's `token` and any `extra` variables.
    pub(super) async fn notify_member(
        &self,
        tx: &mut Tx<'_>,
        (key, kind): (String, MailKind),
        request: &RequestRow,
        member: &Member,
        f: &ForwardRow,
        extra: Value,
    ) -> Result<(), RelayError> {
        let vars = context! {
            request => Self::request_vars(request),
            member => context! { name => member.name.clone(), email => member.email.as_str() },
            token => f.token.clone(),
            ..extra
        };
        let mail = self.to_member(key, kind, member, f, vars, request.id);
        self.queue(tx, mail).await?;
        Ok(())
    }

    /// Text passed from one side to the other loses the other side's address
    /// and any relay address, even inside quotes.
    pub(super) fn scrub(&self, text: &str, private: &[&str]) -> String {
        let domain = self.domain().to_ascii_lowercase();
        text.split_inclusive(char::is_whitespace)
            .map(|word| {
                let w = word
                    .trim()
                    .trim_matches(|c: char| "<>()[],;:\"'".contains(c))
                    .to_ascii_lowercase();
                let hidden = w.contains('@')
                    && (private.iter().any(|p| w == p.to_ascii_lowercase())
                        || w.ends_with(&format!("@{domain}")));
                if hidden {
                    let ws: String = word.chars().filter(|c| c.is_whitespace()).collect();
                    format!("[address hidden]{ws}")
                } else {
                    word.to_string()
                }
            })
            .collect()
    }
}
