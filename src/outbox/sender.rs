//! Drains the outbox: claim a due row (the attempt is recorded first), apply
//! the per-address hourly cap, send, record the result. Any number of senders
//! may run against one database; a sender that dies mid-send leaves a lease
//! that runs out, and the row is sent again at most once more (with the same
//! Message-ID, so the receiver can tell).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::shutdown::Shutdown;

use super::transport::{SendError, Transport};
use crate::domain::EmailAddress;
use crate::store::{Store, StoreError, outbox::ClaimedMail};

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
    fn add(&mut self, other: &DrainReport) {
        self.sent += other.sent;
        self.retried += other.retried;
        self.failed += other.failed;
        self.held += other.held;
    }
}

/// At most this many mails in flight at once per daemon (the lanes). Lanes
/// overlap SMTP round trips; the transport pools one connection per lane.
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

    /// The mail left: record it, trying again for a while if the database
    /// is busy, because a mail not recorded as sent is sent again once its
    /// claim runs out.
    async fn record_sent(&self, id: i64) -> Result<(), StoreError> {
        let mut pause = Duration::from_millis(100);
        for _ in 0..8 {
            match self.store.outbox_sent(id, (self.clock)()).await {
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, "cannot record a sent mail yet; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                done => return done,
            }
        }
        self.store.outbox_sent(id, (self.clock)()).await
    }

    /// Sends every row that is due now, on [`Sender::lanes`] lanes at once.
    pub async fn drain(&self) -> Result<DrainReport, StoreError> {
        let workers = (0..self.lanes).map(|_| self.drain_one_by_one());
        let mut report = DrainReport::default();
        for done in futures_util::future::join_all(workers).await {
            report.add(&done?);
        }
        Ok(report)
    }

    /// One sending lane: claim a due row, send it, until none is left. Lanes
    /// never share a row: each claim is its own leased UPDATE.
    async fn drain_one_by_one(&self) -> Result<DrainReport, StoreError> {
        let mut report = DrainReport::default();
        while let Some(mail) = self
            .store
            .claim_outbox((self.clock)(), self.policy.lease_seconds)
            .await?
        {
            // On a database error the row stays claimed until its lease runs
            // out: handing it back could send a mail that already left.
            self.deliver(&mail, &mut report).await?;
        }
        Ok(report)
    }

    #[tracing::instrument(name = "outbox_mail", skip_all, fields(outbox_id = mail.id, kind = %mail.kind, attempt = mail.attempts))]
    async fn deliver(
        &self,
        mail: &ClaimedMail,
        report: &mut DrainReport,
    ) -> Result<(), StoreError> {
        let now = (self.clock)();
        let to = match EmailAddress::parse(&mail.to_email) {
            Ok(to) => to,
            Err(e) => {
                tracing::warn!(error = %e, "recipient address is invalid; mail retired");
                report.failed += 1;
                return self.store.outbox_failed(mail.id, &e.to_string()).await;
            }
        };
        if self
            .store
            .outbox_sent_to_since(to.as_str(), now - 3600, mail.id)
            .await?
            >= self.cap_per_hour
        {
            tracing::warn!("hourly cap for this recipient reached; mail held");
            crate::observe::send_failed("held");
            report.held += 1;
            return self
                .store
                .outbox_held(
                    mail.id,
                    "hourly cap for this recipient reached (loop breaker)",
                )
                .await;
        }
        match self.transport.send(&self.from, &to, &mail.message).await {
            Ok(()) => {
                tracing::info!("mail sent");
                crate::observe::mail_sent(&mail.kind);
                report.sent += 1;
                self.record_sent(mail.id).await
            }
            Err(e @ SendError::Transient(_)) if mail.attempts < self.policy.max_attempts => {
                let next = now + self.policy.delay_after(mail.attempts);
                tracing::warn!(error = %e, retry_at = next, "send failed; will retry");
                crate::observe::send_failed("temporary");
                report.retried += 1;
                self.store.outbox_retry(mail.id, next, &e.to_string()).await
            }
            Err(e) => {
                tracing::error!(error = %e, "send failed for good; mail retired");
                crate::observe::send_failed("permanent");
                report.failed += 1;
                self.store.outbox_failed(mail.id, &e.to_string()).await
            }
        }
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
