//! Reading the circle inbox (IMAP with IDLE, or a local Maildir) exactly once.
//!
//! The pipeline drives an [`Inbox`] through [`run_inbox`]: take a bounded batch
//! of waiting messages, hand each to a [`MessageHandler`] inside one database
//! transaction together with its row in the inbound ledger, commit, and only
//! then move the message to `Processed` (or `Failed`). Whatever crashes when,
//! the ledger decides: a message already recorded is only moved, never handled
//! again. Nothing is ever deleted.

pub mod error;
mod handler;
mod imap;
mod imap_folders;
mod imap_idle;
mod imap_stream;
mod lease;
mod lmtp;
mod maildir;
mod runner;

use std::fmt;

pub use error::{InboxError, Result};
pub use handler::{
    AfterCommitHook, BoxError, HandleError, Handled, InboundMail, MessageHandler, RunOptions,
};
pub use imap::{ImapInbox, ImapTimeouts};
pub use imap_folders::{FolderProblem, Namespace, Namespaces, parse_namespace};
pub use lease::InboxLease;
pub use lmtp::{LmtpIntake, LmtpListen};
pub use maildir::MaildirInbox;
pub use runner::{RoundSummary, run_inbox, run_round};

use crate::config::{InboxConfig, InboxKind};
// The readers (`super::Shutdown`) stop on the crate-wide signal.
use crate::shutdown::{Shutdown, ShutdownTrigger};

/// The natural key of one message in one inbox: for IMAP the folder's
/// UIDVALIDITY and the message's UID, for a Maildir uidvalidity 0 and the
/// file's unique name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MessageKey {
    /// A stable name of the folder read, e.g. `imap://user@host:port/INBOX`.
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: String,
}

impl fmt::Display for MessageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.uidvalidity, self.uid)
    }
}

/// A message waiting in the inbox folder, not yet loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub key: MessageKey,
    pub size: u64,
}

/// Where a handled message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Folder {
    Processed,
    Failed,
    /// The receiving server marked it as spam (`[inbox] spam_folder`).
    Spam,
}

/// The inbox the daemon reads, as configured.
#[derive(Debug)]
pub enum Inbox {
    Imap(Box<ImapInbox>),
    Maildir(MaildirInbox),
    /// Not read: an MTA delivers to it (see `lmtp.rs`).
    Lmtp(Box<LmtpIntake>),
}

impl Inbox {
    pub fn from_config(config: &InboxConfig) -> Result<Self> {
        match config.kind {
            InboxKind::Imap => Ok(Self::Imap(Box::new(ImapInbox::new(config.clone())?))),
            InboxKind::Maildir => Ok(Self::Maildir(MaildirInbox::new(config)?)),
            InboxKind::Lmtp => Ok(Self::Lmtp(Box::new(LmtpIntake::new(config)?))),
        }
    }

    /// Names the circle's address, which the LMTP intake accepts mail for
    /// (with any `+TOKEN`); the readers take whatever is in their folder.
    pub fn for_circle(self, address: &str) -> Self {
        match self {
            Self::Lmtp(l) => Self::Lmtp(Box::new(l.for_address(address))),
            other => other,
        }
    }

    /// Signs in to IMAP with XOAUTH2 tokens from `tokens` (`auth = "xoauth2"`).
    pub fn with_tokens(self, tokens: crate::oauth2::TokenSource) -> Self {
        match self {
            Self::Imap(i) => Self::Imap(Box::new(i.with_tokens(tokens))),
            other => other,
        }
    }

    /// The ledger's `mailbox` value for this inbox.
    pub fn mailbox_id(&self) -> &str {
        match self {
            Self::Imap(i) => i.mailbox_id(),
            Self::Maildir(m) => m.mailbox_id(),
            Self::Lmtp(l) => l.mailbox_id(),
        }
    }

    pub fn max_message_bytes(&self) -> u64 {
        match self {
            Self::Imap(i) => i.max_message_bytes(),
            Self::Maildir(m) => m.max_message_bytes(),
            Self::Lmtp(l) => l.max_message_bytes(),
        }
    }

    /// Creates the processed, failed and spam folders where missing. The
    /// ones the server refuses are returned: mail for them stays put.
    pub async fn ensure_folders(&mut self) -> Result<Vec<FolderProblem>> {
        match self {
            Self::Imap(i) => i.ensure_folders().await,
            Self::Maildir(m) => m.ensure_folders().map(|()| Vec::new()),
            Self::Lmtp(_) => Ok(Vec::new()),
        }
    }

    /// Up to `max` waiting messages, oldest first. The IMAP reader reconnects
    /// by itself; an error here means this round failed and a later one may not.
    pub async fn fetch_batch(&mut self, max: usize) -> Result<Vec<Pending>> {
        match self {
            Self::Imap(i) => i.fetch_batch(max).await,
            Self::Maildir(m) => m.fetch_batch(max),
            Self::Lmtp(_) => Ok(Vec::new()),
        }
    }

    /// The whole messages, by UID (one command for all on IMAP). Only called
    /// for messages within the size limit; a message gone is left out.
    pub async fn fetch_raw_many(
        &mut self,
        keys: &[MessageKey],
    ) -> Result<std::collections::HashMap<String, Vec<u8>>> {
        match self {
            Self::Imap(i) => i.fetch_raw_many(keys).await,
            Self::Maildir(m) => Ok(keys
                .iter()
                .filter_map(|k| m.fetch_raw(k).ok().map(|raw| (k.uid.clone(), raw)))
                .collect()),
            Self::Lmtp(_) => Ok(std::collections::HashMap::new()),
        }
    }

    /// Moves the messages out of the inbox folder into `folder` (one
    /// UID MOVE of the set on IMAP).
    pub async fn finish_many(&mut self, keys: &[MessageKey], folder: Folder) -> Result<()> {
        match self {
            Self::Imap(i) => i.finish_many(keys, folder).await,
            Self::Maildir(m) => {
                for key in keys {
                    match m.finish(key, folder) {
                        Ok(()) | Err(InboxError::Gone(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            Self::Lmtp(_) => Ok(()),
        }
    }

    /// Waits until new mail may have arrived (IMAP IDLE, else polling), or
    /// shutdown. Returns early, never late, so callers just fetch again.
    pub async fn wait_for_new(&mut self, shutdown: &mut Shutdown) -> Result<()> {
        match self {
            Self::Imap(i) => i.wait_for_new(shutdown).await,
            Self::Maildir(m) => m.wait_for_new(shutdown).await,
            Self::Lmtp(_) => {
                shutdown.wait().await;
                Ok(())
            }
        }
    }

    /// Forgets what was already listed, so the next batch looks at every
    /// message still in the folder (after an error left some unfinished).
    pub fn rescan(&mut self) {
        match self {
            Self::Imap(i) => i.rescan(),
            Self::Maildir(_) | Self::Lmtp(_) => {}
        }
    }

    /// Pauses after a failed round: the IMAP reader reconnects (with capped
    /// exponential backoff) when its connection is gone; else waits `pause`.
    pub async fn wait_after_error(&mut self, shutdown: &mut Shutdown, pause: std::time::Duration) {
        match self {
            Self::Imap(i) => i.wait_after_error(shutdown, pause).await,
            Self::Maildir(_) | Self::Lmtp(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.wait() => {}
                }
            }
        }
    }

    /// Logs out politely (IMAP); best effort.
    pub async fn close(&mut self) {
        if let Self::Imap(i) = self {
            i.close().await;
        }
    }
}
