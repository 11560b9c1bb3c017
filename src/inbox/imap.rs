//! The IMAP inbox: UID-based fetching, UIDVALIDITY checks, MOVE (or COPY +
//! \Deleted + UID EXPUNGE of that one UID), IDLE with our own re-issue timer,
//! and reconnection with capped exponential backoff.
//!
//! async-imap has no timeouts of its own, so every network step here runs
//! under [`step`]; see `imap_idle.rs` for why IDLE is driven by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tracing::{debug, info, warn};

use super::error::{InboxError, Result};
use super::imap_stream::{self, ImapStream, step};
use super::{Folder, MessageKey, Pending, Shutdown};
use crate::config::{AuthMethod, InboxConfig};

/// Deadlines and retry pacing of the IMAP reader.
#[derive(Debug, Clone)]
pub struct ImapTimeouts {
    /// Connecting, TLS, login and every ordinary command.
    pub command: Duration,
    /// Extra time allowed per MiB when fetching a whole message.
    pub per_mib: Duration,
    /// IDLE is ended and re-issued after this long (RFC 2177: before 29 min).
    pub idle_reissue: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl Default for ImapTimeouts {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(30),
            per_mib: Duration::from_secs(10),
            idle_reissue: Duration::from_secs(25 * 60),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Caps {
    pub idle: bool,
    pub mv: bool,
    pub uidplus: bool,
}

#[derive(Debug)]
pub struct ImapInbox {
    pub(super) config: InboxConfig,
    pub(super) timeouts: ImapTimeouts,
    mailbox_id: String,
    pub(super) session: Option<Session<ImapStream>>,
    /// UIDVALIDITY of the folder as selected on the current connection.
    uidvalidity: u32,
    pub(super) caps: Caps,
    /// The lowest UID the next batch looks at; 1 after every (re)select.
    scan_from: u32,
    pub(super) backoff: Duration,
    extra_ca: Option<PathBuf>,
    /// Access tokens, for `auth = "xoauth2"`.
    tokens: Option<crate::oauth2::TokenSource>,
}

impl ImapInbox {
    pub fn new(config: InboxConfig) -> Result<Self> {
        Self::with_timeouts(config, ImapTimeouts::default())
    }

    pub fn with_timeouts(config: InboxConfig, timeouts: ImapTimeouts) -> Result<Self> {
        if config.host.is_empty() || config.username.is_empty() {
            return Err(InboxError::Config("IMAP needs host and username".into()));
        }
        let mailbox_id = format!(
            "imap://{}@{}:{}/{}",
            config.username, config.host, config.port, config.folder
        );
        let backoff = timeouts.backoff_min;
        Ok(Self {
            config,
            timeouts,
            mailbox_id,
            session: None,
            uidvalidity: 0,
            caps: Caps::default(),
            scan_from: 1,
            backoff,
            extra_ca: imap_stream::extra_ca_from_env(),
            tokens: None,
        })
    }

    /// Where XOAUTH2 tokens come from (`auth = "xoauth2"`).
    pub fn with_tokens(mut self, tokens: crate::oauth2::TokenSource) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Also trusts the CA certificates in this PEM file (tests, private CAs).
    pub fn with_extra_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_ca = Some(path.into());
        self
    }

    pub fn mailbox_id(&self) -> &str {
        &self.mailbox_id
    }

    pub fn max_message_bytes(&self) -> u64 {
        self.config.max_message_bytes
    }

    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    pub fn rescan(&mut self) {
        self.scan_from = 1;
    }

    /// One attempt: connect, log in, learn capabilities, select the folder.
    async fn connect_once(&mut self) -> Result<()> {
        let t = self.timeouts.command;
        let c = &self.config;
        let client =
            imap_stream::connect(&c.host, c.port, c.tls, self.extra_ca.as_deref(), t).await?;
        let mut session = self.login(client).await?;
        let caps = step("CAPABILITY", t, session.capabilities()).await?;
        self.caps = Caps {
            idle: caps.has_str("IDLE"),
            mv: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        };
        let mailbox = step("SELECT", t, session.select(&c.folder)).await?;
        let validity = mailbox.uid_validity.ok_or_else(|| InboxError::Server {
            what: "SELECT",
            detail: "no UIDVALIDITY in the answer".into(),
        })?;
        if self.uidvalidity != 0 && self.uidvalidity != validity {
            warn!(
                old = self.uidvalidity,
                new = validity,
                "UIDVALIDITY changed; rescanning the folder"
            );
        }
        if self.uidvalidity != 0 {
            crate::observe::imap_reconnected();
        }
        self.uidvalidity = validity;
        self.scan_from = 1;
        self.session = Some(session);
        info!(
            uidvalidity = validity,
            idle = self.caps.idle,
            r#move = self.caps.mv,
            "IMAP inbox connected"
        );
        Ok(())
    }

    /// Logs in with the password, or with XOAUTH2 for `auth = "xoauth2"`.
    async fn login(&self, client: async_imap::Client<ImapStream>) -> Result<Session<ImapStream>> {
        let t = self.timeouts.command;
        let c = &self.config;
        let timed_out = || InboxError::Timeout {
            what: "login",
            after: t,
        };
        if c.auth == AuthMethod::Password {
            let login = tokio::time::timeout(t, client.login(&c.username, c.password.expose()));
            return match login.await.map_err(|_| timed_out())? {
                Ok(s) => Ok(s),
                Err((async_imap::error::Error::No(m), _)) => Err(InboxError::Login(m)),
                Err((e, _)) => Err(e.into()),
            };
        }
        let tokens = self.tokens.as_ref().ok_or_else(|| {
            InboxError::Config("auth = \"xoauth2\" needs the [oauth2] section".into())
        })?;
        let token = tokens.token().await.map_err(|e| match e {
            e if e.is_transient() => InboxError::Connection(e.to_string()),
            e => InboxError::Login(e.to_string()),
        })?;
        let auth = crate::oauth2::sasl::ImapXoauth2::new(tokens.mailbox(), token.secret.expose());
        let refusal = auth.refusal.clone();
        let login = tokio::time::timeout(t, client.authenticate("XOAUTH2", auth));
        match login.await.map_err(|_| timed_out())? {
            Ok(s) => Ok(s),
            Err((async_imap::error::Error::No(m), _)) => {
                let said = refusal
                    .lock()
                    .ok()
                    .and_then(|r| r.clone())
                    .unwrap_or_default();
                tokens.refused(&token, &said).await;
                Err(InboxError::Login(format!(
                    "XOAUTH2 token refused: {m} ({said})"
                )))
            }
            Err((e, _)) => Err(e.into()),
        }
    }

    /// Connects when not connected (one attempt, no waiting).
    async fn session(&mut self) -> Result<&mut Session<ImapStream>> {
        if self.session.is_none() {
            self.connect_once().await?;
        }
        self.session
            .as_mut()
            .ok_or_else(|| InboxError::Connection("not connected".into()))
    }

    /// Runs an operation on the session; a transient failure drops the
    /// connection so the next call starts from a clean one.
    pub(super) fn fail<T>(&mut self, r: Result<T>) -> Result<T> {
        if let Err(e) = &r
            && e.is_transient()
            && !matches!(e, InboxError::Server { .. })
        {
            self.session = None;
        }
        r
    }

    /// Reconnects, waiting `backoff` between attempts (doubling up to the
    /// cap), until connected or shut down. Never gives up.
    pub(super) async fn reconnect(&mut self, shutdown: &mut Shutdown) {
        while self.session.is_none() && !shutdown.is_triggered() {
            match self.connect_once().await {
                Ok(()) => self.backoff = self.timeouts.backoff_min,
                Err(e) => {
                    warn!(error = %e, retry_in = ?self.backoff, "IMAP connection failed");
                    tokio::select! {
                        _ = tokio::time::sleep(self.backoff) => {}
                        _ = shutdown.wait() => return,
                    }
                    self.backoff = (self.backoff * 2).min(self.timeouts.backoff_max);
                }
            }
        }
    }

    /// Waits after a failed round: reconnects when the connection is gone,
    /// else pauses `pause` (or until shutdown).
    pub async fn wait_after_error(&mut self, shutdown: &mut Shutdown, pause: Duration) {
        if self.session.is_none() {
            self.reconnect(shutdown).await;
        } else {
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait() => {}
            }
        }
    }

