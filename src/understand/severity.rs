//! How bad a delivery failure is, from RFC 3463 enhanced status codes and
//! the remote server's words.

/// What a failure means for the member's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The address does not work (unknown user, no such domain): RFC 3463 X.1.X.
    Hard,
    /// Mailbox full, transient or unclear: try again later, do not retire.
    Soft,
    /// Refused by policy (spam filter, domain filter, blocklist): X.7.X.
    Policy,
}

/// The first `d.ddd.ddd` RFC 3463 code in `s`.
pub fn status_code(s: &str) -> Option<String> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|t| {
            let p: Vec<&str> = t.split('.').collect();
            p.len() == 3
                && matches!(p[0], "2" | "4" | "5")
                && p[1..].iter().all(|x| (1..=3).contains(&x.len()))
        })
        .map(str::to_string)
}

pub fn worst(a: Severity, b: Severity) -> Severity {
    use Severity::*;
    match (a, b) {
        (Hard, _) | (_, Hard) => Hard,
        (Policy, _) | (_, Policy) => Policy,
        _ => Soft,
    }
}

const FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "quota",
    "insufficient storage",
    "over the limit",
    "容量",
    "mailbox size limit",
    "exceeded the local limit",
    "exceeded storage",
];
const POLICY: &[&str] = &[
    "spam",
    "policy",
    "blocked",
    "blacklist",
    "blocklist",
    "denied",
    "domain filter",
    "refused",
    "受信拒否",
    "拒否",
    "not authorized",
    "reputation",
];
const UNKNOWN: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "does not exist",
    "doesn't exist",
    "not exist",
    "no mailbox",
    "invalid recipient",
    "invalid mailbox",
    "recipient not found",
    "user not found",
    "address rejected",
    "not our customer",
    "no such domain",
    "host not found",
    "宛先不明",
    "存在しません",
];

/// Severity from an RFC 3463 status and the server's text. Class 4 is always
/// soft (RFC 3463 §3.1), even under `Action: failed`; X.2.2 (mailbox full) is
/// soft despite class 5; X.7.X is policy; X.1.X is a bad address.
pub fn severity_of(status: Option<&str>, diagnostic: Option<&str>) -> Severity {
    let diag = diagnostic.unwrap_or("").to_lowercase();
    let has = |list: &[&str]| list.iter().any(|p| diag.contains(p));
    match status {
        Some(s) if s.starts_with('4') => Severity::Soft,
        Some(s) if s.ends_with(".2.2") || s.starts_with("5.3.4") || s.starts_with("5.2.3") => {
            Severity::Soft
        }
        Some(s) if s.contains(".7.") => Severity::Policy,
        Some(s) if s.contains(".1.") && !has(FULL) && !has(POLICY) => Severity::Hard,
        _ if has(FULL) => Severity::Soft,
        _ if has(UNKNOWN) => Severity::Hard,
        _ if has(POLICY) => Severity::Policy,
        Some(s) if s.starts_with('5') => Severity::Hard,
        _ => Severity::Soft,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities() {
        assert_eq!(severity_of(Some("5.1.1"), None), Severity::Hard);
        assert_eq!(severity_of(Some("5.2.2"), None), Severity::Soft);
        assert_eq!(
            severity_of(Some("4.0.0"), Some("user unknown")),
            Severity::Soft
        );
        assert_eq!(
            severity_of(Some("5.7.1"), Some("rejected as spam")),
            Severity::Policy
        );
        assert_eq!(
            severity_of(Some("5.0.0"), Some("550 Unknown user")),
            Severity::Hard
        );
        assert_eq!(severity_of(None, Some("mailbox is full")), Severity::Soft);
        assert_eq!(
            severity_of(Some("5.0.0"), Some("domain filter")),
            Severity::Policy
        );
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("smtp; 550 5.1.1 user"), Some("5.1.1".into()));
        assert_eq!(
            status_code("5.0.0 (permanent failure)"),
            Some("5.0.0".into())
        );
        assert_eq!(status_code("version 1.2.3.4"), None);
    }
}
