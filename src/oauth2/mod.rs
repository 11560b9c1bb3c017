//! OAuth2 sign-in for IMAP and SMTP (SASL XOAUTH2): Microsoft 365's app-only
//! client-credentials grant, Google Workspace's service accounts and OAuth
//! clients, and any other provider's refresh or client-credentials grant.
//!
//! `TokenSource` hands out access tokens (reused until shortly before they
//! expire), keeps rotated refresh tokens in the database (`chain.rs`), and
//! reports a grant only a person can fix once, in words that say how.
//! `sasl.rs` speaks XOAUTH2, including the server's error challenge.

mod chain;
pub mod grant;
mod http;
mod jwt;
pub mod login;
pub mod notice;
pub mod sasl;
mod tokens;

pub use jwt::ServiceAccountKey;
pub use tokens::{AccessToken, TokenSource};

#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuthError {
    /// The endpoint could not be reached or answered 5xx: try again later.
    #[error("OAuth2 token request failed, will retry: {0}")]
    Transient(String),
    /// Revoked or expired grant, refused client secret: a person must act;
    /// the text says what to do.
    #[error("{0}")]
    Grant(String),
    #[error("OAuth2 setup: {0}")]
    Config(String),
}

impl OAuthError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

/// Checks a token endpoint URL: https, or plain http on loopback only.
pub fn check_endpoint(url: &str) -> Result<(), String> {
    http::Endpoint::parse(url).map(drop)
}
