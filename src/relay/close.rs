//! Flow 4, closing by the requester (or by an admin from the console): the
//! request is closed, the members still pending are told, and so is the
//! requester, in words that say who closed it.

use minijinja::context;

use super::replies::ReplyOutcome;
use super::{Queued, Relay, RelayError, Tx};
use crate::domain::{ForwardState, MailKind, RequestStatus};
use crate::matching::Matcher;
use crate::store::requests::{
    RequestRow, forwards_of, request_for_update, set_forward_state, set_request_state,
};

/// Who closed a request: the mails say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Closer {
    Requester,
    /// An admin, from the console.
    Organiser,
}

impl Relay {
    /// An admin closes open request `id` from the console: as the requester
    /// closing it, but the mails say the circle's organiser closed it.
    /// False when there is no such request or it is no longer open.
    pub async fn close_by_admin(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        id: i64,
    ) -> Result<bool, RelayError> {
        let Some(request) = request_for_update(tx, id).await? else {
            return Ok(false);
        };
        if request.status != RequestStatus::Open {
            return Ok(false);
        }
        self.close_as(tx, matcher, &request, Closer::Organiser)
            .await?;
        Ok(true)
    }

    pub(super) async fn close(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
    ) -> Result<ReplyOutcome, RelayError> {
        self.close_as(tx, matcher, request, Closer::Requester).await
    }

    async fn close_as(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
        closer: Closer,
    ) -> Result<ReplyOutcome, RelayError> {
        let now = self.now();
        let (id, wave) = (request.id, request.wave);
        set_request_state(tx, id, RequestStatus::Closed, wave, None, now).await?;
        let closed = RequestRow {
            status: RequestStatus::Closed,
            ..request.clone()
        };
        self.cancel_pending(tx, matcher, &closed, closer).await?;
        let by_organiser = closer == Closer::Organiser;
        let vars = context! { request => Self::request_vars(&closed), by_organiser };
        let to_requester = Queued::replied(
            MailKind::Closed,
            format!("closed_requester:{id}"),
            self.requester(request, matcher)?,
            vars,
            self.requester_thread(request, "closed"),
        )
        .about(Some(id), None);
        self.queue(tx, to_requester).await?;
        tracing::info!(request_id = id, ?closer, "request closed");
        Ok(ReplyOutcome::Closed)
    }

    /// The forwards still pending are cancelled and their members told.
    async fn cancel_pending(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        closed: &RequestRow,
        closer: Closer,
    ) -> Result<(), RelayError> {
        let extra = context! { by_organiser => closer == Closer::Organiser };
        let forwards = forwards_of(tx, closed.id).await?;
        for f in forwards.iter().filter(|f| f.state == ForwardState::Pending) {
            set_forward_state(tx, f.id, ForwardState::Cancelled, self.now()).await?;
            let Ok(m) = self.member_of(matcher, f.member_id) else {
                continue;
            };
            let key = (format!("closed:{}", f.id), MailKind::Closed);
            self.notify_member(tx, key, closed, m, f, extra.clone())
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use crate::relay::templates::Templates;

    fn closed(lang: &str, member: bool, by_organiser: bool) -> String {
        let mut vars = context! {
            circle => context! { name => "Care Circle", address => "circle@circle.test" },
            request => context! { number => 4, subject => "First aid", requester_name => "Ann" },
            unsubscribe_url => "mailto:circle@circle.test?subject=unsubscribe",
            by_organiser,
        };
        if member {
            vars = context! { member => context! { name => "Carol" }, ..vars };
        }
        let text = Templates::embedded()
            .render("closed", lang, &vars)
            .unwrap()
            .text;
        // Lines may wrap anywhere: read the words.
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn an_organisers_close_says_so_to_both_sides_in_both_languages() {
        assert!(closed("en", false, true).contains("The circle's organiser closed your request"));
        assert!(closed("en", true, true).contains("The circle's organiser closed"));
        assert!(closed("en", false, false).contains("is closed. The members still"));
        assert!(closed("en", true, false).contains("The requester closed"));
        assert!(closed("ja", false, true).contains("Care Circle の運営担当者が締め切りました"));
        assert!(closed("ja", true, true).contains("運営担当者が締め切りました"));
        assert!(!closed("ja", false, false).contains("運営担当者"));
        assert!(closed("ja", true, false).contains("依頼者が締め切りました"));
    }
}
