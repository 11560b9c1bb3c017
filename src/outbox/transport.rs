//! Where outgoing mail goes: an SMTP server (lettre, see smtp.rs) or a local Maildir.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use lettre::address::Envelope;

use super::message::lettre_address;
use super::smtp::SmtpClient;
use crate::config::{OutboundConfig, OutboundKind};
use crate::domain::EmailAddress;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("temporary failure: {0}")]
    Transient(String),
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    /// Whether a later attempt can succeed (SMTP 4xx, network trouble).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

pub enum Transport {
    Smtp(SmtpClient),
    Maildir(MaildirWriter),
}

impl Transport {
    pub fn from_config(config: &OutboundConfig) -> Result<Self, SendError> {
        match config.kind {
            OutboundKind::Maildir => Ok(Self::Maildir(MaildirWriter::new(&config.path)?)),
            // One pooled connection per sending lane.
            OutboundKind::Smtp => Ok(Self::Smtp(SmtpClient::new(
                config,
                super::sender::SEND_CONCURRENCY,
            )?)),
        }
    }

    /// Signs in to SMTP with XOAUTH2 tokens from `tokens` (`auth = "xoauth2"`).
    pub fn with_tokens(self, tokens: crate::oauth2::TokenSource) -> Self {
        match self {
            Self::Smtp(smtp) => Self::Smtp(smtp.with_tokens(tokens)),
            other => other,
        }
    }

    /// Sends one message to one recipient (one envelope recipient per
    /// message, so a rejected address never stops the others).
    pub async fn send(
        &self,
        from: &EmailAddress,
        to: &EmailAddress,
        message: &[u8],
    ) -> Result<(), SendError> {
        match self {
            Self::Maildir(w) => w.deliver(message).await,
            Self::Smtp(smtp) => {
                let envelope = Envelope::new(
                    Some(lettre_address(from).map_err(|e| SendError::Permanent(e.to_string()))?),
                    vec![lettre_address(to).map_err(|e| SendError::Permanent(e.to_string()))?],
                )
                .map_err(|e| SendError::Permanent(e.to_string()))?;
                smtp.send(&envelope, message).await
            }
        }
    }

    /// Logs in without sending (for `check`).
    pub async fn test_connection(&self) -> Result<(), SendError> {
        match self {
            Self::Maildir(_) => Ok(()),
            Self::Smtp(smtp) => smtp.test_connection().await,
        }
    }
}

/// Writes each message as a file into `path/new`, through `path/tmp` so a
/// reader never sees half a message (the Maildir protocol).
pub struct MaildirWriter {
    root: PathBuf,
}

impl MaildirWriter {
    pub fn new(path: &str) -> Result<Self, SendError> {
        let root = PathBuf::from(path);
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(root.join(sub)).map_err(|e| {
                SendError::Permanent(format!("cannot create Maildir {}: {e}", root.display()))
            })?;
        }
        Ok(Self { root })
    }

    async fn deliver(&self, message: &[u8]) -> Result<(), SendError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let now = jiff::Timestamp::now();
        let name = format!(
            "{}.M{:06}P{}Q{:08}.circle-relay",
            now.as_second(),
            now.subsec_microsecond(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.root.join("tmp").join(&name);
        let new = self.root.join("new").join(&name);
        let io = |e: std::io::Error| SendError::Transient(format!("Maildir write: {e}"));
        tokio::fs::write(&tmp, message).await.map_err(io)?;
        tokio::fs::rename(&tmp, &new).await.map_err(io)?;
        Ok(())
    }
}
