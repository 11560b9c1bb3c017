//! SMTP delivery over lettre's connection type, with our own small pool.
//!
//! lettre writes a message's final `\r\n.\r\n` as its own small TCP segment.
//! Without TCP_NODELAY the kernel holds it until the server acknowledges the
//! body, which the server delays (about 40 ms on Linux): measured on the
//! local Postfix, 43.8 ms a mail through lettre's pooled transport against
//! 1.3 ms on a connection of ours with TCP_NODELAY. lettre's transport has no
//! way to set it, so for plain and STARTTLS connections we open the socket
//! ourselves and hand it to lettre. Implicit TLS (port 465) still connects
//! through lettre, which does the TLS handshake before the greeting.
//!
//! Round trips are what a mail costs on a near server, so a connection used
//! a moment ago is taken again without a NOOP, and where the server offers
//! PIPELINING (RFC 2920) MAIL, RCPT and DATA go out in one write: two round
//! trips a mail (envelope, body) instead of five. lettre has no pipelining
//! of its own; its `command` and `read_response` are enough for it.

use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use tokio::sync::Mutex;

use super::transport::SendError;
use crate::config::{OutboundConfig, Tls as TlsMode};

/// Every network step (connect, TLS, login, one message) gets at most this.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// A pooled connection idle for less than this is used without a NOOP
/// first: servers drop idle clients after minutes, not seconds.
const FRESH: Duration = Duration::from_secs(2);

/// An open, logged-in connection and what its server offers.
struct Conn {
    smtp: AsyncSmtpConnection,
    pipelining: bool,
    /// When it was last used (put back in the pool).
    used: Instant,
}

pub struct SmtpClient {
    host: String,
    port: u16,
    tls: TlsMode,
    tls_parameters: Option<TlsParameters>,
    credentials: Option<Credentials>,
    /// Access tokens, for `auth = "xoauth2"` (then `credentials` is unused).
    tokens: Option<crate::oauth2::TokenSource>,
    xoauth2: bool,
    hello: ClientId,
    /// Connections not in use; at most `max_idle` are kept.
    idle: Mutex<Vec<Conn>>,
    max_idle: usize,
}

impl SmtpClient {
    pub fn new(config: &OutboundConfig, max_idle: usize) -> Result<Self, SendError> {
        let tls_parameters = match config.tls {
            TlsMode::None => None,
            TlsMode::Tls | TlsMode::Starttls => Some(
                TlsParameters::new(config.host.clone())
                    .map_err(|e| SendError::Permanent(format!("TLS setup: {e}")))?,
            ),
        };
        let credentials = (!config.username.is_empty()).then(|| {
            Credentials::new(
                config.username.clone(),
                config.password.expose().to_string(),
            )
        });
        Ok(Self {
            host: config.host.clone(),
            port: config.port,
            tls: config.tls,
            tls_parameters,
            credentials,
            tokens: None,
            xoauth2: config.auth == crate::config::AuthMethod::Xoauth2,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            max_idle,
        })
    }

