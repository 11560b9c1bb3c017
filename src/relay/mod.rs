//! The relay: the flows of SPEC 1–4. Each flow is a method that writes its
//! state changes and the mails they cause (into the outbox) in the caller's
//! transaction, so a message is handled completely or not at all.

mod bounces;
mod commands;
mod digest_mail;
mod followup;
mod intake;
pub mod intent;
mod moderation;
mod moderation_summary;
mod replies;
pub mod templates;
pub mod token;
mod waves;

use minijinja::{Value, context};

use crate::config::{CircleConfig, MatchingConfig, ModerationConfig, RelayConfig, Secret};
use crate::domain::{EmailAddress, EmailError, Member};
use crate::outbox::{AutoSubmitted, OutgoingMail, RenderError, header_safe};
use crate::store::StoreError;
use crate::store::outbox::{NewOutboxMail, enqueue};

pub use bounces::{BounceOutcome, HARD_BOUNCE_LIMIT};
pub use commands::{CommandOutcome, IncomingCommand};
pub use digest_mail::{DigestRecipient, volunteer_token_ids};
pub use followup::{FollowupOutcome, read_outcome};
pub use intake::{IncomingRequest, RequestOutcome};
pub use moderation::{Decision, HoldAnswer, HoldOutcome, read_decision};
pub use moderation_summary::SummaryRun;
pub use replies::{IncomingReply, ReplyOutcome};
use templates::{TemplateError, Templates};
use token::TokenKey;

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Render(#[from] RenderError),
    /// `[circle] address`, or an address made from it, is not an address.
    #[error("circle address is invalid: {source}")]
    CircleAddress {
        #[source]
        source: EmailError,
    },
    /// A request's stored requester address no longer parses.
    #[error("request {request_id}: the requester's address is invalid: {source}")]
    RequesterAddress {
        request_id: i64,
        #[source]
        source: EmailError,
    },
    /// A forward names a member the directory no longer has.
    #[error("member {0} is missing from the directory")]
    MissingMember(i64),
}

impl From<sqlx::Error> for RelayError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(e))
    }
}

impl RelayError {
    /// A database hiccup can pass; a template or address problem will not.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_transient())
    }
}

pub use crate::clock::Clock;

pub struct Relay {
    circle: CircleConfig,
    address: EmailAddress,
    relay: RelayConfig,
    matching: MatchingConfig,
    moderation: ModerationConfig,
    key: TokenKey,
    templates: Templates,
    clock: Clock,
}

/// Who a mail goes to, and in which language.
pub(crate) struct Recipient {
    email: EmailAddress,
    name: String,
    language: &'static str,
}

impl Recipient {
    fn member(m: &Member, fallback: &'static str) -> Self {
        let language = match m.mail_language() {
            Some(l) if l.is_japanese() => "ja",
            Some(_) => "en",
            None => fallback,
        };
        Self {
            email: m.email.clone(),
            name: m.name.clone(),
            language,
        }
    }
}

/// One mail to queue.
pub(crate) struct Queued {
    key: String,
    kind: &'static str,
    to: Recipient,
    vars: Value,
    /// Replies go to `circle+TOKEN@domain` when set.
    reply_token: Option<String>,
    message_id: String,
    in_reply_to: Option<String>,
    references: Vec<String>,
    auto_submitted: AutoSubmitted,
    request_id: Option<i64>,
    member_id: Option<i64>,
}

impl Relay {
    pub fn new(
        circle: CircleConfig,
        relay: RelayConfig,
        matching: MatchingConfig,
        token_secret: Secret,
        templates: Templates,
    ) -> Result<Self, RelayError> {
        let address = EmailAddress::parse(&circle.address)
            .map_err(|source| RelayError::CircleAddress { source })?;
        Ok(Self {
            circle,
            address,
            relay,
            matching,
            moderation: ModerationConfig::default(),
            key: TokenKey::new(token_secret),
            templates,
            clock: crate::clock::system(),
        })
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// `[moderation]`: holds, their expiry, trusted domains, the daily limit.
    pub fn with_moderation(mut self, moderation: ModerationConfig) -> Self {
        self.moderation = moderation;
        self
    }

    pub fn address(&self) -> &EmailAddress {
        &self.address
    }

    /// Now, by the relay's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn domain(&self) -> &str {
        self.address.domain()
    }

