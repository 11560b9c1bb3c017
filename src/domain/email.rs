//! A member's or requester's address.
//!
//! Accepts what Japanese carriers still deliver to (`taro..yamada@docomo.ne.jp`,
//! `hanako.@ezweb.ne.jp`) although RFC 5322 forbids those local parts; rejects
//! anything that could break a header (spaces, controls, angle brackets, commas).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress {
    /// As written, trimmed.
    original: String,
    /// The comparison key: lowercased (addresses are compared case-insensitively).
    key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("address is empty")]
    Empty,
    #[error("address {0:?} has no single '@' between a local part and a domain")]
    NoAt(String),
    #[error("address {0:?} contains a character not allowed in an address")]
    BadCharacter(String),
    #[error("address {0:?} has an invalid domain")]
    BadDomain(String),
    #[error("address {0:?} is longer than 254 characters")]
    TooLong(String),
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong(s.to_string()));
        }
        if s.chars().any(|c| {
            c.is_control() || c.is_whitespace() || "<>()[],;:\\\"".contains(c) || !c.is_ascii()
        }) {
            return Err(EmailError::BadCharacter(s.to_string()));
        }
        let (local, domain) = match s.rsplit_once('@') {
            Some((l, d)) if !l.is_empty() && !d.is_empty() && !l.contains('@') => (l, d),
            _ => return Err(EmailError::NoAt(s.to_string())),
        };
        let _ = local;
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
        if !labels_ok {
            return Err(EmailError::BadDomain(s.to_string()));
        }
        Ok(Self {
            original: s.to_string(),
            key: s.to_ascii_lowercase(),
        })
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// Lowercased, for lookups and uniqueness.
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn local_part(&self) -> &str {
        self.original.rsplit_once('@').map_or("", |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.original.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// True when the local part breaks RFC 5322 dot-atom rules (consecutive,
    /// leading or trailing dots) and must be quoted on the wire.
    pub fn needs_quoting(&self) -> bool {
        let l = self.local_part();
        l.starts_with('.') || l.ends_with('.') || l.contains("..")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_and_carrier_addresses() {
        for ok in [
            "a@example.org",
            "Taro.Yamada+circle@Example.ORG",
            "taro..yamada@docomo.ne.jp",
            "hanako.@ezweb.ne.jp",
            ".dot@softbank.ne.jp",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_header_breaking_and_malformed() {
        for bad in [
            "",
            "no-at",
            "a@b@c",
            "@example.org",
            "a@",
            "a b@example.org",
            "a@example.org\r\nBcc: x@y",
            "a@exa_mple.org",
            "a@.org",
            "<a@b.org>",
            "山田@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compares_case_insensitively_but_keeps_spelling() {
        let a = EmailAddress::parse("Taro@Example.org").unwrap();
        assert_eq!(a.key(), "taro@example.org");
        assert_eq!(a.as_str(), "Taro@Example.org");
        assert!(
            EmailAddress::parse("taro..yamada@docomo.ne.jp")
                .unwrap()
                .needs_quoting()
        );
        assert!(!a.needs_quoting());
    }
}
