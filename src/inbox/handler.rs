//! What the runner hands a message to: the [`MessageHandler`] trait the
//! pipeline implements, its input and its verdict.

use std::sync::Arc;

use crate::store::Tx;

use super::MessageKey;
use crate::store::StoreError;

/// A message handed to the pipeline.
#[derive(Debug)]
pub struct InboundMail<'a> {
    /// The message's `inbound_messages.id`, for the effects to refer to.
    pub inbound_id: i64,
    pub key: &'a MessageKey,
    pub message_id: Option<&'a str>,
    pub raw: &'a [u8],
}

/// What the handler made of a message. `failure` set: its effects (if any)
/// are committed, and the message goes to `Failed` with that reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// `inbound_messages.kind`: request, reply, command, auto_reply, bounce, loop, unreadable.
    pub kind: String,
    pub failure: Option<String>,
}

impl Handled {
    pub fn processed(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            failure: None,
        }
    }
}

/// Any error a handler meets, kept whole so its causes survive.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// Retrying later can succeed (database unreachable…): the message stays.
    #[error(transparent)]
    Transient(BoxError),
    /// The message cannot be handled: it goes to `Failed` with this reason.
    #[error(transparent)]
    Permanent(BoxError),
}

impl HandleError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    /// Transient or permanent as the error itself says.
    pub fn classified(e: impl Into<BoxError>, transient: bool) -> Self {
        if transient {
            Self::Transient(e.into())
        } else {
            Self::Permanent(e.into())
        }
    }
}

impl From<StoreError> for HandleError {
    fn from(e: StoreError) -> Self {
        let transient = e.is_transient();
        Self::classified(e, transient)
    }
}

impl From<sqlx::Error> for HandleError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// The pipeline's entry point for inbound mail, in two steps: what can be
/// worked out before the write transaction (reading the message, deciding
/// what it is, reads of the database), then its effects inside it, so the
/// write lock is held only for the writes.
pub trait MessageHandler: Send + Sync {
    /// What [`MessageHandler::prepare`] hands to [`MessageHandler::handle`].
    type Prepared: Send;

    /// Works out what needs no write, before the transaction; it may read
    /// the database, and `handle` must check again, inside the transaction,
    /// whatever a write in between could have changed.
    fn prepare(
        &self,
        raw: &[u8],
    ) -> impl Future<Output = Result<Self::Prepared, HandleError>> + Send;

    /// Writes the message's effects through `tx`; the runner commits.
    fn handle(
        &self,
        tx: &mut Tx<'static>,
        mail: &InboundMail<'_>,
        prepared: Self::Prepared,
    ) -> impl Future<Output = Result<Handled, HandleError>> + Send;
}

/// Called right after a message's transaction committed, before the move
/// (tests use it to crash the reader exactly there).
pub type AfterCommitHook = Arc<dyn Fn(&MessageKey) + Send + Sync>;

/// How [`run_inbox`] works through the inbox.
#[derive(Clone)]
pub struct RunOptions {
    /// At most this many messages per round, so a backlog cannot starve the rest.
    pub batch_size: usize,
    pub after_commit: Option<AfterCommitHook>,
}

impl RunOptions {
    pub fn from_config(config: &crate::config::InboxConfig) -> Self {
        Self {
            batch_size: usize::try_from(config.batch_size).unwrap_or(50).max(1),
            after_commit: None,
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("batch_size", &self.batch_size)
            .field("after_commit", &self.after_commit.is_some())
            .finish()
    }
}
