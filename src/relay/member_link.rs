//! Members' own links (issue 17): the page link `me/TOKEN` and the one-click
//! unsubscribe link `u/TOKEN`, both signed with `[security] token_secret`
//! and bound to one member, so they need no session and cannot be guessed
//! or turned into another member's.
//!
//! - Page tokens are `ID-DAY-MAC` with MAC over `me:ID:DAY`: DAY (days since
//!   1970-01-01 UTC) is the last day the link works, in the link itself, so
//!   a link from an old mail stops working (`[web] member_link_days`) while
//!   every new mail brings a fresh one.
//! - Unsubscribe tokens are `ID-MAC` with MAC over `u:ID` and never expire:
//!   RFC 8058 one-click is pressed in a mail client on mails of any age, and
//!   all it can do is what the member could do by mailing "unsubscribe".
//!   Changing `token_secret` revokes every link at once.

use super::token::TokenKey;

/// What a link is for; the MAC covers it, so one kind cannot pass for the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    Page,
    Unsubscribe,
}

/// A link that checked out: the member it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidLink {
    pub member_id: i64,
    /// The page link's last day (days since the epoch); `None` for unsubscribe.
    pub last_day: Option<i64>,
}

pub fn day_of(unix: i64) -> i64 {
    unix.div_euclid(86_400)
}

/// `ID-DAY-MAC`: good through `last_day`.
pub fn page_token(key: &TokenKey, member_id: i64, last_day: i64) -> String {
    let mac = key.mint(&format!("me:{member_id}:{last_day}"));
    format!("{member_id}-{last_day}-{mac}")
}

/// `ID-MAC`: good as long as the secret is.
pub fn unsubscribe_token(key: &TokenKey, member_id: i64) -> String {
    let mac = key.mint(&format!("u:{member_id}"));
    format!("{member_id}-{mac}")
}

/// Checks a presented token; `None` when it is malformed, tampered with,
/// of the other kind, or (a page link) past its last day at `now`.
pub fn verify(key: &TokenKey, kind: LinkKind, token: &str, now: i64) -> Option<ValidLink> {
    let parts: Vec<&str> = token.split('-').collect();
    match (kind, parts.as_slice()) {
        (LinkKind::Page, [id, day, mac]) => {
            let (member_id, last_day) = (id.parse().ok()?, day.parse::<i64>().ok()?);
            let signed = key.verify(&format!("me:{member_id}:{last_day}"), mac);
            (signed && day_of(now) <= last_day).then_some(ValidLink {
                member_id,
                last_day: Some(last_day),
            })
        }
        (LinkKind::Unsubscribe, [id, mac]) => {
            let member_id = id.parse().ok()?;
            key.verify(&format!("u:{member_id}"), mac)
                .then_some(ValidLink {
                    member_id,
                    last_day: None,
                })
        }
        _ => None,
    }
}

/// The web console's links for mails: `base_url` and how long page links last.
#[derive(Debug, Clone)]
pub struct WebLinks {
    pub base_url: String,
    pub member_link_days: u32,
}

/// One member's two links, as a mail carries them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberLinks {
    pub page: String,
    pub unsubscribe: String,
}

impl WebLinks {
    pub fn for_member(&self, key: &TokenKey, member_id: i64, now: i64) -> MemberLinks {
        let last_day = day_of(now) + i64::from(self.member_link_days);
        let base = self.base_url.trim_end_matches('/');
        MemberLinks {
            page: format!("{base}/me/{}", page_token(key, member_id, last_day)),
            unsubscribe: format!("{base}/u/{}", unsubscribe_token(key, member_id)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn key() -> TokenKey {
        TokenKey::new(Secret::new("a-long-enough-secret"))
    }

    #[test]
    fn a_page_link_works_through_its_last_day_and_not_after() {
        let now = 20_000 * 86_400 + 3600;
        let t = page_token(&key(), 7, 20_030);
        let ok = verify(&key(), LinkKind::Page, &t, now).unwrap();
        assert_eq!((ok.member_id, ok.last_day), (7, Some(20_030)));
        assert!(verify(&key(), LinkKind::Page, &t, 20_030 * 86_400 + 86_399).is_some());
        assert!(verify(&key(), LinkKind::Page, &t, 20_031 * 86_400).is_none());
    }

    #[test]
    fn tampered_or_other_kind_tokens_are_refused() {
        let now = 20_000 * 86_400;
        let t = page_token(&key(), 7, 20_030);
        let other_member = t.replacen("7-", "8-", 1);
        let longer = t.replacen("-20030-", "-20090-", 1);
        for bad in [
            other_member.as_str(),
            longer.as_str(),
            "7-20030",
            "",
            "x-y-z",
        ] {
            assert!(verify(&key(), LinkKind::Page, bad, now).is_none(), "{bad}");
        }
        let u = unsubscribe_token(&key(), 7);
        assert!(verify(&key(), LinkKind::Unsubscribe, &u, now).is_some());
        assert!(verify(&key(), LinkKind::Page, &u, now).is_none());
        assert!(verify(&key(), LinkKind::Unsubscribe, &t, now).is_none());
        let other_key = TokenKey::new(Secret::new("another-secret-entirely"));
        assert!(verify(&other_key, LinkKind::Unsubscribe, &u, now).is_none());
    }

    #[test]
    fn links_join_the_base_url_once() {
        let web = WebLinks {
            base_url: "https://circle.example/".into(),
            member_link_days: 30,
        };
        let l = web.for_member(&key(), 3, 20_000 * 86_400);
        assert!(
            l.page.starts_with("https://circle.example/me/3-20030-"),
            "{}",
            l.page
        );
        assert!(l.unsubscribe.starts_with("https://circle.example/u/3-"));
    }
}
