//! LMTP intake (RFC 2033): an MTA delivers the circle's mail straight to the
//! daemon, as Mailman 3 takes it. Written by hand (no maintained crate serves
//! LMTP on tokio), small: LHLO, PIPELINING, dot-unstuffing, one reply per
//! recipient after DATA.
//!
//! A recipient gets `250` only after the message and its effects are
//! committed (the same one transaction as the IMAP reader's), `451 4.3.0` on
//! any internal or database error (the MTA keeps the mail and retries), `550
//! 5.1.1` when it is not one of the circle's addresses, `552` over the size
//! limit. The raw message is kept in the ledger under the digest of its
//! bytes, so a retry after a lost `250` finds its row and is not handled twice.

use std::fmt;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter,
};
use tokio::net::{TcpListener, UnixListener};
use tracing::{Instrument, debug, info, info_span, warn};

use super::error::{InboxError, Result};
use super::handler::{AfterCommitHook, MessageHandler};
use super::runner::{
    Arrival, NewMessage, NewOutcome, commit_new, earlier_copy, key_of, parse_headers, prepare,
};
use super::{MessageKey, Shutdown};
use crate::config::InboxConfig;
use crate::store::Store;
use crate::store::StoreError;
use crate::store::ledger::{self, LedgerHeaders, NewLedgerRow, OUTCOME_FAILED, OUTCOME_PROCESSED};

/// Where the LMTP listener listens: `unix:/path` or `127.0.0.1:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LmtpListen {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl LmtpListen {
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(InboxError::Config(
                    "[inbox] listen = \"unix:\" needs a path".into(),
                ));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        text.parse::<SocketAddr>().map(Self::Tcp).map_err(|_| {
            InboxError::Config(format!(
                "[inbox] listen = {text:?}: expected \"unix:/path/to/socket\" or \"127.0.0.1:PORT\""
            ))
        })
    }
}

impl fmt::Display for LmtpListen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unix(p) => write!(f, "unix:{}", p.display()),
            Self::Tcp(a) => write!(f, "{a}"),
        }
    }
}

/// The LMTP intake as configured: where it listens, whom it accepts mail
/// for and how large a message may be.
#[derive(Debug, Clone)]
pub struct LmtpIntake {
    listen: LmtpListen,
    mailbox_id: String,
    max_message_bytes: u64,
    /// The circle's address; `local+TOKEN@domain` is accepted too.
    address: Option<(String, String)>,
}

impl LmtpIntake {
    pub fn new(config: &InboxConfig) -> Result<Self> {
        let listen = LmtpListen::parse(&config.listen)?;
        Ok(Self {
            mailbox_id: format!("lmtp:{listen}"),
            listen,
            max_message_bytes: config.max_message_bytes,
            address: None,
        })
    }

    /// Accepts mail for `address` and its `+TOKEN` forms; without one, every
    /// recipient is refused with 550.
    pub fn for_address(mut self, address: &str) -> Self {
        self.address = address
            .rsplit_once('@')
            .map(|(l, d)| (l.to_ascii_lowercase(), d.to_ascii_lowercase()));
        self
    }

    pub fn mailbox_id(&self) -> &str {
        &self.mailbox_id
    }

    pub fn max_message_bytes(&self) -> u64 {
        self.max_message_bytes
    }

    /// Whether `rcpt` (without brackets) is one of the circle's addresses.
    pub fn accepts(&self, rcpt: &str) -> bool {
        let Some((local, domain)) = &self.address else {
            return false;
        };
        let Some((l, d)) = rcpt.rsplit_once('@') else {
            return false;
        };
        let base = l.split_once('+').map_or(l, |(b, _)| b);
        d.eq_ignore_ascii_case(domain) && base.eq_ignore_ascii_case(local)
    }

    /// The ledger key of a delivered message: the digest of its bytes, so an
    /// MTA's retry of the same message (after a lost 250) finds its row.
    fn key_of(&self, raw: &[u8]) -> MessageKey {
        let uid = crate::crypto::sha256_hex(raw);
        MessageKey {
            mailbox: self.mailbox_id.clone(),
            uidvalidity: 0,
            uid,
        }
    }
}

/// A listening socket of either kind.
enum Listener {
    Unix(UnixListener, PathBuf),
    Tcp(TcpListener),
}

type Conn = Box<dyn AsyncReadWrite>;
trait AsyncReadWrite: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncReadWrite for T {}

