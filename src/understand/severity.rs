//! How bad a delivery failure is, from the remote server's words first and
//! the RFC 3463 enhanced status code second: many servers say "user unknown"
//! under 5.0.0 or 5.7.1, or "mailbox full" under 5.1.1, so the code alone
//! misleads (bounce libraries such as sisimai read the text for the same reason).

/// What a failure means for the member's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Severity {
    /// The address is bad and will stay bad: no such user or domain, moved.
    Hard,
    /// Mailbox full, message too large, temporary, expired: try again later.
    Soft,
    /// Refused by policy (spam, content, blocklist, rate, reputation,
    /// authentication): says nothing about the address, never counted.
    Policy,
    /// Nothing in the notice says which.
    #[default]
    Unknown,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hard => "hard",
            Self::Soft => "soft",
            Self::Policy => "policy",
            Self::Unknown => "unknown",
        }
    }
}

/// The first `d.ddd.ddd` RFC 3463 code in `s`.
pub fn status_code(s: &str) -> Option<String> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .find(|t| is_status(t))
        .map(str::to_string)
}

fn is_status(t: &str) -> bool {
    let p: Vec<&str> = t.split('.').collect();
    p.len() == 3
        && matches!(p[0], "2" | "4" | "5")
        && (1..=3).contains(&p[1].len())
        && (1..=3).contains(&p[2].len())
}

/// A bare SMTP reply code (`550 ...`, RFC 5321 §4.2) as a coarse status.
pub fn smtp_reply_status(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|t| {
            let b = t.as_bytes();
            b.len() == 3 && matches!(b[0], b'4' | b'5') && (b'0'..=b'5').contains(&b[1])
        })
        .map(|t| format!("{}.0.0", &t[..1]))
}

/// The worse of two, for a notice summarised in one severity: hard over
/// policy over soft over unknown.
pub fn worst(a: Severity, b: Severity) -> Severity {
    use Severity::*;
    match (a, b) {
        (Hard, _) | (_, Hard) => Hard,
        (Policy, _) | (_, Policy) => Policy,
        (Soft, _) | (_, Soft) => Soft,
        _ => Unknown,
    }
}

/// The sender, not the recipient, was refused: policy whatever else is said.
const SENDER_REFUSED: &[&str] = &[
    "sender address rejected",
    "sender domain",
    "sender verify failed",
    "sender rejected",
    "mail from rejected",
    "envelope sender",
    "from address rejected",
    "unroutable sender",
    "after mail from",
    "in reply to mail from",
    "relay quota",
    "permission to post",
    "not allowed to post",
    "権限がない",
    "権限がありません",
    "sending quota",
    "sending limit",
    "a valid from",
    "relay access denied",
    "relaying denied",
    "unable to relay",
    "relay not permitted",
    "relaying not allowed",
    "we do not relay",
];

/// The account exists but is switched off for now (sisimai's "suspend"):
/// soft, even where the notice also says the address was not found.
const SUSPENDED: &[&str] = &[
    "account is disabled",
    "account has been disabled",
    "account disabled",
    "mailbox disabled",
    "mailbox is disabled",
    "account is inactive",
    "mailbox is inactive",
    "account inactive",
    "account is suspended",
    "account has been suspended",
    "account suspended",
    "mailbox suspended",
    "account is locked",
    "account has been locked",
];

/// The address does not exist (RFC 3463 X.1.1 in words).
const NO_USER: &[&str] = &[
    "user unknown",
    "unknown user",
    "user is unknown",
    "unknown recipient",
    "recipient unknown",
    "unknown address",
    "address unknown",
    "addressee unknown",
    "unknown mailbox",
    "unknown local part",
    "unknown or illegal alias",
    "no such user",
    "no such mailbox",
    "no such recipient",
    "no such address",
    "no such person",
    "no such local user",
    "no user",
    "no mailbox",
    "no account",
    "invalid recipient",
    "invalid mailbox",
    "invalid address",
    "invalid user",
    "not a valid mailbox",
    "not a valid recipient",
    "mailbox not found",
    "mailbox does not exist",
    "recipient not found",
    "recipient does not exist",
    "user not found",
    "address not found",
    "does not exist",
    "doesn't exist",
    "does not have an account",
    "doesn't have a",
    "not exist",
    "not our customer",
    "not a known user",
    "unrouteable address",
    "no valid recipients",
    "recipient address rejected",
    "mailbox unavailable",
    "mailbox is unavailable",
    "mailbox invalid",
    "not a local address",
    "recipient is not local",
    "not a valid user",
    "bad address",
    "badrcptto",
    "validrcptto",
    "recipient not ok",
    "no one at this address",
    "mailbox unavailable or not local",
    "user doesn't have",
    "couldn't be found",
    "could not be found",
    "wasn't found",
    "not listed in",
    "宛先不明",
    "存在しません",
    "存在しない",
    "見つかりません",
    "ユーザが不明",
    "ユーザーが不明",
];

