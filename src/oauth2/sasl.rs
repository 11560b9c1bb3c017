//! SASL XOAUTH2 (Google's and Microsoft's mechanism for IMAP and SMTP).
//!
//! The client sends `user=MAILBOX ^A auth=Bearer TOKEN ^A ^A` (base64). When
//! the server refuses the token it does not answer NO at once: it sends a
//! challenge holding a base64 JSON status (`{"status":"401",...}`) and waits
//! for the client's empty response before finishing with NO (IMAP) or 535
//! (SMTP). The libraries' defaults resend the token or give up on the
//! challenge; here the client answers empty and keeps the status to report.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The initial client response, before base64.
pub fn initial_response(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// The same, base64-encoded (SMTP's `AUTH XOAUTH2 <this>`).
pub fn initial_response_base64(user: &str, token: &str) -> String {
    STANDARD.encode(initial_response(user, token))
}

/// The server's error challenge in plain words: `status 401, schemes bearer,
/// scope mail`, or the text itself when it is not the usual JSON.
pub fn describe_challenge(decoded: &[u8]) -> String {
    let text = String::from_utf8_lossy(decoded);
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&text)
    else {
        return text.chars().take(200).collect();
    };
    map.iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k} {s}"),
            other => format!("{k} {other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes a base64 challenge (SMTP's 334 text) and describes it.
pub fn describe_challenge_base64(text: &str) -> String {
    match STANDARD.decode(text.trim()) {
        Ok(bytes) => describe_challenge(&bytes),
        Err(_) => text.chars().take(200).collect(),
    }
}

/// async-imap's authenticator: the token first, then an empty answer to an
/// error challenge, whose text is kept in `refusal`.
pub struct ImapXoauth2 {
    first: Option<String>,
    pub refusal: Arc<Mutex<Option<String>>>,
}

impl ImapXoauth2 {
    pub fn new(user: &str, token: &str) -> Self {
        Self {
            first: Some(initial_response(user, token)),
            refusal: Arc::new(Mutex::new(None)),
        }
    }
}

impl async_imap::Authenticator for ImapXoauth2 {
    type Response = String;

    fn process(&mut self, challenge: &[u8]) -> String {
        match self.first.take() {
            Some(first) => first,
            None => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(describe_challenge(challenge));
                }
                String::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_imap::Authenticator;

    #[test]
    fn the_token_goes_first_and_an_error_challenge_gets_an_empty_answer() {
        let mut a = ImapXoauth2::new("circle@example.org", "tok");
        assert_eq!(
            a.process(b""),
            "user=circle@example.org\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(
            a.process(br#"{"status":"401","schemes":"bearer","scope":"mail"}"#),
            ""
        );
        assert_eq!(
            a.refusal.lock().unwrap().as_deref(),
            Some("schemes bearer, scope mail, status 401")
        );
        assert_eq!(
            describe_challenge_base64("eyJzdGF0dXMiOiI0MDAifQ=="),
            "status 400"
        );
    }
}
