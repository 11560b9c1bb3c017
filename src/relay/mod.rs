//! The relay: the flows of SPEC 1–4. Each flow is a method that writes its
//! state changes and the mails they cause (into the outbox) in the caller's
//! transaction, so a message is handled completely or not at all.

mod accept;
mod bounces;
mod by_hand;
mod close;
mod commands;
mod digest_mail;
mod followup;
mod intake;
pub mod intent;
pub mod layout;
mod mail;
pub mod member_link;
mod moderation;
mod moderation_summary;
mod near_miss;
mod questions;
pub mod reasons;
pub mod reflow;
mod replies;
mod subject_tie;
pub mod templates;
pub mod token;
mod waves;
mod web_login;

use minijinja::{Value, context};

use crate::config::{CircleConfig, MatchingConfig, ModerationConfig, RelayConfig, Secret};
use crate::domain::{EmailAddress, EmailError, MailKind, MailLanguage, Member};
use crate::outbox::{OutgoingMail, RenderError, header_safe};
use crate::store::StoreError;
use crate::store::outbox::{NewOutboxMail, enqueue, enqueue_many};

pub use bounces::{BounceOutcome, HARD_BOUNCE_LIMIT};
pub use by_hand::{BY_HAND_REASON, ByHand, Forwarded, Refusal};
pub use commands::{CommandOutcome, IncomingCommand};
pub use digest_mail::DigestRecipient;
pub use followup::{FollowupOutcome, read_outcome};
pub use intake::{IncomingRequest, RequestOutcome};
pub(crate) use mail::{Queued, Thread};
pub use moderation::{Decision, HoldAnswer, HoldOutcome, read_decision};
pub use moderation_summary::SummaryRun;
pub use near_miss::view as near_miss_words;
pub use replies::{IncomingReply, ReplyOutcome};
use templates::{TemplateError, Templates};
use token::TokenKey;
pub use web_login::WebLoginMail;

pub use crate::store::Tx;

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
    /// `[web]` on: members' mails carry their page and one-click links.
    web: Option<member_link::WebLinks>,
}

/// Who a mail goes to, and in which language.
pub(crate) struct Recipient {
    email: EmailAddress,
    name: String,
    language: MailLanguage,
    /// Set when the reader is this member: their mails carry their own links.
    member_id: Option<i64>,
}

impl Recipient {
    /// Someone outside the directory (an admin, a stranger), in `language`.
    fn address(email: EmailAddress, language: MailLanguage) -> Self {
        Self {
            email,
            name: String::new(),
            language,
            member_id: None,
        }
    }

    fn member(m: &Member, fallback: MailLanguage) -> Self {
        Self {
            email: m.email.clone(),
            name: m.name.clone(),
            language: m.language_or(fallback),
            member_id: Some(m.id),
        }
    }
}

/// Why the admins are told about a request (part of the alert's key).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AlertReason {
    Unmatched,
    NobodyAvailable,
}

