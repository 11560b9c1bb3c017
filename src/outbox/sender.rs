//! Drains the outbox: claim a batch of due rows (the attempts are recorded
//! first), apply the per-address hourly cap, send them side by side, record
//! the results (one write for the claim, one for the results). Any number of senders
//! may run against one database; a sender that dies mid-send leaves a lease
//! that runs out, and the row is sent again at most once more (with the same
//! Message-ID, so the receiver can tell).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;

use crate::shutdown::Shutdown;

use super::transport::{SendError, Transport};
use crate::domain::EmailAddress;
use crate::store::outbox::{ClaimedMail, SendResult};
use crate::store::{Store, StoreError};

pub use crate::clock::Clock;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub first_delay_seconds: i64,
    pub max_delay_seconds: i64,
    /// After this many attempts a temporary failure becomes final.
    pub max_attempts: i64,
    /// How long a claimed row is ours before another sender may take it.
    pub lease_seconds: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay_seconds: 60,
            max_delay_seconds: 3600,
            max_attempts: 12,
            lease_seconds: 300,
        }
    }
}

impl RetryPolicy {
    /// 1 min, 2, 4, … capped at an hour.
    pub fn delay_after(&self, attempts: i64) -> i64 {
        let exp = (attempts - 1).clamp(0, 20) as u32;
        self.first_delay_seconds
            .saturating_mul(2_i64.saturating_pow(exp))
            .min(self.max_delay_seconds)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub held: usize,
}

impl DrainReport {
    fn count(&mut self, result: &SendResult) {
        match result {
            SendResult::Sent { .. } => self.sent += 1,
            SendResult::Retry { .. } => self.retried += 1,
            SendResult::Failed { .. } => self.failed += 1,
            SendResult::Held { .. } => self.held += 1,
        }
    }
}

/// At most this many mails in flight at once per daemon (the lanes). Lanes
/// overlap SMTP round trips; the transport pools one connection per lane.
/// The lanes' results are recorded, and their next mails claimed, in one
/// write at a time.
pub const SEND_CONCURRENCY: usize = 8;

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// A sent (or refused) mail's id and what became of it.
type Delivered = (i64, Result<SendResult, StoreError>);
/// What a write returned: the mails it claimed, with their cap counts.
type Written = Result<Vec<(ClaimedMail, i64)>, StoreError>;

/// The bookkeeping of one drain: results not yet recorded, how many mails
/// the write in progress claims, whether the last claim took all that was
/// due (it found fewer than it asked for), the first error.
#[derive(Default)]
struct Lanes {
    done: Vec<(i64, SendResult)>,
    asked: usize,
    found_all: bool,
    error: Option<StoreError>,
    report: DrainReport,
}

impl Lanes {
    /// The next write, given `sending` mails in flight on `lanes`: the
    /// results to record and how many mails to claim (one for every lane
    /// not sending once they are recorded, none after an error). A claim
    /// alone is written only while more may be due; once a claim took all
    /// that was due, the next result's write claims again. None: nothing to
    /// write.
    fn next_write(
        &mut self,
        sending: usize,
        lanes: usize,
    ) -> Option<(Vec<(i64, SendResult)>, usize)> {
        let free = match self.error {
            Some(_) => 0,
            None => lanes.saturating_sub(sending),
        };
        if self.done.is_empty() && (free == 0 || self.found_all) {
            return None;
        }
        self.asked = free;
        Some((std::mem::take(&mut self.done), free))
    }

    fn sent(&mut self, id: i64, outcome: Result<SendResult, StoreError>) {
        match outcome {
            Ok(result) => {
                self.report.count(&result);
                self.done.push((id, result));
            }
            // The row stays claimed until its lease runs out: handing it
            // back could send a mail that already left.
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    /// The mails a finished write claimed (none if it failed).
    fn written(&mut self, written: Written) -> Vec<(ClaimedMail, i64)> {
        match written {
            Ok(claimed) => {
                if self.asked > 0 {
                    self.found_all = claimed.len() < self.asked;
                }
                claimed
            }
            Err(e) => {
                self.error.get_or_insert(e);
                Vec::new()
            }
        }
    }

    fn finish(self) -> Result<DrainReport, StoreError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.report),
        }
    }
}

pub struct Sender {
    store: Store,
    transport: Transport,
    from: EmailAddress,
    cap_per_hour: i64,
    policy: RetryPolicy,
    clock: Clock,
    wake: Arc<Notify>,
    lanes: usize,
}

