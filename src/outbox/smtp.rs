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

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::sync::Mutex;

use super::transport::SendError;
use crate::config::{OutboundConfig, Tls as TlsMode};

/// Every network step (connect, TLS, login, one message) gets at most this.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

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
    idle: Mutex<Vec<AsyncSmtpConnection>>,
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
        let sent = tokio::time::timeout(STEP_TIMEOUT, conn.send(envelope, message)).await;
        let outcome = match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Ok(Err(e)) => Err(SendError::Transient(e.to_string())),
            Err(_) => {
                return Err(SendError::Transient(format!(
                    "the server did not take the message within {STEP_TIMEOUT:?}"
                )));
            }
        };
        if !conn.has_broken() {
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
        let _ = tokio::time::timeout(STEP_TIMEOUT, conn.quit()).await;
        Ok(())
    }

    /// A pooled connection that still answers NOOP, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, SendError> {
        loop {
            let pooled = self.idle.lock().await.pop();
            let Some(mut conn) = pooled else {
                return self.connect().await;
            };
            if let Ok(true) = tokio::time::timeout(STEP_TIMEOUT, conn.test_connected()).await {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
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
        if let Err(e) = self.login(&mut conn).await {
            conn.abort().await;
            return Err(e);
        }
        Ok(conn)
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
