//! Drains the outbox: claim a batch of due rows (the attempts are recorded
//! first), apply the per-address hourly cap, send them side by side, record
//! the results (one write for the claim, one for the results). Any number of senders
//! may run against one database; a sender that dies mid-send leaves a lease
//! that runs out, and the row is sent again at most once more (with the same
//! Message-ID, so the receiver can tell).

use std::sync::Arc;
use std::time::Duration;

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
/// A batch of this many is claimed, and recorded, in one write each.
pub const SEND_CONCURRENCY: usize = 8;

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

    /// Sends on `lanes` (1 to [`SEND_CONCURRENCY`]) lanes at once. Each lane
    /// holds a database connection while it works: keep some for the inbox.
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

    /// Records a batch's results, trying again for a while if the database
    /// is busy, because a mail not recorded as sent is sent again once its
    /// claim runs out.
    async fn record(&self, results: &[(i64, SendResult)]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut pause = Duration::from_millis(100);
        for _ in 0..8 {
            match self.store.outbox_record_many(results).await {
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "cannot record sent mail yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                done => return done,
            }
        }
        self.store.outbox_record_many(results).await
    }

    /// Sends every row that is due now, [`Sender::lanes`] at once: claims a
    /// batch in one write, sends its mails side by side, records the batch
    /// in one write. Senders never share a row: each claim is a leased UPDATE.
    pub async fn drain(&self) -> Result<DrainReport, StoreError> {
        let mut report = DrainReport::default();
        loop {
            let lanes = i64::try_from(self.lanes).unwrap_or(1);
            let now = (self.clock)();
            let batch = self
                .store
                .claim_outbox_many(now, self.policy.lease_seconds, lanes)
                .await?;
            if batch.is_empty() {
                return Ok(report);
            }
            // The hourly cap's counts for the whole batch, in one query.
            let recipients: Vec<(i64, &str)> =
                batch.iter().map(|m| (m.id, m.to_email.as_str())).collect();
            let sent_before = self
                .store
                .outbox_sent_to_since_many(&recipients, now - 3600)
                .await?;
            let sends = batch.iter().map(|mail| {
                let before = sent_before.get(&mail.id).copied().unwrap_or(0);
                self.deliver(mail, before)
            });
            let done = futures_util::future::join_all(sends).await;
            let mut results = Vec::with_capacity(done.len());
            let mut error = None;
            for (mail, outcome) in batch.iter().zip(done) {
                match outcome {
                    Ok(result) => {
                        report.count(&result);
                        results.push((mail.id, result));
                    }
                    // The row stays claimed until its lease runs out: handing
                    // it back could send a mail that already left.
                    Err(e) => error = Some(e),
                }
            }
            // What was sent is recorded even when another mail of the batch failed.
            self.record(&results).await?;
            if let Some(e) = error {
                return Err(e);
            }
        }
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
}