impl Sender {
    pub fn new(store: Store, transport: Transport, from: EmailAddress, cap_per_hour: u32) -> Self {
        Self {
            store,
            transport,
            from,
            cap_per_hour: i64::from(cap_per_hour),
            policy: RetryPolicy::default(),
            clock: crate::clock::system(),
            wake: Arc::new(Notify::new()),
            lanes: SEND_CONCURRENCY,
        }
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sends on `lanes` (1 to [`SEND_CONCURRENCY`]) lanes at once. The lanes
    /// share one database connection for their writes (and one for a held
    /// mail's check).
    pub fn with_lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes.clamp(1, SEND_CONCURRENCY);
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Notify this after committing new outbox rows: the sender wakes at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// The sender's one write: records `results` and claims up to `limit`
    /// more mails with their hourly-cap counts, trying again for a while if
    /// the database is busy, because a mail not recorded as sent is sent
    /// again once its claim runs out.
    async fn write(
        &self,
        results: Vec<(i64, SendResult)>,
        limit: usize,
    ) -> Result<Vec<(ClaimedMail, i64)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(0);
        let lease = self.policy.lease_seconds;
        let mut pause = Duration::from_millis(100);
        let mut tries = 0;
        let claimed = loop {
            let now = (self.clock)();
            match self
                .store
                .outbox_record_and_claim(&results, now, lease, limit)
                .await
            {
                Err(e) if e.is_transient() && tries < 8 && !results.is_empty() => {
                    tracing::warn!(error = %e, "cannot record sent mail yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                    tries += 1;
                }
                done => break done?,
            }
        };
        self.with_cap_counts(claimed).await
    }

    /// Each claimed mail with the hourly cap's count for its recipient, in
    /// one query for all of them.
    async fn with_cap_counts(
        &self,
        claimed: Vec<ClaimedMail>,
    ) -> Result<Vec<(ClaimedMail, i64)>, StoreError> {
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let recipients: Vec<(i64, &str)> = claimed
            .iter()
            .map(|m| (m.id, m.to_email.as_str()))
            .collect();
        let since = (self.clock)() - 3600;
        let counts = self
            .store
            .outbox_sent_to_since_many(&recipients, since)
            .await?;
        Ok(claimed
            .into_iter()
            .map(|m| {
                let before = counts.get(&m.id).copied().unwrap_or(0);
                (m, before)
            })
            .collect())
    }

    /// Sends every row that is due now, on [`Sender::lanes`] lanes: each
    /// lane takes the next claimed mail as soon as its last one is recorded,
    /// and one write at a time records every result that came in meanwhile
    /// and claims mails for the lanes that are free (see [`Lanes`]). A mail
    /// is claimed (leased, its attempt counted) before it is sent and marked
    /// sent after the server took it; at most one mail per lane is ever sent
    /// and not yet recorded. Senders never share a row: each claim is a
    /// leased UPDATE.
    pub async fn drain(&self) -> Result<DrainReport, StoreError> {
        let mut lanes = Lanes::default();
        let mut sending = FuturesUnordered::new();
        let mut writing: Option<Boxed<'_, Written>> = None;
        loop {
            if writing.is_none() {
                match lanes.next_write(sending.len(), self.lanes) {
                    Some((results, limit)) => {
                        writing = Some(Box::pin(self.write(results, limit)));
                    }
                    None if sending.is_empty() => return lanes.finish(),
                    None => {}
                }
            }
            tokio::select! {
                Some((id, outcome)) = sending.next(), if !sending.is_empty() => lanes.sent(id, outcome),
                written = async { writing.as_mut().expect("checked").await }, if writing.is_some() => {
                    writing = None;
                    for (mail, before) in lanes.written(written) {
                        sending.push(Box::pin(self.deliver_owned(mail, before)) as Boxed<'_, Delivered>);
                    }
                }
            }
        }
    }

    async fn deliver_owned(&self, mail: ClaimedMail, sent_before: i64) -> Delivered {
        (mail.id, self.deliver(&mail, sent_before).await)
    }

    /// Sends one claimed mail; `sent_before`: mails to its recipient sent in
    /// the last hour or in flight ahead of it (the hourly cap's count).
    #[tracing::instrument(name = "outbox_mail", skip_all, fields(outbox_id = mail.id, kind = %mail.kind, attempt = mail.attempts))]
    async fn deliver(
        &self,
        mail: &ClaimedMail,
        sent_before: i64,
    ) -> Result<SendResult, StoreError> {
        let now = (self.clock)();
        let to = match EmailAddress::parse(&mail.to_email) {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(error = %e, "recipient address is invalid; mail retired");
                return Ok(SendResult::Failed {
                    error: e.to_string(),
                });
            }
        };
        if sent_before >= self.cap_per_hour
            // An admin who released a held mail has looked at it: it goes out.
            && !self.store.outbox_released(mail.id).await?
        {
            tracing::warn!("hourly cap for this recipient reached; mail held");
            crate::observe::send_failed("held");
            return Ok(SendResult::Held {
                reason: "hourly cap for this recipient reached (loop breaker)".into(),
            });
        }
        Ok(
            match self.transport.send(&self.from, &to, &mail.message).await {
                Ok(()) => {
                    tracing::info!("mail sent");
                    crate::observe::mail_sent(&mail.kind);
                    SendResult::Sent { at: (self.clock)() }
                }
                Err(e @ SendError::Transient(_)) if mail.attempts < self.policy.max_attempts => {
                    let next = now + self.policy.delay_after(mail.attempts);
                    tracing::warn!(error = %e, retry_at = %crate::telemetry::log_time(next), "send failed; will retry");
                    crate::observe::send_failed("temporary");
                    SendResult::Retry {
                        at: next,
                        error: e.to_string(),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "send failed for good; mail retired");
                    crate::observe::send_failed("permanent");
                    SendResult::Failed {
                        error: e.to_string(),
                    }
                }
            },
        )
    }

    /// Runs until shutdown: drains, then sleeps until woken, the next row
    /// falls due, or a minute passes. A database outage is waited out.
    pub async fn run(&self, mut shutdown: Shutdown) {
        let mut backoff = Duration::from_secs(1);
        while !shutdown.is_triggered() {
            let wait = match self.drain().await {
                Ok(_) => {
                    backoff = Duration::from_secs(1);
                    match self.store.outbox_next_due().await {
                        Ok(Some(due)) => {
                            Duration::from_secs((due - (self.clock)()).clamp(0, 60) as u64)
                        }
                        _ => Duration::from_secs(60),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "outbox: database unavailable; retrying");
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    backoff
                }
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay_after(1), 60);
        assert_eq!(p.delay_after(2), 120);
        assert_eq!(p.delay_after(4), 480);
        assert_eq!(p.delay_after(30), 3600);
    }

    fn claimed(id: i64) -> (ClaimedMail, i64) {
        let mail = ClaimedMail {
            id,
            kind: "ack".into(),
            to_email: "a@example.org".into(),
            message_id: format!("m{id}"),
            message: Vec::new(),
            attempts: 1,
        };
        (mail, 0)
    }

    #[test]
    fn lanes_claim_for_free_lanes_and_stop_when_nothing_is_due() {
        let mut lanes = Lanes::default();
        let (results, claim) = lanes.next_write(0, 8).expect("a first claim");
        assert_eq!((results.len(), claim), (0, 8));
        // Three were due: the queue is empty, no claim alone follows.
        let started = lanes.written(Ok((1..=3).map(claimed).collect()));
        assert_eq!(started.len(), 3);
        assert!(lanes.next_write(3, 8).is_none());
        // A result is recorded with a claim for every lane not sending.
        lanes.sent(1, Ok(SendResult::Sent { at: 5 }));
        let (results, claim) = lanes.next_write(2, 8).expect("a record");
        assert_eq!((results.len(), claim), (1, 6));
        assert!(lanes.written(Ok(Vec::new())).is_empty());
        lanes.sent(2, Ok(SendResult::Sent { at: 5 }));
        lanes.sent(3, Ok(SendResult::Failed { error: "x".into() }));
        let (results, _) = lanes.next_write(0, 8).expect("the last record");
        assert_eq!(results.len(), 2);
        lanes.written(Ok(Vec::new()));
        assert!(
            lanes.next_write(0, 8).is_none(),
            "nothing due, nothing to record"
        );
        let report = lanes.finish().expect("no error");
        assert_eq!((report.sent, report.failed), (2, 1));
    }

    #[test]
    fn lanes_after_an_error_record_but_claim_nothing() {
        let mut lanes = Lanes::default();
        lanes.next_write(0, 8);
        lanes.written(Ok((1..=2).map(claimed).collect()));
        lanes.sent(1, Err(StoreError::Corrupt("gone".into())));
        assert!(lanes.next_write(1, 8).is_none(), "no claim after an error");
        lanes.sent(2, Ok(SendResult::Sent { at: 5 }));
        let (results, claim) = lanes.next_write(0, 8).expect("the sent one is recorded");
        assert_eq!((results.len(), claim), (1, 0));
        lanes.written(Ok(Vec::new()));
        assert!(lanes.next_write(0, 8).is_none());
        assert!(lanes.finish().is_err());
    }
}