    /// Where XOAUTH2 tokens come from (`auth = "xoauth2"`).
    pub fn with_tokens(mut self, tokens: crate::oauth2::TokenSource) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Sends `message` in one SMTP transaction; the connection goes back to
    /// the pool unless it broke.
    pub async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let mut conn = self.connection().await?;
        let sent = tokio::time::timeout(STEP_TIMEOUT, transaction(&mut conn, envelope, message));
        let outcome = match sent.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                // A refused pipelined command leaves replies unread: never reuse it.
                conn.smtp.abort().await;
                Err(if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                })
            }
            Err(_) => {
                return Err(SendError::Transient(format!(
                    "the server did not take the message within {STEP_TIMEOUT:?}"
                )));
            }
        };
        if !conn.smtp.has_broken() {
            conn.used = Instant::now();
            let mut idle = self.idle.lock().await;
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
        outcome
    }

    /// Logs in without sending (for `check`).
    pub async fn test_connection(&self) -> Result<(), SendError> {
        let mut conn = self.connect().await?;
        let _ = tokio::time::timeout(STEP_TIMEOUT, conn.smtp.quit()).await;
        Ok(())
    }

    /// A pooled connection (one idle for a while must still answer NOOP),
    /// or a new one.
    async fn connection(&self) -> Result<Conn, SendError> {
        loop {
            let pooled = self.idle.lock().await.pop();
            let Some(mut conn) = pooled else {
                return self.connect().await;
            };
            if conn.used.elapsed() < FRESH {
                return Ok(conn);
            }
            let alive = tokio::time::timeout(STEP_TIMEOUT, conn.smtp.test_connected()).await;
            if let Ok(true) = alive {
                return Ok(conn);
            }
            conn.smtp.abort().await;
        }
    }

    async fn connect(&self) -> Result<Conn, SendError> {
        let transient = |what: &str, e: &dyn std::fmt::Display| {
            SendError::Transient(format!("{what} {}:{}: {e}", self.host, self.port))
        };
        let within = |what: &'static str| {
            move |_| SendError::Transient(format!("{what} timed out after {STEP_TIMEOUT:?}"))
        };
        let mut conn = match (self.tls, &self.tls_parameters) {
            (TlsMode::Tls, Some(params)) => tokio::time::timeout(
                STEP_TIMEOUT,
                AsyncSmtpConnection::connect_tokio1(
                    (self.host.as_str(), self.port),
                    Some(STEP_TIMEOUT),
                    &self.hello,
                    Some(params.clone()),
                    None,
                ),
            )
            .await
            .map_err(within("connecting"))?
            .map_err(|e| transient("cannot connect to", &e))?,
            _ => {
                let tcp = tokio::time::timeout(
                    STEP_TIMEOUT,
                    tokio::net::TcpStream::connect((self.host.as_str(), self.port)),
                )
                .await
                .map_err(within("connecting"))?
                .map_err(|e| transient("cannot connect to", &e))?;
                // The point of this module: see the top.
                let _ = tcp.set_nodelay(true);
                let mut conn = tokio::time::timeout(
                    STEP_TIMEOUT,
                    AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &self.hello),
                )
                .await
                .map_err(within("the greeting"))?
                .map_err(|e| transient("no greeting from", &e))?;
                if let (TlsMode::Starttls, Some(params)) = (self.tls, &self.tls_parameters) {
                    tokio::time::timeout(STEP_TIMEOUT, conn.starttls(params.clone(), &self.hello))
                        .await
                        .map_err(within("STARTTLS"))?
                        .map_err(|e| SendError::Transient(format!("STARTTLS: {e}")))?;
                }
                conn
            }
        };
        let pipelining = self.offers_pipelining(&mut conn).await?;
        if let Err(e) = self.login(&mut conn).await {
            conn.abort().await;
            return Err(e);
        }
        Ok(Conn {
            smtp: conn,
            pipelining,
            used: Instant::now(),
        })
    }

    /// Whether the server offers PIPELINING: our own EHLO, before AUTH
    /// (lettre keeps no word of it).
    async fn offers_pipelining(&self, conn: &mut AsyncSmtpConnection) -> Result<bool, SendError> {
        let ehlo = conn.command(Ehlo::new(self.hello.clone()));
        match tokio::time::timeout(STEP_TIMEOUT, ehlo).await {
            Ok(Ok(r)) => Ok(r
                .message()
                .any(|l| l.trim().eq_ignore_ascii_case("PIPELINING"))),
            Ok(Err(e)) => Err(SendError::Transient(format!(
                "EHLO refused by {}:{}: {e}",
                self.host, self.port
            ))),
            Err(_) => Err(SendError::Transient(format!(
                "EHLO timed out after {STEP_TIMEOUT:?}"
            ))),
        }
    }

    /// Logs in with the password, or with XOAUTH2 for `auth = "xoauth2"`.
    async fn login(&self, conn: &mut AsyncSmtpConnection) -> Result<(), SendError> {
        if self.xoauth2 {
            let tokens = self.tokens.as_ref().ok_or_else(|| {
                SendError::Transient("auth = \"xoauth2\" needs the [oauth2] section".into())
            })?;
            return tokio::time::timeout(STEP_TIMEOUT, xoauth2(conn, tokens))
                .await
                .map_err(|_| {
                    SendError::Transient(format!("login timed out after {STEP_TIMEOUT:?}"))
                })?;
        }
        let Some(credentials) = &self.credentials else {
            return Ok(());
        };
        let login = tokio::time::timeout(
            STEP_TIMEOUT,
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
        )
        .await
        .map_err(|_| SendError::Transient(format!("login timed out after {STEP_TIMEOUT:?}")))?;
        login.map(drop).map_err(|e| {
            if e.is_permanent() {
                SendError::Permanent(format!("login refused: {e}"))
            } else {
                SendError::Transient(format!("login failed: {e}"))
            }
        })
    }
}

