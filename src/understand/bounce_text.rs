//! Bounces told in words: is this a delivery-failure notice, which addresses
//! failed, and what the server said about each. The markers are the phrases
//! MTAs and providers put in their notices (Postfix, Exim, qmail, Sendmail,
//! Exchange/Office 365, Gmail, Yahoo, Domino, Japanese carriers and ISPs).

use serde_json::Value;

use super::{
    ParsedMessage, ReturnPath,
    auto::{is_robot_address, is_robot_sender},
    bounce::{BounceReport, BounceSource, Delivery, FailedRecipient},
    severity::{Severity, severity_of, status_code},
};

/// A recognised notice: its own text (before the returned message).
pub struct Notice<'a> {
    pub head: &'a str,
    /// Still being tried: a delay warning, not a failure.
    pub delayed: bool,
}

const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliverable",
    "undelivered mail",
    "undelivered message",
    "delivery status notification",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "delivery failed",
    "failure notice",
    "failure delivery",
    "returned mail",
    "returned to sender",
    "return to sender",
    "could not be delivered",
    "couldn't be delivered",
    "non-delivery",
    "non delivery",
    "nondeliverable",
    "non-deliverable",
    "not delivered",
    "delivery has failed",
    "delivery notification",
    "mail system error",
    "bounce notification",
    "permanent error",
    "permanent delivery failure",
    "message delivery failure",
    "delivery problem",
    "mail failure",
    "rejected:",
    "ndn:",
    "メールエラー",
    "エラー通知",
    "配信不能",
    "配送エラー",
    "配信エラー",
    "不達",
    "送信できませんでした",
    "届きませんでした",
];

const DELAY_SUBJECTS: &[&str] = &[
    "(delay)",
    "delayed mail",
    "delivery delayed",
    "delivery is delayed",
    "still being retried",
    "warning: could not send",
    "warning: message",
    "delivery status notification (delay)",
    "delayed:",
];

/// Words of a failure notice's body.
const FAILURE_MARKERS: &[&str] = &[
    "this is the mail system at host",
    "i'm afraid i wasn't able to deliver",
    "did not reach the following recipient",
    "no such user",
    "invalid user address",
    "was rejected by",
    "were rejected by",
    "has been rejected",
    "cannot be delivered",
    "i wasn't able to deliver",
    "this message was created automatically by mail delivery software",
    "could not be delivered to one or more",
    "the following address(es) failed",
    "delivery has failed to these recipients",
    "your message wasn't delivered",
    "your message couldn't be delivered",
    "your message could not be delivered",
    "delivery to the following recipient failed",
    "delivery to the following recipients failed",
    "the following addresses had permanent fatal errors",
    "the original message was received at",
    "unable to deliver message to the following",
    "unable to deliver your message",
    "we were unable to deliver your message",
    "message could not be delivered",
    "could not be delivered to",
    "was not delivered to",
    "was undeliverable",
    "undeliverable to",
    "permanent error",
    "permanent fatal error",
    "delivery failed",
    "delivery to the following",
    "failed to deliver",
    "not be delivered",
    "user unknown",
    "returned mail",
    "配信できませんでした",
    "送信できませんでした",
    "届きませんでした",
    "配送できませんでした",
    "宛先不明",
    "送信されませんでした",
];

/// Words of a delay warning: the MTA is still trying.
const DELAY_MARKERS: &[&str] = &[
    "will continue trying",
    "will keep trying",
    "will retry",
    "will be retried",
    "still trying",
    "delivery attempts will continue",
    "has not yet been delivered",
    "not yet been delivered",
    "this is a warning message only",
    "you do not need to resend",
    "has been delayed",
    "is delayed",
    "delivery is delayed",
];

