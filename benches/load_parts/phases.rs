//! Where a load run's time goes, phase by phase: intake (requests the daemon
//! handled), outbox (mails it handed to Postfix), delivery (Postfix to
//! Dovecot, mails landing in the members' and requesters' Maildirs). Each is
//! sampled from `/metrics`, the Maildirs and Postfix's queue directories.

use std::time::Duration;

use super::support;

/// The sum of every series of metric `name` (all label sets).
pub fn total(page: &str, name: &str) -> f64 {
    page.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// Postfix's queue directory, as its main.cf says.
pub fn postfix_spool() -> std::path::PathBuf {
    let out = std::process::Command::new("postconf")
        .arg("-c")
        .arg(support::stack_dir().join("postfix"))
        .args(["-h", "queue_directory"])
        .output()
        .expect("postconf runs");
    std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Mails Postfix holds (accepted, not yet delivered): files in its queues.
pub fn postfix_queue(spool: &std::path::Path) -> usize {
    ["maildrop", "incoming", "active", "deferred"]
        .iter()
        .map(|q| count_files(&spool.join(q)))
        .sum()
}

fn count_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// One look at the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub at: Duration,
    pub handled: f64,
    pub sent: f64,
    pub delivered: usize,
    pub queued: usize,
}

/// When each phase started and ended, from the samples.
#[derive(Debug, Default)]
pub struct Phases {
    samples: Vec<Sample>,
    peak_queue: usize,
}

impl Phases {
    pub fn add(&mut self, s: Sample) {
        self.peak_queue = self.peak_queue.max(s.queued);
        self.samples.push(s);
    }

    /// First and last time `value` moved: (start, end, amount).
    fn span(&self, value: impl Fn(&Sample) -> f64) -> Option<(Duration, Duration, f64)> {
        let first = self.samples.first().map(&value)?;
        let last = self.samples.last().map(&value)?;
        let start = self.samples.iter().find(|s| value(s) > first)?.at;
        let end = self.samples.iter().find(|s| value(s) >= last)?.at;
        Some((start, end, last - first))
    }

    /// Prints each phase: when it ran and at what rate.
    pub fn report(&self, page: &str) {
        let line = |what: &str, span: Option<(Duration, Duration, f64)>, unit: &str| {
            if let Some((a, b, n)) = span {
                let secs = (b - a).as_secs_f64().max(0.05);
                println!(
                    "  phase {what}: {n:.0} {unit} from {:.1} s to {:.1} s: {:.0} {unit}/s",
                    a.as_secs_f64(),
                    b.as_secs_f64(),
                    n / secs
                );
            }
        };
        line(
            "intake (handled by the daemon)",
            self.span(|s| s.handled),
            "requests",
        );
        line("outbox (handed to Postfix)", self.span(|s| s.sent), "mails");
        line(
            "delivery (Postfix -> Dovecot, in Maildirs)",
            self.span(|s| s.delivered as f64),
            "mails",
        );
        let mean_ms = |name: &str| {
            let count = total(page, &format!("{name}_count"));
            (count > 0.0).then(|| total(page, &format!("{name}_sum")) / count * 1000.0)
        };
        if let Some(all) = mean_ms("circle_relay_message_processing_seconds") {
            println!(
                "  intake: {all:.1} ms a message from asking to write to its commit (mean); \
                 peak Postfix queue {} mails",
                self.peak_queue
            );
        }
        if let (Some(wait), Some(held)) = (
            mean_ms("circle_relay_intake_write_wait_seconds"),
            mean_ms("circle_relay_intake_write_held_seconds"),
        ) {
            println!(
                "  intake's write lock: {wait:.2} ms waiting for the turn, {held:.2} ms held \
                 (claim to commit), mean per message; {:.0} requests ranked again inside it",
                total(page, "circle_relay_intake_ranked_again_total") + 0.0
            );
        }
    }
}
