//! Waiting for new mail: IMAP IDLE (RFC 2177) driven by hand, else polling.
//!
//! async-imap's own `wait()` treats a closed connection as a normal wake-up
//! and restarts its timer on every server keepalive, so it never re-issues
//! IDLE by itself. Here the stream is read directly: end of stream or an error
//! drops the connection (the next round reconnects), and IDLE is ended and
//! re-issued by our own deadline: after `poll_seconds` at most (the runner's
//! next UID SEARCH is the cheap check a server that does not push needs), and
//! well before the 29 minutes servers allow.

use std::time::Duration;

use async_imap::Session;
use async_imap::imap_proto::{MailboxDatum, Response, Status};
use async_imap::types::UnsolicitedResponse;
use futures_util::StreamExt;
use tokio::time::{Instant, sleep, sleep_until};
use tracing::{debug, trace};

use super::Shutdown;
use super::error::{InboxError, Result};
use super::imap::ImapInbox;
use super::imap_stream::{ImapStream, step};

/// NOOP, RFC 3501's poll for new mail (§6.1.2). Courier-IMAP brings new
/// files of its Maildir into view only on NOOP, CHECK or IDLE, never on the
/// UID SEARCH that follows: polling without it never saw new mail there.
async fn poll_noop(session: &mut Session<ImapStream>, t: Duration) -> Result<()> {
    step("NOOP", t, session.noop()).await
}

#[derive(Debug, PartialEq, Eq)]
enum Wake {
    NewMail,
    Reissue,
    Shutdown,
}

impl ImapInbox {
    /// Returns when new mail may be waiting, after the poll interval, or on
    /// shutdown. When disconnected, reconnects first (with backoff).
    pub async fn wait_for_new(&mut self, shutdown: &mut Shutdown) -> Result<()> {
        if self.session.is_none() {
            self.reconnect(shutdown).await;
            return Ok(());
        }
        if self.drain_notices() {
            return Ok(()); // the server already told us about new mail
        }
        if self.config.idle && self.caps.idle {
            let r = self.idle(shutdown).await;
            if r.is_err() {
                self.session = None;
            }
            return r.map(drop);
        }
        let poll = Duration::from_secs(self.config.poll_seconds.max(1));
        tokio::select! {
            _ = sleep(poll) => {}
            _ = shutdown.wait() => return Ok(()),
        }
        let t = self.timeouts.command;
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        let r = poll_noop(session, t).await;
        if r.is_err() {
            self.session = None;
        }
        r
    }

    /// Empties async-imap's queue of unsolicited responses (it drops them past
    /// 100); true when one announced new mail since the last command.
    fn drain_notices(&mut self) -> bool {
        let Some(session) = self.session.as_mut() else {
            return false;
        };
        let mut new_mail = false;
        while let Ok(notice) = session.unsolicited_responses.try_recv() {
            if matches!(notice, UnsolicitedResponse::Exists(_)) {
                new_mail = true;
            }
        }
        new_mail
    }

    async fn idle(&mut self, shutdown: &mut Shutdown) -> Result<Wake> {
        let t = self.timeouts.command;
        let session = self
            .session
            .take()
            .ok_or_else(|| InboxError::Connection("not connected".into()))?;
        let mut handle = session.idle();
        step("IDLE", t, handle.init()).await?;
        // Never longer than poll_seconds in one IDLE: a server that does not
        // push (Cyrus without idled) is then checked by the next UID SEARCH.
        let poll = Duration::from_secs(self.config.poll_seconds.max(1));
        let deadline = Instant::now() + self.timeouts.idle_reissue.min(poll);
        let wake = loop {
            tokio::select! {
                _ = shutdown.wait() => break Wake::Shutdown,
                _ = sleep_until(deadline) => break Wake::Reissue,
                next = handle.next() => {
                    let Some(resp) = next else {
                        return Err(InboxError::Connection("server closed the connection during IDLE".into()));
                    };
                    let resp = resp?;
                    match resp.parsed() {
                        Response::MailboxData(MailboxDatum::Exists(_) | MailboxDatum::Recent(_)) => {
                            break Wake::NewMail;
                        }
                        Response::Data { status: Status::Bye, .. } => {
                            return Err(InboxError::Connection("server said BYE during IDLE".into()));
                        }
                        Response::Done { .. } => {
                            return Err(InboxError::Connection("server ended IDLE on its own".into()));
                        }
                        other => trace!(?other, "IDLE: server notice"),
                    }
                }
            }
        };
        debug!(?wake, "ending IDLE");
        let session = step("DONE", t, handle.done()).await?;
        self.session = Some(session);
        Ok(wake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    use tokio::net::{TcpListener, TcpStream};

    /// A made-up Courier: it tells of new mail only when asked with NOOP.
    async fn courier_like(listener: TcpListener) -> Vec<String> {
        let (tcp, _) = listener.accept().await.expect("accept");
        let (read, mut write) = tcp.into_split();
        let mut lines = BufReader::new(read).lines();
        write
            .write_all(b"* OK Courier-IMAP ready.\r\n")
            .await
            .expect("greet");
        let mut seen = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let (tag, command) = line.split_once(' ').unwrap_or((&line, ""));
            let answer = if command.eq_ignore_ascii_case("NOOP") {
                format!("* 1 EXISTS\r\n* 1 RECENT\r\n{tag} OK NOOP completed\r\n")
            } else {
                format!("{tag} OK LOGIN Ok.\r\n")
            };
            seen.push(command.to_string());
            write.write_all(answer.as_bytes()).await.expect("answer");
        }
        seen
    }

    #[tokio::test]
    async fn a_poll_asks_with_noop_and_hears_of_new_mail() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(courier_like(listener));
        let tcp = TcpStream::connect(addr).await.expect("connect");
        let mut client = async_imap::Client::new(ImapStream::Plain(tcp));
        client.read_response().await.expect("greeting");
        let mut session = client
            .login("circle", "test")
            .await
            .map_err(|e| e.0)
            .expect("login");
        poll_noop(&mut session, Duration::from_secs(5))
            .await
            .expect("NOOP");
        let notice = session.unsolicited_responses.try_recv().expect("a notice");
        assert!(
            matches!(notice, UnsolicitedResponse::Exists(1)),
            "{notice:?}"
        );
        drop(session);
        let seen = server.await.expect("server");
        assert_eq!(seen, ["LOGIN \"circle\" \"test\"", "NOOP"]);
    }
}
