//! Opening the database for a person: one error that says what is wrong and
//! what to do (the folder is missing, not writable, PostgreSQL is not running
//! or refused the login), instead of the driver's words three times over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection;

use super::{Store, StoreError};
use crate::config::DatabaseConfig;

/// Whether opening may create a SQLite file that is not there yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Create,
    Refuse,
}

/// Why the database could not be opened, with the hint shown under it.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the database {url}: {problem}\n  = help: {hint}")]
pub struct OpenError {
    /// Redacted.
    pub url: String,
    pub problem: String,
    pub hint: String,
}

/// Connects, migrates, and explains a failure.
pub async fn open(config: &DatabaseConfig, missing: Missing) -> Result<Store, OpenError> {
    let url = config.url.redacted();
    let fail = |problem: String, hint: &str| OpenError {
        url: url.clone(),
        problem,
        hint: hint.to_string(),
    };
    if config.url.is_sqlite() {
        if let Some(path) = sqlite_path(config.url.expose()) {
            check_sqlite_file(&path, missing).map_err(|(p, h)| fail(p, h))?;
        }
    } else {
        check_postgres(config.url.expose())
            .await
            .map_err(|(p, h)| fail(p, h))?;
    }
    Store::connect(config).await.map_err(|e| {
        let (problem, hint) = explain(&e);
        fail(problem, hint)
    })
}

/// The file a `sqlite:` URL names; None for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

type Problem = (String, &'static str);

fn check_sqlite_file(path: &Path, missing: Missing) -> Result<(), Problem> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err((
            format!("the folder {} does not exist", folder.display()),
            "create it (mkdir -p), or point [database] url at an existing folder",
        ));
    }
    if path.exists() {
        let writable = std::fs::OpenOptions::new().append(true).open(path);
        return match writable {
            Ok(_) => Ok(()),
            Err(e) => Err((
                format!("{} cannot be written ({e})", path.display()),
                "run as the user that owns the file, or fix its permissions",
            )),
        };
    }
    if missing == Missing::Refuse {
        return Err((
            format!("{} does not exist", path.display()),
            "`circle-relay init` creates the config and the database; `circle-relay migrate` creates \
             the database a config names. Check --config and the folder you are in",
        ));
    }
    // SQLite also writes -wal and -shm files beside the database.
    let probe = folder.join(format!(".circle-relay-probe-{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err((
            format!("cannot create files in {} ({e})", folder.display()),
            "run as the user that owns the folder, fix its permissions, or point [database] url elsewhere",
        )),
    }
}

/// One plain connection first: the pool would only say "timed out".
async fn check_postgres(url: &str) -> Result<(), Problem> {
    let connect = sqlx::postgres::PgConnection::connect(url);
    match tokio::time::timeout(Duration::from_secs(15), connect).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(explain_sqlx(&e)),
        Err(_) => Err((
            "no answer from PostgreSQL within 15 s".into(),
            "check the host and port in [database] url, and any firewall between",
        )),
    }
}

fn explain(e: &StoreError) -> Problem {
    match e {
        StoreError::Database(e) => explain_sqlx(e),
        StoreError::Migrate(sqlx::migrate::MigrateError::VersionMissing(v)) => (
            format!("it was migrated by a newer circle-relay (migration {v} is unknown here)"),
            "run the newer circle-relay, or restore a backup made before the upgrade",
        ),
        StoreError::Migrate(m) => (
            format!("migrating it failed: {m}"),
            "restore the backup made before the upgrade, or report this with the message",
        ),
        other => (other.to_string(), "check [database] url"),
    }
}

fn explain_sqlx(e: &sqlx::Error) -> Problem {
    match e {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => (
            "nothing is listening there (connection refused)".into(),
            "start PostgreSQL, or fix the host and port in [database] url (or CIRCLE_RELAY_DATABASE_URL)",
        ),
        sqlx::Error::Io(io) => (
            format!("cannot reach the server ({io})"),
            "check the host and port in [database] url (or CIRCLE_RELAY_DATABASE_URL)",
        ),
        sqlx::Error::Database(db) => explain_database(db.code().as_deref(), db.message()),
        sqlx::Error::PoolTimedOut => (
            "no connection became free within 30 s".into(),
            "is another process holding the database? Check the server and max_connections",
        ),
        sqlx::Error::Tls(t) => (
            format!("TLS failed ({t})"),
            "check sslmode in [database] url",
        ),
        other => (
            first_line(&other.to_string()),
            "check [database] url (or CIRCLE_RELAY_DATABASE_URL)",
        ),
    }
}

fn explain_database(code: Option<&str>, message: &str) -> Problem {
    match code {
        // SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM
        Some("14") | Some("8") | Some("3") => (
            format!("SQLite: {message}"),
            "check that the folder exists and this user may write in it",
        ),
        // invalid_password, invalid_authorization_specification
        Some("28P01") | Some("28000") => (
            format!("PostgreSQL refused the login: {message}"),
            "check the user name and password in [database] url (or CIRCLE_RELAY_DATABASE_URL)",
        ),
        Some("3D000") => (
            format!("PostgreSQL: {message}"),
            "create it (createdb), or fix the database name at the end of [database] url",
        ),
        _ => (
            first_line(message),
            "check [database] url (or CIRCLE_RELAY_DATABASE_URL)",
        ),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths_from_urls() {
        assert_eq!(
            sqlite_path("sqlite://a/b.db?mode=rwc"),
            Some(PathBuf::from("a/b.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///abs/c.db"),
            Some(PathBuf::from("/abs/c.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x.db"), Some(PathBuf::from("x.db")));
    }
}
