//! Delivery failures: RFC 3464 DSNs, Amazon SES-style JSON notices, and the
//! plain-text bounces of qmail, Exim, Postfix, Sendmail, Exchange, Gmail,
//! Japanese carriers and ISPs that carry no DSN part.

use super::{
    ParsedMessage,
    bounce_text::{self, Notice},
    severity::{Severity, severity_of, status_code, worst},
};

/// How the notice told us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BounceSource {
    /// Built by hand (tests) or unknown.
    #[default]
    Unknown,
    /// An RFC 3464 `message/delivery-status` part.
    Dsn,
    /// An `X-Failed-Recipients` header (Exim, Gmail).
    FailedRecipientsHeader,
    /// A JSON bounce notification (Amazon SES via SNS and similar).
    Json,
    /// The notice's own words (no machine-readable part).
    Text,
}

/// One failed (or delayed) recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    /// Lowercased.
    pub address: String,
    /// RFC 3463 status, e.g. `5.1.1`, when one was found.
    pub status: Option<String>,
    pub severity: Severity,
    pub diagnostic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BounceReport {
    /// Failed (or delayed) recipients, lowercased.
    pub recipients: Vec<String>,
    /// The worst of the recipients' severities.
    pub severity: Severity,
    /// RFC 3463 status of the first recipient, when one was found.
    pub status: Option<String>,
    /// Remote server's words for the first recipient, when given.
    pub diagnostic: Option<String>,
    /// Per recipient, in the notice's order. Empty for a report built by
    /// hand: then every recipient shares the fields above.
    pub details: Vec<FailedRecipient>,
    pub source: BounceSource,
}

impl BounceReport {
    /// Builds the summary fields from per-recipient details.
    pub fn from_details(details: Vec<FailedRecipient>, source: BounceSource) -> Self {
        let severity = details
            .iter()
            .map(|d| d.severity)
            .reduce(worst)
            .unwrap_or_default();
        let first = details.first();
        Self {
            recipients: details.iter().map(|d| d.address.clone()).collect(),
            severity,
            status: first.and_then(|d| d.status.clone()),
            diagnostic: first.and_then(|d| d.diagnostic.clone()),
            details,
            source,
        }
    }

    /// Every recipient with its own status and severity.
    pub fn failures(&self) -> Vec<FailedRecipient> {
        if !self.details.is_empty() {
            return self.details.clone();
        }
        self.recipients
            .iter()
            .map(|a| FailedRecipient {
                address: a.clone(),
                status: self.status.clone(),
                severity: self.severity,
                diagnostic: self.diagnostic.clone(),
            })
            .collect()
    }

    /// The severity for one recipient (the report's when it has no details).
    pub fn severity_for(&self, address: &str) -> Severity {
        self.details
            .iter()
            .find(|d| d.address.eq_ignore_ascii_case(address))
            .map_or(self.severity, |d| d.severity)
    }

    /// Where the verdict came from, in words.
    pub fn evidence(&self) -> String {
        let how = match self.source {
            BounceSource::Dsn => "an RFC 3464 delivery status report",
            BounceSource::FailedRecipientsHeader => "an X-Failed-Recipients header",
            BounceSource::Json => "a JSON bounce notification",
            BounceSource::Text => "the words of a bounce notice (no status report part)",
            BounceSource::Unknown => "a bounce report",
        };
        match &self.status {
            Some(s) => format!("{how}, status {s}"),
            None => how.to_string(),
        }
    }
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
        .filter(|r| r.report_type.contains("delivery-status") || r.delivery_status.is_some())
        .and_then(|r| r.delivery_status.as_deref());
    if let Some(status) = status
        && let Some(d) = from_dsn(status, msg)
    {
        return Some(d);
    }
    let notice = bounce_text::notice(msg)?;
    if let Some(d) = bounce_text::from_json(msg) {
        return Some(d);
    }
    // Some MTAs write DSN fields into the text itself, or forward a
    // bounce inside a notice of their own.
    if msg.text.contains("Final-Recipient:")
        && let Some(d) = from_dsn(&msg.text, msg)
    {
        return Some(d);
    }
    from_text(msg, &notice)
}

/// One recipient block of a DSN (RFC 3464 §2.3).
#[derive(Default)]
struct RecipientBlock {
    recipient: Option<String>,
    action: String,
    status: Option<String>,
    diagnostic: Option<String>,
}

