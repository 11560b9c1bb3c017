//! The daemon's wiring for one inbound message: understand it, then hand it
//! to the relay flow its kind calls for, inside the inbox's transaction (so
//! the message's effects and its ledger row commit together).

use std::collections::HashMap;
use std::sync::Arc;

use crate::store::Tx;
use tokio::sync::RwLock;

use crate::config::Posting;
use crate::domain::EmailAddress;
use crate::inbox::{HandleError, Handled, InboundMail, MessageHandler};
use crate::matching::{Matcher, Ranked, Vocabulary};
use crate::relay::token::ReplyToken;
use crate::relay::{IncomingCommand, IncomingReply, IncomingRequest, Relay, RelayError};
use crate::store::Store;
use crate::store::requests::{forward_counts_since, members_now};
use crate::store::web_stats::WEEK;
use crate::understand::trust::{Trust, TrustSettings, judge};
use crate::understand::{self, Classification, Limits, RelayIdentity, classify, new_text};

/// The directory as the matcher indexed it, with the version it was built from.
struct CachedMatcher {
    version: (i64, i64),
    matcher: Arc<Matcher>,
}

pub struct Pipeline {
    relay: Arc<Relay>,
    store: Store,
    identity: RelayIdentity,
    limits: Limits,
    posting: Posting,
    /// What to believe of the receiving server's verdicts (issue 14).
    trust: TrustSettings,
    matcher: RwLock<Option<CachedMatcher>>,
    /// `[matching] vocabulary` on top of the built-in one; `None` for the built-in.
    vocabulary: Option<Vocabulary>,
}

impl From<RelayError> for HandleError {
    fn from(e: RelayError) -> Self {
        let transient = e.is_transient();
        Self::classified(e, transient)
    }
}

impl Pipeline {
    pub fn new(
        relay: Arc<Relay>,
        store: Store,
        limits: Limits,
        posting: Posting,
    ) -> Result<Self, HandleError> {
        let identity = RelayIdentity::new(relay.address().as_str())
            .map_err(|e| HandleError::Permanent(Box::new(e)))?;
        Ok(Self {
            relay,
            store,
            identity,
            limits,
            posting,
            trust: TrustSettings::default(),
            matcher: RwLock::new(None),
            vocabulary: None,
        })
    }

    /// Matches with this vocabulary instead of the built-in one.
    pub fn with_vocabulary(mut self, vocabulary: Vocabulary) -> Self {
        self.vocabulary = Some(vocabulary);
        self
    }

    /// `[inbox] trusted_authserv_id` and `spam_header`.
    pub fn with_trust(mut self, trust: TrustSettings) -> Self {
        self.trust = trust;
        self
    }

    /// The matcher over the current directory, rebuilt only when it changed
    /// (indexing thousands of members per message would be wasteful).
    pub async fn matcher(&self) -> Result<Arc<Matcher>, HandleError> {
        let version = self.store.members_version().await?;
        if let Some(c) = self
            .matcher
            .read()
            .await
            .as_ref()
            .filter(|c| c.version == version)
        {
            return Ok(c.matcher.clone());
        }
        let members = self.store.members().await?;
        let matcher = Arc::new(match &self.vocabulary {
            Some(v) => Matcher::new(v.clone(), members),
            None => Matcher::with_default_vocabulary(members)
                .map_err(|e| HandleError::Permanent(Box::new(e)))?,
        });
        *self.matcher.write().await = Some(CachedMatcher {
            version,
            matcher: matcher.clone(),
        });
        Ok(matcher)
    }

    /// Drops the cached matcher: the next message indexes the directory
    /// again. Called after a change in this process (a web console edit),
    /// which `members_version` alone may miss within the same second.
    pub async fn directory_changed(&self) {
        *self.matcher.write().await = None;
    }

    pub fn relay(&self) -> &Relay {
        &self.relay
    }

    /// Reads the message, judges and sorts it, and ranks a request: all
    /// before the write transaction (see [`Prepared`]).
    async fn prepare_message(&self, raw: &[u8]) -> Result<Prepared, HandleError> {
        let parsed = match understand::parse(raw, &self.limits) {
            Ok(p) => p,
            Err(e) => return Ok(Prepared(Understood::Unreadable(e.to_string()))),
        };
        let from = parsed.from.as_ref().map(|m| m.address.as_str());
        let trust = judge(raw, from, &self.trust);
        if let Some(why) = trust.spam.clone() {
            let parsed = Box::new(parsed);
            return Ok(Prepared(Understood::Spam { parsed, why }));
        }
        let class = classify(&parsed, &self.identity);
        let request = match (&class, sender(&parsed)) {
            (Classification::Request, Some(from)) => {
                Some(self.prepare_request(&parsed, from).await?)
            }
            _ => None,
        };
        let sorted = Sorted {
            parsed,
            trust,
            class,
            request,
        };
        Ok(Prepared(Understood::Sorted(Box::new(sorted))))
    }

