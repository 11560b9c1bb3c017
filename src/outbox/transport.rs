//! Where outgoing mail goes: an SMTP server (lettre) or a local Maildir.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::message::lettre_address;
use crate::config::{OutboundConfig, OutboundKind, Tls as TlsMode};
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
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Maildir(MaildirWriter),
}

impl Transport {
    pub fn from_config(config: &OutboundConfig) -> Result<Self, SendError> {
        match config.kind {
            OutboundKind::Maildir => Ok(Self::Maildir(MaildirWriter::new(&config.path)?)),
            OutboundKind::Smtp => {
                let tls = |mode| -> Result<Tls, SendError> {
                    let params = TlsParameters::new(config.host.clone())
                        .map_err(|e| SendError::Permanent(format!("TLS setup: {e}")))?;
                    Ok(match mode {
                        TlsMode::Tls => Tls::Wrapper(params),
                        TlsMode::Starttls => Tls::Required(params),
                        TlsMode::None => Tls::None,
                    })
                };
                let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
                    .port(config.port)
                    .tls(tls(config.tls)?)
                    .timeout(Some(Duration::from_secs(60)))
                    // One pooled connection per sending lane.
                    .pool_config(
                        PoolConfig::new().max_size(super::sender::SEND_CONCURRENCY as u32),
                    );
                if !config.username.is_empty() {
                    b = b.credentials(Credentials::new(
                        config.username.clone(),
                        config.password.expose().to_string(),
                    ));
                }
                Ok(Self::Smtp(b.build()))
            }
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
                match smtp.send_raw(&envelope, message).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                    Err(e) => Err(SendError::Transient(e.to_string())),
                }
            }
        }
    }

    /// Logs in without sending (for `check`).
    pub async fn test_connection(&self) -> Result<(), SendError> {
        match self {
            Self::Maildir(_) => Ok(()),
            Self::Smtp(smtp) => match smtp.test_connection().await {
                Ok(true) => Ok(()),
                Ok(false) => Err(SendError::Transient("the server did not answer".into())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
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
