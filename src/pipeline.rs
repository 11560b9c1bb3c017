//! The daemon's wiring for one inbound message: understand it, then hand it
//! to the relay flow its kind calls for, inside the inbox's transaction (so
//! the message's effects and its ledger row commit together).

use std::sync::Arc;

use crate::store::Tx;
use tokio::sync::RwLock;

use crate::config::Posting;
use crate::domain::EmailAddress;
use crate::inbox::{HandleError, Handled, InboundMail, MessageHandler};
use crate::matching::{Matcher, Vocabulary};
use crate::relay::token::ReplyToken;
use crate::relay::{IncomingCommand, IncomingReply, IncomingRequest, Relay, RelayError};
use crate::store::Store;
use crate::store::requests::forwards_this_week;
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

    async fn dispatch(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
    ) -> Result<Handled, HandleError> {
        let parsed = match understand::parse(mail.raw, &self.limits) {
            Ok(p) => p,
            Err(e) => return Ok(failed("unreadable", e.to_string())),
        };
        let trust = judge(
            mail.raw,
            parsed.from.as_ref().map(|m| m.address.as_str()),
            &self.trust,
        );
        if let Some(why) = &trust.spam {
            return self.keep_spam(tx, mail, &parsed, why).await;
        }
        let class = classify(&parsed, &self.identity);
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
                self.sent(tx, &got, class).await
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
    ) -> Result<Handled, HandleError> {
        let kind = class.kind();
        if let Classification::Request = class {
            if let Some(held) = self.request(tx, got).await? {
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
    /// never answered) with the message's verdict.
    async fn request(
        &self,
        tx: &mut Tx<'static>,
        got: &Got<'_>,
    ) -> Result<Option<Handled>, HandleError> {
        let from = &got.from;
        let matcher = self.matcher().await?;
        let parsed = got.parsed;
        let request = IncomingRequest {
            inbound_id: Some(got.mail.inbound_id),
            from: from.clone(),
            from_name: sender_name(parsed),
            subject: parsed.subject.clone(),
            body: request_text(&parsed.text),
            message_id: parsed.message_id.clone(),
        };
        if let Some(held) = self.screen(tx, &matcher, &request, got.trust).await? {
            return Ok(Some(held));
        }
        let recent = forwards_this_week(tx, self.now()).await?;
        self.relay
            .take_request(tx, &matcher, recent, &request)
            .await?;
        Ok(None)
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
    async fn handle(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
    ) -> Result<Handled, HandleError> {
        self.dispatch(tx, mail).await
    }
}
