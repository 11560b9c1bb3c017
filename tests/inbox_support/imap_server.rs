//! What the test IMAP servers beside Dovecot (Cyrus, Courier, Mailutils) share: a
//! check that they run, plaintext login with password "test", and their
//! folders. `server` names the server in failure messages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_imap::Session;
use async_imap::types::Flag;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

/// Fails (never skips) when one of `ports` is closed; `up` starts them.
pub fn require_open(server: &str, ports: &[u16], up: &str) {
    for &port in ports {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err() {
            panic!("{server} IMAP 127.0.0.1:{port} is closed: run {up} first");
        }
    }
}

pub async fn login(server: &str, port: u16, user: &str) -> Session<TcpStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("{server} connect: {e}"));
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting");
    client
        .login(user, "test")
        .await
        .map_err(|e| e.0)
        .unwrap_or_else(|e| panic!("{server} login: {e}"))
}

/// Every folder of `user` (as the server names them), sorted.
pub async fn folders(server: &str, port: u16, user: &str) -> Vec<String> {
    let mut s = login(server, port, user).await;
    let mut names: Vec<String> = s
        .list(Some(""), Some("*"))
        .await
        .expect("LIST")
        .try_collect::<Vec<_>>()
        .await
        .expect("LIST")
        .iter()
        .map(|n| n.name().to_string())
        .collect();
    let _ = s.logout().await;
    names.sort();
    names
}

/// Deletes every folder of `user` but INBOX (children first); returns the
/// session, still logged in.
pub async fn delete_folders(server: &str, port: u16, user: &str) -> Session<TcpStream> {
    let mut names = folders(server, port, user).await;
    let mut s = login(server, port, user).await;
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    for name in names.iter().filter(|n| *n != "INBOX") {
        s.delete(name).await.expect("DELETE");
    }
    s
}

/// The messages in `folder`, sorted: each one's Message-ID (in brackets) and
/// whether it is flagged \Deleted; empty when the folder does not exist.
pub async fn messages(server: &str, port: u16, user: &str, folder: &str) -> Vec<(String, bool)> {
    let mut s = login(server, port, user).await;
    let exists = match s.examine(folder).await {
        Ok(mailbox) => mailbox.exists,
        Err(_) => 0,
    };
    let fetches: Vec<_> = if exists == 0 {
        Vec::new()
    } else {
        let stream = s
            .fetch("1:*", "(FLAGS BODY.PEEK[HEADER])")
            .await
            .unwrap_or_else(|e| panic!("{server} FETCH: {e}"));
        stream
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{server} FETCH: {e}"))
    };
    let mut found: Vec<(String, bool)> = fetches
        .iter()
        .filter_map(|f| {
            let m = mail_parser::MessageParser::new().parse_headers(f.header()?)?;
            let deleted = f.flags().any(|flag| flag == Flag::Deleted);
            m.message_id().map(|x| (format!("<{x}>"), deleted))
        })
        .collect();
    found.sort();
    let _ = s.logout().await;
    found
}

/// A circle whose inbox is `username` on a test IMAP server: plaintext,
/// password "test", poll_seconds 1, SQLite in the test's directory, mail
/// out through the stack's Postfix.
pub struct ImapCircle<'a> {
    pub name: &'a str,
    pub address: &'a str,
    pub port: u16,
    pub username: &'a str,
    /// More `[inbox]` lines.
    pub extra: &'a str,
    /// The member CSV to import.
    pub members: &'a str,
}

/// Writes the circle's config in `dir` and imports its members (the Dovecot
/// stack's own circles: `circle_config`).
pub fn server_circle_config(dir: &Path, c: &ImapCircle<'_>) -> PathBuf {
    let path = dir.join("circle-relay.toml");
    std::fs::write(
        &path,
        format!(
            "[circle]\nname = \"{name}\"\naddress = \"{address}\"\nadmins = [\"relayadmin@circle.test\"]\n\
             posting = \"anyone\"\n\
             [database]\nurl = \"sqlite://{db}\"\n\
             [inbox]\nkind = \"imap\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             username = \"{username}\"\npassword = \"test\"\npoll_seconds = 1\n{extra}\
             [outbound]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = 10025\ntls = \"none\"\n\
             [security]\ntoken_secret = \"a-test-server-secret\"\n",
            name = c.name,
            address = c.address,
            db = dir.join("relay.db").display(),
            port = c.port,
            username = c.username,
            extra = c.extra,
        ),
    )
    .expect("write config");
    super::import_members(&path, c.members);
    path
}
