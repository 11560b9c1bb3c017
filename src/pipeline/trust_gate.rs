//! The pipeline's sender-trust steps (issue 14): spam kept aside, requests
//! screened and held, answers to hold notices.

use crate::store::Tx;

use super::{Pipeline, failed, request_text, sender_name};
use crate::inbox::{HandleError, Handled, InboundMail};
use crate::matching::Matcher;
use crate::relay::{HoldAnswer, HoldOutcome, IncomingReply, IncomingRequest};
use crate::store::holds::{HoldReason, NewHold};
use crate::store::ledger::KIND_SPAM;
use crate::understand::ParsedMessage;
use crate::understand::trust::Trust;

impl Pipeline {
    /// Spam is never forwarded or answered: recorded for the admins' daily
    /// summary, and the message goes to the spam folder.
    pub(super) async fn keep_spam(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        parsed: &ParsedMessage,
        why: &str,
    ) -> Result<Handled, HandleError> {
        let hold = NewHold {
            inbound_id: Some(mail.inbound_id),
            reason: HoldReason::Spam,
            detail: why.to_string(),
            requester_email: parsed
                .from
                .as_ref()
                .map(|m| m.address.clone())
                .unwrap_or_default(),
            requester_name: sender_name(parsed),
            subject: parsed.subject.clone(),
            body: request_text(&parsed.text),
            message_id: parsed.message_id.clone(),
        };
        let id = self.relay.hold(tx, &hold).await?;
        tracing::warn!(
            inbound_id = mail.inbound_id,
            hold_id = id,
            "marked as spam by the receiving server: kept aside"
        );
        Ok(Handled::processed(KIND_SPAM))
    }

    /// Holds a request that must wait (forged sender, non-member, over the
    /// daily limit); `Some` is the message's verdict then.
    pub(super) async fn screen(
        &self,
        tx: &mut Tx<'static>,
        matcher: &Matcher,
        request: &IncomingRequest,
        trust: &Trust,
    ) -> Result<Option<Handled>, HandleError> {
        // A forged From is not the member's: the member is not its sender.
        let is_member = trust.forged().is_none()
            && matcher
                .members()
                .iter()
                .any(|m| m.email.key() == request.from.key() && m.is_active());
        let screened = self
            .relay
            .screen_request(tx, &request.from, self.posting, is_member, trust.forged())
            .await?;
        let Some((reason, detail)) = screened else {
            return Ok(None);
        };
        let hold = NewHold {
            inbound_id: request.inbound_id,
            reason,
            detail: detail.clone(),
            requester_email: request.from.as_str().to_string(),
            requester_name: request.from_name.clone(),
            subject: request.subject.clone(),
            body: request.body.clone(),
            message_id: request.message_id.clone(),
        };
        let id = self.relay.hold(tx, &hold).await?;
        tracing::warn!(
            inbound_id = request.inbound_id,
            hold_id = id,
            reason = reason.as_str(),
            "request held"
        );
        // Refused (not a member under `members`): not answered, as before, and
        // in Failed for `inbox failed`; the daily summary names it.
        Ok(Some(if reason == HoldReason::Refused {
            failed(
                "request",
                format!("request from an address that is not an active member (hold {id})"),
            )
        } else {
            Handled::processed("request")
        }))
    }

    /// An answer to a hold notice, when the reply's token is a hold's.
    pub(super) async fn hold_answer(
        &self,
        tx: &mut Tx<'static>,
        matcher: &Matcher,
        reply: &IncomingReply,
        subject: &str,
    ) -> Result<Option<HoldOutcome>, HandleError> {
        let answer = HoldAnswer {
            from: reply.from.clone(),
            token: reply.token.clone(),
            subject: subject.to_string(),
            new_text: reply.new_text.clone(),
        };
        Ok(self.relay.take_hold_answer(tx, matcher, &answer).await?)
    }
}