impl AlertReason {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unmatched => "unmatched",
            Self::NobodyAvailable => "nobody_available",
        }
    }
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
            web: None,
        })
    }

    /// `[web]` when it is on: mails to members then carry a link to their
    /// own page in the footer and a one-click `List-Unsubscribe` (RFC 8058).
    pub fn with_web(mut self, web: &crate::config::WebConfig) -> Self {
        self.web = web.enabled().then(|| member_link::WebLinks {
            base_url: web.link(""),
            member_link_days: web.member_link_days,
        });
        self
    }

    /// The signing key of reply tokens and members' links.
    pub fn token_key(&self) -> &TokenKey {
        &self.key
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

    fn default_language(&self) -> MailLanguage {
        self.circle.language
    }

    /// A member writes in their first language; anyone else in the language
    /// their text is in (any kana or kanji means Japanese).
    fn language_of(&self, member: Option<&Member>, subject: &str, body: &str) -> MailLanguage {
        if let Some(m) = member {
            return Recipient::member(m, self.default_language()).language;
        }
        let japanese = subject
            .chars()
            .chain(body.chars())
            .any(|c| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}'));
        if japanese {
            MailLanguage::Ja
        } else {
            MailLanguage::En
        }
    }

    /// When a wave's answers are due: `answer_within_hours` from `now`,
    /// moved to a sensible hour in the circle's zone. This instant is both
    /// stored (the wave ends then) and shown, so the deadline a member reads
    /// is the one enforced.
    fn wave_due(&self, now: i64) -> i64 {
        use crate::domain::human_time::{ReaderZone, sensible_deadline};
        let due = now + i64::from(self.relay.answer_within_hours) * 3600;
        sensible_deadline(due, now, &ReaderZone::pick(None, &self.circle.timezone))
    }

    /// `due` as `member` reads it: in their own zone when the directory has
    /// one, else the circle's, named.
    fn deadline_text(&self, due: i64, member: &Member) -> String {
        let language = Recipient::member(member, self.default_language()).language;
        self.deadline_in(due, member.timezone_name(), language)
    }

    /// `due` in `timezone` (the circle's when `None` or unknown) and `language`.
    fn deadline_in(&self, due: i64, timezone: Option<&str>, language: MailLanguage) -> String {
        use crate::domain::human_time::{ReaderZone, deadline};
        let zone = ReaderZone::pick(timezone, &self.circle.timezone);
        deadline(due, &zone, language == MailLanguage::Ja)
    }

    fn reply_address(&self, token: &str) -> Result<EmailAddress, RelayError> {
        let (local, domain) = (self.address.local_part(), self.address.domain());
        EmailAddress::parse(&format!("{local}+{token}@{domain}"))
            .map_err(|source| RelayError::CircleAddress { source })
    }

    /// A member's links for this mail: with `[web]` on, to a member, and not
    /// an admin's notice.
    fn links_for(&self, q: &Queued) -> Option<member_link::MemberLinks> {
        let (web, id) = (self.web.as_ref()?, q.to.member_id?);
        (!q.kind.as_str().starts_with("admin_")).then(|| web.for_member(&self.key, id, self.now()))
    }

    /// What a mail's templates see besides its own data: the circle, and the
    /// member's links. Carrier phones get mails without links, except the
    /// page link in the answer to `profile`, which the member asked for.
    fn frame_vars(
        &self,
        q: &Queued,
        links: Option<&member_link::MemberLinks>,
        carrier: bool,
    ) -> Value {
        let profile_url = links
            .filter(|_| !carrier || q.kind == MailKind::CommandProfile)
            .map(|l| l.page.clone());
        context! {
            circle => context! {
                name => self.circle.name.clone(), address => self.address.as_str(),
                timezone => self.circle.timezone.clone(),
            },
            unsubscribe_url => links.map_or_else(|| self.unsubscribe_url(), |l| l.unsubscribe.clone()),
            profile_url => profile_url,
            ..q.vars.clone()
        }
    }

    /// Renders a mail and writes it to the outbox; a repeated key is a no-op.
    async fn queue(&self, tx: &mut Tx<'_>, q: Queued) -> Result<bool, RelayError> {
        let row = self.render_queued(q)?;
        Ok(enqueue(tx, &row, self.now()).await?)
    }

    /// Renders mails and writes them to the outbox in one statement
    /// (`store::outbox::enqueue_many`); a repeated key is a no-op.
    async fn queue_all(&self, tx: &mut Tx<'_>, mails: Vec<Queued>) -> Result<(), RelayError> {
        let rows = mails
            .into_iter()
            .map(|q| self.render_queued(q))
            .collect::<Result<Vec<_>, _>>()?;
        enqueue_many(tx, &rows, self.now()).await?;
        Ok(())
    }

    /// A mail as the outbox keeps it: rendered, with its Message-ID and key.
    fn render_queued(&self, q: Queued) -> Result<NewOutboxMail, RelayError> {
        let carrier = self.relay.is_carrier(q.to.email.domain());
        let links = self.links_for(&q);
        let vars = self.frame_vars(&q, links.as_ref(), carrier);
        // An introduction's replies go to the other person; the relay's own
        // mails come back to `circle+TOKEN@domain`.
        let reply_to = match (&q.reply_to, &q.reply_token) {
            (Some(other), _) => Some(other.clone()),
            (None, Some(t)) => Some(self.reply_address(t)?),
            (None, None) => None,
        };
        let opts = templates::MailOptions {
            language: q.to.language.as_str().to_string(),
            reply_address: Some(
                reply_to
                    .as_ref()
                    .unwrap_or(&self.address)
                    .as_str()
                    .to_string(),
            ),
            carrier,
        };
        let texts = self.templates.render_mail(q.kind.as_str(), &opts, &vars)?;
        let mail = OutgoingMail {
            from: self.address.clone(),
            from_name: header_safe(&self.circle.name),
            reply_to,
            to: q.to.email.clone(),
            to_name: q.to.name.clone(),
            subject: texts.subject.clone(),
            text: texts.text,
            html: texts.html,
            message_id: q.thread.message_id.clone(),
            in_reply_to: q.thread.in_reply_to,
            references: q.thread.references,
            auto_submitted: q.auto_submitted,
            list_unsubscribe: self.unsubscribe_url(),
            one_click_unsubscribe: links.map(|l| l.unsubscribe),
        };
        Ok(NewOutboxMail {
            idempotency_key: q.key,
            kind: q.kind.as_str().to_string(),
            to_email: q.to.email.as_str().to_string(),
            message_id: q.thread.message_id,
            subject: texts.subject,
            message: mail.render()?,
            request_id: q.request_id,
            member_id: q.member_id,
        })
    }

    /// Names one inbound message in idempotency keys, so it is answered once.
    fn message_key(&self, inbound_id: Option<i64>, message_id: Option<&str>) -> String {
        match (inbound_id, message_id) {
            (Some(id), _) => format!("in{id}"),
            (None, Some(mid)) => format!("mid{}", self.key.mint(mid)),
            (None, None) => format!("t{}", self.now()),
        }
    }

    /// The Message-ID of a mail the relay sends: `cr.LOCAL@circle-domain`.
    fn message_id(&self, local: &str) -> String {
        format!("cr.{local}@{}", self.domain())
    }

    /// A forward, which the member's answers and later notices answer.
    fn forward_message_id(&self, forward_token: &str) -> String {
        self.message_id(&format!("{forward_token}.fwd"))
    }

    /// The requester's acknowledgement, which their later mails answer.
    fn ack_id(&self, request_token: &str) -> String {
        self.message_id(&format!("{request_token}.ack"))
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
        reason: AlertReason,
    ) -> Result<(), RelayError> {
        self.alert_admins_naming(tx, request_id, request_ctx, reason, &[])
            .await
    }

    /// [`Relay::alert_admins`] naming who almost fitted (`near`: never
    /// forwarded to, never told to the requester), for a person to decide.
    async fn alert_admins_naming(
        &self,
        tx: &mut Tx<'_>,
        request_id: i64,
        request_ctx: &Value,
        reason: AlertReason,
        near: &[crate::matching::Candidate],
    ) -> Result<(), RelayError> {
        let (reason_ja, reason_en) = match reason {
            AlertReason::Unmatched => (
                "条件に合うメンバーが見つからず、どなたにも転送していません",
                "no member fits this request; it was forwarded to nobody",
            ),
            AlertReason::NobodyAvailable => (
                "どのメンバーも引き受けられませんでした",
                "nobody was available for this request",
            ),
        };
        let near_misses = near_miss::view(near, self.default_language() == MailLanguage::Ja);
        let console_link = self.web.as_ref().map(|w| {
            format!(
                "{}/admin/requests/{request_id}",
                w.base_url.trim_end_matches('/')
            )
        });
        for admin in &self.circle.admins {
            let Ok(email) = EmailAddress::parse(admin) else {
                continue;
            };
            let vars = context! {
                request => request_ctx.clone(), reason_ja => reason_ja, reason_en => reason_en,
                near_misses => near_misses.clone(), console_link => console_link.clone(),
            };
            let key = format!("admin:{}:{request_id}:{}", reason.as_str(), email.key());
            let to = Recipient::address(email, self.default_language());
            let mid = self.message_id(&format!(
                "admin.{}.{request_id}.{}",
                reason.as_str(),
                self.key.mint(admin)
            ));
            let mail = Queued::generated(MailKind::AdminAlert, key, to, vars, Thread::start(mid))
                .about(Some(request_id), None);
            self.queue(tx, mail).await?;
        }
        Ok(())
    }
}