    fn default_language(&self) -> &'static str {
        self.circle.language.as_str()
    }

    /// A member writes in their first language; anyone else in the language
    /// their text is in (any kana or kanji means Japanese).
    fn language_of(&self, member: Option<&Member>, subject: &str, body: &str) -> &'static str {
        if let Some(m) = member {
            return Recipient::member(m, self.default_language()).language;
        }
        let japanese = subject
            .chars()
            .chain(body.chars())
            .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'));
        if japanese { "ja" } else { "en" }
    }

    /// When an answer is due, in the circle's time zone.
    fn deadline_text(&self, _language: Option<&str>) -> String {
        let due = self.now() + i64::from(self.relay.answer_within_hours) * 3600;
        let tz = jiff::tz::TimeZone::get(&self.circle.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        match jiff::Timestamp::from_second(due) {
            Ok(ts) => ts
                .to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M %Z")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    fn reply_address(&self, token: &str) -> Result<EmailAddress, RelayError> {
        let (local, domain) = (self.address.local_part(), self.address.domain());
        EmailAddress::parse(&format!("{local}+{token}@{domain}"))
            .map_err(|source| RelayError::CircleAddress { source })
    }

    /// Renders a mail and writes it to the outbox; a repeated key is a no-op.
    async fn queue(&self, tx: &mut Tx<'_>, q: Queued) -> Result<bool, RelayError> {
        let vars = context! {
            circle => context! { name => self.circle.name.clone(), address => self.address.as_str() },
            unsubscribe_url => self.unsubscribe_url(),
            ..q.vars
        };
        let texts = self.templates.render(q.kind, q.to.language, &vars)?;
        let mail = OutgoingMail {
            from: self.address.clone(),
            from_name: header_safe(&self.circle.name),
            reply_to: q
                .reply_token
                .as_deref()
                .map(|t| self.reply_address(t))
                .transpose()?,
            to: q.to.email.clone(),
            to_name: q.to.name.clone(),
            subject: texts.subject.clone(),
            text: texts.text,
            html: texts.html,
            message_id: q.message_id.clone(),
            in_reply_to: q.in_reply_to,
            references: q.references,
            auto_submitted: q.auto_submitted,
            list_unsubscribe: self.unsubscribe_url(),
        };
        let row = NewOutboxMail {
            idempotency_key: q.key,
            kind: q.kind.to_string(),
            to_email: q.to.email.as_str().to_string(),
            message_id: q.message_id,
            subject: texts.subject,
            message: mail.render()?,
            request_id: q.request_id,
            member_id: q.member_id,
        };
        Ok(enqueue(tx, &row, self.now()).await?)
    }

    fn unsubscribe_url(&self) -> String {
        format!("mailto:{}?subject=unsubscribe", self.address)
    }

    /// Tells every admin about a request that needs a human.
    async fn alert_admins(
        &self,
        tx: &mut Tx<'_>,
        request_id: i64,
        request_ctx: &Value,
        reason: &'static str,
    ) -> Result<(), RelayError> {
        let (reason_ja, reason_en) = match reason {
            "unmatched" => (
                "条件に合うメンバーが見つからず、どなたにも転送していません",
                "no member fits this request; it was forwarded to nobody",
            ),
            _ => (
                "どのメンバーも引き受けられませんでした",
                "nobody was available for this request",
            ),
        };
        for admin in &self.circle.admins {
            let Ok(email) = EmailAddress::parse(admin) else {
                continue;
            };
            let vars = context! { request => request_ctx.clone(), reason_ja => reason_ja, reason_en => reason_en };
            self.queue(
                tx,
                Queued {
                    key: format!("admin:{reason}:{request_id}:{}", email.key()),
                    kind: "admin_alert",
                    to: Recipient {
                        email,
                        name: String::new(),
                        language: self.default_language(),
                    },
                    vars,
                    reply_token: None,
                    message_id: format!(
                        "cr.admin.{reason}.{request_id}.{}@{}",
                        self.key.mint(admin),
                        self.domain()
                    ),
                    in_reply_to: None,
                    references: vec![],
                    auto_submitted: AutoSubmitted::Generated,
                    request_id: Some(request_id),
                    member_id: None,
                },
            )
            .await?;
        }
        Ok(())
    }
}
