//! LMTP intake (RFC 2033): an MTA delivers the circle's mail straight to the
//! daemon, as Mailman 3 takes it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::error::{InboxError, Result};

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