impl Listener {
    async fn bind(listen: &LmtpListen) -> Result<Self> {
        let io =
            |e: std::io::Error| InboxError::Connection(format!("LMTP listen on {listen}: {e}"));
        match listen {
            LmtpListen::Tcp(addr) => Ok(Self::Tcp(TcpListener::bind(addr).await.map_err(io)?)),
            LmtpListen::Unix(path) => {
                // A socket file left by a process that is gone would block the bind.
                if std::os::unix::net::UnixStream::connect(path).is_err() {
                    let _ = std::fs::remove_file(path);
                }
                let l = UnixListener::bind(path).map_err(io)?;
                // The MTA runs as another user: owner and group may connect.
                let mode = std::fs::Permissions::from_mode(0o660);
                std::fs::set_permissions(path, mode).map_err(io)?;
                Ok(Self::Unix(l, path.clone()))
            }
        }
    }

    async fn accept(&self) -> std::io::Result<Conn> {
        match self {
            Self::Tcp(l) => {
                let (s, _) = l.accept().await?;
                let _ = s.set_nodelay(true);
                Ok(Box::new(s))
            }
            Self::Unix(l, _) => Ok(Box::new(l.accept().await?.0)),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Self::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves LMTP until shutdown: every connection in this one task (the
/// handler is borrowed), each delivery in its own database transaction.
pub(super) async fn serve<H: MessageHandler>(
    intake: &LmtpIntake,
    store: &Store,
    handler: &H,
    hook: Option<&AfterCommitHook>,
    shutdown: &Shutdown,
) -> Result<()> {
    let listener = Listener::bind(&intake.listen).await?;
    info!(listen = %intake.listen, "LMTP intake listening");
    let ctx = Ctx {
        intake,
        store,
        handler,
        hook,
        one_at_a_time: tokio::sync::Mutex::new(()),
        in_hand: tokio::sync::Semaphore::new(IN_HAND),
    };
    let mut sessions = FuturesUnordered::new();
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => sessions.push(session(&ctx, conn, shutdown.clone())),
                Err(e) => {
                    warn!(error = %e, "LMTP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(()) = sessions.next(), if !sessions.is_empty() => {}
        }
    }
    drop(listener); // no new connections; the ones open finish what is in hand
    while sessions.next().await.is_some() {}
    info!("LMTP intake stopped");
    Ok(())
}

struct Ctx<'a, H> {
    intake: &'a LmtpIntake,
    store: &'a Store,
    handler: &'a H,
    hook: Option<&'a AfterCommitHook>,
    /// Deliveries are handled one at a time, as the IMAP reader handles its
    /// messages: the pipeline assumes a single reader, and SQLite one writer.
    one_at_a_time: tokio::sync::Mutex<()>,
    /// At most [`IN_HAND`] deliveries prepared or committing at once: the
    /// next is prepared while one writes, and what it read before is stale
    /// by at most the commits ahead of it (more would make the pipeline's
    /// check in the transaction rank ever more requests again).
    in_hand: tokio::sync::Semaphore,
}

/// Deliveries past their ledger lookup at once (see `Ctx::in_hand`).
const IN_HAND: usize = 2;

/// A command line longer than this is refused (RFC 5321 allows 512).
const MAX_LINE: usize = 4096;
/// An idle client is dropped after this long (RFC 5321 §4.5.3.2.7).
const IDLE: Duration = Duration::from_secs(300);

/// The state of one LMTP session.
#[derive(Default)]
struct Envelope {
    lhlo: bool,
    from: Option<String>,
    rcpts: Vec<String>,
}

async fn session<H: MessageHandler>(ctx: &Ctx<'_, H>, conn: Conn, mut shutdown: Shutdown) {
    let (read, write) = tokio::io::split(conn);
    let mut r = BufReader::new(read);
    let mut w = BufWriter::new(write);
    let mut env = Envelope::default();
    if reply(&mut w, &mut r, "220 circle-relay LMTP ready")
        .await
        .is_err()
    {
        return;
    }
    loop {
        let mut line = Vec::new();
        let read = tokio::select! {
            _ = shutdown.wait() => None,
            read = tokio::time::timeout(IDLE, read_line(&mut r, &mut line)) => Some(read),
        };
        match read {
            None => {
                let _ = reply(&mut w, &mut r, "421 4.3.2 shutting down, try again later").await;
                return;
            }
            Some(Ok(Ok(0)) | Err(_)) => return, // closed, or idle too long
            Some(Ok(Err(e))) => {
                debug!(error = %e, "LMTP read failed");
                return;
            }
            Some(Ok(Ok(_))) => {}
        }
        let answer = match command(ctx, &mut env, &line) {
            Answer::Reply(text) => text,
            Answer::Quit => {
                let _ = reply(&mut w, &mut r, "221 2.0.0 bye").await;
                return;
            }
            Answer::Data => {
                // The client waits for the 354 (no pipelining past DATA).
                if reply(&mut w, &mut r, "354 go ahead, end with <CRLF>.<CRLF>")
                    .await
                    .is_err()
                    || w.flush().await.is_err()
                {
                    return;
                }
                data(ctx, &mut env, &mut r).await
            }
        };
        if reply(&mut w, &mut r, &answer).await.is_err() {
            return;
        }
    }
}

enum Answer {
    Reply(String),
    /// Recipients accepted: send 354 and read the message.
    Data,
    Quit,
}

/// One command line, at most [`MAX_LINE`] bytes.
async fn read_line<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    line: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut limited = r.take(MAX_LINE as u64 + 2);
    limited.read_until(b'\n', line).await
}

/// Writes a reply; flushes only when no pipelined command is waiting.
async fn reply<W: AsyncWrite + Unpin, R: AsyncRead + Unpin>(
    w: &mut BufWriter<W>,
    r: &mut BufReader<R>,
    text: &str,
) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    if r.buffer().is_empty() {
        w.flush().await?;
    }
    Ok(())
}

/// The answer to one command line.
fn command<H>(ctx: &Ctx<'_, H>, env: &mut Envelope, line: &[u8]) -> Answer {
    if !line.ends_with(b"\n") {
        return Answer::Reply("500 5.5.2 line too long".into());
    }
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches(['\r', '\n']);
    let (verb, arg) = text.split_once(' ').unwrap_or((text, ""));
    let answer = match verb.to_ascii_uppercase().as_str() {
        "LHLO" => lhlo(ctx, env, arg),
        "HELO" | "EHLO" => "500 5.5.1 this is LMTP: say LHLO".into(),
        "MAIL" => mail(ctx, env, arg),
        "RCPT" => rcpt(ctx, env, arg),
        "DATA" if env.rcpts.is_empty() => "503 5.5.1 no valid recipients".into(),
        "DATA" => return Answer::Data,
        "RSET" => {
            *env = Envelope {
                lhlo: env.lhlo,
                ..Envelope::default()
            };
            "250 2.0.0 OK".into()
        }
        "NOOP" => "250 2.0.0 OK".into(),
        "VRFY" => "252 2.5.0 cannot verify, but will take mail for the circle".into(),
        "QUIT" => return Answer::Quit,
        _ => "500 5.5.2 unknown command".into(),
    };
    Answer::Reply(answer)
}

fn lhlo<H>(ctx: &Ctx<'_, H>, env: &mut Envelope, arg: &str) -> String {
    if arg.trim().is_empty() {
        return "501 5.5.4 LHLO needs a host name".into();
    }
    *env = Envelope {
        lhlo: true,
        ..Envelope::default()
    };
    let max = ctx.intake.max_message_bytes;
    format!(
        "250-circle-relay\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE {max}"
    )
}

/// `<addr> PARAM=…` → the address between the brackets and the parameters.
fn path_and_params(arg: &str, prefix: &str) -> Option<(String, String)> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let (addr, params) = rest.split_once('>')?;
    Some((addr.to_string(), params.trim().to_string()))
}

