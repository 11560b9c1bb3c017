//! The last way a reply finds its thread. Some phone mail apps answer to the
//! From address and drop Reply-To, In-Reply-To and References: all that is
//! left is the subject, `Re: [Circle] ご協力のお願い: …（依頼番号 12）`. Such a
//! mail is tied to request 12 only when it reads as a reply (a `Re:` prefix
//! or the circle's `[name]`) and its sender is the one the thread belongs
//! to: the member the request was forwarded to, or the requester.

use sqlx::Row;

use super::{Relay, RelayError, Tx};
use crate::domain::EmailAddress;

/// Reply prefixes mail apps write, lowercased: `Re:`, `RE：`, `AW:`, `SV:`, `返信:`.
const REPLY_PREFIXES: &[&str] = &["re:", "re：", "aw:", "sv:", "返信:", "返信："];

/// The request number a person can quote, 「依頼番号 12」 / "request 12".
pub fn request_number(subject: &str) -> Option<i64> {
    let lower = subject.to_lowercase();
    for label in ["依頼番号", "request "] {
        for (i, _) in lower.match_indices(label) {
            let digits: String = lower[i + label.len()..]
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
    }
    None
}

fn reads_as_reply(subject: &str, circle_name: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    REPLY_PREFIXES.iter().any(|p| s.starts_with(p)) || subject.contains(&format!("[{circle_name}]"))
}

impl Relay {
    /// The token of the thread `subject` names, when `from` owns it.
    pub async fn token_by_subject(
        &self,
        tx: &mut Tx<'_>,
        subject: &str,
        from: &EmailAddress,
    ) -> Result<Option<String>, RelayError> {
        if !reads_as_reply(subject, &self.circle.name) {
            return Ok(None);
        }
        let Some(number) = request_number(subject) else {
            return Ok(None);
        };
        let forward = sqlx::query(
            "SELECT f.token AS token FROM forwards f JOIN members m ON m.id = f.member_id \
             WHERE f.request_id = $1 AND m.email_key = $2",
        )
        .bind(number)
        .bind(from.key().to_string())
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = forward {
            return Ok(Some(row.try_get("token")?));
        }
        let request = sqlx::query("SELECT token, requester_email FROM requests WHERE id = $1")
            .bind(number)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(request.and_then(|r| {
            let owner: String = r.try_get("requester_email").ok()?;
            let token: Option<String> = r.try_get("token").ok()?;
            (owner.to_ascii_lowercase() == from.key()).then_some(token)?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers_and_reply_subjects() {
        assert_eq!(
            request_number("Re: [C] ご協力のお願い: 看護師（依頼番号 12）"),
            Some(12)
        );
        assert_eq!(
            request_number("RE: [C] Can you help? Nurse (request 7)"),
            Some(7)
        );
        assert_eq!(request_number("Re: 依頼番号12"), Some(12));
        assert_eq!(request_number("Looking for a nurse"), None);
        assert!(reads_as_reply("Re：ご協力のお願い", "C"));
        assert!(reads_as_reply("ご協力のお願い [C]", "C"));
        assert!(!reads_as_reply("A new request 12", "C"));
    }
}
