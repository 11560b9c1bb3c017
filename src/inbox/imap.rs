//! The IMAP inbox: UID-based fetching, UIDVALIDITY checks, MOVE (or COPY +
//! \Deleted + UID EXPUNGE of those UIDs; without UIDPLUS, no expunge), IDLE
//! with our own re-issue timer, and reconnection with capped exponential
//! backoff.
//!
//! async-imap has no timeouts of its own, so every network step here runs
//! under [`step`]; see `imap_idle.rs` for why IDLE is driven by hand.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tracing::{debug, info, warn};

use super::error::{InboxError, Result};
use super::imap_folders::{self, FolderProblem, Namespaces};
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
    /// The server's namespaces, learnt at every connect.
    pub(super) namespaces: Namespaces,
    /// Folders the server refused to create, with its answer.
    pub(super) unavailable: HashMap<Folder, FolderProblem>,
    /// Folders placed under `INBOX<sep>` after the bare name was refused
    /// (a server without NAMESPACE whose folders live under INBOX).
    pub(super) under_inbox: HashMap<Folder, String>,
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
            namespaces: Namespaces::default(),
            unavailable: HashMap::new(),
            under_inbox: HashMap::new(),
            extra_ca: imap_stream::extra_ca_from_env(),
            tokens: None,
        })
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

    /// Where XOAUTH2 tokens come from (`auth = "xoauth2"`).
    pub fn with_tokens(mut self, tokens: crate::oauth2::TokenSource) -> Self {
        self.tokens = Some(tokens);
        self
    }

    pub fn is_connected(&self) -> bool {
        self.session.is_some()
    }

    pub fn rescan(&mut self) {
        self.scan_from = 1;
    }

    /// Connects and logs in: the one place that knows how we authenticate.
    async fn login(&self) -> Result<Session<ImapStream>> {
        let t = self.timeouts.command;
        let c = &self.config;
        let client =
            imap_stream::connect(&c.host, c.port, c.tls, self.extra_ca.as_deref(), t).await?;
        self.authenticate(client).await
    }

    /// Logs in with the password, or with XOAUTH2 for `auth = "xoauth2"`.
    async fn authenticate(
        &self,
        client: async_imap::Client<ImapStream>,
    ) -> Result<Session<ImapStream>> {
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

    /// One attempt: connect, log in, learn capabilities and namespaces,
    /// select the folder.
    async fn connect_once(&mut self) -> Result<()> {
        let t = self.timeouts.command;
        let mut session = self.login().await?;
        let caps = step("CAPABILITY", t, session.capabilities()).await?;
        self.caps = Caps {
            idle: caps.has_str("IDLE"),
            mv: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
        };
        self.namespaces =
            imap_folders::discover(&mut session, caps.has_str("NAMESPACE"), t).await?;
        let mailbox = step("SELECT", t, session.select(&self.config.folder)).await?;
        let validity = mailbox.uid_validity.ok_or_else(|| InboxError::Server {
            what: "SELECT",
            detail: "no UIDVALIDITY in the answer".into(),
        })?;
        self.note_validity(validity);
        self.session = Some(session);
        info!(
            uidvalidity = validity,
            idle = self.caps.idle,
            r#move = self.caps.mv,
            namespace = %self.namespaces.personal.prefix,
            "IMAP inbox connected"
        );
        Ok(())
    }

    fn note_validity(&mut self, validity: u32) {
        if self.uidvalidity != 0 {
            crate::observe::imap_reconnected();
        }
        self.set_validity(validity);
    }

    /// The folder's UIDVALIDITY as just selected: the scan starts over.
    fn set_validity(&mut self, validity: u32) {
        if self.uidvalidity != 0 && self.uidvalidity != validity {
            warn!(
                old = self.uidvalidity,
                new = validity,
                "UIDVALIDITY changed; rescanning the folder"
            );
        }
        self.uidvalidity = validity;
        self.scan_from = 1;
    }

    /// Connects when not connected (one attempt, no waiting).
    pub(super) async fn session(&mut self) -> Result<&mut Session<ImapStream>> {
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

    /// Creates the folders where missing; those the server refuses come
    /// back as problems (mail for them stays in the inbox), not as an error.
    pub async fn ensure_folders(&mut self) -> Result<Vec<FolderProblem>> {
        let r = self.ensure_folders_inner().await;
        self.fail(r)
    }

    pub async fn fetch_batch(&mut self, max: usize) -> Result<Vec<Pending>> {
        let r = self.fetch_batch_inner(max).await;
        self.fail(r)
    }

    async fn fetch_batch_inner(&mut self, max: usize) -> Result<Vec<Pending>> {
        let t = self.timeouts.command;
        let from = self.scan_from.max(1);
        let session = self.session().await?;
        // The highest possible UID, not `*`: GNU Mailutils' imap4d finds
        // nothing for `UID n:*` in SEARCH (it does for `UID n:4294967295`).
        let found = step(
            "UID SEARCH",
            t,
            session.uid_search(format!("UID {from}:{} UNDELETED", u32::MAX)),
        )
        .await?;
        // Sorted, and a UID the server names twice counts once.
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

    pub async fn fetch_raw_many(
        &mut self,
        keys: &[MessageKey],
    ) -> Result<HashMap<String, Vec<u8>>> {
        let r = self.fetch_raw_many_inner(keys).await;
        self.fail(r)
    }

    /// One UID FETCH for all the bodies (the server streams them back to
    /// back); the deadline grows with the size limit per message.
    async fn fetch_raw_many_inner(
        &mut self,
        keys: &[MessageKey],
    ) -> Result<HashMap<String, Vec<u8>>> {
        let uids = keys
            .iter()
            .map(|k| self.uid_of(k))
            .collect::<Result<Vec<u32>>>()?;
        let Some(set) = uid_set(&uids) else {
            return Ok(HashMap::new());
        };
        let mib = u32::try_from(self.config.max_message_bytes >> 20).unwrap_or(u32::MAX);
        let count = u32::try_from(uids.len()).unwrap_or(u32::MAX);
        let t = self.timeouts.command + self.timeouts.per_mib * mib.saturating_mul(count).min(1024);
        let session = self.session().await?;
        step("UID FETCH bodies", t, async {
            let stream = session.uid_fetch(&set, "(UID BODY.PEEK[])").await?;
            let fetches: Vec<_> = stream.try_collect().await?;
            Ok::<_, async_imap::error::Error>(
                fetches
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.body()?)))
                    .filter(|(uid, _)| uids.contains(uid))
                    .map(|(uid, body)| (uid.to_string(), body.to_vec()))
                    .collect(),
            )
        })
        .await
    }

    pub async fn finish_many(&mut self, keys: &[MessageKey], folder: Folder) -> Result<()> {
        let r = self.finish_many_inner(keys, folder).await;
        self.fail(r)
    }

    async fn finish_many_inner(&mut self, keys: &[MessageKey], folder: Folder) -> Result<()> {
        if let Some(p) = self.unavailable(folder) {
            return Err(InboxError::FolderUnavailable(p.folder.clone()));
        }
        let uids = keys
            .iter()
            .map(|k| self.uid_of(k))
            .collect::<Result<Vec<u32>>>()?;
        let Some(set) = uid_set(&uids) else {
            return Ok(());
        };
        let target = self.folder_name(folder);
        let t = self.timeouts.command;
        let caps = self.caps;
        let session = self.session().await?;
        if caps.mv {
            return step("UID MOVE", t, session.uid_mv(&set, &target)).await;
        }
        step("UID COPY", t, session.uid_copy(&set, &target)).await?;
        step("UID STORE", t, async {
            let s = session.uid_store(&set, "+FLAGS.SILENT (\\Deleted)").await?;
            s.try_collect::<Vec<_>>().await.map(drop)
        })
        .await?;
        if !caps.uidplus {
            return self.reselect().await;
        }
        step("UID EXPUNGE", t, async {
            let s = session.uid_expunge(&set).await?;
            s.try_collect::<Vec<_>>().await.map(drop)
        })
        .await
    }

    /// Without UIDPLUS there is no UID EXPUNGE, and a plain one would also
    /// remove messages another client flagged \Deleted; and GNU imap4d, once
    /// an expunge empties its mbox, hands out UIDs from 1 again under the same
    /// UIDVALIDITY, which would make a new message look handled. So moved
    /// messages stay in the inbox, flagged \Deleted. Selecting the inbox
    /// again makes a server that writes flags only when the mailbox closes
    /// (imap4d's mbox; CHECK does not) record them: else another client, or
    /// the daemon after a crash, finds those messages unflagged.
    async fn reselect(&mut self) -> Result<()> {
        let t = self.timeouts.command;
        let folder = self.config.folder.clone();
        let session = self.session().await?;
        let mailbox = step("SELECT", t, session.select(&folder)).await?;
        if let Some(validity) = mailbox.uid_validity
            && validity != self.uidvalidity
        {
            self.set_validity(validity);
        }
        Ok(())
    }

    /// Logs out, best effort.
    pub async fn close(&mut self) {
        if let Some(mut s) = self.session.take() {
            let _ = tokio::time::timeout(self.timeouts.command, s.logout()).await;
        }
    }
}

/// `1,2,3,7` → `1:3,7`; None when empty.
fn uid_set(uids: &[u32]) -> Option<String> {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    (!parts.is_empty()).then(|| parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[]), None);
        assert_eq!(uid_set(&[5]).as_deref(), Some("5"));
        assert_eq!(uid_set(&[3, 1, 2, 7, 9, 8, 2]).as_deref(), Some("1:3,7:9"));
    }
}