fn mail<H>(ctx: &Ctx<'_, H>, env: &mut Envelope, arg: &str) -> String {
    if !env.lhlo {
        return "503 5.5.1 LHLO first".into();
    }
    if env.from.is_some() {
        return "503 5.5.1 nested MAIL command".into();
    }
    let Some((from, params)) = path_and_params(arg, "FROM:") else {
        return "501 5.5.4 syntax: MAIL FROM:<address>".into();
    };
    let size = params
        .split_whitespace()
        .find_map(|p| {
            p.get(..5)
                .filter(|h| h.eq_ignore_ascii_case("SIZE="))
                .map(|_| &p[5..])
        })
        .and_then(|n| n.parse::<u64>().ok());
    if size.is_some_and(|n| n > ctx.intake.max_message_bytes) {
        return format!(
            "552 5.3.4 message size exceeds the limit of {} bytes",
            ctx.intake.max_message_bytes
        );
    }
    env.from = Some(from);
    "250 2.1.0 OK".into()
}

fn rcpt<H>(ctx: &Ctx<'_, H>, env: &mut Envelope, arg: &str) -> String {
    if env.from.is_none() {
        return "503 5.5.1 MAIL first".into();
    }
    let Some((to, _)) = path_and_params(arg, "TO:") else {
        return "501 5.5.4 syntax: RCPT TO:<address>".into();
    };
    if !ctx.intake.accepts(&to) {
        return format!("550 5.1.1 <{to}>: no such circle here");
    }
    env.rcpts.push(to);
    "250 2.1.5 OK".into()
}