/// Is this a bounce or delay notice without a DSN part?
pub fn notice(msg: &ParsedMessage) -> Option<Notice<'_>> {
    let head = notice_head(msg);
    let lower_head = head.to_lowercase();
    let subject = msg.subject.to_lowercase();
    let has = |hay: &str, list: &[&str]| list.iter().any(|p| hay.contains(p));
    let bounce_subject = has(&subject, BOUNCE_SUBJECTS);
    let delay_subject = has(&subject, DELAY_SUBJECTS);
    let failure_words = has(&lower_head, FAILURE_MARKERS);
    let delay_words = has(&lower_head, DELAY_MARKERS);
    let robot = is_robot(msg);
    let failed_header = msg.header("x-failed-recipients").is_some();
    let subject_says = bounce_subject || delay_subject;
    let body_says = failure_words || delay_words;
    let is_notice =
        failed_header || (robot && (subject_says || body_says)) || (subject_says && body_says);
    if !is_notice {
        return None;
    }
    let delayed = !failed_header
        && ((delay_subject && !bounce_subject)
            || (delay_words && !bounce_subject && !failure_words));
    Some(Notice { head, delayed })
}

/// The null sender, a robot address, or a robot's display name.
fn is_robot(msg: &ParsedMessage) -> bool {
    let named = msg
        .from
        .as_ref()
        .and_then(|m| m.name.as_deref())
        .is_some_and(|n| {
            let n = n.to_lowercase();
            [
                "mail delivery",
                "mailer-daemon",
                "mailer daemon",
                "postmaster",
                "mail administrator",
                "system administrator",
                "delivery subsystem",
            ]
            .iter()
            .any(|p| n.contains(p))
        });
    matches!(msg.return_path, ReturnPath::Null) || is_robot_sender(msg) || named
}

/// The notice's own text, before the returned original message.
pub fn notice_head(msg: &ParsedMessage) -> &str {
    original_cut(&msg.text)
}

fn original_cut(text: &str) -> &str {
    const MARKERS: &[&str] = &[
        "------ This is a copy",
        "--- Below this line is a copy",
        "----- Original message",
        "------ Original message",
        "-----Original Message",
        "----- The header of the original message",
        "--- The header of the original message",
        "Original message headers",
        "------ Received: ",
        "\nReceived: ",
        "\nReturn-Path: ",
        "\nDKIM-Signature: ",
        "----- Transcript of session follows",
        "\nFrom ",
    ];
    let end = MARKERS
        .iter()
        .filter_map(|m| text.find(m))
        .filter(|&i| i > 0)
        .min()
        .unwrap_or(text.len())
        .min(16 * 1024);
    &text[..floor_boundary(text, end)]
}

