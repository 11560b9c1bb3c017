//! The GNU Mailutils imap4d test server of `deploy/mailutils/up.sh`: mbox
//! folders in the user's home (namespace "", separator "/"), no UIDPLUS, no
//! MOVE, an IDLE that does not push; users log in as USER@mailutils.circle.test
//! with password "test". Mail is delivered with IMAP APPEND.

use super::imap_server;
use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

pub const PORT: u16 = 14143;
const SERVER: &str = "Mailutils imap4d";

/// The name `user` logs in with.
pub fn login_name(user: &str) -> String {
    format!("{user}@mailutils.circle.test")
}

/// Fails (never skips) when the server is not running.
pub fn require_mailutils() {
    imap_server::require_open(SERVER, &[PORT], "deploy/mailutils/up.sh");
}

async fn login(user: &str) -> Session<TcpStream> {
    imap_server::login(SERVER, PORT, &login_name(user)).await
}

/// Every folder of `user` (as the server names them), sorted.
pub async fn folders(user: &str) -> Vec<String> {
    imap_server::folders(SERVER, PORT, &login_name(user)).await
}

/// Empties INBOX and deletes every other folder.
pub async fn reset(user: &str) {
    let mut s = imap_server::delete_folders(SERVER, PORT, &login_name(user)).await;
    let inbox = s.select("INBOX").await.expect("SELECT INBOX");
    if inbox.exists > 0 {
        s.store("1:*", "+FLAGS.SILENT (\\Deleted)")
            .await
            .expect("STORE")
            .try_collect::<Vec<_>>()
            .await
            .expect("STORE");
        // CLOSE expunges without a word: imap4d answers EXPUNGE with
        // "* n EXPUNGED", which no IMAP parser reads.
        s.close().await.expect("CLOSE");
    }
    let _ = s.logout().await;
}

/// Delivers `raw` into `user`'s INBOX (IMAP APPEND, CRLF line ends).
pub async fn deliver(user: &str, raw: &str) {
    append(user, raw, None).await;
}

/// Puts `raw` into `user`'s INBOX flagged \Deleted, as another client that
/// deleted a message but has not expunged it leaves it.
pub async fn deliver_deleted(user: &str, raw: &str) {
    append(user, raw, Some("(\\Deleted)")).await;
}

async fn append(user: &str, raw: &str, flags: Option<&str>) {
    let mut s = login(user).await;
    let crlf = raw.replace("\r\n", "\n").replace('\n', "\r\n");
    s.append("INBOX", flags, None, crlf.as_bytes())
        .await
        .expect("APPEND");
    let _ = s.logout().await;
}

/// The messages in `folder`, sorted: Message-ID (in brackets) and whether it
/// is flagged \Deleted.
pub async fn messages(user: &str, folder: &str) -> Vec<(String, bool)> {
    imap_server::messages(SERVER, PORT, &login_name(user), folder).await
}
