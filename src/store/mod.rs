//! The database: SQLite by default, PostgreSQL for larger deployments, picked
//! from the URL scheme. One portable set of runtime queries (`$N`
//! placeholders, integers for times and flags) over sqlx's `Any` driver, and
//! one migration folder per backend; the same test suite runs on both.

/// `SELECT <member columns> FROM members <tail>` as one static string (sqlx
/// accepts only audited, static SQL). Defined before the modules that use it.
macro_rules! select_members {
    ($tail:literal) => {
        concat!(
            "SELECT id, email, name, skills, bio, languages, region, status, paused_until, timezone FROM members ",
            $tail
        )
    };
}

pub mod admin;
pub mod circle;
pub mod console_requests;
pub mod copy;
pub mod diagnose;
pub mod digest;
pub mod holds;
mod leases;
pub mod ledger;
mod member_admin;
pub mod member_page;
mod members;
pub mod outbox;
pub mod requests;
mod stats;
pub mod web;
pub mod web_stats;

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::clock::Clock;
use crate::config::DatabaseConfig;
use crate::domain::{ForwardState, MailLanguage, RequestStatus};

pub use member_admin::{ImportPreview, MemberListRow, MemberPage, MemberSearch};
pub use members::{ImportSummary, MemberChange, member_by_id, member_by_key};
pub use stats::CircleStats;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// Whether trying again later can help (the connection, not the data, failed).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            // SQLite's SQLITE_BUSY / SQLITE_LOCKED: another writer held on
            // longer than the busy timeout.
            Self::Database(sqlx::Error::Database(e)) => {
                matches!(e.code().as_deref(), Some("5" | "6"))
                    || e.message().contains("database is locked")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A stored word that no value of its enum stands for.
#[derive(Debug, thiserror::Error)]
#[error("unknown word {0:?}")]
pub struct UnknownWord(pub String);

/// Row structs hold the stored states as their enums: each column decodes
/// from its word, and an unknown word is [`UnknownWord`], which [`from_row`]
/// turns into the error that names the row.
macro_rules! stored_word_columns {
    ($($name:ty),+ $(,)?) => {$(
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let word = <&str as sqlx::Decode<sqlx::Any>>::decode(value)?;
                Self::from_word(word).ok_or_else(|| UnknownWord(word.to_string()).into())
            }
        }
    )+};
}

stored_word_columns!(
    RequestStatus,
    ForwardState,
    MailLanguage,
    holds::HoldReason,
    holds::HoldState,
);

/// Maps a row of `table` (which has an `id`) with `T`'s `FromRow`: a stored
/// word no state knows is `StoreError::Corrupt("requests row 7: unknown
/// status \"opened\"")`, naming the row.
pub(crate) fn from_row<T>(table: &str, row: &AnyRow) -> Result<T>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    T::from_row(row).map_err(|e| corrupt_row(table, row, &e).unwrap_or_else(|| e.into()))
}

/// The error naming the row for a stored word its enum does not know.
fn corrupt_row(table: &str, row: &AnyRow, e: &sqlx::Error) -> Option<StoreError> {
    let sqlx::Error::ColumnDecode { index, source } = e else {
        return None;
    };
    let UnknownWord(word) = source.downcast_ref::<UnknownWord>()?;
    let id: i64 = sqlx::Row::try_get(row, "id").ok()?;
    // sqlx names the column as a quoted string.
    let column = index.trim_matches('"');
    Some(StoreError::Corrupt(format!(
        "{table} row {id}: unknown {column} {word:?}"
    )))
}

/// [`from_row`] for every row.
pub(crate) fn from_rows<T>(table: &str, rows: &[AnyRow]) -> Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, AnyRow>,
{
    rows.iter().map(|r| from_row(table, r)).collect()
}