fn floor_boundary(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Addresses of an `X-Failed-Recipients` header.
pub fn header_addresses(h: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in h.split([',', ' ', '\t']) {
        let a = a.trim_matches(['<', '>', '"']).to_ascii_lowercase();
        if a.contains('@') && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Header names whose addresses are not the failed recipient.
const NOT_RECIPIENT_LINES: &[&str] = &[
    "from:",
    "reply-to:",
    "return-path:",
    "message-id:",
    "sender:",
    "received:",
    "references:",
    "in-reply-to:",
    "reporting-mta:",
    "to:",
    "cc:",
    "subject:",
    "sent:",
    "x-",
    "dkim",
    "mail from",
    "差出人",
    "送信者",
];

/// Addresses a text bounce names as failed: the notice's own parties and
/// robots left out, the returned message's To as the last resort.
pub fn recipients_in(head: &str, msg: &ParsedMessage) -> Vec<String> {
    // The notice's own From and To (Delivered-To names the same mailbox as
    // To, or only the mail system's route to it).
    let own: Vec<String> = msg
        .from
        .iter()
        .chain(msg.to.iter())
        .map(|m| m.address.to_ascii_lowercase())
        .collect();
    let mut found: Vec<String> = Vec::new();
    for line in head.lines().take(400) {
        let lower = line.trim_start().to_ascii_lowercase();
        if NOT_RECIPIENT_LINES.iter().any(|p| lower.starts_with(p)) {
            continue;
        }
        for a in line_addresses(line) {
            if !own.contains(&a) && !found.contains(&a) {
                found.push(a);
            }
        }
    }
    if found.iter().any(|a| !is_robot_address(a)) {
        found.retain(|a| !is_robot_address(a));
    }
    if found.is_empty() {
        found = msg
            .returned_to
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .filter(|a| !own.contains(a))
            .collect();
    }
    found
}

/// Mail addresses in one line of text (not Message-IDs, not URLs).
fn line_addresses(line: &str) -> Vec<String> {
    let lower = line.to_ascii_lowercase();
    if lower.contains("message-id") || lower.contains("msgid") {
        return Vec::new();
    }
    lower
        .split(|c: char| c.is_whitespace() || "<>()\"';,[]{}|".contains(c) || !c.is_ascii())
        .map(|t| {
            t.trim_start_matches("mailto:")
                .trim_start_matches("rfc822:")
                .trim_matches(['.', ':', '?', '!', '*'])
        })
        .filter(|t| is_address(t))
        .map(str::to_string)
        .collect()
}

fn is_address(t: &str) -> bool {
    let Some((local, domain)) = t.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !t.contains(['/', '=', '&'])
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// What the notice says about `address`: from the line that names it on.
pub fn words_about<'a>(head: &'a str, address: &str) -> &'a str {
    let lower = head.to_ascii_lowercase();
    let Some(at) = lower.find(address) else {
        return head;
    };
    let start = lower[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = floor_boundary(head, at + address.len() + 1200);
    let start = floor_boundary(head, start);
    &head[start..end.max(start)]
}

/// An Amazon SES-style JSON bounce notification (also wrapped in SNS).
pub fn from_json(msg: &ParsedMessage) -> Option<Delivery> {
    let text = &msg.text;
    if !(text.contains("bouncedRecipients") || text.contains("bounceType")) {
        return None;
    }
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    // Some notices wrap lines inside JSON strings: a raw newline is not JSON.
    let body = text.get(start..=end)?.replace(['\r', '\n'], " ");
    let mut value: Value = serde_json::from_str(&body).ok()?;
    if let Some(inner) = value.get("Message").and_then(Value::as_str) {
        value = serde_json::from_str(inner).ok()?;
    }
    let bounce = value.get("bounce")?;
    let kind = bounce
        .get("bounceType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let sub = bounce
        .get("bounceSubType")
        .and_then(Value::as_str)
        .unwrap_or("");
    let details: Vec<FailedRecipient> = bounce
        .get("bouncedRecipients")?
        .as_array()?
        .iter()
        .filter_map(|r| json_recipient(r, kind, sub))
        .collect();
    if details.is_empty() {
        return None;
    }
    Some(Delivery::Failed(BounceReport::from_details(
        details,
        BounceSource::Json,
    )))
}

fn json_recipient(r: &Value, kind: &str, sub: &str) -> Option<FailedRecipient> {
    let address = r.get("emailAddress")?.as_str()?;
    let address = address
        .rsplit_once('<')
        .map_or(address, |(_, a)| a.trim_end_matches('>'))
        .trim()
        .to_ascii_lowercase();
    let diagnostic = r
        .get("diagnosticCode")
        .and_then(Value::as_str)
        .map(str::to_string);
    let status = r
        .get("status")
        .and_then(Value::as_str)
        .and_then(status_code)
        .or_else(|| diagnostic.as_deref().and_then(status_code));
    let mut severity = severity_of(status.as_deref(), diagnostic.as_deref());
    if severity == Severity::Unknown {
        severity = match (kind, sub) {
            (_, "MailboxFull" | "MessageTooLarge") | ("Transient", _) => Severity::Soft,
            (_, "ContentRejected" | "AttachmentRejected") => Severity::Policy,
            ("Permanent", _) => Severity::Hard,
            _ => Severity::Unknown,
        };
    }
    Some(FailedRecipient {
        address,
        status,
        severity,
        diagnostic,
    })
}
