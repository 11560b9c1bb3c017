//! Understanding one inbound message: decoding, classification, new text of replies.
//!
//! Pure logic, no I/O:
//! - [`parse`] decodes raw bytes into a [`ParsedMessage`] (charset repairs
//!   for Japanese mail, RFC 2047 headers, HTML-only bodies as text);
//! - [`classify`] says what it is ([`Classification`]);
//! - [`new_text`] extracts a reply's own words, [`read_intent`] what they mean;
//! - [`explain`] puts it all in words for `circle-relay explain`.

pub mod auth_results;
mod auto;
mod body;
mod bounce;
mod bounce_text;
mod charset;
mod classify;
mod command;
mod explain;
mod intent;
mod parse;
mod reply_text;
mod rfc2047;
mod severity;
mod token;
pub mod trust;

pub use auto::{AutoReason, is_auto_reply_subject};
pub use body::html_to_text;
pub use bounce::{BounceReport, BounceSource, FailedRecipient};
pub use charset::decode as decode_charset;
pub use classify::{Classification, LoopReason, RelayIdentity, classify};
pub use command::{Command, parse_command};
pub use explain::{ExplainedBounce, ExplainedRecipient, Explanation, explain};
pub use intent::{Intent, own_words, read_intent};
pub use parse::{Mailbox, ParsedMessage, Report, ReturnPath, check_size, parse};
pub use reply_text::new_text;
pub use rfc2047::decode_header;
pub use severity::{Severity, severity_of};
pub use token::{TokenMatch, TokenSource, find_tokens, valid_token};

use crate::config::InboxConfig;

/// Why a message could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnderstandError {
    /// Over the configured size: moved to `Failed` without being read.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error("message is empty")]
    Empty,
    #[error("not a parseable message")]
    NotAMessage,
}

/// Bounds on what one message may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_message_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 10 * 1024 * 1024,
        }
    }
}

impl From<&InboxConfig> for Limits {
    fn from(c: &InboxConfig) -> Self {
        Self {
            max_message_bytes: c.max_message_bytes,
        }
    }
}

/// A message parsed and classified in one call.
#[derive(Debug, Clone)]
pub struct Understood {
    /// `None` when parsing failed (the classification is then `Unreadable`).
    pub message: Option<ParsedMessage>,
    pub classification: Classification,
}

/// Parses and classifies; any parse failure other than size is `Unreadable`.
pub fn understand(
    raw: &[u8],
    relay: &RelayIdentity,
    limits: &Limits,
) -> Result<Understood, UnderstandError> {
    match parse(raw, limits) {
        Ok(message) => {
            let classification = classify(&message, relay);
            Ok(Understood {
                message: Some(message),
                classification,
            })
        }
        Err(e @ UnderstandError::TooLarge { .. }) => Err(e),
        Err(_) => Ok(Understood {
            message: None,
            classification: Classification::Unreadable,
        }),
    }
}
