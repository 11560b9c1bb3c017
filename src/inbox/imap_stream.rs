//! The byte stream under the IMAP client: plain TCP or rustls TLS (also after
//! STARTTLS), with a timeout on every step of setting it up.
//!
//! Trust: the webpki (Mozilla) roots, plus the PEM certificates of an extra
//! CA file: the one named by `CIRCLE_RELAY_EXTRA_CA_FILE` when set, or one
//! given in code ([`super::ImapInbox::with_extra_ca`], as the tests do). The
//! local test stack needs that for its throwaway CA (`deploy/mailstack/up.sh`
//! writes `ssl/ca.pem`); there is deliberately no way to turn verification off.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_imap::Client;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::error::{InboxError, Result};
use crate::config::Tls;

/// Environment variable naming an extra PEM file of trusted CA certificates.
pub const EXTRA_CA_ENV: &str = "CIRCLE_RELAY_EXTRA_CA_FILE";

#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Runs `fut` with a deadline, turning both failure kinds into [`InboxError`].
pub async fn step<T, E: Into<InboxError>>(
    what: &'static str,
    after: Duration,
    fut: impl Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match timeout(after, fut).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(InboxError::Timeout { what, after }),
    }
}

/// The extra CA file named by `CIRCLE_RELAY_EXTRA_CA_FILE`, if any.
pub fn extra_ca_from_env() -> Option<PathBuf> {
    std::env::var_os(EXTRA_CA_ENV).map(PathBuf::from)
}

struct TlsSetup<'a> {
    extra_ca: Option<&'a Path>,
    after: Duration,
}

fn tls_connector(extra_ca: Option<&Path>) -> Result<TlsConnector> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let bad =
            |e: &dyn std::fmt::Display| InboxError::Tls(format!("CA file {}: {e}", path.display()));
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))?;
        for cert in certs {
            let cert = cert.map_err(|e| bad(&e))?;
            roots.add(cert).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| InboxError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn handshake(host: &str, tcp: TcpStream, t: &TlsSetup<'_>) -> Result<ImapStream> {
    let after = t.after;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| InboxError::Config(format!("IMAP host {host:?}: {e}")))?;
    let connector = tls_connector(t.extra_ca)?;
    let tls = match timeout(after, connector.connect(name, tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(InboxError::Tls(e.to_string()));
        }
        Ok(Err(e)) => return Err(InboxError::Connection(e.to_string())),
        Err(_) => {
            return Err(InboxError::Timeout {
                what: "TLS handshake",
                after,
            });
        }
    };
    Ok(ImapStream::Tls(Box::new(tls)))
}

async fn read_greeting(client: &mut Client<ImapStream>, after: Duration) -> Result<()> {
    match step("server greeting", after, client.read_response()).await? {
        Some(_) => Ok(()),
        None => Err(InboxError::Connection("closed before the greeting".into())),
    }
}

/// An unauthenticated client, with TLS as configured.
pub async fn connect(
    host: &str,
    port: u16,
    tls: Tls,
    extra_ca: Option<&Path>,
    after: Duration,
) -> Result<Client<ImapStream>> {
    let setup = TlsSetup { extra_ca, after };
    let tcp = step("TCP connect", after, TcpStream::connect((host, port)))
        .await
        .map_err(|e| match e {
            InboxError::Timeout { .. } | InboxError::Connection(_) => e,
            other => InboxError::Connection(other.to_string()),
        })?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Tls::None => {
            let mut client = Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client, after).await?;
            Ok(client)
        }
        Tls::Tls => {
            let mut client = Client::new(handshake(host, tcp, &setup).await?);
            read_greeting(&mut client, after).await?;
            Ok(client)
        }
        Tls::Starttls => {
            let mut client = Client::new(ImapStream::Plain(tcp));
            read_greeting(&mut client, after).await?;
            step(
                "STARTTLS",
                after,
                client.run_command_and_check_ok("STARTTLS", None),
            )
            .await?;
            // Anything the server sent after its OK is dropped with the old
            // buffer (no plaintext injection into the TLS session).
            let ImapStream::Plain(tcp) = client.into_inner() else {
                return Err(InboxError::Tls("STARTTLS on a TLS stream".into()));
            };
            Ok(Client::new(handshake(host, tcp, &setup).await?))
        }
    }
}

impl From<io::Error> for InboxError {
    fn from(e: io::Error) -> Self {
        Self::Connection(e.to_string())
    }
}
