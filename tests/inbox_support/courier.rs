//! The Courier-IMAP test servers of `deploy/courier/up.sh`: Maildir++ folders
//! under `INBOX.` (separator "."), plaintext login, password "test". Mail is
//! delivered by writing files into the user's Maildir, as a local delivery
//! agent does. `IDLE` offers IDLE but only looks at the Maildir every 60 s
//! (Debian's settings); `NOIDLE` does not offer IDLE; `PUSH` pushes (FAM).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::imap_server;
use async_imap::Session;
use tokio::net::TcpStream;

pub const IDLE: u16 = 13143;
pub const NOIDLE: u16 = 13144;
pub const PUSH: u16 = 13145;

fn instance(port: u16) -> &'static str {
    match port {
        IDLE => "idle",
        NOIDLE => "noidle",
        PUSH => "push",
        _ => panic!("no Courier instance on {port}"),
    }
}

fn state_dir() -> PathBuf {
    std::env::var_os("COURIER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/circle-relay-courier"))
}

/// Fails (never skips) when the Courier servers are not running.
pub fn require_courier() {
    imap_server::require_open("Courier", &[IDLE, NOIDLE, PUSH], "deploy/courier/up.sh");
}

pub async fn login(port: u16, user: &str) -> Session<TcpStream> {
    imap_server::login("Courier", port, user).await
}

/// Every folder of `user` (as the server names them), sorted.
pub async fn folders(port: u16, user: &str) -> Vec<String> {
    imap_server::folders("Courier", port, user).await
}

/// Empties INBOX and deletes every other folder of `user`.
pub async fn reset(port: u16, user: &str) {
    let mut s = imap_server::delete_folders("Courier", port, user).await;
    let _ = s.logout().await;
    let inbox = maildir(port, user);
    for sub in ["new", "cur"] {
        for entry in std::fs::read_dir(inbox.join(sub)).expect("Maildir") {
            std::fs::remove_file(entry.expect("entry").path()).expect("remove");
        }
    }
}

fn maildir(port: u16, user: &str) -> PathBuf {
    state_dir()
        .join(instance(port))
        .join("home")
        .join(user)
        .join("Maildir")
}

/// Delivers `raw` into `user`'s INBOX the Maildir way (tmp/, then new/),
/// owned by the user Courier runs as ("mail").
pub fn deliver(port: u16, user: &str, raw: &str) {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = maildir(port, user);
    let name = format!(
        "{}.P{}Q{}.circle-relay-test",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let tmp = dir.join("tmp").join(&name);
    std::fs::write(&tmp, raw.replace("\r\n", "\n").replace('\n', "\r\n")).expect("write mail");
    std::os::unix::fs::chown(&tmp, Some(8), Some(8)).expect("chown mail");
    std::fs::rename(&tmp, dir.join("new").join(&name)).expect("deliver");
}

/// Message-IDs (in brackets) of the messages in `folder`, sorted; empty when
/// the folder does not exist or is empty.
pub async fn message_ids(port: u16, user: &str, folder: &str) -> Vec<String> {
    let found = imap_server::messages("Courier", port, user, folder).await;
    found.into_iter().map(|(id, _)| id).collect()
}
