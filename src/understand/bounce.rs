//! Delivery failures: RFC 3464 DSNs, and the plain-text bounces of qmail,
//! Exim, Gmail, Japanese carriers and ISPs that carry no DSN part.

use super::{
    ParsedMessage, ReturnPath,
    auto::is_robot_sender,
    severity::{Severity, severity_of, status_code, worst},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BounceReport {
    /// Failed (or delayed) recipients, lowercased.
    pub recipients: Vec<String>,
    pub severity: Severity,
    /// RFC 3463 status, e.g. `5.1.1`, when one was found.
    pub status: Option<String>,
    /// Remote server's words (Diagnostic-Code), when given.
    pub diagnostic: Option<String>,
}

/// A DSN's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Failed(BounceReport),
    Delayed(BounceReport),
}

/// Recognises a bounce or delay notice, `None` for anything else.
pub fn detect(msg: &ParsedMessage) -> Option<Delivery> {
    let status = msg
        .report
        .as_ref()
        .filter(|r| r.report_type.contains("delivery-status"))
        .and_then(|r| r.delivery_status.as_deref());
    if let Some(status) = status
        && let Some(d) = from_dsn(status)
    {
        return Some(d);
    }
    from_text(msg)
}

/// One recipient block of a DSN (RFC 3464 §2.3).
#[derive(Default)]
struct RecipientBlock {
    recipient: Option<String>,
    action: String,
    status: Option<String>,
    diagnostic: Option<String>,
}

fn from_dsn(status_text: &str) -> Option<Delivery> {
    let blocks = dsn_blocks(status_text);
    let failed: Vec<&RecipientBlock> = blocks
        .iter()
        .filter(|b| b.action == "failed" || (b.action.is_empty() && class_of(b) == Some('5')))
        .collect();
    let delayed: Vec<&RecipientBlock> = blocks.iter().filter(|b| b.action == "delayed").collect();
    let (chosen, is_failure) = match (failed.is_empty(), delayed.is_empty()) {
        (false, _) => (failed, true),
        (true, false) => (delayed, false),
        (true, true) => return None,
    };
    let first = chosen.first()?;
    let mut severity = severity_of(first.status.as_deref(), first.diagnostic.as_deref());
    for b in &chosen[1..] {
        severity = worst(
            severity,
            severity_of(b.status.as_deref(), b.diagnostic.as_deref()),
        );
    }
    let report = BounceReport {
        recipients: chosen.iter().filter_map(|b| b.recipient.clone()).collect(),
        severity,
        status: first.status.clone(),
        diagnostic: first.diagnostic.clone(),
    };
    Some(if is_failure {
        Delivery::Failed(report)
    } else {
        Delivery::Delayed(report)
    })
}

fn class_of(b: &RecipientBlock) -> Option<char> {
    b.status.as_deref().and_then(|s| s.chars().next())
}

/// Splits the DSN into per-recipient blocks; unfolds continuation lines.
fn dsn_blocks(text: &str) -> Vec<RecipientBlock> {
    let mut blocks = Vec::new();
    let mut cur = RecipientBlock::default();
    let mut last_field: Option<&'static str> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if cur.recipient.is_some() {
                blocks.push(std::mem::take(&mut cur));
            }
            last_field = None;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if last_field == Some("diag")
                && let Some(d) = cur.diagnostic.as_mut()
            {
                d.push(' ');
                d.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        last_field = None;
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" => cur.recipient = Some(typed_address(value)),
            "original-recipient" if cur.recipient.is_none() => {
                cur.recipient = Some(typed_address(value));
            }
            "action" => cur.action = value.to_ascii_lowercase(),
            "status" => cur.status = status_code(value),
            "diagnostic-code" => {
                cur.diagnostic = Some(typed_value(value).to_string());
                last_field = Some("diag");
            }
            _ => {}
        }
    }
    if cur.recipient.is_some() {
        blocks.push(cur);
    }
    blocks
}

/// `rfc822; user@example.org` → `user@example.org` (RFC 3464 §2.3.2).
fn typed_address(v: &str) -> String {
    typed_value(v)
        .trim_matches(|c| c == '<' || c == '>')
        .to_ascii_lowercase()
}

fn typed_value(v: &str) -> &str {
    v.split_once(';').map_or(v, |(_, rest)| rest).trim()
}

