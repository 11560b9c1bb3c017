//! The daemon's sense of time, as UNIX seconds.
//!
//! Normally the system clock. Tests of what happens hours or weeks later (a
//! wave timing out, the weekly digest, an hour of idling) run the real
//! process with `CIRCLE_RELAY_CLOCK_OFFSET_FILE` naming a file that holds a
//! number of seconds to add; the file is re-read while the daemon runs, so a
//! test moves the clock by rewriting it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Seconds since the UNIX epoch; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub const OFFSET_FILE_ENV: &str = "CIRCLE_RELAY_CLOCK_OFFSET_FILE";

pub fn system() -> Clock {
    Arc::new(system_now)
}

/// Now, by the system clock (what [`system`] reads).
pub fn system_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The daemon's clock, and a signal that fires when it was moved (so the
/// scheduler looks again at once instead of at its next tick).
pub struct DaemonClock {
    pub clock: Clock,
    pub moved: Arc<Notify>,
}

impl DaemonClock {
    /// The system clock, shifted by the offset file when the environment names one.
    pub fn from_env() -> Self {
        let moved = Arc::new(Notify::new());
        let Some(path) = std::env::var_os(OFFSET_FILE_ENV).map(PathBuf::from) else {
            return Self {
                clock: system(),
                moved,
            };
        };
        tracing::warn!(file = %path.display(), "the clock is shifted by the offset file (testing)");
        let offset = Arc::new(AtomicI64::new(read_offset(&path).unwrap_or(0)));
        {
            let (offset, moved) = (offset.clone(), moved.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // A file caught mid-write reads empty: keep the last offset.
                    let Some(now) = read_offset(&path) else {
                        continue;
                    };
                    if offset.swap(now, Ordering::SeqCst) != now {
                        moved.notify_one();
                    }
                }
            });
        }
        let clock: Clock = Arc::new(move || system_now() + offset.load(Ordering::SeqCst));
        Self { clock, moved }
    }
}

/// The offset in the file; `None` when it is missing or holds no number.
fn read_offset(path: &std::path::Path) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
