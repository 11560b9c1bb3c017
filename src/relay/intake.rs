//! Flow 1, a request comes in: record it, rank the directory, queue one
//! forward per shortlisted member and the acknowledgement, or abstain and
//! tell the requester and the admins. Everything is written in the caller's
//! transaction, with the inbound ledger row.

use super::AlertReason;
use crate::domain::{MailKind, MailLanguage, Member, RequestStatus};
use minijinja::context;

use super::{Queued, Relay, RelayError, Thread, Tx};
use crate::domain::EmailAddress;
use crate::matching::{Candidate, MatchContext, Matcher, Ranked};
use crate::store::requests::{
    NewForward, NewRequest, insert_forward, insert_forwards, insert_request, set_first_wave,
};

/// What the relay needs to know of a request message.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    pub inbound_id: Option<i64>,
    pub from: EmailAddress,
    pub from_name: String,
    pub subject: String,
    pub body: String,
    pub message_id: Option<String>,
}

/// The forwards of one wave of one request share these.
#[derive(Clone, Copy)]
pub(super) struct Wave<'a> {
    pub request_id: i64,
    pub wave: i64,
    /// The request as templates see it.
    pub request_ctx: &'a minijinja::Value,
    pub matcher: &'a Matcher,
    /// When this wave's answers are due (stored on the request, shown in each forward).
    pub due: i64,
}

/// A request as written, before it is forwarded.
struct RecordedRequest {
    id: i64,
    /// The requester's thread token.
    token: String,
    /// Subject and body as members read them.
    subject: String,
    body: String,
    language: MailLanguage,
    requester_member_id: Option<i64>,
    /// The one "now" of the whole intake: the wave's deadline counts from it.
    created_at: i64,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestOutcome {
    pub request_id: i64,
    /// Member ids the request was forwarded to, best first; empty when the relay abstained.
    pub forwarded_to: Vec<i64>,
}

impl Relay {
    pub async fn take_request(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        recent_forwards: std::collections::HashMap<i64, u32>,
        msg: &IncomingRequest,
    ) -> Result<RequestOutcome, RelayError> {
        let ranked = self.rank_first_wave(matcher, recent_forwards, msg);
        self.take_ranked_request(tx, matcher, ranked, msg).await
    }

    /// Ranks `matcher`'s directory for a request's first wave, given the
    /// forwards each member had this week (the weekly cap and fairness):
    /// pure work, which the pipeline does before the write transaction.
    pub fn rank_first_wave(
        &self,
        matcher: &Matcher,
        recent_forwards: std::collections::HashMap<i64, u32>,
        msg: &IncomingRequest,
    ) -> Ranked {
        let ctx = MatchContext {
            exclude_emails: vec![msg.from.clone()],
            recent_forwards,
            weekly_cap: Some(self.matching.max_forwards_per_member_per_week),
            ..MatchContext::default()
        };
        let top = self.matching.shortlist as usize;
        matcher.rank_with_near_misses(&msg.subject, &msg.body, &ctx, top)
    }

    /// [`Relay::take_request`] with the first wave already ranked
    /// ([`Relay::rank_first_wave`] over the same `matcher`).
    pub async fn take_ranked_request(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        ranked: Ranked,
        msg: &IncomingRequest,
    ) -> Result<RequestOutcome, RelayError> {
        let requester_member = matcher
            .members()
            .iter()
            .find(|m| m.email.key() == msg.from.key());
        let recorded = self.record_request(tx, msg, requester_member).await?;
        let request_id = recorded.id;
        let request_ctx = context! {
            number => request_id, subject => recorded.subject.clone(), body => recorded.body.clone(),
            requester_name => msg.from_name.clone(), requester_email => msg.from.as_str(), status => RequestStatus::Open.as_str(),
        };
        let wave = Wave {
            request_id,
            wave: 1,
            request_ctx: &request_ctx,
            matcher,
            due: self.wave_due(recorded.created_at),
        };
        let (forwarded_to, forward_mails, near) =
            self.first_wave(tx, &wave, ranked, &recorded).await?;
        let answered_by = (!forwarded_to.is_empty()).then(|| {
            let zone = requester_member.and_then(Member::timezone_name);
            self.deadline_in(wave.due, zone, recorded.language)
        });
        let outcome = (forwarded_to.len(), answered_by);
        let ack = self.acknowledgement(msg, &recorded, &request_ctx, outcome);
        // The forwards, then the acknowledgement: one write for all of them.
        let mut mails = forward_mails;
        mails.push(ack);
        self.queue_all(tx, mails).await?;
        if forwarded_to.is_empty() {
            let near = super::near_miss::nameable(near, matcher, &msg.from);
            let reason = AlertReason::Unmatched;
            self.alert_admins_naming(tx, request_id, &request_ctx, reason, &near)
                .await?;
        }
        tracing::info!(request_id, forwards = forwarded_to.len(), "request handled");
        Ok(RequestOutcome {
            request_id,
            forwarded_to,
        })
    }