    /// A request's text and its first ranking, over the directory and the
    /// week's forwards as they are now (read outside any transaction).
    async fn prepare_request(
        &self,
        parsed: &understand::ParsedMessage,
        from: EmailAddress,
    ) -> Result<PreparedRequest, HandleError> {
        let request = IncomingRequest {
            inbound_id: None,
            from,
            from_name: sender_name(parsed),
            subject: parsed.subject.clone(),
            body: request_text(&parsed.text),
            message_id: parsed.message_id.clone(),
        };
        let matcher = self.matcher().await?;
        let since = self.now() - WEEK;
        let recent = self.store.forward_counts_since(since).await?;
        self.rank_aside(PreparedRequest {
            request,
            matcher,
            ranked: Ranked::default(),
            recent,
            since,
        })
        .await
    }

    /// Ranks `p.request` on the blocking pool: a few milliseconds of CPU
    /// that would otherwise hold up the task it runs in (the LMTP sessions,
    /// or the reader's transaction in flight), and may run on another core.
    async fn rank_aside(&self, mut p: PreparedRequest) -> Result<PreparedRequest, HandleError> {
        let relay = self.relay.clone();
        tokio::task::spawn_blocking(move || {
            p.ranked = relay.rank_first_wave(&p.matcher, p.recent.clone(), &p.request);
            p
        })
        .await
        // A panic is this message's (it would panic again); a cancel, the shutdown's.
        .map_err(|e| {
            let transient = !e.is_panic();
            HandleError::classified(e, transient)
        })
    }

    async fn dispatch(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        prepared: Prepared,
    ) -> Result<Handled, HandleError> {
        match prepared.0 {
            Understood::Unreadable(reason) => Ok(failed("unreadable", reason)),
            Understood::Spam { parsed, why } => self.keep_spam(tx, mail, &parsed, &why).await,
            Understood::Sorted(sorted) => self.sorted(tx, mail, *sorted).await,
        }
    }

    /// A message that is not spam, by its kind (a "request" may turn out to
    /// answer a thread by its subject, which is read inside the transaction).
    async fn sorted(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        sorted: Sorted,
    ) -> Result<Handled, HandleError> {
        let Sorted {
            parsed,
            trust,
            class,
            request,
        } = sorted;
        let class = self.tie_by_subject(tx, &parsed, class).await?;
        let kind = class.kind();
        tracing::info!(inbound_id = mail.inbound_id, kind, "message understood");
        match class {
            Classification::Request | Classification::Reply(_) | Classification::Command(_) => {
                let Some(from) = sender(&parsed) else {
                    return Ok(failed(kind, "no usable From address".into()));
                };
                let got = Got {
                    mail,
                    parsed: &parsed,
                    from,
                    trust: &trust,
                };
                self.sent(tx, &got, class, request).await
            }
            // Recorded against the member, never answered.
            Classification::Bounce(report) => {
                self.bounce(tx, mail, &report).await?;
                Ok(Handled::processed(kind))
            }
            Classification::Unreadable => {
                Ok(failed(kind, "the message has nothing readable".into()))
            }
            // Automatic mail is kept in the ledger and never answered.
            Classification::AutoReply(_) | Classification::Delay(_) | Classification::Loop(_) => {
                Ok(Handled::processed(kind))
            }
        }
    }

    /// A request, reply or command from a usable From address. A forged
    /// sender's reply or command is not applied.
    async fn sent(
        &self,
        tx: &mut Tx<'static>,
        got: &Got<'_>,
        class: Classification,
        prepared: Option<PreparedRequest>,
    ) -> Result<Handled, HandleError> {
        let kind = class.kind();
        if let Classification::Request = class {
            if let Some(held) = self.request(tx, got, prepared).await? {
                return Ok(held);
            }
            return Ok(Handled::processed(kind));
        }
        if let Some(reason) = got.trust.forged() {
            return Ok(not_applied(kind, reason));
        }
        match class {
            Classification::Reply(token) => self.reply(tx, got, &token.token).await?,
            Classification::Command(command) => self.command(tx, got, command).await?,
            _ => {}
        }
        Ok(Handled::processed(kind))
    }

