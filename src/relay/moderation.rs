//! Held requests (issue 14): which requests wait for an admin, the hold
//! notice with its approve/reject buttons, the admins' answers, and what an
//! approval or a rejection does. Written in the caller's transaction.

use std::collections::HashMap;

use minijinja::context;

use super::{IncomingRequest, Queued, Recipient, Relay, RelayError, RequestOutcome, Thread, Tx};
use crate::config::Posting;
use crate::domain::{EmailAddress, MailKind};
use crate::matching::Matcher;
use crate::store::holds::{
    HoldReason, HoldRow, HoldState, NewHold, decide_hold, hold_by_id, hold_by_token, insert_hold,
    requests_from_since, set_hold_request, set_hold_token,
};
use crate::store::requests::forwards_this_week;

/// An admin's answer to a hold notice (a reply to its token address).
#[derive(Debug, Clone)]
pub struct HoldAnswer {
    pub from: EmailAddress,
    pub token: String,
    pub subject: String,
    pub new_text: String,
}

/// What an answer to a hold did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldOutcome {
    Approved {
        hold_id: i64,
        request_id: i64,
    },
    Rejected {
        hold_id: i64,
    },
    /// Already decided: nothing happens twice.
    AlreadyDecided {
        hold_id: i64,
    },
    /// Not from an admin of the circle: ignored.
    NotAnAdmin {
        hold_id: i64,
    },
    /// Neither approve nor reject was said.
    Unclear {
        hold_id: i64,
    },
}

/// A decision, from a word an admin wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// "approve" / "reject" / 承認 / 却下 (and their usual variants) in the new
/// text's first words, else in the subject; both or neither: `None`.
pub fn read_decision(subject: &str, new_text: &str) -> Option<Decision> {
    let first = new_text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    read_words(first).or_else(|| read_words(subject))
}

fn read_words(text: &str) -> Option<Decision> {
    let t = text.to_lowercase();
    let approve = ["approve", "承認", "許可"].iter().any(|w| t.contains(w));
    let reject = ["reject", "却下", "拒否"].iter().any(|w| t.contains(w));
    match (approve, reject) {
        (true, false) => Some(Decision::Approve),
        (false, true) => Some(Decision::Reject),
        _ => None,
    }
}

impl Relay {
    /// Why a request must wait for an admin, if it must: a forged sender, a
    /// non-member (by `posting`), or a sender over the daily limit.
    pub async fn screen_request(
        &self,
        tx: &mut Tx<'_>,
        from: &EmailAddress,
        posting: Posting,
        is_member: bool,
        forged: Option<&str>,
    ) -> Result<Option<(HoldReason, String)>, RelayError> {
        if let Some(reason) = forged {
            return Ok(Some((HoldReason::Forged, reason.to_string())));
        }
        let trusted = self
            .moderation
            .trusted_domains
            .iter()
            .any(|d| d.trim().eq_ignore_ascii_case(from.domain()));
        if !is_member && !trusted {
            match posting {
                Posting::Members => {
                    return Ok(Some((HoldReason::Refused, "not an active member".into())));
                }
                Posting::Moderated => {
                    return Ok(Some((HoldReason::NonMember, "not an active member".into())));
                }
                Posting::Anyone => {}
            }
        }
        let max = i64::from(self.moderation.max_requests_per_sender_per_day);
        let today = requests_from_since(tx, from.as_str(), self.now() - 86_400).await?;
        if today >= max {
            let why = format!("more than {max} requests from this address within a day");
            return Ok(Some((HoldReason::Rate, why)));
        }
        Ok(None)
    }

    /// Records a hold; the admins get a notice when it asks for a decision.
    pub async fn hold(&self, tx: &mut Tx<'_>, h: &NewHold) -> Result<i64, RelayError> {
        let id = insert_hold(tx, h, self.now()).await?;
        let token = self.key.mint(&format!("hold:{id}"));
        set_hold_token(tx, id, &token).await?;
        tracing::info!(hold_id = id, reason = h.reason.as_str(), "held");
        if h.reason.asks_admins() {
            self.hold_notices(tx, id, h, &token).await?;
        }
        Ok(id)
    }