/// The domain does not exist or takes no mail.
const NO_HOST: &[&str] = &[
    "host not found",
    "domain name not found",
    "domain is not reachable",
    "host unknown",
    "unknown host",
    "no such domain",
    "domain not found",
    "domain does not exist",
    "unrouteable mail domain",
    "name or service not known",
    "nxdomain",
    "no mx record",
    "mx records point to non-existent",
    "does not accept mail",
    // RFC 7505 null MX: the domain says it takes no mail at all.
    "no smtp service",
    "null mx",
    "couldn't find a mail exchanger",
    "domain is not valid",
    "illegal host",
    "bad destination mailbox address",
];

/// The address has moved.
const MOVED: &[&str] = &[
    "has moved",
    "address has changed",
    "no longer valid",
    "no longer available",
    "no longer in use",
    "is no longer",
    "not at this address",
];

/// The mailbox is full: soft, whatever the code says (servers write 5.1.1
/// or "unknown address error" beside it).
const MAILBOX_FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "mail box full",
    "mailbox has exceeded",
    "mailfolder is full",
    "full mailbox",
    "quota",
    "insufficient storage",
    "容量",
];

/// Too large, or full in other words than [`MAILBOX_FULL`] (checked before
/// the unknown-address lists, these after them): soft.
const FULL: &[&str] = &[
    "size limit exceeded",
    "mail size limit",
    "number of messages",
    "insufficient disk",
    "over the limit",
    "exceeded storage",
    "mailbox size limit",
    "exceeded the local limit",
    "exceeds the maximum size",
    "exceeds size limit",
    "size exceeds",
    "message size exceeds",
    "message too large",
    "message too big",
    "message is too large",
    "message exceeds",
    "too large",
    "mailbox exceeds",
    "exceeds allowed size",
    "line limit exceeded",
    "line too long",
    "line length exceeded",
    "いっぱい",
];

/// Still temporary, or given up after retrying: soft.
const TEMPORARY: &[&str] = &[
    "temporarily",
    "temporary",
    "try again later",
    "please try again",
    "retry timeout exceeded",
    "delivery time expired",
    "message expired",
    "has expired",
    "too long in queue",
    "could not be delivered within",
    "was not delivered within",
    "connection timed out",
    "connection refused",
    "no route to host",
    "network is unreachable",
    "timed out",
    "suspended",
    "disabled",
    "inactive",
    "deactivated",
    "over the maximum",
    "system error",
    "local error",
];

/// The remote host could not be reached: soft, even where the words hold
/// "refused" or "denied".
const NETWORK: &[&str] = &[
    "connection refused",
    "connection timed out",
    "no route to host",
    "network is unreachable",
    "temporarily suspended",
];

/// Refused for what the mail is or who sent it: policy.
const POLICY: &[&str] = &[
    "spam",
    "junk",
    "blacklist",
    "blocklist",
    "block list",
    "black list",
    "blocked",
    "rbl",
    "dnsbl",
    "reputation",
    "policy",
    "content",
    "virus",
    "malware",
    "dmarc",
    "spf",
    "dkim",
    "authenticat",
    "not authorized",
    "unauthorized",
    "rate limit",
    "at a rate",
    "sending rate",
    "rate exceeded",
    "too fast",
    "too many",
    "throttl",
    "denied",
    "refused",
    "filter",
    "security",
    "reverse dns",
    "ptr record",
    "not permitted",
    "not allowed",
    "prohibited",
    "受信拒否",
    "拒否",
];