    /// A request: taken, or held (see `trust_gate.rs`; a refused one is
    /// never answered) with the message's verdict. Its ranking was made
    /// before the transaction and is checked here (`checked`).
    async fn request(
        &self,
        tx: &mut Tx<'static>,
        got: &Got<'_>,
        prepared: Option<PreparedRequest>,
    ) -> Result<Option<Handled>, HandleError> {
        let prepared = match prepared {
            Some(p) => p,
            None => self.prepare_request(got.parsed, got.from.clone()).await?,
        };
        let PreparedRequest {
            mut request,
            matcher,
            ranked,
            ..
        } = self.checked(tx, prepared).await?;
        request.inbound_id = Some(got.mail.inbound_id);
        if let Some(held) = self.screen(tx, &matcher, &request, got.trust).await? {
            return Ok(Some(held));
        }
        self.relay
            .take_ranked_request(tx, &matcher, ranked, &request)
            .await?;
        Ok(None)
    }

    /// The ranking made before the transaction, if what it counted still
    /// holds for the members it chose: each still active, with the same
    /// forwards since the same instant (forwards are only ever added, so the
    /// others can only have fallen further behind). Otherwise (a chosen
    /// member paused or got another forward meanwhile) it is made again
    /// here, over the directory and the forwards as they are now.
    async fn checked(
        &self,
        tx: &mut Tx<'static>,
        p: PreparedRequest,
    ) -> Result<PreparedRequest, HandleError> {
        let chosen: Vec<i64> = p.ranked.candidates.iter().map(|c| c.member_id).collect();
        let now = members_now(tx, &chosen, p.since).await?;
        let unchanged = chosen.iter().all(|id| {
            let count = p.recent.get(id).copied().unwrap_or(0);
            now.get(id) == Some(&(true, count))
        });
        if unchanged {
            return Ok(p);
        }
        tracing::info!("a chosen member changed meanwhile: ranking the request again");
        crate::observe::intake_ranked_again();
        let matcher = self.matcher().await?;
        let since = tx.now() - WEEK;
        let recent = forward_counts_since(tx, since).await?;
        self.rank_aside(PreparedRequest {
            matcher,
            recent,
            since,
            ..p
        })
        .await
    }

    /// A reply under one of the relay's tokens.
    async fn reply(
        &self,
        tx: &mut Tx<'static>,
        got: &Got<'_>,
        token: &str,
    ) -> Result<(), HandleError> {
        let matcher = self.matcher().await?;
        let reply = IncomingReply {
            inbound_id: Some(got.mail.inbound_id),
            from: got.from.clone(),
            token: token.to_string(),
            new_text: new_text(&got.parsed.text),
            message_id: got.parsed.message_id.clone(),
        };
        let inbound_id = got.mail.inbound_id;
        // An answer to a hold notice first (as always); then the token's kind,
        // read once, names its flow.
        if let Some(o) = self
            .hold_answer(tx, &matcher, &reply, &got.parsed.subject)
            .await?
        {
            tracing::info!(inbound_id, outcome = ?o, "hold answer handled");
            return Ok(());
        }
        let relay = &self.relay;
        match ReplyToken::read(token) {
            ReplyToken::Volunteer(v) => {
                let o = relay.take_volunteer(tx, &matcher, &reply, &v).await?;
                tracing::info!(inbound_id, outcome = ?o, "volunteer handled");
            }
            ReplyToken::Followup(f) => {
                let o = relay.take_followup_reply(tx, &reply, &f).await?;
                tracing::info!(inbound_id, outcome = ?o, "follow-up answer handled");
            }
            ReplyToken::Stored(_) => {
                let o = relay.take_reply(tx, &matcher, &reply).await?;
                tracing::info!(inbound_id, outcome = ?o, "reply handled");
            }
        }
        Ok(())
    }

    /// A bounce: counted against the member it names.
    async fn bounce(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        report: &understand::BounceReport,
    ) -> Result<(), HandleError> {
        let inbound_id = mail.inbound_id;
        let outcome = self.relay.take_bounce(tx, report, Some(inbound_id)).await?;
        tracing::info!(inbound_id, paused = outcome.paused.len(), "bounce recorded");
        Ok(())
    }

