//! Flow 7, "did it work out?": `followup_after_days` after an introduction
//! the requester is asked; the answer (yes / no / free text, Japanese or
//! English) is recorded on the introduction, and a "yes" appears as thanks
//! in the next digest.
//!
//! The question's reply address carries `f<introduction>x<MAC>` (MAC over
//! `followup:<introduction>`): self-describing like the digest's volunteer
//! tokens, so no new table is needed, and unforgeable.

use crate::domain::MailKind;
use minijinja::context;
use unicode_normalization::UnicodeNormalization;

use super::intent::{Intent, read_intent};
use super::replies::IncomingReply;
use super::token::FollowupToken;
use super::{Queued, Recipient, Relay, RelayError, Thread, Tx};
use crate::store::Store;
use crate::store::circle::{claim_followup, due_followups, introduction, set_outcome};
use crate::store::requests::{RequestRow, request_for_update};
use crate::store::{member_by_id, member_by_key};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowupOutcome {
    /// The token does not verify: nothing is recorded or sent.
    Untrusted,
    /// Someone other than the requester answered: ignored.
    NotYours,
    /// `yes`, `no` or `other`.
    Recorded(&'static str),
}

/// Reads an answer to "did it work out?".
pub fn read_outcome(text: &str) -> &'static str {
    let t: String = text.nfkc().collect::<String>().to_lowercase();
    let first = t
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    const NO: &[&str] = &[
        "no",
        "not ",
        "didn't",
        "did not",
        "unfortunately",
        "いいえ",
        "うまくいきません",
        "うまくいかな",
        "だめ",
        "ダメ",
        "不成立",
        "見送",
        "残念",
    ];
    const YES: &[&str] = &[
        "yes",
        "it worked",
        "worked out",
        "great",
        "はい",
        "うまくいき",
        "助かりました",
        "ありがとう",
        "成立",
        "決まりました",
        "解決",
    ];
    // "Not yet" / 「まだです」 (the follow-up's second button) is neither.
    if ["not yet", "まだ"].iter().any(|w| first.starts_with(w)) {
        return "other";
    }
    if NO
        .iter()
        .any(|w| first.starts_with(w) || (w.len() > 3 && first.contains(w)))
    {
        return "no";
    }
    if YES.iter().any(|w| first.contains(w)) {
        return "yes";
    }
    match read_intent(text) {
        Intent::Accept => "yes",
        Intent::Decline => "no",
        _ => "other",
    }
}

impl Relay {
    pub fn followup_token(&self, introduction_id: i64) -> String {
        let mac = self.key.mint(&format!("followup:{introduction_id}"));
        format!("f{introduction_id}x{mac}")
    }

    /// Asks every requester whose introduction is due. Each introduction is
    /// its own transaction and is claimed first, so two daemons ask once;
    /// committing one by one is why this takes the store, not a [`Tx`].
    pub async fn send_due_followups(&self, store: &Store) -> Result<usize, RelayError> {
        let mut sent = 0;
        for due in due_followups(store.pool(), self.now()).await? {
            let mut tx = store.begin().await?;
            if !claim_followup(&mut tx, due.id, self.now()).await? {
                continue;
            }
            let Some(request) = request_for_update(&mut tx, due.request_id).await? else {
                continue;
            };
            let member = member_by_id(&mut *tx, due.member_id).await?;
            let to = self.requester_in_tx(&mut tx, &request).await?;
            let vars = context! {
                request => Self::request_vars(&request),
                member => context! { name => member.map(|m| m.name).unwrap_or_default() },
            };
            let token = self.followup_token(due.id);
            let mid = self.message_id(&format!("followup.{token}"));
            let key = format!("followup:{}", due.id);
            let mail = Queued::generated(MailKind::Followup, key, to, vars, Thread::start(mid))
                .reply_token(token)
                .about(Some(request.id), Some(due.member_id));
            self.queue(&mut tx, mail).await?;
            tx.commit().await?;
            tracing::info!(
                introduction_id = due.id,
                request_id = due.request_id,
                "follow-up asked"
            );
            sent += 1;
        }
        Ok(sent)
    }

    async fn requester_in_tx(
        &self,
        tx: &mut Tx<'_>,
        request: &RequestRow,
    ) -> Result<Recipient, RelayError> {
        let email = Self::requester_address(request)?;
        let member = member_by_key(&mut **tx, email.key()).await?;
        Ok(self.requester_as(request, email, member.as_ref()))
    }

    /// An answer to "did it work out?" (`ReplyToken::Followup`).
    pub async fn take_followup_reply(
        &self,
        tx: &mut Tx<'_>,
        reply: &IncomingReply,
        followup: &FollowupToken,
    ) -> Result<FollowupOutcome, RelayError> {
        let id = followup.introduction_id;
        if !self.key.verify(&format!("followup:{id}"), &followup.mac) {
            return Ok(FollowupOutcome::Untrusted);
        }
        let Some(intro) = introduction(tx, id).await? else {
            return Ok(FollowupOutcome::Untrusted);
        };
        let Some(request) = request_for_update(tx, intro.request_id).await? else {
            return Ok(FollowupOutcome::Untrusted);
        };
        if request.requester_email.to_ascii_lowercase() != reply.from.key() {
            tracing::warn!(
                introduction_id = id,
                "follow-up answer from another address; ignored"
            );
            return Ok(FollowupOutcome::NotYours);
        }
        let outcome = read_outcome(&reply.new_text);
        set_outcome(tx, id, outcome, reply.new_text.trim(), self.now()).await?;
        tracing::info!(introduction_id = id, outcome, "follow-up answered");
        let to = self.requester_in_tx(tx, &request).await?;
        let vars = context! { request => Self::request_vars(&request), outcome => outcome };
        let mid = self.message_id(&format!("followup.thanks.{}", self.followup_token(id)));
        let thread = Thread::answering(mid, reply.message_id.clone());
        let key = format!("followup_thanks:{id}");
        let mail = Queued::replied(MailKind::FollowupThanks, key, to, vars, thread)
            .about(Some(request.id), Some(intro.member_id));
        self.queue(tx, mail).await?;
        Ok(FollowupOutcome::Recorded(outcome))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_in_both_languages() {
        assert_eq!(read_outcome("Yes, it worked out great"), "yes");
        assert_eq!(read_outcome("はい、おかげさまでうまくいきました。"), "yes");
        assert_eq!(read_outcome("No, we did not find a date"), "no");
        assert_eq!(read_outcome("いいえ、今回は見送りになりました"), "no");
        assert_eq!(read_outcome("まだ日程調整中です"), "other");
        // The follow-up's buttons.
        assert_eq!(read_outcome("うまくいきました\n"), "yes");
        assert_eq!(read_outcome("まだです\n"), "other");
        assert_eq!(read_outcome("It worked out\n"), "yes");
        assert_eq!(read_outcome("Not yet\n"), "other");
    }
}
