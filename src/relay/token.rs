//! Reply tokens: a keyed MAC (HMAC-SHA-256 with `[security] token_secret`)
//! over what a forward is, so a token can neither be guessed nor turned into
//! another member's answer. Tokens are lowercase base32, safe in a `+` address,
//! a Message-ID and a subject tag alike.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::config::Secret;

/// 20 base32 characters carry 100 bits of the MAC: far beyond guessing.
pub const TOKEN_LEN: usize = 20;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

#[derive(Clone)]
pub struct TokenKey(Secret);

impl TokenKey {
    pub fn new(secret: Secret) -> Self {
        Self(secret)
    }

    /// The token for one purpose, e.g. `forward:12:34:1` (request, member, wave).
    pub fn mint(&self, purpose: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(purpose.as_bytes());
        base32(&mac.finalize().into_bytes())[..TOKEN_LEN].to_string()
    }

    /// Constant-time comparison of a presented token with the one `purpose` has.
    pub fn verify(&self, purpose: &str, presented: &str) -> bool {
        let expected = self.mint(purpose);
        let presented = presented.to_ascii_lowercase();
        crate::crypto::constant_time_eq(expected.as_bytes(), presented.as_bytes())
    }
}

/// What a reply token names, read from its shape once (the pipeline hands
/// each kind to its own flow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyToken {
    /// `v<request>x<member>x<MAC>`, a digest's volunteer address (digest_mail.rs).
    Volunteer(VolunteerToken),
    /// `f<introduction>x<MAC>`, an answer to "did it work out?" (followup.rs).
    Followup(FollowupToken),
    /// A minted token kept with its thread or hold in the database.
    Stored(String),
}

/// A volunteer token's parts; the MAC is over `volunteer:<request>:<member>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolunteerToken {
    pub request_id: i64,
    pub member_id: i64,
    pub mac: String,
}

/// A follow-up token's parts; the MAC is over `followup:<introduction>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupToken {
    pub introduction_id: i64,
    pub mac: String,
}

impl ReplyToken {
    /// Lowercases and reads `token`; the MAC is checked by the flow.
    pub fn read(token: &str) -> Self {
        let lower = token.to_ascii_lowercase();
        let volunteer = || {
            let mut parts = lower.strip_prefix('v')?.splitn(3, 'x');
            let request_id = parts.next()?.parse().ok()?;
            let member_id = parts.next()?.parse().ok()?;
            let mac = parts.next().filter(|mac| !mac.is_empty())?.to_string();
            Some(Self::Volunteer(VolunteerToken {
                request_id,
                member_id,
                mac,
            }))
        };
        let followup = || {
            let (id, mac) = lower.strip_prefix('f')?.split_once('x')?;
            Some(Self::Followup(FollowupToken {
                introduction_id: id.parse().ok()?,
                mac: mac.to_string(),
            }))
        };
        volunteer()
            .or_else(followup)
            .unwrap_or_else(|| Self::Stored(lower.clone()))
    }
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> TokenKey {
        TokenKey::new(Secret::new(s))
    }

    #[test]
    fn tokens_are_stable_distinct_and_keyed() {
        let k = key("a-long-enough-secret");
        let t = k.mint("forward:1:2:1");
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.bytes().all(|c| ALPHABET.contains(&c)));
        assert_eq!(t, k.mint("forward:1:2:1"));
        assert_ne!(t, k.mint("forward:1:3:1"), "another member's token differs");
        assert_ne!(t, key("another-secret-entirely").mint("forward:1:2:1"));
    }

    #[test]
    fn verification_accepts_only_the_right_token() {
        let k = key("a-long-enough-secret");
        let t = k.mint("forward:1:2:1");
        assert!(k.verify("forward:1:2:1", &t));
        assert!(k.verify("forward:1:2:1", &t.to_ascii_uppercase()));
        assert!(!k.verify("forward:1:3:1", &t));
        assert!(!k.verify("forward:1:2:1", &t[..TOKEN_LEN - 1]));
    }

    #[test]
    fn reply_tokens_are_read_by_their_shape() {
        assert_eq!(
            ReplyToken::read("V12X34Xabc"),
            ReplyToken::Volunteer(VolunteerToken {
                request_id: 12,
                member_id: 34,
                mac: "abc".into()
            })
        );
        assert_eq!(
            ReplyToken::read("f7xmac"),
            ReplyToken::Followup(FollowupToken {
                introduction_id: 7,
                mac: "mac".into()
            })
        );
        // Without a MAC, or with words where numbers belong, it is a stored token.
        for t in ["v12x34x", "vaxbxc", "fxmac", "abcdefghij"] {
            assert_eq!(ReplyToken::read(t), ReplyToken::Stored(t.into()), "{t}");
        }
    }

    #[test]
    fn base32_matches_rfc4648_lowercase() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }
}