    /// A member's command (pause, resume, profile, …).
    async fn command(
        &self,
        tx: &mut Tx<'static>,
        got: &Got<'_>,
        command: understand::Command,
    ) -> Result<(), HandleError> {
        let cmd = IncomingCommand {
            inbound_id: Some(got.mail.inbound_id),
            from: got.from.clone(),
            command,
            message_id: got.parsed.message_id.clone(),
        };
        let outcome = self.relay.take_command(tx, &cmd).await?;
        tracing::info!(inbound_id = got.mail.inbound_id, outcome = ?outcome, "command handled");
        Ok(())
    }

    fn now(&self) -> i64 {
        self.relay.now()
    }
}

/// What the pipeline works out of a message before its write transaction
/// ([`MessageHandler::prepare`]): the parse, the receiving server's verdict,
/// the kind, and for a request its text and first ranking. Only reads: every
/// write, and every check of what a write in between could change (the
/// subject's thread, the chosen members), happens in `handle`.
pub struct Prepared(Understood);

enum Understood {
    /// Not readable as mail: to Failed with this reason.
    Unreadable(String),
    /// The receiving server marked it as spam (why).
    Spam {
        parsed: Box<understand::ParsedMessage>,
        why: String,
    },
    Sorted(Box<Sorted>),
}

/// A message that is not spam, with its kind.
struct Sorted {
    parsed: understand::ParsedMessage,
    trust: Trust,
    class: Classification,
    /// For a request with a usable From: its ranking.
    request: Option<PreparedRequest>,
}

/// A request (no ledger id yet) and its first wave ranked over `matcher`,
/// counting each member's forwards since `since` (`recent`).
struct PreparedRequest {
    request: IncomingRequest,
    matcher: Arc<Matcher>,
    ranked: Ranked,
    recent: HashMap<i64, u32>,
    since: i64,
}

/// One understood message on its way to its flow.
struct Got<'a> {
    mail: &'a InboundMail<'a>,
    parsed: &'a understand::ParsedMessage,
    from: EmailAddress,
    /// What the receiving server said about it.
    trust: &'a Trust,
}

/// A forged sender's command or answer: recorded in Failed, told to nobody
/// (the address in From did not send it).
fn not_applied(kind: &str, reason: &str) -> Handled {
    failed(kind, format!("not applied: {reason} at the trusted server"))
}

impl Pipeline {
    /// A "request" whose subject names a thread its sender owns is a reply
    /// from a client that dropped Reply-To and References (relay/subject_tie.rs).
    async fn tie_by_subject(
        &self,
        tx: &mut Tx<'static>,
        parsed: &understand::ParsedMessage,
        class: Classification,
    ) -> Result<Classification, HandleError> {
        let Classification::Request = class else {
            return Ok(class);
        };
        let Some(from) = sender(parsed) else {
            return Ok(class);
        };
        Ok(
            match self
                .relay
                .token_by_subject(tx, &parsed.subject, &from)
                .await?
            {
                Some(token) => Classification::Reply(understand::TokenMatch {
                    source: understand::TokenSource::Subject,
                    token,
                }),
                None => class,
            },
        )
    }
}

/// The From address, when it is a usable one.
fn sender(parsed: &understand::ParsedMessage) -> Option<EmailAddress> {
    let from = parsed.from.as_ref()?;
    EmailAddress::parse(&from.address).ok()
}

/// The From display name, or nothing.
fn sender_name(parsed: &understand::ParsedMessage) -> String {
    parsed
        .from
        .as_ref()
        .and_then(|m| m.name.clone())
        .unwrap_or_default()
}

fn failed(kind: &str, reason: String) -> Handled {
    Handled {
        kind: kind.to_string(),
        failure: Some(reason),
    }
}

/// A request's text without its quoted history and signature.
fn request_text(text: &str) -> String {
    let t = new_text(text);
    if t.trim().is_empty() {
        text.trim().to_string()
    } else {
        t
    }
}

mod trust_gate;

impl MessageHandler for Pipeline {
    type Prepared = Prepared;

    async fn prepare(&self, raw: &[u8]) -> Result<Prepared, HandleError> {
        self.prepare_message(raw).await
    }

    async fn handle(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        prepared: Prepared,
    ) -> Result<Handled, HandleError> {
        self.dispatch(tx, mail, prepared).await
    }
}
