//! Flow 4, closing by the requester: the request is closed, the members
//! still pending are told, and so is the requester.

use minijinja::context;

use super::replies::ReplyOutcome;
use super::{Queued, Relay, RelayError, Tx};
use crate::domain::{ForwardState, MailKind, RequestStatus};
use crate::matching::Matcher;
use crate::store::requests::{RequestRow, forwards_of, set_forward_state, set_request_state};

impl Relay {
    pub(super) async fn close(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        request: &RequestRow,
    ) -> Result<ReplyOutcome, RelayError> {
        let now = self.now();
        let (id, wave) = (request.id, request.wave);
        set_request_state(tx, id, RequestStatus::Closed, wave, None, now).await?;
        let closed = RequestRow {
            status: RequestStatus::Closed,
            ..request.clone()
        };
        self.cancel_pending(tx, matcher, &closed).await?;
        let vars = context! { request => Self::request_vars(&closed) };
        let to_requester = Queued::replied(
            MailKind::Closed,
            format!("closed_requester:{id}"),
            self.requester(request, matcher)?,
            vars,
            self.requester_thread(request, "closed"),
        )
        .about(Some(id), None);
        self.queue(tx, to_requester).await?;
        tracing::info!(request_id = id, "request closed by the requester");
        Ok(ReplyOutcome::Closed)
    }

    /// The forwards still pending are cancelled and their members told.
    async fn cancel_pending(
        &self,
        tx: &mut Tx<'_>,
        matcher: &Matcher,
        closed: &RequestRow,
    ) -> Result<(), RelayError> {
        let forwards = forwards_of(tx, closed.id).await?;
        for f in forwards.iter().filter(|f| f.state == ForwardState::Pending) {
            set_forward_state(tx, f.id, ForwardState::Cancelled, self.now()).await?;
            let Ok(m) = self.member_of(matcher, f.member_id) else {
                continue;
            };
            let key = (format!("closed:{}", f.id), MailKind::Closed);
            self.notify_member(tx, key, closed, m, f).await?;
        }
        Ok(())
    }
}
