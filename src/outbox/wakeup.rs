//! Wakes the sender when mail was queued by another process (a CLI command,
//! another replica): the daemon's own commits wake it directly, these it
//! would otherwise see only at its next timed look, up to a minute later.
//!
//! PostgreSQL: LISTEN on `circle_relay_outbox`, which a trigger (migration
//! 0012) notifies when a transaction that queued mail commits. SQLite: a
//! dedicated connection reads `PRAGMA data_version` every second (it changes
//! when another connection commits) and, when it changed, looks for due mail.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::DatabaseUrl;
use crate::shutdown::Shutdown;
use crate::store::{Backend, Store, StoreError};

/// The channel the migration's trigger notifies.
pub const CHANNEL: &str = "circle_relay_outbox";
/// How often SQLite is looked at.
pub const SQLITE_CHECK: Duration = Duration::from_secs(1);

/// Runs until shutdown, notifying `wake` when another process queued mail.
pub async fn watch(
    store: Store,
    url: DatabaseUrl,
    clock: Clock,
    wake: Arc<Notify>,
    mut shutdown: Shutdown,
) {
    let mut pause = Duration::from_secs(1);
    while !shutdown.is_triggered() {
        let stopped = match store.backend() {
            Backend::Postgres => listen(url.expose(), &wake, &mut shutdown)
                .await
                .map_err(StoreError::from),
            Backend::Sqlite => {
                let sqlite = SqliteWatch {
                    store: &store,
                    url: url.expose(),
                    clock: &clock,
                };
                sqlite.poll(&wake, &mut shutdown).await
            }
        };
        if let Err(e) = stopped {
            tracing::warn!(error = %e, "outbox wake-up: cannot watch the database; retrying");
            // Meanwhile the sender still looks every minute; catch up after.
            wake.notify_one();
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait() => {}
            }
            pause = (pause * 2).min(Duration::from_secs(30));
        } else {
            pause = Duration::from_secs(1);
        }
    }
}

async fn listen(url: &str, wake: &Notify, shutdown: &mut Shutdown) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    // Whatever was queued while nobody listened.
    wake.notify_one();
    loop {
        tokio::select! {
            n = listener.try_recv() => match n? {
                Some(_) => wake.notify_one(),
                // The connection dropped and was re-made: notifications may
                // have been missed.
                None => wake.notify_one(),
            },
            _ = shutdown.wait() => return Ok(()),
        }
    }
}

struct SqliteWatch<'a> {
    store: &'a Store,
    url: &'a str,
    clock: &'a Clock,
}

impl SqliteWatch<'_> {
    async fn poll(&self, wake: &Notify, shutdown: &mut Shutdown) -> Result<(), StoreError> {
        let mut conn = sqlx::sqlite::SqliteConnection::connect(self.url).await?;
        let mut seen = data_version(&mut conn).await?;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SQLITE_CHECK) => {}
                _ = shutdown.wait() => return Ok(()),
            }
            let now = data_version(&mut conn).await?;
            // data_version moves on every commit by another connection, the
            // daemon's own included; only due mail is worth a wake-up.
            if now != seen && self.store.outbox_due_now((self.clock)()).await? {
                wake.notify_one();
            }
            seen = now;
        }
    }
}

async fn data_version(conn: &mut sqlx::SqliteConnection) -> Result<i64, sqlx::Error> {
    let (v,): (i64,) = sqlx::query_as("PRAGMA data_version")
        .fetch_one(conn)
        .await?;
    Ok(v)
}
