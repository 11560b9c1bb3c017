//! What the test IMAP servers beside Dovecot (Cyrus, Courier, Mailutils) share: a
//! check that they run, plaintext login with password "test", and their
//! folders. `server` names the server in failure messages.

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