fn from_dsn(status_text: &str, msg: &ParsedMessage) -> Option<Delivery> {
    let blocks = dsn_blocks(status_text);
    let failed: Vec<&RecipientBlock> = blocks
        .iter()
        .filter(|b| {
            b.action.starts_with("failed") || (b.action.is_empty() && class_of(b) == Some('5'))
        })
        .collect();
    let delayed: Vec<&RecipientBlock> = blocks
        .iter()
        .filter(|b| b.action.starts_with("delayed"))
        .collect();
    let (chosen, is_failure) = match (failed.is_empty(), delayed.is_empty()) {
        (false, _) => (failed, true),
        (true, false) => (delayed, false),
        (true, true) => return None,
    };
    let notice_words = bounce_text::notice_head(msg);
    let details: Vec<FailedRecipient> = chosen
        .iter()
        .filter_map(|b| {
            let address = b.recipient.clone()?;
            // Without the server's words, the notice's own text may say more.
            let words = b
                .diagnostic
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .or(Some(notice_words));
            let mut severity = severity_of(b.status.as_deref(), words);
            if severity == Severity::Unknown && b.diagnostic.is_some() {
                severity = severity_of(b.status.as_deref(), Some(notice_words));
            }
            Some(FailedRecipient {
                address,
                status: b.status.clone(),
                severity,
                diagnostic: b.diagnostic.clone(),
            })
        })
        .collect();
    if details.is_empty() {
        return None;
    }
    let report = BounceReport::from_details(details, BounceSource::Dsn);
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
    let mut in_diag = false;
    for line in text.lines().take(2000) {
        if line.trim().is_empty() {
            if cur.recipient.is_some() {
                blocks.push(std::mem::take(&mut cur));
            }
            in_diag = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if in_diag && let Some(d) = cur.diagnostic.as_mut() {
                d.push(' ');
                d.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        in_diag = false;
        match name.trim().to_ascii_lowercase().as_str() {
            "final-recipient" => {
                // A second Final-Recipient without a blank line starts a block.
                if cur.recipient.is_some() && !cur.action.is_empty() {
                    blocks.push(std::mem::take(&mut cur));
                }
                cur.recipient = typed_address(value);
            }
            "original-recipient" if cur.recipient.is_none() => {
                cur.recipient = typed_address(value);
            }
            "action" => cur.action = value.to_ascii_lowercase(),
            "status" => cur.status = status_code(value),
            "diagnostic-code" => {
                cur.diagnostic = Some(typed_value(value).to_string());
                in_diag = true;
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
fn typed_address(v: &str) -> Option<String> {
    let a = typed_value(v)
        .trim_matches(|c: char| c == '<' || c == '>' || c == '"' || c.is_whitespace())
        .to_ascii_lowercase();
    a.contains('@').then_some(a)
}

fn typed_value(v: &str) -> &str {
    v.split_once(';').map_or(v, |(_, rest)| rest).trim()
}

/// A bounce without a machine-readable part.
fn from_text(msg: &ParsedMessage, notice: &Notice<'_>) -> Option<Delivery> {
    let (recipients, source) = match msg.header("x-failed-recipients") {
        Some(h) => (
            bounce_text::header_addresses(h),
            BounceSource::FailedRecipientsHeader,
        ),
        None => (Vec::new(), BounceSource::Text),
    };
    let recipients = if recipients.is_empty() {
        bounce_text::recipients_in(notice.head, msg)
    } else {
        recipients
    };
    let details = recipients
        .into_iter()
        .map(|address| {
            let words = bounce_text::words_about(notice.head, &address);
            let status = status_code(words)
                .or_else(|| status_code(notice.head))
                .or_else(|| super::severity::smtp_reply_status(words))
                .or_else(|| super::severity::smtp_reply_status(notice.head));
            let mut severity = severity_of(status.as_deref(), Some(words));
            if severity == Severity::Unknown {
                severity = severity_of(status.as_deref(), Some(notice.head));
            }
            FailedRecipient {
                address,
                status,
                severity,
                diagnostic: None,
            }
        })
        .collect();
    let mut report = BounceReport::from_details(details, source);
    if report.details.is_empty() {
        report.severity = severity_of(None, Some(notice.head));
        report.status = status_code(notice.head);
    }
    Some(if notice.delayed {
        Delivery::Delayed(report)
    } else {
        Delivery::Failed(report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DSN: &str = "Reporting-MTA: dns; mx.example.jp\n\nFinal-Recipient: rfc822; Taro@Example.JP\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <taro@example.jp>:\n    User unknown\n\nFinal-Recipient: rfc822; full@example.jp\nAction: failed\nStatus: 5.2.2\n\nFinal-Recipient: rfc822; spam@example.jp\nAction: failed\nStatus: 5.7.1\nDiagnostic-Code: smtp; 550 5.7.1 rejected as spam\n";

    #[test]
    fn dsn_recipients_status_and_severity_per_recipient() {
        let Some(Delivery::Failed(r)) = from_dsn(DSN, &ParsedMessage::default()) else {
            panic!("not a failure");
        };
        assert_eq!(
            r.recipients,
            vec!["taro@example.jp", "full@example.jp", "spam@example.jp"]
        );
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.severity, Severity::Hard);
        assert_eq!(r.severity_for("full@example.jp"), Severity::Soft);
        assert_eq!(r.severity_for("SPAM@example.jp"), Severity::Policy);
        assert!(
            r.diagnostic
                .as_deref()
                .is_some_and(|d| d.contains("User unknown"))
        );
    }

    #[test]
    fn delayed_dsn() {
        let dsn = "Final-Recipient: rfc822; a@b.example\nAction: delayed\nStatus: 4.4.7\n";
        assert!(matches!(
            from_dsn(dsn, &ParsedMessage::default()),
            Some(Delivery::Delayed(_))
        ));
    }

    #[test]
    fn hand_built_report_shares_its_severity() {
        let r = BounceReport {
            recipients: vec!["a@b.example".into()],
            severity: Severity::Policy,
            ..Default::default()
        };
        assert_eq!(r.severity_for("a@b.example"), Severity::Policy);
        assert_eq!(r.failures()[0].severity, Severity::Policy);
    }
}
