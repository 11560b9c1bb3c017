//! A small HTTP/1.1 client for token endpoints: one POST of a form, one
//! JSON answer, `Connection: close`. Token endpoints need nothing more, and
//! this keeps an HTTP client stack out of the build. https is required
//! (certificates verified against the webpki roots and the extra CA file, as
//! for IMAP); plain http only to a loopback address.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A token answer is a few KB; anything larger is not one.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Where a request goes, checked once.
#[derive(Debug, Clone)]
pub struct Endpoint {
    https: bool,
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
}

impl Endpoint {
    /// Parses `url`, refusing plain http anywhere but on loopback.
    pub fn parse(url: &str) -> Result<Self, String> {
        let u = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let host = u
            .host_str()
            .ok_or_else(|| format!("{url:?} has no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let https = match u.scheme() {
            "https" => true,
            "http" if is_loopback(&host) => false,
            "http" => {
                return Err(format!(
                    "{url:?}: a token endpoint must use https (plain http only on loopback)"
                ));
            }
            other => {
                return Err(format!(
                    "{url:?}: unsupported scheme {other:?} (expected https)"
                ));
            }
        };
        let port = u.port_or_known_default().unwrap_or(443);
        let mut target = u.path().to_string();
        if let Some(q) = u.query() {
            target.push('?');
            target.push_str(q);
        }
        Ok(Self {
            https,
            host,
            port,
            target,
        })
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// What went wrong on the way; always worth another try later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(pub String);

/// POSTs `form` (already `application/x-www-form-urlencoded`) to `endpoint`.
pub async fn post_form(
    endpoint: &Endpoint,
    form: &str,
    extra_ca: Option<&Path>,
    within: Duration,
) -> Result<Answer, HttpError> {
    tokio::time::timeout(within, exchange(endpoint, form, extra_ca))
        .await
        .map_err(|_| {
            HttpError(format!(
                "{}:{} did not answer within {within:?}",
                endpoint.host, endpoint.port
            ))
        })?
}

async fn exchange(
    endpoint: &Endpoint,
    form: &str,
    extra_ca: Option<&Path>,
) -> Result<Answer, HttpError> {
    let e = |what: &str, err: &dyn std::fmt::Display| {
        HttpError(format!("{what} {}:{}: {err}", endpoint.host, endpoint.port))
    };
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|err| e("cannot connect to", &err))?;
    let request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: circle-relay/{}\r\nAccept: application/json\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        endpoint.target,
        endpoint.host,
        env!("CARGO_PKG_VERSION"),
        form.len()
    );
    let raw = if endpoint.https {
        let name =
            ServerName::try_from(endpoint.host.clone()).map_err(|err| e("bad host", &err))?;
        let tls = connector(extra_ca)?
            .connect(name, tcp)
            .await
            .map_err(|err| e("TLS with", &err))?;
        roundtrip(tls, &request).await
    } else {
        roundtrip(tcp, &request).await
    }
    .map_err(|err| e("talking to", &err))?;
    parse_response(&raw).map_err(|m| e("bad answer from", &m))
}

async fn roundtrip<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    request: &str,
) -> std::io::Result<Vec<u8>> {
    s.write_all(request.as_bytes()).await?;
    s.flush().await?;
    let mut raw = Vec::new();
    let mut limited = (&mut s).take(MAX_RESPONSE_BYTES as u64 + 1);
    // A server that closes TLS without close_notify still sent its answer.
    match limited.read_to_end(&mut raw).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(raw)
}

fn connector(extra_ca: Option<&Path>) -> Result<TlsConnector, HttpError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let bad = |e: &dyn std::fmt::Display| HttpError(format!("CA file {}: {e}", path.display()));
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
            roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
        }
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Status line, headers, and a body by Content-Length, chunks, or to the end.
fn parse_response(raw: &[u8]) -> Result<Answer, String> {
    if raw.len() > MAX_RESPONSE_BYTES {
        return Err("the answer is too large".into());
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "headers are not UTF-8")?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        dechunk(body)?
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.get(..n)
            .ok_or("the body is shorter than its Content-Length")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk without its size line")?;
        let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(rest.get(..size).ok_or("a chunk cut short")?);
        rest = rest.get(size + 2..).ok_or("a chunk cut short")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(Endpoint::parse("http://127.0.0.1:11180/token").is_ok());
        assert!(Endpoint::parse("http://localhost/token").is_ok());
        assert!(Endpoint::parse("http://[::1]:8/t").is_ok());
        let e = Endpoint::parse("http://login.example.org/token").unwrap_err();
        assert!(e.contains("https"), "{e}");
        assert!(Endpoint::parse("ftp://127.0.0.1/").is_err());
        let ms =
            Endpoint::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token?x=1").unwrap();
        assert_eq!(
            (ms.port, ms.target.as_str()),
            (443, "/t/oauth2/v2.0/token?x=1")
        );
    }

    #[test]
    fn answers_by_length_by_chunks_and_to_the_end() {
        let a = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}xx").unwrap();
        assert_eq!((a.status, a.body.as_str()), (200, "{}"));
        let a = parse_response(
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n2\r\n\"}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((a.status, a.body.as_str()), (400, "{\"a\"}"));
        let a = parse_response(b"HTTP/1.0 503 x\r\n\r\nbusy").unwrap();
        assert_eq!((a.status, a.body.as_str()), (503, "busy"));
        assert!(parse_response(b"garbage").is_err());
    }
}
