//! One shutdown signal that every loop selects on.

use tokio::sync::watch;

/// The sending side: `trigger()` asks every [`Shutdown`] clone to stop.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(watch::Sender<bool>);

/// The receiving side, cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl ShutdownTrigger {
    pub fn new() -> (Self, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), Shutdown(rx))
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown was triggered (or every trigger was dropped).
    pub async fn wait(&mut self) {
        // An error means the trigger is gone: nobody can ask us to stop any
        // more, which we treat as a request to stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}