/// Reads the message (dot-unstuffed, size-capped), delivers it once and
/// answers once per accepted recipient (RFC 2033 §4.2).
async fn data<H: MessageHandler, R: AsyncRead + Unpin>(
    ctx: &Ctx<'_, H>,
    env: &mut Envelope,
    r: &mut BufReader<R>,
) -> String {
    let body = match read_body(r, ctx.intake.max_message_bytes).await {
        Ok(body) => body,
        Err(e) => {
            debug!(error = %e, "LMTP DATA read failed");
            return "451 4.3.0 message not received completely".into();
        }
    };
    let from = env.from.take().unwrap_or_default();
    let rcpts = std::mem::take(&mut env.rcpts);
    let one = match body {
        None => format!(
            "552 5.3.4 message size exceeds the limit of {} bytes",
            ctx.intake.max_message_bytes
        ),
        Some(body) => deliver(ctx, &from, body).await,
    };
    vec![one; rcpts.len()].join("\r\n")
}

/// The message after `354`, dot-unstuffed (RFC 5321 §4.5.2); None when it
/// is over `max` bytes (the rest is read and dropped).
async fn read_body<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
    max: u64,
) -> std::io::Result<Option<Vec<u8>>> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let (mut body, mut over, mut line_start) = (Vec::new(), false, true);
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let n = tokio::time::timeout(
            IDLE,
            (&mut *r).take(64 * 1024).read_until(b'\n', &mut chunk),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "DATA stalled"))??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut part = &chunk[..];
        if line_start {
            if part == b".\r\n" || part == b".\n" {
                return Ok((!over).then_some(body));
            }
            part = part.strip_prefix(b".").unwrap_or(part);
        }
        line_start = chunk.ends_with(b"\n");
        if !over && body.len() + part.len() <= max {
            body.extend_from_slice(part);
        } else {
            over = true;
            body = Vec::new();
        }
    }
}

/// Delivers one message; the reply every recipient gets.
async fn deliver<H: MessageHandler>(ctx: &Ctx<'_, H>, from: &str, body: Vec<u8>) -> String {
    // What a delivery agent adds, so the pipeline sees what IMAP would show.
    let mut raw = format!("Return-Path: <{from}>\r\n").into_bytes();
    raw.extend_from_slice(&body);
    drop(body);
    let key = ctx.intake.key_of(&raw);
    let span = info_span!("inbound", lmtp = %&key.uid[..12]);
    match deliver_once(ctx, &key, &raw).instrument(span).await {
        Ok(()) => "250 2.0.0 OK, handled".into(),
        Err(e) => {
            // Never a 5xx for our own faults: the MTA keeps the mail and retries.
            warn!(error = %e, "LMTP delivery failed; answering 451");
            "451 4.3.0 temporary failure, try again later".into()
        }
    }
}

/// The one transaction per message, as the IMAP reader runs it; a repeated
/// delivery (same bytes) finds its ledger row and is not handled again.
/// What needs no write is prepared first, while other deliveries write.
async fn deliver_once<H: MessageHandler>(
    ctx: &Ctx<'_, H>,
    key: &MessageKey,
    raw: &[u8],
) -> Result<()> {
    if ctx.store.ledger_lookup(key_of(key)).await?.is_some() {
        info!("delivered again: already recorded, not handled twice");
        return Ok(());
    }
    let _in_hand = ctx.in_hand.acquire().await;
    let prepared = prepare(ctx.handler, raw).await?;
    let _turn = ctx.one_at_a_time.lock().await;
    let headers = parse_headers(raw);
    if let Some(first_id) = earlier_copy(ctx.store, &headers).await? {
        info!(
            first_inbound_id = first_id,
            "same Message-ID seen before: not handled again"
        );
        let reason = format!("duplicate of inbound message {first_id}");
        let row = (key, &headers, raw);
        return record(ctx, row, "duplicate", OUTCOME_PROCESSED, &reason).await;
    }
    let msg = NewMessage {
        key,
        headers: &headers,
        raw,
        arrival: Arrival::Delivered,
    };
    let refused = match prepared {
        Ok(prepared) => match commit_new(ctx.store, (ctx.handler, ctx.hook), &msg, prepared).await?
        {
            NewOutcome::Committed { .. } | NewOutcome::AlreadyRecorded => return Ok(()),
            NewOutcome::Refused(reason) => reason,
        },
        Err(reason) => reason,
    };
    warn!(reason = %refused, "message cannot be handled: recorded as failed");
    let row = (key, &headers, raw);
    record(ctx, row, "error", OUTCOME_FAILED, &refused).await
}