/// Severity from the server's words and an RFC 3463 status.
pub fn severity_of(status: Option<&str>, diagnostic: Option<&str>) -> Severity {
    let diag = diagnostic.unwrap_or("").to_lowercase();
    let has = |list: &[&str]| list.iter().any(|p| diag.contains(p));
    let transient = status.is_some_and(|s| s.starts_with('4'));
    // RFC 3463 X.1.7 / X.1.8: the sender's address or system was refused.
    let sender_status = status.is_some_and(|s| s.ends_with(".1.7") || s.ends_with(".1.8"));
    if has(SENDER_REFUSED) || sender_status {
        return Severity::Policy;
    }
    if has(MAILBOX_FULL) || has(SUSPENDED) {
        return Severity::Soft;
    }
    if !transient && (has(NO_USER) || has(NO_HOST) || has(MOVED)) {
        return Severity::Hard;
    }
    if has(FULL) {
        return Severity::Soft;
    }
    if has(NETWORK) && !status.is_some_and(|s| s.contains(".7.")) {
        return Severity::Soft;
    }
    if has(POLICY) || status.is_some_and(|s| s.contains(".7.")) {
        return Severity::Policy;
    }
    if transient || has(TEMPORARY) {
        return Severity::Soft;
    }
    status.map_or(Severity::Unknown, severity_of_status)
}

/// RFC 3463 §3: the subject and detail of a permanent failure.
fn severity_of_status(s: &str) -> Severity {
    let mut parts = s.split('.').skip(1);
    let subject = parts.next().unwrap_or("");
    let detail = parts.next().unwrap_or("");
    match (subject, detail) {
        ("1", "1" | "2" | "3" | "6" | "10" | "0") => Severity::Hard,
        ("4", "4") => Severity::Hard,
        ("2", _) | ("3", _) | ("4", _) => Severity::Soft,
        ("6", _) | ("7", _) => Severity::Policy,
        _ => Severity::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        let cases = [
            (Some("5.1.1"), None, Severity::Hard),
            (Some("5.2.2"), None, Severity::Soft),
            (Some("4.0.0"), Some("user unknown"), Severity::Soft),
            (Some("5.7.1"), Some("rejected as spam"), Severity::Policy),
            (Some("5.0.0"), Some("550 Unknown user"), Severity::Hard),
            (
                Some("5.7.1"),
                Some("550 5.7.1 <a@b.example>: user unknown"),
                Severity::Hard,
            ),
            (Some("5.1.1"), Some("552 mailbox is full"), Severity::Soft),
            (None, Some("mailbox is full"), Severity::Soft),
            (Some("5.0.0"), Some("domain filter"), Severity::Policy),
            (
                Some("5.1.0"),
                Some("Sender address rejected: Domain not found"),
                Severity::Policy,
            ),
            (Some("5.0.0"), None, Severity::Unknown),
            (None, None, Severity::Unknown),
        ];
        for (status, diagnostic, want) in cases {
            assert_eq!(
                severity_of(status, diagnostic),
                want,
                "{status:?} {diagnostic:?}"
            );
        }
    }

    #[test]
    fn wording_classes_beyond_the_status() {
        let cases = [
            // Switched off for now beats "not found" beside it.
            (
                None,
                "address not found. The account is disabled.",
                Severity::Soft,
            ),
            (
                None,
                "mailbox exceeds allowed size: a@b.example",
                Severity::Soft,
            ),
            (None, "500 Line limit exceeded", Severity::Soft),
            (
                None,
                "an MX or SRV record indicated no SMTP service",
                Severity::Hard,
            ),
            (
                Some("5.2.1"),
                "receiving mail at a rate that prevents",
                Severity::Policy,
            ),
        ];
        for (status, diagnostic, want) in cases {
            assert_eq!(severity_of(status, Some(diagnostic)), want, "{diagnostic}");
        }
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("smtp; 550 5.1.1 user"), Some("5.1.1".into()));
        assert_eq!(
            status_code("5.0.0 (permanent failure)"),
            Some("5.0.0".into())
        );
        assert_eq!(status_code("(#5.5.0)"), Some("5.5.0".into()));
        assert_eq!(status_code("version 1.2.3.4"), None);
        assert_eq!(status_code("host 192.0.2.1 said"), None);
        assert_eq!(smtp_reply_status("said: 550 Unknown"), Some("5.0.0".into()));
        assert_eq!(smtp_reply_status("port 587 and 2013"), None);
    }
}
