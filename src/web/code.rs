//! Sign-in codes a person can type on a phone: 8 characters of an alphabet
//! without look-alikes (no 0/O, 1/I), shown as `ABCD-EFGH`. 32 symbols × 8 =
//! 40 random bits; with at most 5 live codes an address and 20 attempts a
//! client per 15 minutes, guessing one is hopeless. And a small per-client
//! limiter for the sign-in forms, in memory (the per-address limit is in the
//! database, so replicas share it).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use ring::rand::{SecureRandom, SystemRandom};

use super::WebError;

const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const LEN: usize = 8;

/// A fresh code as it is shown: `ABCD-EFGH`.
pub fn new_code() -> Result<String, WebError> {
    let mut bytes = [0u8; LEN];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebError::Internal)?;
    // 256 is a multiple of 32: every symbol is equally likely.
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..4], &chars[4..]))
}

/// What is hashed and looked up: upper case, without spaces or dashes, and
/// full-width forms folded (a Japanese keyboard may type ＡＢＣＤ).
pub fn normalize(typed: &str) -> String {
    typed
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .take(64)
        .collect()
}

/// Attempts per client in a sliding window.
pub struct Limiter {
    window: i64,
    most: usize,
    seen: Mutex<HashMap<String, Vec<i64>>>,
}

/// Clients remembered at most; past that, old entries are swept first.
const MAX_CLIENTS: usize = 10_000;

impl Limiter {
    pub fn new(window: i64, most: usize) -> Self {
        Self {
            window,
            most,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt by `client` at `now`; false when over the limit.
    pub fn allow(&self, client: &str, now: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let since = now - self.window;
        if seen.len() >= MAX_CLIENTS {
            seen.retain(|_, times| times.iter().any(|&t| t > since));
            if seen.len() >= MAX_CLIENTS {
                return false;
            }
        }
        let times = seen.entry(client.to_string()).or_default();
        times.retain(|&t| t > since);
        if times.len() >= self.most {
            return false;
        }
        times.push(now);
        true
    }
}

/// The sign-in forms' limiter (asking for a code, presenting one).
pub static LIMITS: LazyLock<Limiter> = LazyLock::new(|| {
    Limiter::new(
        super::auth::CODE_MINUTES * 60,
        super::auth::PER_CLIENT as usize,
    )
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typeable_and_read_back_however_typed() {
        let c = new_code().unwrap();
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
        assert!(c.replace('-', "").bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(new_code().unwrap(), c);
        let n = normalize(&c);
        assert_eq!(n.len(), 8);
        assert_eq!(normalize(&c.to_lowercase()), n);
        assert_eq!(normalize(&format!(" {} ", c.replace('-', " "))), n);
        assert_eq!(normalize("ＡＢＣＤ－ＥＦＧＨ"), "ABCDEFGH");
        assert_eq!(normalize("ab<script>"), "ABSCRIPT");
    }

    #[test]
    fn the_limiter_counts_per_client_in_a_window() {
        let l = Limiter::new(900, 3);
        assert!((0..3).all(|i| l.allow("a", 100 + i)));
        assert!(!l.allow("a", 104), "a fourth attempt in the window");
        assert!(l.allow("b", 104), "another client is not affected");
        assert!(l.allow("a", 100 + 901), "the window moves on");
    }
}
