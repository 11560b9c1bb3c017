//! One inbox reader among daemons that share a database (replicas).

use std::time::Duration;

use super::{Inbox, MessageHandler, RunOptions, Shutdown, ShutdownTrigger, run_inbox};
use crate::store::Store;

/// One reader per inbox among daemons sharing a database: whoever holds the
/// lease reads; the others stand by and take over once it stops renewing.
/// Lease times are the system clock's: they are about processes, not the
/// circle's calendar.
pub struct InboxLease {
    name: String,
    holder: String,
    host: String,
    seconds: i64,
}

impl InboxLease {
    pub fn new(mailbox_id: &str, seconds: u32) -> Self {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown-host".into());
        let started = jiff::Timestamp::now().as_nanosecond();
        Self {
            name: format!("inbox:{mailbox_id}"),
            holder: format!("{host}:{}:{started}", std::process::id()),
            host,
            seconds: i64::from(seconds),
        }
    }

    /// Whether `holder` (host:pid:started) is a process on this machine that
    /// is gone: an earlier run of this daemon that crashed. Restarting after
    /// a crash then need not wait for its lease to run out.
    fn holder_is_dead_here(&self, holder: &str) -> bool {
        let mut parts = holder.rsplitn(3, ':');
        let (Some(started), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        if host != self.host || holder == self.holder {
            return false;
        }
        let Ok(pid) = pid.parse::<u32>() else {
            return false;
        };
        if pid == std::process::id() {
            // Same pid, another start time: our own earlier life (pid 1 in a container).
            return !self.holder.ends_with(&format!(":{started}"));
        }
        cfg!(target_os = "linux") && !std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    /// Takes the lease over from a crashed earlier run on this machine.
    async fn take_from_dead(&self, store: &Store) -> bool {
        let Ok(Some(holder)) = store.lease_holder(&self.name, Self::now()).await else {
            return false;
        };
        if !self.holder_is_dead_here(&holder) {
            return false;
        }
        match store
            .take_lease_from(&self.name, &holder, &self.holder, Self::now(), self.seconds)
            .await
        {
            Ok(taken) => {
                if taken {
                    tracing::info!(lease = %self.name, previous = %holder, "took the inbox over from a process that is gone");
                }
                taken
            }
            Err(_) => false,
        }
    }

    fn now() -> i64 {
        jiff::Timestamp::now().as_second()
    }

    /// Renewed every third of the lease; a standby looks a few times as often
    /// so it takes over soon after the lease runs out.
    fn renew_every(&self) -> Duration {
        Duration::from_secs((self.seconds / 3).max(1) as u64)
    }

    fn standby_poll(&self) -> Duration {
        Duration::from_secs((self.seconds / 10).clamp(1, 5) as u64)
    }

    /// Reads `inbox` (as [`run_inbox`]) whenever this daemon holds the
    /// lease, until shutdown; then gives the lease up.
    pub async fn read_while_held<H: MessageHandler>(
        &self,
        inbox: &mut Inbox,
        store: &Store,
        handler: &H,
        options: &RunOptions,
        mut shutdown: Shutdown,
    ) {
        let mut standing_by = false;
        while !shutdown.is_triggered() {
            match store
                .acquire_lease(&self.name, &self.holder, Self::now(), self.seconds)
                .await
            {
                Ok(true) => {}
                Ok(false) if self.take_from_dead(store).await => {}
                Ok(false) => {
                    if !standing_by {
                        tracing::info!(lease = %self.name, "another daemon reads the inbox; standing by");
                        standing_by = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(self.standby_poll()) => {}
                        _ = shutdown.wait() => {}
                    }
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the inbox lease; trying again");
                    tokio::select! {
                        _ = tokio::time::sleep(self.standby_poll()) => {}
                        _ = shutdown.wait() => {}
                    }
                    continue;
                }
            }
            standing_by = false;
            tracing::info!(lease = %self.name, "reading the inbox");
            let (stop_reading, reading) = ShutdownTrigger::new();
            let renew = self.keep_renewed(store, stop_reading, shutdown.clone());
            tokio::join!(run_inbox(inbox, store, handler, options, reading), renew);
        }
        if let Err(e) = store.release_lease(&self.name, &self.holder).await {
            tracing::warn!(error = %e, "could not release the inbox lease; it runs out by itself");
        }
    }

    /// Renews the lease until shutdown or until it is lost (another daemon
    /// took it, or renewals failed until it ran out), then stops the reader.
    async fn keep_renewed(
        &self,
        store: &Store,
        stop_reading: ShutdownTrigger,
        mut shutdown: Shutdown,
    ) {
        let mut held_until = Self::now() + self.seconds;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.renew_every()) => {}
                _ = shutdown.wait() => break,
            }
            match store
                .acquire_lease(&self.name, &self.holder, Self::now(), self.seconds)
                .await
            {
                Ok(true) => held_until = Self::now() + self.seconds,
                Ok(false) => {
                    tracing::warn!(lease = %self.name, "another daemon took the inbox over");
                    break;
                }
                // Keep reading while the lease we hold is still good.
                Err(e) if Self::now() + 1 < held_until => {
                    tracing::warn!(error = %e, "cannot renew the inbox lease yet");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the inbox lease ran out; pausing the reader");
                    break;
                }
            }
        }
        stop_reading.trigger();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gone_process_on_this_host_counts_as_dead() {
        let lease = InboxLease::new("imap://relay@host/INBOX", 30);
        let host = lease.host.clone();
        let me = std::process::id();
        // Above Linux's largest pid: no such process.
        let gone = format!("{host}:4194305:1");
        assert_eq!(lease.holder_is_dead_here(&gone), cfg!(target_os = "linux"));
        assert!(!lease.holder_is_dead_here(&lease.holder), "we are alive");
        assert!(
            lease.holder_is_dead_here(&format!("{host}:{me}:1")),
            "our pid with another start time is an earlier run of us"
        );
        assert!(
            !lease.holder_is_dead_here("another-host:4194305:1"),
            "another machine's process cannot be checked: wait for its lease"
        );
        assert!(!lease.holder_is_dead_here("garbage"));
        assert!(
            !lease.holder_is_dead_here(&format!("{host}:1:1")) || me == 1,
            "pid 1 is alive"
        );
    }
}