/// The VALUES rows of a multi-row INSERT: `rows` groups of `per_row`
/// numbered placeholders from `$2` on (`$1` is a value every row shares),
/// each group followed by `tail` (literals and `$1`). Only placeholders are
/// formatted in; the values are bound.
fn values_rows(rows: usize, per_row: usize, tail: &str) -> String {
    (0..rows)
        .map(|i| {
            let params: Vec<String> = (0..per_row)
                .map(|k| format!("${}", 2 + per_row * i + k))
                .collect();
            format!("({}, {tail})", params.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `%text%` for a `LIKE … ESCAPE '\\'` search, lower-cased, with the
/// wildcards a person might type taken literally; `""` for blank text (no
/// filter).
fn like_pattern(text: &str) -> String {
    let t = text.trim().to_lowercase();
    if t.is_empty() {
        return String::new();
    }
    let escaped = t
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A transaction that knows its backend and the store's clock: what relay
/// flows and store functions take, so none needs the [`Store`] only to ask
/// which database it is on or what time it is. It derefs to the connection,
/// so `&mut **tx` is an executor, as with sqlx's own transaction.
pub struct Tx<'c> {
    inner: sqlx::Transaction<'c, sqlx::Any>,
    backend: Backend,
    clock: Clock,
    /// This process's turn to write (SQLite, [`Store::begin_write`]): held
    /// until the transaction ends. Dropped after `inner`, so after the commit.
    _turn: Option<WriteTurn>,
}

/// One writer's turn at SQLite's single write lock within this process.
pub type WriteTurn = tokio::sync::OwnedMutexGuard<()>;

impl Tx<'_> {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Now, by the store's clock, as UNIX seconds.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.inner.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Where the store's own timestamps come from (the daemon's clock).
    clock: Clock,
    /// Turns at SQLite's write lock, first come first served (see
    /// [`Store::write_turn`]).
    writers: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("pool", &self.pool)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects and applies pending migrations.
    pub async fn connect(config: &DatabaseConfig) -> Result<Self> {
        let store = Self::connect_without_migrating(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn connect_without_migrating(config: &DatabaseConfig) -> Result<Self> {
        install_default_drivers();
        let url = config.url.expose();
        let backend = if config.url.is_postgres() {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(30));
        let url = match backend {
            Backend::Sqlite => {
                options = options.after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // WAL lets readers and the writer proceed together; the busy
                        // timeout turns lock contention into waiting, not errors.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        // 256 KiB of page cache per connection (default 2 MiB):
                        // the working set is small, and an idle daemon stays lean.
                        conn.execute("PRAGMA cache_size = -256").await?;
                        Ok(())
                    })
                });
                sqlite_url_creating_file(url)
            }
            Backend::Postgres => url.to_string(),
        };
        let pool = options.connect(&url).await?;
        Ok(Self {
            pool,
            backend,
            clock: crate::clock::system(),
            writers: Arc::default(),
        })
    }

    /// Timestamps the store writes by itself (member changes, the ledger's
    /// moves) come from `clock`, as the relay's do.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the store's clock, as UNIX seconds.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction on the pool (see [`Tx`]).
    pub async fn begin(&self) -> Result<Tx<'static>, sqlx::Error> {
        Ok(Tx {
            inner: self.pool.begin().await?,
            backend: self.backend,
            clock: self.clock.clone(),
            _turn: None,
        })
    }

    /// Begins a transaction that writes, after waiting for this process's
    /// turn to write on SQLite ([`Store::write_turn`]).
    pub async fn begin_write(&self) -> Result<Tx<'static>, sqlx::Error> {
        let turn = self.write_turn().await;
        let mut tx = self.begin().await?;
        tx._turn = turn;
        Ok(tx)
    }

    /// On SQLite, a turn at the one write lock among this process's busy
    /// writers (the inbox's transactions, the outbox's records and claims),
    /// in the order they asked. Without it they meet at SQLite's lock, whose
    /// busy handler sleeps and polls: a writer that just committed takes the
    /// lock again before a sleeping one wakes, and the outbox waited seconds
    /// behind the inbox. Taken before a pool connection, held until the
    /// write ends. None on PostgreSQL, which locks rows, not the database.
    pub async fn write_turn(&self) -> Option<WriteTurn> {
        match self.backend {
            Backend::Sqlite => Some(self.writers.clone().lock_owned().await),
            Backend::Postgres => None,
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `sqlite://x.db` → `sqlite://x.db?mode=rwc`, so a new deployment starts with
/// no manual step; an explicit `mode` is left alone.
fn sqlite_url_creating_file(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;

    #[derive(Debug, sqlx::FromRow)]
    struct Row {
        id: i64,
        status: RequestStatus,
    }

    async fn read(sql: &'static str) -> Result<Row> {
        install_default_drivers();
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        let row = sqlx::query(sql).fetch_one(&mut conn).await?;
        from_row("requests", &row)
    }

    #[tokio::test]
    async fn an_unknown_stored_word_names_its_row() {
        let fine = read("SELECT 7 AS id, 'open' AS status").await.unwrap();
        assert_eq!((fine.id, fine.status), (7, RequestStatus::Open));
        let e = read("SELECT 7 AS id, 'opened' AS status")
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "stored data is invalid: requests row 7: unknown status \"opened\""
        );
    }
}

#[cfg(test)]
mod sql_text_tests {
    use super::{like_pattern, values_rows};

    #[test]
    fn values_rows_number_each_rows_placeholders_after_the_shared_one() {
        assert_eq!(values_rows(1, 2, "'x'"), "($2, $3, 'x')");
        assert_eq!(
            values_rows(2, 3, "'pending', $1"),
            "($2, $3, $4, 'pending', $1), ($5, $6, $7, 'pending', $1)"
        );
    }

    #[test]
    fn typed_wildcards_are_literal() {
        assert_eq!(like_pattern("  "), "");
        assert_eq!(like_pattern("Nurse"), "%nurse%");
        assert_eq!(like_pattern(" Nurse "), "%nurse%");
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
    }
}