    pub async fn ensure_folders(&mut self) -> Result<()> {
        let r = self.ensure_folders_inner().await;
        self.fail(r)
    }

    async fn ensure_folders_inner(&mut self) -> Result<()> {
        let t = self.timeouts.command;
        let wanted = [
            self.config.processed_folder.clone(),
            self.config.failed_folder.clone(),
            self.config.spam_folder.clone(),
        ];
        let session = self.session().await?;
        let names: Vec<String> = step("LIST", t, async {
            let list = session.list(Some(""), Some("*")).await?;
            let names: Vec<_> = list.try_collect().await?;
            Ok::<_, async_imap::error::Error>(names.iter().map(|n| n.name().to_string()).collect())
        })
        .await?;
        for folder in wanted {
            if !names.contains(&folder) {
                info!(folder = %folder, "creating IMAP folder");
                step("CREATE", t, session.create(&folder)).await?;
            }
        }
        Ok(())
    }

    pub async fn fetch_batch(&mut self, max: usize) -> Result<Vec<Pending>> {
        let r = self.fetch_batch_inner(max).await;
        self.fail(r)
    }

    async fn fetch_batch_inner(&mut self, max: usize) -> Result<Vec<Pending>> {
        let t = self.timeouts.command;
        let from = self.scan_from.max(1);
        let session = self.session().await?;
        let found = step(
            "UID SEARCH",
            t,
            session.uid_search(format!("UID {from}:* UNDELETED")),
        )
        .await?;
        // A BTreeMap: sorted, and a UID the server names twice counts once.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u >= from).collect();
        uids.sort_unstable();
        uids.dedup();
        uids.truncate(max.max(1));
        let Some(&last) = uids.last() else {
            return Ok(Vec::new());
        };
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let sizes: BTreeMap<u32, u32> = step("UID FETCH sizes", t, async {
            let stream = session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
            let fetches: Vec<_> = stream.try_collect().await?;
            Ok::<_, async_imap::error::Error>(
                fetches
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
                    .filter(|(uid, _)| uids.binary_search(uid).is_ok())
                    .collect(),
            )
        })
        .await?;
        self.scan_from = last.saturating_add(1);
        debug!(count = sizes.len(), from, "listed waiting messages");
        Ok(sizes
            .into_iter()
            .map(|(uid, size)| Pending {
                key: self.key(uid),
                size: u64::from(size),
            })
            .collect())
    }

