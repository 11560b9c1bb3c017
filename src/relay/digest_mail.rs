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
use super::token::VolunteerToken;
use super::{Queued, Recipient, Relay, RelayError, ReplyOutcome, Thread, Tx};
use crate::domain::{EmailAddress, Member};
use crate::matching::Matcher;
use crate::store::requests::{NewForward, RequestRow, insert_forward, request_for_update};

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

    /// A mail to a volunteer address (`ReplyToken::Volunteer`): the member
    /// gets the forward they would have had, and the mail is then taken as
    /// their reply to it.
    pub async fn take_volunteer(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        reply: &IncomingReply,
        volunteer: &VolunteerToken,
    ) -> Result<ReplyOutcome, RelayError> {
        let VolunteerToken {
            request_id,
            member_id,
            ref mac,
        } = *volunteer;
        if !self
            .key
            .verify(&format!("volunteer:{request_id}:{member_id}"), mac)
        {
            tracing::warn!("volunteer token does not verify; ignored");
            return Ok(ReplyOutcome::Untrusted);
        }
        let Some(member) = matcher.members().iter().find(|m| m.id == member_id) else {
            return Ok(ReplyOutcome::Untrusted);
        };
        if member.email.key() != reply.from.key() {
            self.refuse_volunteer(tx, reply).await?;
            return Ok(ReplyOutcome::NotYours);
        }
        let Some(request) = request_for_update(tx, request_id).await? else {
            return Ok(ReplyOutcome::Untrusted);
        };
        let token = self.volunteer_forward(tx, &request, member_id).await?;
        let as_reply = IncomingReply {
            token,
            ..reply.clone()
        };
        self.take_reply(tx, matcher, &as_reply).await
    }

    /// The forward a volunteer gets; returns its token. The token is the one
    /// this member's forward has (or would have had): an existing forward is
    /// reused, so volunteering twice is one forward.
    async fn volunteer_forward(
        &self,
        tx: &mut Tx<'_>,
        request: &RequestRow,
        member_id: i64,
    ) -> Result<String, RelayError> {
        let request_id = request.id;
        let forward = NewForward {
            rank: 99,
            reasons_json: r#"["volunteered from the digest"]"#.into(),
            ..self.forward_row(request_id, member_id, request.wave.max(1))
        };
        let inserted = insert_forward(tx, &forward, self.now()).await?;
        tracing::info!(
            request_id,
            member_id,
            new_forward = inserted.is_some(),
            "volunteer from the digest"
        );
        Ok(forward.token)
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
