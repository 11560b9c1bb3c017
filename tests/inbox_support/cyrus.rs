//! The Cyrus IMAP test servers of `deploy/cyrus/up.sh`: classic namespace
//! (folders under `INBOX.`), plaintext login, password "test".
//! `PUSH` runs idled (IDLE pushes); `NOIDLE` does not (Debian's default);
//! `NO_NAMESPACE` does not offer NAMESPACE (the client must find INBOX. itself);
//! `PUSH2` is like `PUSH`, for a second test of one binary: tests running at
//! once must not create mailboxes in the same Cyrus (deploy/cyrus/common.sh).

use std::time::Duration;

use super::imap_server;
use async_imap::Session;
use circle_relay::config::{InboxConfig, InboxKind, Tls};
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

pub const PUSH: u16 = 11043;
pub const NOIDLE: u16 = 11044;
pub const NO_NAMESPACE: u16 = 11343;
pub const PUSH2: u16 = 11045;
/// Cyrus's own LMTP, which Postfix uses for the domain cyrus.circle.test.
pub const PUSH_LMTP: u16 = 11024;

/// Fails (never skips) when the Cyrus servers are not running.
pub fn require_cyrus() {
    imap_server::require_open(
        "Cyrus",
        &[PUSH, NOIDLE, NO_NAMESPACE, PUSH2],
        "deploy/cyrus/up.sh",
    );
}

pub async fn login(port: u16, user: &str) -> Session<TcpStream> {
    imap_server::login("Cyrus", port, user).await
}

/// Every folder of `user` (as the server names them), sorted.
pub async fn folders(port: u16, user: &str) -> Vec<String> {
    imap_server::folders("Cyrus", port, user).await
}

/// Empties INBOX and deletes every other folder of `user`.
pub async fn reset(port: u16, user: &str) {
    let mut s = imap_server::delete_folders("Cyrus", port, user).await;
    s.select("INBOX").await.expect("SELECT");
    s.store("1:*", "+FLAGS.SILENT (\\Deleted)")
        .await
        .expect("STORE")
        .try_collect::<Vec<_>>()
        .await
        .expect("STORE");
    s.expunge()
        .await
        .expect("EXPUNGE")
        .try_collect::<Vec<_>>()
        .await
        .expect("EXPUNGE");
    let _ = s.logout().await;
}

/// Stores a message straight into `user`'s INBOX.
pub async fn append(port: u16, user: &str, subject: &str, message_id: &str) {
    let msg = format!(
        "From: Requester <req@example.org>\r\nTo: <circle@cyrus.circle.test>\r\n\
         Subject: {subject}\r\nMessage-ID: {message_id}\r\n\
         Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nHello circle.\r\n"
    );
    let mut s = login(port, user).await;
    s.append("INBOX", None, None, msg.as_bytes())
        .await
        .expect("APPEND");
    let _ = s.logout().await;
}

/// Message-IDs (in brackets) of the messages in `folder`, sorted; empty when
/// the folder does not exist.
pub async fn message_ids(port: u16, user: &str, folder: &str) -> Vec<String> {
    let mut s = login(port, user).await;
    if s.examine(folder).await.is_err() {
        let _ = s.logout().await;
        return Vec::new();
    }
    let fetches: Vec<_> = match s.fetch("1:*", "(BODY.PEEK[HEADER])").await {
        Ok(stream) => stream.try_collect().await.unwrap_or_default(),
        Err(_) => Vec::new(), // an empty folder answers 1:* with an error
    };
    let mut ids: Vec<String> = fetches
        .iter()
        .filter_map(|f| {
            let m = mail_parser::MessageParser::new().parse_headers(f.header()?)?;
            m.message_id().map(|x| format!("<{x}>"))
        })
        .collect();
    ids.sort();
    let _ = s.logout().await;
    ids
}

pub fn config(port: u16, user: &str) -> InboxConfig {
    InboxConfig {
        kind: InboxKind::Imap,
        host: "127.0.0.1".into(),
        port,
        tls: Tls::None,
        username: user.into(),
        password: circle_relay::config::Secret::new("test"),
        poll_seconds: 1,
        ..InboxConfig::default()
    }
}

pub fn inbox(config: InboxConfig) -> circle_relay::inbox::Inbox {
    let timeouts = circle_relay::inbox::ImapTimeouts {
        command: Duration::from_secs(10),
        backoff_min: Duration::from_millis(200),
        backoff_max: Duration::from_secs(2),
        ..circle_relay::inbox::ImapTimeouts::default()
    };
    let inbox = circle_relay::inbox::ImapInbox::with_timeouts(config, timeouts).expect("config");
    circle_relay::inbox::Inbox::Imap(Box::new(inbox))
}
