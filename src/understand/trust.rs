//! What the receiving server said about a message: is it spam, and is its
//! From address really the sender's? Pure logic over the raw headers.

use super::auth_results::{self, SenderAuth};

/// `[inbox] trusted_authserv_id` and `[inbox] spam_header`, as the reader uses them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustSettings {
    /// Empty: sender authentication is off.
    pub trusted_authserv_id: String,
    /// A configured `Name: value` verdict (value matched as a prefix, any case).
    pub spam_header: Option<(String, String)>,
}

impl TrustSettings {
    /// From the config's strings; `spam_header` is `Name: value` or empty.
    pub fn new(trusted_authserv_id: &str, spam_header: &str) -> Self {
        let spam_header = spam_header
            .split_once(':')
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .filter(|(n, _)| !n.is_empty());
        Self {
            trusted_authserv_id: trusted_authserv_id.trim().to_string(),
            spam_header,
        }
    }

    pub fn authentication_on(&self) -> bool {
        !self.trusted_authserv_id.is_empty()
    }
}

/// The verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// Why the message is spam (the header that says so), if it is.
    pub spam: Option<String>,
    pub sender: SenderAuth,
}

impl Trust {
    /// The From domain failed authentication: the reason.
    pub fn forged(&self) -> Option<&str> {
        match &self.sender {
            SenderAuth::Failed(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Reads the top-level headers of `raw` and judges them.
pub fn judge(raw: &[u8], from_address: Option<&str>, settings: &TrustSettings) -> Trust {
    let headers = top_headers(raw);
    let spam = spam_verdict(&headers, settings);
    let domain = from_address
        .and_then(|a| a.rsplit_once('@'))
        .map(|(_, d)| d);
    let sender = match (domain, settings.authentication_on()) {
        (Some(domain), true) => {
            let values = headers
                .iter()
                .filter(|(n, _)| n == "authentication-results")
                .map(|(_, v)| v.as_str());
            auth_results::trusted(values, &settings.trusted_authserv_id)
                .map_or(SenderAuth::Unknown, |r| {
                    auth_results::sender_auth(&r, domain)
                })
        }
        _ => SenderAuth::Unknown,
    };
    Trust { spam, sender }
}

/// `X-Spam-Flag: YES`, `X-Spam-Status: Yes, score=…` (SpamAssassin, rspamd's
/// milter) or the configured header.
pub fn spam_verdict(headers: &[(String, String)], settings: &TrustSettings) -> Option<String> {
    let starts = |v: &str, p: &str| {
        v.trim()
            .get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    headers.iter().find_map(|(name, value)| {
        let shown = match name.as_str() {
            "x-spam-flag" if value.trim().eq_ignore_ascii_case("yes") => "X-Spam-Flag",
            "x-spam-status" if starts(value, "yes") => "X-Spam-Status",
            _ => settings
                .spam_header
                .as_ref()
                .filter(|(n, v)| name.eq_ignore_ascii_case(n) && !v.is_empty() && starts(value, v))
                .map(|(n, _)| n.as_str())?,
        };
        Some(format!("{shown}: {}", value.trim()))
    })
}

/// Lowercased names and unfolded values of the top-level headers, in order.
fn top_headers(raw: &[u8]) -> Vec<(String, String)> {
    let Some(msg) = mail_parser::MessageParser::new().parse_headers(raw) else {
        return vec![];
    };
    let Some(root) = msg.parts.first() else {
        return vec![];
    };
    root.headers
        .iter()
        .map(|h| {
            let bytes = raw
                .get(h.offset_start as usize..h.offset_end as usize)
                .unwrap_or_default();
            let value = String::from_utf8_lossy(bytes)
                .replace("\r\n", " ")
                .replace('\n', " ");
            (
                h.name.as_str().to_ascii_lowercase(),
                value.trim().to_string(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TrustSettings {
        TrustSettings::new("mail.circle.test", "X-Rspamd-Action: reject")
    }

    #[test]
    fn spam_headers() {
        let s = settings();
        let judge_of = |h: &str| {
            judge(
                format!("{h}\r\nFrom: a@b.test\r\n\r\nx").as_bytes(),
                None,
                &s,
            )
            .spam
        };
        assert!(judge_of("X-Spam-Flag: YES").is_some());
        assert!(judge_of("X-Spam-Flag: NO").is_none());
        assert!(judge_of("X-Spam-Status: Yes, score=12.3 required=5.0").is_some());
        assert!(judge_of("X-Spam-Status: No, score=0.1").is_none());
        assert!(judge_of("X-Rspamd-Action: reject").is_some());
        assert!(judge_of("X-Rspamd-Action: no action").is_none());
        assert!(judge_of("Subject: X-Spam-Flag: YES").is_none());
        let off = TrustSettings::new("", "");
        assert!(off.spam_header.is_none() && !off.authentication_on());
    }

    #[test]
    fn forged_from_is_seen_through_the_trusted_header_only() {
        let s = settings();
        let raw =
            |h: &str| format!("{h}\r\nFrom: Bob <bob@circle.test>\r\nSubject: hi\r\n\r\nbody");
        let fail =
            raw("Authentication-Results: mail.circle.test; dmarc=fail header.from=circle.test");
        let t = judge(fail.as_bytes(), Some("bob@circle.test"), &s);
        assert_eq!(t.forged(), Some("DMARC failed for circle.test"));
        let untrusted =
            raw("Authentication-Results: evil.test; dmarc=fail header.from=circle.test");
        assert_eq!(
            judge(untrusted.as_bytes(), Some("bob@circle.test"), &s).sender,
            SenderAuth::Unknown
        );
        let pass =
            raw("Authentication-Results: mail.circle.test;\r\n dmarc=pass header.from=circle.test");
        assert_eq!(
            judge(pass.as_bytes(), Some("bob@circle.test"), &s).sender,
            SenderAuth::Authenticated
        );
        let off = TrustSettings::default();
        assert_eq!(
            judge(fail.as_bytes(), Some("bob@circle.test"), &off).sender,
            SenderAuth::Unknown
        );
    }
}