    /// Writes the request (what members will read: the requester's own
    /// address, e.g. in a signature, and relay addresses are hidden until an
    /// introduction) and mints its thread token (stored by `first_wave`).
    async fn record_request(
        &self,
        tx: &mut Tx<'_>,
        msg: &IncomingRequest,
        requester_member: Option<&Member>,
    ) -> Result<RecordedRequest, RelayError> {
        let language = self.language_of(requester_member, &msg.subject, &msg.body);
        let private = [msg.from.as_str()];
        let (subject, body) = (
            self.scrub(&msg.subject, &private),
            self.scrub(&msg.body, &private),
        );
        let row = NewRequest {
            inbound_id: msg.inbound_id,
            requester_email: msg.from.as_str().to_string(),
            requester_name: msg.from_name.clone(),
            requester_member_id: requester_member.map(|m| m.id),
            subject: subject.clone(),
            body: body.clone(),
            language,
            message_id: msg.message_id.clone(),
        };
        let now = self.now();
        let id = insert_request(tx, &row, now).await?;
        // Stored with the first wave's state, in one statement.
        let token = self.key.mint(&format!("request:{id}"));
        tracing::info!(request_id = id, "request recorded");
        Ok(RecordedRequest {
            id,
            token,
            subject,
            body,
            language,
            requester_member_id: requester_member.map(|m| m.id),
            created_at: now,
        })
    }

    /// Forwards the request to the best members (their forward rows in one
    /// statement); it stays open for an answer, or is unmatched when nobody
    /// fits. Returns who got it and their mails, to be queued with the
    /// acknowledgement, and who almost fitted (from the same ranking; only
    /// ever named to the admins, never forwarded to).
    async fn first_wave(
        &self,
        tx: &mut Tx<'_>,
        wave: &Wave<'_>,
        ranked: Ranked,
        recorded: &RecordedRequest,
    ) -> Result<(Vec<i64>, Vec<Queued>, Vec<Candidate>), RelayError> {
        let chosen: Vec<(NewForward, &Member, &Candidate)> = ranked
            .candidates
            .iter()
            .enumerate()
            .filter_map(|(rank, c)| {
                let member = wave
                    .matcher
                    .members()
                    .iter()
                    .find(|m| m.id == c.member_id)?;
                Some((self.new_forward(wave, rank, c), member, c))
            })
            .collect();
        let rows: Vec<NewForward> = chosen.iter().map(|(row, _, _)| row.clone()).collect();
        let ids = insert_forwards(tx, &rows, self.now()).await?;
        let (mut forwarded_to, mut mails) = (Vec::new(), Vec::new());
        for (row, member, c) in chosen {
            let Some(&forward_id) = ids.get(&member.id) else {
                continue;
            };
            log_queued(wave, forward_id, member.id);
            forwarded_to.push(member.id);
            mails.push(self.forward_mail(wave, row, member, c));
        }
        let (status, due) = if forwarded_to.is_empty() {
            (RequestStatus::Unmatched, None)
        } else {
            (RequestStatus::Open, Some(wave.due))
        };
        let (token, now) = (&recorded.token, recorded.created_at);
        set_first_wave(tx, wave.request_id, token, status, due, now).await?;
        Ok((forwarded_to, mails, ranked.near_misses))
    }

