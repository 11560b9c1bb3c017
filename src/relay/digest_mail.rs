//! The relay's side of the weekly digest (flow 6): rendering and queuing one
//! member's digest, and volunteering for an open request from it.
//!
//! Volunteering: each open request in a member's digest carries its own
//! reply address `circle+TOKEN@domain`, TOKEN = `v<request>x<member>x<MAC>`
//! with the MAC keyed over `volunteer:<request>:<member>`. The ids make the
//! token self-describing (no table needed), the MAC makes it unforgeable and
//! bound to one member. A mail to it becomes a forward for that member (the
//! token the forward would have had anyway) and is then taken exactly like a
//! reply to a forward: "yes" introduces, a question goes to the requester,
//! and a sender other than the member is refused.

use crate::domain::{MailKind, MailLanguage};
use minijinja::{Value, context};

use super::replies::IncomingReply;
use super::templates::RenderedMail;
use super::{Queued, Recipient, Relay, RelayError, ReplyOutcome, Thread, Tx};
use crate::domain::{EmailAddress, Member};
use crate::matching::Matcher;
use crate::store::requests::{NewForward, insert_forward, request_for_update};
use crate::store::{Backend, Store};

/// `(request, member)` of a volunteer token, without verifying it.
pub fn volunteer_token_ids(token: &str) -> Option<(i64, i64)> {
    let rest = token.to_ascii_lowercase();
    let rest = rest.strip_prefix('v')?;
    let mut parts = rest.splitn(3, 'x');
    let request = parts.next()?.parse().ok()?;
    let member = parts.next()?.parse().ok()?;
    parts.next().filter(|mac| !mac.is_empty())?;
    Some((request, member))
}

/// Who gets a digest: a member, or an admin who is not in the directory.
pub struct DigestRecipient {
    pub email: EmailAddress,
    pub name: String,
    pub language: MailLanguage,
    pub member_id: Option<i64>,
}

impl DigestRecipient {
    pub fn member(m: &Member, fallback: MailLanguage) -> Self {
        let r = Recipient::member(m, fallback);
        Self {
            email: r.email,
            name: r.name,
            language: r.language,
            member_id: Some(m.id),
        }
    }
}

impl Relay {
    pub fn admin_addresses(&self) -> Vec<EmailAddress> {
        self.circle
            .admins
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .collect()
    }

    pub fn timezone_name(&self) -> &str {
        &self.circle.timezone
    }

    pub fn mail_language(&self, member: Option<&Member>) -> MailLanguage {
        match member {
            Some(m) => Recipient::member(m, self.default_language()).language,
            None => self.default_language(),
        }
    }

    /// The reply address that volunteers `member_id` for `request_id`.
    pub fn volunteer_address(&self, request_id: i64, member_id: i64) -> String {
        let mac = self
            .key
            .mint(&format!("volunteer:{request_id}:{member_id}"));
        let token = format!("v{request_id}x{member_id}x{mac}");
        format!(
            "{}+{token}@{}",
            self.address.local_part(),
            self.address.domain()
        )
    }

    fn digest_vars(&self, content: &Value) -> Value {
        context! {
            circle => context! { name => self.circle.name.clone(), address => self.address.as_str() },
            unsubscribe_url => self.unsubscribe_url(),
            d => content.clone(),
        }
    }

    /// A digest's subject, text and HTML, as `digest preview` prints it.
    pub fn render_digest(
        &self,
        language: MailLanguage,
        content: &Value,
    ) -> Result<RenderedMail, RelayError> {
        Ok(self.templates.render(
            MailKind::Digest.as_str(),
            language.as_str(),
            &self.digest_vars(content),
        )?)
    }

    /// Queues one digest; false when this week's digest to this address was
    /// already queued.
    pub async fn queue_digest(
        &self,
        tx: &mut Tx<'_>,
        to: DigestRecipient,
        week: &str,
        content: &Value,
    ) -> Result<bool, RelayError> {
        let key = format!("digest:{week}:{}", to.email.key());
        let mid = self.message_id(&format!("digest.{week}.{}", self.key.mint(&key)));
        let member_id = to.member_id;
        let to = Recipient {
            email: to.email,
            name: to.name,
            language: to.language,
            member_id,
        };
        let vars = context! { d => content.clone() };
        let mail = Queued::generated(MailKind::Digest, key, to, vars, Thread::start(mid))
            .about(None, member_id);
        self.queue(tx, mail).await
    }

    /// A mail to a volunteer address. `None` when `reply.token` is not a
    /// volunteer token (the caller then tries the other kinds of token).
    pub async fn take_volunteer(
        &self,
        tx: &mut Tx<'_>,
        store: &Store,
        matcher: &Matcher,
        reply: &IncomingReply,
    ) -> Result<Option<ReplyOutcome>, RelayError> {
        let Some((request_id, member_id)) = volunteer_token_ids(&reply.token) else {
            return Ok(None);
        };
        let lower = reply.token.to_ascii_lowercase();
        let mac = lower.splitn(3, 'x').nth(2).unwrap_or_default();
        if !self
            .key
            .verify(&format!("volunteer:{request_id}:{member_id}"), mac)
        {
            tracing::warn!("volunteer token does not verify; ignored");
            return Ok(Some(ReplyOutcome::Untrusted));
        }
        let Some(member) = matcher.members().iter().find(|m| m.id == member_id) else {
            return Ok(Some(ReplyOutcome::Untrusted));
        };
        if member.email.key() != reply.from.key() {
            self.refuse_volunteer(tx, reply).await?;
            return Ok(Some(ReplyOutcome::NotYours));
        }
        let postgres = store.backend() == Backend::Postgres;
        let Some(request) = request_for_update(tx, request_id, postgres).await? else {
            return Ok(Some(ReplyOutcome::Untrusted));
        };
        // The token this member's forward has (or would have had): an existing
        // forward is reused, so volunteering twice is one forward.
        let token = self.key.mint(&format!("forward:{request_id}:{member_id}"));
        let inserted = insert_forward(
            tx,
            &NewForward {
                request_id,
                member_id,
                wave: request.wave.max(1),
                rank: 99,
                score: 0.0,
                reasons_json: r#"["volunteered from the digest"]"#.into(),
                token: token.clone(),
                requester_token: self.key.mint(&format!("asker:{request_id}:{member_id}")),
                message_id: self.forward_message_id(&token),
            },
            self.now(),
        )
        .await?;
        tracing::info!(
            request_id,
            member_id,
            new_forward = inserted.is_some(),
            "volunteer from the digest"
        );
        let as_reply = IncomingReply {
            token,
            ..reply.clone()
        };
        Ok(Some(self.take_reply(tx, store, matcher, &as_reply).await?))
    }

    async fn refuse_volunteer(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
    ) -> Result<(), RelayError> {
        tracing::warn!("volunteer mail from an address other than the digest's member");
        let key = format!("not_yours:{}", self.msg_key(reply));
        self.queue_not_yours(tx, reply, self.default_language(), &key)
            .await
    }
}
