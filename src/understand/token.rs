//! Candidate reply tokens. The relay mints and verifies them (keyed MAC);
//! here we only find where a message carries one:
//! - the reply address `LOCAL+TOKEN@domain` (LOCAL@domain = circle address),
//! - the relay's Message-IDs `<cr.TOKEN.SUFFIX@domain>` in In-Reply-To /
//!   References (RFC 5322 §3.6.4),
//! - a `[ref:TOKEN]` tag anywhere in the subject.

use super::{ParsedMessage, RelayIdentity};

/// Where a token was found, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenSource {
    /// The `+TOKEN` of a recipient address.
    Address,
    /// A relay Message-ID in In-Reply-To or References.
    Thread,
    /// `[ref:TOKEN]` in the subject.
    Subject,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenMatch {
    pub source: TokenSource,
    /// Lowercased, 10 to 40 characters of `[a-z0-9]`.
    pub token: String,
}

/// A token candidate, lowercased, when `s` has the shape of one.
pub fn valid_token(s: &str) -> Option<String> {
    let ok = (10..=40).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| s.to_ascii_lowercase())
}

/// Every candidate, strongest source first, without duplicates.
pub fn find_tokens(msg: &ParsedMessage, relay: &RelayIdentity) -> Vec<TokenMatch> {
    let mut found: Vec<TokenMatch> = Vec::new();
    let mut push = |source, token: String| {
        if !found.iter().any(|m| m.source == source && m.token == token) {
            found.push(TokenMatch { source, token });
        }
    };
    for addr in msg.recipient_addresses() {
        if let Some(t) = plus_token(addr, relay) {
            push(TokenSource::Address, t);
        }
    }
    // In-Reply-To names the message answered; References newest last.
    for id in msg.in_reply_to.iter().chain(msg.references.iter().rev()) {
        if let Some(t) = message_id_token(id, relay) {
            push(TokenSource::Thread, t);
        }
    }
    if let Some(t) = subject_token(&msg.subject) {
        push(TokenSource::Subject, t);
    }
    found
}

fn plus_token(addr: &str, relay: &RelayIdentity) -> Option<String> {
    let (local, domain) = addr.trim().rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(relay.domain()) {
        return None;
    }
    let (base, tag) = local.split_once('+')?;
    if !base.eq_ignore_ascii_case(relay.local_part()) {
        return None;
    }
    valid_token(tag)
}

fn message_id_token(id: &str, relay: &RelayIdentity) -> Option<String> {
    let (left, domain) = id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(relay.domain()) {
        return None;
    }
    let mut parts = left.split('.');
    let prefix = parts.next()?;
    if !prefix.eq_ignore_ascii_case("cr") {
        return None;
    }
    valid_token(parts.next()?)
}

fn subject_token(subject: &str) -> Option<String> {
    let lower = subject.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = lower[from..].find("[ref:") {
        let start = from + pos + 5;
        let rest = &lower[start..];
        if let Some(end) = rest.find(']')
            && let Some(t) = valid_token(rest[..end].trim())
        {
            return Some(t);
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::understand::parse::Mailbox;

    fn relay() -> RelayIdentity {
        RelayIdentity::new("Circle@Circle.test").expect("valid address")
    }

    fn msg() -> ParsedMessage {
        ParsedMessage::default()
    }

    #[test]
    fn token_from_plus_address_case_insensitively() {
        let mut m = msg();
        m.to.push(Mailbox {
            address: "CIRCLE+Abcdef12345@circle.TEST".into(),
            name: None,
        });
        let found = find_tokens(&m, &relay());
        assert_eq!(found[0].source, TokenSource::Address);
        assert_eq!(found[0].token, "abcdef12345");
    }

    #[test]
    fn plus_address_of_another_local_or_domain_is_ignored() {
        let mut m = msg();
        m.delivered_to.push("other+abcdef12345@circle.test".into());
        m.delivered_to
            .push("circle+abcdef12345@elsewhere.test".into());
        m.delivered_to.push("circle+short@circle.test".into());
        assert!(find_tokens(&m, &relay()).is_empty());
    }

    #[test]
    fn token_from_relay_message_id() {
        let mut m = msg();
        m.references = vec!["cr.aaaaaaaaaa11.x@circle.test".into(), "x@y".into()];
        m.in_reply_to = vec!["cr.bbbbbbbbbb22.77@circle.test".into()];
        let found = find_tokens(&m, &relay());
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].token, "bbbbbbbbbb22");
        assert_eq!(found[0].source, TokenSource::Thread);
        m.in_reply_to = vec!["cr.bbbbbbbbbb22.77@other.test".into()];
        m.references.clear();
        assert!(find_tokens(&m, &relay()).is_empty());
    }

    #[test]
    fn token_from_subject_tag() {
        let mut m = msg();
        m.subject = "Re: 代講 [REF:abcdefghij0123] お願い".into();
        let found = find_tokens(&m, &relay());
        assert_eq!(found[0].source, TokenSource::Subject);
        assert_eq!(found[0].token, "abcdefghij0123");
        m.subject = "[ref:bad token!]".into();
        assert!(find_tokens(&m, &relay()).is_empty());
    }
}