    async fn hold_notices(
        &self,
        tx: &mut Tx<'_>,
        id: i64,
        h: &NewHold,
        token: &str,
    ) -> Result<(), RelayError> {
        let language = self.default_language();
        for admin in &self.circle.admins {
            let Ok(email) = EmailAddress::parse(admin) else {
                continue;
            };
            let vars = context! {
                hold => hold_ctx(id, h),
            };
            let key = format!("hold:{id}:{}", email.key());
            let mid = self.message_id(&format!("{token}.hold.{}", self.key.mint(admin)));
            let to = Recipient::address(email, language);
            let mail = Queued::generated(MailKind::HoldNotice, key, to, vars, Thread::start(mid))
                .reply_token(token.to_string());
            self.queue(tx, mail).await?;
        }
        Ok(())
    }

    /// An answer to a hold notice; `None` when the token is no hold's.
    pub async fn take_hold_answer(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        answer: &HoldAnswer,
    ) -> Result<Option<HoldOutcome>, RelayError> {
        let Some(hold) = hold_by_token(tx, &answer.token).await? else {
            return Ok(None);
        };
        // The stored token is the MAC of the hold's number: check it, so a
        // row with a damaged token is never decided by it.
        if !self.key.verify(&format!("hold:{}", hold.id), &answer.token) {
            return Ok(None);
        }
        let hold_id = hold.id;
        if !self.is_admin(&answer.from) {
            tracing::warn!(hold_id, "answer to a hold from a non-admin; ignored");
            return Ok(Some(HoldOutcome::NotAnAdmin { hold_id }));
        }
        let by = answer.from.as_str().to_string();
        let outcome = match read_decision(&answer.subject, &answer.new_text) {
            None => HoldOutcome::Unclear { hold_id },
            Some(Decision::Approve) => {
                let recent = forwards_this_week(tx, self.now()).await?;
                self.approve(tx, &hold, &by, matcher, recent).await?
            }
            Some(Decision::Reject) => self.reject(tx, &hold, &by).await?,
        };
        Ok(Some(outcome))
    }

    /// `requests approve N` / `requests reject N` (`by` "cli") and the
    /// console (`by` "web:ADMIN"): decides any hold by number, recording who.
    pub async fn decide_by_number(
        &self,
        tx: &mut Tx<'_>,
        hold_id: i64,
        decision: Decision,
        matcher: &Matcher,
        recent_forwards: HashMap<i64, u32>,
        by: &str,
    ) -> Result<Option<HoldOutcome>, RelayError> {
        let Some(hold) = hold_by_id(tx, hold_id).await? else {
            return Ok(None);
        };
        Ok(Some(match decision {
            Decision::Approve => {
                self.approve(tx, &hold, by, matcher, recent_forwards)
                    .await?
            }
            Decision::Reject => self.reject(tx, &hold, by).await?,
        }))
    }

    fn is_admin(&self, from: &EmailAddress) -> bool {
        self.circle
            .admins
            .iter()
            .filter_map(|a| EmailAddress::parse(a).ok())
            .any(|a| a.key() == from.key())
    }

    async fn approve(
        &self,
        tx: &mut Tx<'_>,
        hold: &HoldRow,
        by: &str,
        matcher: &Matcher,
        recent_forwards: HashMap<i64, u32>,
    ) -> Result<HoldOutcome, RelayError> {
        let hold_id = hold.id;
        if !decide_hold(tx, hold_id, HoldState::Approved, by, self.now()).await? {
            return Ok(HoldOutcome::AlreadyDecided { hold_id });
        }
        let from = EmailAddress::parse(&hold.requester_email).map_err(|source| {
            RelayError::RequesterAddress {
                request_id: 0,
                source,
            }
        })?;
        let request = IncomingRequest {
            inbound_id: hold.inbound_id,
            from,
            from_name: hold.requester_name.clone(),
            subject: hold.subject.clone(),
            body: hold.body.clone(),
            message_id: hold.message_id.clone(),
        };
        let RequestOutcome { request_id, .. } = self
            .take_request(tx, matcher, recent_forwards, &request)
            .await?;
        set_hold_request(tx, hold_id, request_id).await?;
        tracing::info!(hold_id, request_id, "hold approved");
        Ok(HoldOutcome::Approved {
            hold_id,
            request_id,
        })
    }