    /// What tells the requester what happened: `deadline` is when the members forwarded to are asked to answer by,
    /// `None` when nobody fits.
    fn acknowledgement(
        &self,
        msg: &IncomingRequest,
        recorded: &RecordedRequest,
        request_ctx: &minijinja::Value,
        (forwarded, deadline): (usize, Option<String>),
    ) -> Queued {
        let request_id = recorded.id;
        let ack_kind = if forwarded == 0 {
            MailKind::NoMatch
        } else {
            MailKind::Ack
        };
        let vars = context! {
            request => request_ctx.clone(), forwarded => forwarded,
            answer_within_hours => self.relay.answer_within_hours, deadline => deadline,
        };
        let to = super::Recipient {
            email: msg.from.clone(),
            name: msg.from_name.clone(),
            language: recorded.language,
            member_id: recorded.requester_member_id,
        };
        let thread = Thread::answering(self.ack_id(&recorded.token), msg.message_id.clone());
        let key = format!("{ack_kind}:{request_id}");
        Queued::replied(ack_kind, key, to, vars, thread)
            .reply_token(recorded.token.clone())
            .about(Some(request_id), recorded.requester_member_id)
    }

    /// A forward of `request_id` to `member_id` with its tokens and
    /// Message-ID, which are always the same for one request and member.
    pub(super) fn forward_row(&self, request_id: i64, member_id: i64, wave: i64) -> NewForward {
        let token = self.key.mint(&format!("forward:{request_id}:{member_id}"));
        NewForward {
            request_id,
            member_id,
            wave,
            rank: 0,
            score: 0.0,
            reasons_json: "[]".into(),
            requester_token: self.key.mint(&format!("asker:{request_id}:{member_id}")),
            message_id: self.forward_message_id(&token),
            token,
        }
    }

    /// One forward to one member; false when this member already had it.
    pub(super) async fn forward(
        &self,
        tx: &mut Tx<'_>,
        of: &Wave<'_>,
        rank: usize,
        c: &Candidate,
    ) -> Result<bool, RelayError> {
        let Some(member) = of.matcher.members().iter().find(|m| m.id == c.member_id) else {
            return Ok(false);
        };
        let row = self.new_forward(of, rank, c);
        let Some(forward_id) = insert_forward(tx, &row, self.now()).await? else {
            return Ok(false);
        };
        log_queued(of, forward_id, member.id);
        let mail = self.forward_mail(of, row, member, c);
        self.queue(tx, mail).await?;
        Ok(true)
    }

    /// The forward row for candidate `c` at `rank` of a wave.
    fn new_forward(&self, of: &Wave<'_>, rank: usize, c: &Candidate) -> NewForward {
        NewForward {
            rank: rank as i64,
            score: f64::from(c.score),
            reasons_json: serde_json::to_string(&c.reasons).unwrap_or_else(|_| "[]".into()),
            ..self.forward_row(of.request_id, c.member_id, of.wave)
        }
    }

    /// The mail that forwards a wave's request to `member` (forward `row`).
    fn forward_mail(
        &self,
        of: &Wave<'_>,
        row: NewForward,
        member: &Member,
        c: &Candidate,
    ) -> Queued {
        let request_id = of.request_id;
        let deadline = self.deadline_text(of.due, member);
        let vars = context! {
            request => of.request_ctx.clone(), member => context! { name => member.name.clone(), email => member.email.as_str() },
            token => row.token.clone(), reasons => c.reasons.clone(), deadline => deadline,
        };
        Queued::generated(
            MailKind::Forward,
            format!("forward:{request_id}:{}", member.id),
            super::Recipient::member(member, self.default_language()),
            vars,
            Thread::start(row.message_id),
        )
        .reply_token(row.token)
        .about(Some(request_id), Some(member.id))
    }
}

/// The log line of every forward queued, matched or by hand.
fn log_queued(of: &Wave<'_>, forward_id: i64, member_id: i64) {
    tracing::info!(
        request_id = of.request_id,
        forward_id,
        member_id,
        wave = of.wave,
        "forward queued"
    );
}