/// One SMTP transaction on `conn`: pipelined where the server offers it
/// and the envelope is plain ASCII (SMTPUTF8 is left to lettre), else
/// lettre's own one command at a time.
async fn transaction(
    conn: &mut Conn,
    envelope: &Envelope,
    message: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    let eight_bit = !message.is_ascii();
    let ascii = |a: &lettre::Address| AsRef::<str>::as_ref(a).is_ascii();
    let plain = envelope.from().is_none_or(ascii) && envelope.to().iter().all(ascii);
    let info = conn.smtp.server_info();
    let body_ok = !eight_bit || info.supports_feature(Extension::EightBitMime);
    if !(conn.pipelining && plain && body_ok) {
        return conn.smtp.send(envelope, message).await.map(drop);
    }
    let params = match eight_bit {
        true => vec![MailParameter::Body(MailBodyParameter::EightBitMime)],
        false => Vec::new(),
    };
    let mut commands = Mail::new(envelope.from().cloned(), params).to_string();
    for to in envelope.to() {
        commands.push_str(&Rcpt::new(to.clone(), Vec::new()).to_string());
    }
    commands.push_str(&Data.to_string());
    // The MAIL reply, then one per recipient, then DATA's 354.
    conn.smtp.command(commands).await?;
    for _ in envelope.to() {
        conn.smtp.read_response().await?;
    }
    conn.smtp.read_response().await?;
    conn.smtp.message(message).await.map(drop)
}

/// `AUTH XOAUTH2` by hand: lettre's mechanism gives up on the server's error
/// challenge, which has to be answered with an empty line to get the 535
/// and carries the reason worth logging. A refused token is a temporary
/// failure: the mail waits in the outbox for a good one.
async fn xoauth2(
    conn: &mut AsyncSmtpConnection,
    tokens: &crate::oauth2::TokenSource,
) -> Result<(), SendError> {
    if !conn
        .server_info()
        .supports_auth_mechanism(Mechanism::Xoauth2)
    {
        return Err(SendError::Transient(
            "the SMTP server does not offer AUTH XOAUTH2".into(),
        ));
    }
    let token = tokens
        .token()
        .await
        .map_err(|e| SendError::Transient(e.to_string()))?;
    let first =
        crate::oauth2::sasl::initial_response_base64(tokens.mailbox(), token.secret.expose());
    let answer = conn.command(format!("AUTH XOAUTH2 {first}\r\n")).await;
    let said = match answer {
        Ok(r) if r.has_code(235) => return Ok(()),
        Ok(r) if r.has_code(334) => {
            let said = crate::oauth2::sasl::describe_challenge_base64(r.first_line().unwrap_or(""));
            let end = conn.command("\r\n").await;
            let end = end.err().map(|e| e.to_string()).unwrap_or_default();
            format!("{said}; {end}")
        }
        Ok(r) => format!("unexpected answer {}", r.code()),
        Err(e) => e.to_string(),
    };
    tokens.refused(&token, &said).await;
    Err(SendError::Transient(format!(
        "XOAUTH2 token refused: {said}"
    )))
}