    fn key(&self, uid: u32) -> MessageKey {
        MessageKey {
            mailbox: self.mailbox_id.clone(),
            uidvalidity: self.uidvalidity,
            uid: uid.to_string(),
        }
    }

    /// The UID of `key`, refusing keys from another UIDVALIDITY epoch: their
    /// UIDs may now name a different message.
    fn uid_of(&self, key: &MessageKey) -> Result<u32> {
        if key.uidvalidity != self.uidvalidity || key.mailbox != self.mailbox_id {
            return Err(InboxError::Gone(format!(
                "{key} (UIDVALIDITY is now {})",
                self.uidvalidity
            )));
        }
        key.uid
            .parse()
            .map_err(|_| InboxError::Gone(format!("{key} (not an IMAP UID)")))
    }

    pub async fn fetch_raw(&mut self, key: &MessageKey) -> Result<Vec<u8>> {
        let r = self.fetch_raw_inner(key).await;
        self.fail(r)
    }

    async fn fetch_raw_inner(&mut self, key: &MessageKey) -> Result<Vec<u8>> {
        let uid = self.uid_of(key)?;
        let mib = u32::try_from(self.config.max_message_bytes >> 20).unwrap_or(u32::MAX);
        let t = self.timeouts.command + self.timeouts.per_mib * mib;
        let session = self.session().await?;
        let body = step("UID FETCH body", t, async {
            let stream = session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await?;
            let fetches: Vec<_> = stream.try_collect().await?;
            Ok::<_, async_imap::error::Error>(
                fetches
                    .iter()
                    .find(|f| f.uid == Some(uid))
                    .and_then(|f| f.body())
                    .map(<[u8]>::to_vec),
            )
        })
        .await?;
        body.ok_or_else(|| InboxError::Gone(key.to_string()))
    }

    pub async fn finish(&mut self, key: &MessageKey, folder: Folder) -> Result<()> {
        let r = self.finish_inner(key, folder).await;
        self.fail(r)
    }

    async fn finish_inner(&mut self, key: &MessageKey, folder: Folder) -> Result<()> {
        let uid = self.uid_of(key)?.to_string();
        let target = match folder {
            Folder::Processed => self.config.processed_folder.clone(),
            Folder::Failed => self.config.failed_folder.clone(),
            Folder::Spam => self.config.spam_folder.clone(),
        };
        let t = self.timeouts.command;
        let caps = self.caps;
        let session = self.session().await?;
        if caps.mv {
            return step("UID MOVE", t, session.uid_mv(&uid, &target)).await;
        }
        step("UID COPY", t, session.uid_copy(&uid, &target)).await?;
        step("UID STORE", t, async {
            let s = session.uid_store(&uid, "+FLAGS.SILENT (\\Deleted)").await?;
            s.try_collect::<Vec<_>>().await.map(drop)
        })
        .await?;
        if caps.uidplus {
            step("UID EXPUNGE", t, async {
                let s = session.uid_expunge(&uid).await?;
                s.try_collect::<Vec<_>>().await.map(drop)
            })
            .await?;
        }
        // Without UIDPLUS the copy stays flagged \Deleted in the folder: a plain
        // EXPUNGE could remove other clients' messages, so we never send one.
        Ok(())
    }

    /// Logs out, best effort.
    pub async fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(self.timeouts.command, s.logout()).await;
        }
    }
}