const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "delivery status notification",
    "mail delivery failed",
    "delivery failure",
    "failure notice",
    "returned mail",
    "returned to sender",
    "could not be delivered",
    "non-delivery",
    "nondeliverable",
    "delivery has failed",
    "mail system error",
    "bounce notification",
    "メールエラー",
    "エラー通知",
    "配信不能",
    "配送エラー",
    "不達",
    "送信できませんでした",
];
const DELAY_SUBJECTS: &[&str] = &[
    "(delay)",
    "delayed mail",
    "delivery delayed",
    "still being retried",
    "warning: could not send",
    "delivery is delayed",
];

/// A bounce without a DSN part: a robot or null sender, and a bounce subject
/// or `X-Failed-Recipients` (Exim, Gmail).
fn from_text(msg: &ParsedMessage) -> Option<Delivery> {
    let robot = matches!(msg.return_path, ReturnPath::Null)
        || is_robot_sender(msg)
        || matches!(&msg.return_path, ReturnPath::Address(a) if a.eq_ignore_ascii_case("mailer-daemon"));
    let failed_header = msg.header("x-failed-recipients");
    let subject = msg.subject.to_lowercase();
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|p| subject.contains(p));
    let delay_subject = DELAY_SUBJECTS.iter().any(|p| subject.contains(p));
    if !(robot && (bounce_subject || delay_subject) || failed_header.is_some()) {
        return None;
    }
    let head = original_cut(&msg.text);
    let status = status_code(head).or_else(|| smtp_reply_code(head));
    let recipients = match failed_header {
        Some(h) => h
            .split([',', ' '])
            .filter(|a| a.contains('@'))
            .map(|a| a.trim_matches(['<', '>']).to_ascii_lowercase())
            .collect(),
        None => addresses_in(head, msg),
    };
    let report = BounceReport {
        recipients,
        severity: severity_of(status.as_deref(), Some(head)),
        status,
        diagnostic: None,
    };
    Some(if delay_subject && !bounce_subject {
        Delivery::Delayed(report)
    } else {
        Delivery::Failed(report)
    })
}

/// The notice's own text, before the returned original message.
fn original_cut(text: &str) -> &str {
    let markers = [
        "------ This is a copy",
        "--- Below this line is a copy",
        "----- Original message",
        "------ Original message",
        "Original message headers",
        "--- The header of the original message",
        "Received: ",
        "Return-Path: ",
    ];
    let end = markers
        .iter()
        .filter_map(|m| text.find(m))
        .min()
        .unwrap_or(text.len());
    let end = end.min(8192);
    let mut end = end.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A bare SMTP reply code (`550 ...`) as a status, for text bounces.
fn smtp_reply_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|t| t.len() == 3 && (t.starts_with('5') || t.starts_with('4')))
        .map(|t| format!("{}.0.0", &t[..1]))
}

/// Addresses mentioned in a text bounce, except the notice's own parties.
fn addresses_in(text: &str, msg: &ParsedMessage) -> Vec<String> {
    let own: Vec<String> = msg
        .from
        .iter()
        .map(|m| m.address.to_ascii_lowercase())
        .chain(msg.to.iter().map(|m| m.address.to_ascii_lowercase()))
        .collect();
    let mut found: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || "<>()\"':;,[]".contains(c)) {
        let t = token.trim_matches('.').to_ascii_lowercase();
        let Some((local, domain)) = t.split_once('@') else {
            continue;
        };
        if local.is_empty() || !domain.contains('.') || own.contains(&t) {
            continue;
        }
        if found.contains(&t) {
            continue;
        }
        found.push(t);
    }
    // The reporting system's own addresses only when nothing else is named.
    if found.iter().any(|a| !super::auto::is_robot_address(a)) {
        found.retain(|a| !super::auto::is_robot_address(a));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "Reporting-MTA: dns; mx.example.jp\n\nFinal-Recipient: rfc822; Taro@Example.JP\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <taro@example.jp>:\n    User unknown\n\nFinal-Recipient: rfc822; full@example.jp\nAction: failed\nStatus: 5.2.2\n";

    #[test]
    fn dsn_recipients_status_and_severity() {
        let Some(Delivery::Failed(r)) = from_dsn(DSN) else {
            panic!("not a failure");
        };
        assert_eq!(r.recipients, vec!["taro@example.jp", "full@example.jp"]);
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.severity, Severity::Hard);
        assert!(
            r.diagnostic
                .as_deref()
                .is_some_and(|d| d.contains("User unknown"))
        );
    }

    #[test]
    fn delayed_dsn() {
        let dsn = "Final-Recipient: rfc822; a@b.example\nAction: delayed\nStatus: 4.4.7\n";
        assert!(matches!(from_dsn(dsn), Some(Delivery::Delayed(_))));
    }
}