async fn record<H>(
    ctx: &Ctx<'_, H>,
    (key, headers, raw): (&MessageKey, &LedgerHeaders, &[u8]),
    kind: &str,
    outcome: &str,
    reason: &str,
) -> Result<()> {
    let row = NewLedgerRow {
        key: key_of(key),
        headers: headers.clone(),
        kind,
        outcome,
        error: Some(reason),
        size_bytes: u64::try_from(raw.len()).unwrap_or(u64::MAX),
        raw: Some(raw),
    };
    // Recorded and marked as in no folder (delivered) in one transaction.
    let mut tx = ctx.store.begin_write().await.map_err(StoreError::from)?;
    ledger::record(&mut tx, &row, ctx.store.now()).await?;
    ledger::mark_delivered(&mut tx, key_of(key)).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake() -> LmtpIntake {
        let config = InboxConfig {
            kind: crate::config::InboxKind::Lmtp,
            listen: "127.0.0.1:2424".into(),
            ..InboxConfig::default()
        };
        LmtpIntake::new(&config)
            .expect("config")
            .for_address("Circle@Lmtp.Circle.Test")
    }

    #[test]
    fn listen_forms() {
        assert_eq!(
            LmtpListen::parse("unix:/run/x.sock").expect("unix"),
            LmtpListen::Unix("/run/x.sock".into())
        );
        assert!(matches!(
            LmtpListen::parse("127.0.0.1:24"),
            Ok(LmtpListen::Tcp(_))
        ));
        for bad in ["", "unix:", "localhost", "127.0.0.1"] {
            let e = LmtpListen::parse(bad).expect_err(bad).to_string();
            assert!(e.contains("[inbox] listen"), "{e}");
        }
    }

    #[test]
    fn only_the_circles_addresses_are_accepted() {
        let i = intake();
        for ok in [
            "circle@lmtp.circle.test",
            "CIRCLE@LMTP.circle.test",
            "circle+tok123@lmtp.circle.test",
        ] {
            assert!(i.accepts(ok), "{ok}");
        }
        for no in [
            "alice@lmtp.circle.test",
            "circle@circle.test",
            "circlex@lmtp.circle.test",
            "circle",
            "",
        ] {
            assert!(!i.accepts(no), "{no}");
        }
    }

    #[test]
    fn paths_and_size_parameters() {
        assert_eq!(
            path_and_params("FROM:<a@b> SIZE=10 BODY=8BITMIME", "FROM:"),
            Some(("a@b".into(), "SIZE=10 BODY=8BITMIME".into()))
        );
        assert_eq!(
            path_and_params("from: <>", "FROM:"),
            Some((String::new(), String::new()))
        );
        assert_eq!(path_and_params("TO:a@b", "TO:"), None);
    }

    #[tokio::test]
    async fn bodies_are_dot_unstuffed_and_capped() {
        let wire: &[u8] = b"Subject: x\r\n\r\n..leading dot\r\n.\r\nNEXT";
        let mut r = BufReader::new(wire);
        let body = read_body(&mut r, 1000).await.expect("read").expect("fits");
        assert_eq!(body, b"Subject: x\r\n\r\n.leading dot\r\n");
        let mut rest = String::new();
        r.read_to_string(&mut rest).await.expect("rest");
        assert_eq!(rest, "NEXT", "nothing past the final dot is consumed");
        let mut r = BufReader::new(wire);
        assert_eq!(read_body(&mut r, 10).await.expect("read"), None);
        let mut r = BufReader::new(&b"no end\r\n"[..]);
        assert!(read_body(&mut r, 1000).await.is_err());
    }
}