    async fn reject(
        &self,
        tx: &mut Tx<'_>,
        hold: &HoldRow,
        by: &str,
    ) -> Result<HoldOutcome, RelayError> {
        let hold_id = hold.id;
        if !decide_hold(tx, hold_id, HoldState::Rejected, by, self.now()).await? {
            return Ok(HoldOutcome::AlreadyDecided { hold_id });
        }
        tracing::info!(hold_id, "hold rejected");
        // Only a sender who asked for a decision hears of it: a refused or
        // spam sender is never answered, and a forged From is not the sender.
        let tell = matches!(hold.reason, HoldReason::NonMember | HoldReason::Rate);
        if !(tell && self.moderation.notify_rejected) {
            return Ok(HoldOutcome::Rejected { hold_id });
        }
        let Ok(email) = EmailAddress::parse(&hold.requester_email) else {
            return Ok(HoldOutcome::Rejected { hold_id });
        };
        let language = self.language_of(None, &hold.subject, &hold.body);
        let vars = context! { request => context! { subject => hold.subject.clone() } };
        let mark = self.key.mint(&format!("hold:{hold_id}"));
        let mid = self.message_id(&format!("hold.{hold_id}.{mark}.rejected"));
        let to = Recipient {
            email,
            name: hold.requester_name.clone(),
            language,
            member_id: None,
        };
        let mail = Queued::replied(
            MailKind::HoldRejected,
            format!("hold_rejected:{hold_id}"),
            to,
            vars,
            Thread::answering(mid, hold.message_id.clone()),
        );
        self.queue(tx, mail).await?;
        Ok(HoldOutcome::Rejected { hold_id })
    }
}

/// A hold as templates see it.
fn hold_ctx(id: i64, h: &NewHold) -> minijinja::Value {
    let (reason_ja, reason_en) = reason_texts(h.reason);
    context! {
        number => id, reason_ja => reason_ja, reason_en => reason_en, detail => h.detail.clone(),
        requester_name => h.requester_name.clone(), requester_email => h.requester_email.clone(),
        subject => h.subject.clone(), body => h.body.clone(),
    }
}

/// Why a hold was made, in plain words.
pub(super) fn reason_texts(reason: HoldReason) -> (&'static str, &'static str) {
    match reason {
        HoldReason::NonMember => (
            "メンバーではない方からの依頼です",
            "the sender is not a member of the circle",
        ),
        HoldReason::Refused => (
            "メンバーではない方からの依頼のため、受け付けていません",
            "the sender is not a member, so the request was not taken",
        ),
        HoldReason::Forged => (
            "差出人のアドレスが偽装されている可能性があります（受信サーバーの認証に失敗）",
            "the sender's address may be forged (it failed the receiving server's authentication)",
        ),
        HoldReason::Rate => (
            "同じ差出人から1日に受け付ける依頼の数を超えました",
            "the sender passed the number of requests taken from one address in a day",
        ),
        HoldReason::Spam => (
            "受信サーバーが迷惑メールと判定しました",
            "the receiving server marked it as spam",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_in_both_languages() {
        assert_eq!(read_decision("approve", "approve"), Some(Decision::Approve));
        assert_eq!(
            read_decision("Re: hold", "承認します\n> 却下"),
            Some(Decision::Approve)
        );
        assert_eq!(read_decision("却下", ""), Some(Decision::Reject));
        assert_eq!(
            read_decision("Re: x", "Reject, sorry"),
            Some(Decision::Reject)
        );
        assert_eq!(read_decision("approve or reject", ""), None);
        assert_eq!(read_decision("Re: x", "thanks"), None);
    }
}
