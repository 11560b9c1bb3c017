//! Errors of the inbox readers, each saying whether trying again can help.

use std::time::Duration;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The connection failed, dropped or timed out: reconnect and retry.
    #[error("connection to the mail server failed: {0}")]
    Connection(String),
    #[error("{what} timed out after {after:?}")]
    Timeout { what: &'static str, after: Duration },
    /// The server answered NO/BAD or something unexpected.
    #[error("mail server refused {what}: {detail}")]
    Server { what: &'static str, detail: String },
    /// Wrong user name or password: retrying with the same config will not help,
    /// though the reader keeps retrying slowly so a fixed password is picked up.
    #[error("login refused for the configured user: {0}")]
    Login(String),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("inbox configuration is unusable: {0}")]
    Config(String),
    #[error("maildir {path}: {source}")]
    Maildir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The message is no longer in the inbox folder (moved by someone else).
    #[error("message {0} is gone from the inbox")]
    Gone(String),
    /// The folder a message should move to could not be created; the
    /// message stays in the inbox (its ledger row keeps it from repeating).
    #[error("IMAP folder {0:?} is unavailable")]
    FolderUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The handler failed in a way that retrying later can fix (e.g. the
    /// database was unreachable); the message stays in the inbox.
    #[error("handling failed, will retry: {0}")]
    HandlerTransient(String),
}

impl InboxError {
    /// Whether a later retry can succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connection(_) | Self::Timeout { .. } | Self::HandlerTransient(_) => true,
            Self::Server { .. } => true,
            Self::Maildir { source, .. } => !matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput
            ),
            Self::Store(e) => e.is_transient(),
            Self::Login(_)
            | Self::Tls(_)
            | Self::Config(_)
            | Self::Gone(_)
            | Self::FolderUnavailable(_) => false,
        }
    }

    pub(crate) fn maildir(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Maildir {
            path: path.display().to_string(),
            source,
        }
    }
}

impl From<async_imap::error::Error> for InboxError {
    fn from(e: async_imap::error::Error) -> Self {
        use async_imap::error::Error as E;
        match e {
            E::Io(e) => Self::Connection(e.to_string()),
            E::ConnectionLost => Self::Connection("connection lost".into()),
            E::No(detail) => Self::Server {
                what: "a command",
                detail,
            },
            E::Bad(detail) => Self::Server {
                what: "a command",
                detail,
            },
            other => Self::Connection(other.to_string()),
        }
    }
}

pub type Result<T, E = InboxError> = std::result::Result<T, E>;
