//! From raw bytes to a [`ParsedMessage`]: mail-parser for the MIME structure,
//! our own decoding where its charset handling falls short.

use std::sync::OnceLock;

use mail_parser::{Encoding, HeaderValue, Message, MessageParser, MessagePart, PartType};

use super::{Limits, UnderstandError, body, charset, rfc2047};

/// A sender or recipient as written in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The address as written (not validated: carriers' `a..b@` forms pass).
    pub address: String,
    /// Decoded display name, when there is one.
    pub name: Option<String>,
}

/// What the envelope sender (`Return-Path`) says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReturnPath {
    /// No Return-Path header (not yet delivered, or stripped).
    #[default]
    Absent,
    /// `<>`: the null sender of bounces and many auto-replies (RFC 5321 §4.5.5).
    Null,
    Address(String),
}

/// A `multipart/report` (RFC 6522) and its machine-readable part.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// `report-type` parameter, lowercased: `delivery-status`,
    /// `disposition-notification`, `feedback-report`, ...
    pub report_type: String,
    /// The `message/delivery-status` (or global) part's text (RFC 3464).
    pub delivery_status: Option<String>,
}

/// One inbound message, decoded: what classification and the relay need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedMessage {
    /// Decoded subject (RFC 2047, split multibyte words joined).
    pub subject: String,
    pub from: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// `Delivered-To` and `X-Original-To` addresses.
    pub delivered_to: Vec<String>,
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub return_path: ReturnPath,
    /// The top-level headers classification reads ([`KEPT_HEADERS`]):
    /// lowercased name, unfolded raw value.
    pub headers: Vec<(String, String)>,
    /// Top-level `type/subtype`, lowercased (`text/plain` when absent).
    pub content_type: String,
    pub report: Option<Report>,
    /// The body as text: text/plain parts, or HTML turned into text.
    pub text: String,
    /// True when `text` came from HTML (no text/plain part).
    pub text_from_html: bool,
    /// True when mail-parser reported a structural or encoding problem.
    pub damaged: bool,
    /// The To addresses of a returned message (a bounce's `message/rfc822`
    /// or `text/rfc822-headers` part): who the failed mail was for.
    pub returned_to: Vec<String>,
}

impl ParsedMessage {
    /// The first value of a top-level header, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every recipient address: To, Cc, Delivered-To, X-Original-To.
    pub fn recipient_addresses(&self) -> impl Iterator<Item = &str> {
        self.to
            .iter()
            .chain(&self.cc)
            .map(|m| m.address.as_str())
            .chain(self.delivered_to.iter().map(String::as_str))
    }

    /// The sender's address, lowercased, when there is one.
    pub fn from_address(&self) -> Option<String> {
        self.from.as_ref().map(|m| m.address.to_ascii_lowercase())
    }
}

/// Refuses a message by its size alone, before it is fetched or read:
/// the inbox calls this with the server-reported size (IMAP RFC822.SIZE).
pub fn check_size(size: u64, limits: &Limits) -> Result<(), UnderstandError> {
    if size > limits.max_message_bytes {
        return Err(UnderstandError::TooLarge {
            size,
            limit: limits.max_message_bytes,
        });
    }
    Ok(())
}

/// Parses and decodes one message. Never panics: a panic inside mail-parser
/// on hostile input is caught and reported as [`UnderstandError::NotAMessage`].
pub fn parse(raw: &[u8], limits: &Limits) -> Result<ParsedMessage, UnderstandError> {
    check_size(raw.len() as u64, limits)?;
    let raw = strip_mbox_line(raw);
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(UnderstandError::Empty);
    }
    std::panic::catch_unwind(|| {
        let message = parser().parse(raw).ok_or(UnderstandError::NotAMessage)?;
        Ok(build(&message, raw))
    })
    .unwrap_or(Err(UnderstandError::NotAMessage))
}

/// Built once. Only the headers read as structured values are parsed as such
/// (MIME structure and addresses); the rest stay raw, since `build` reads
/// them from the raw bytes anyway. Received chains, long in bounces, are the
/// costliest headers to parse and nothing here needs them.
fn parser() -> &'static MessageParser {
    static PARSER: OnceLock<MessageParser> = OnceLock::new();
    PARSER.get_or_init(|| {
        MessageParser::new()
            .with_mime_headers()
            .with_address_headers()
    })
}

/// Some stores hand over mbox data whose first line is `From sender date`.
fn strip_mbox_line(raw: &[u8]) -> &[u8] {
    if raw.starts_with(b"From ")
        && let Some(nl) = raw.iter().position(|&b| b == b'\n')
    {
        return &raw[nl + 1..];
    }
    raw
}

/// Headers kept as text for classification (automatic mail, loops, bounces).
/// The rest (Received chains, DKIM and ARC signatures: most of a bounce's
/// header bytes) are not copied.
pub const KEPT_HEADERS: &[&str] = &[
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-autogenerated",
    "x-vacation",
    "precedence",
    "x-ms-exchange-inbox-rules-loop",
    "x-auto-response-suppress",
    "x-failed-recipients",
    "x-loop",
    "list-id",
    "list-unsubscribe",
    "feedback-type",
];

fn build(message: &Message<'_>, raw: &[u8]) -> ParsedMessage {
    let Some(root) = message.parts.first() else {
        return ParsedMessage::default();
    };
    let raw_value = |h: &mail_parser::Header<'_>| {
        raw.get(h.offset_start as usize..h.offset_end as usize)
            .unwrap_or_default()
    };
    let mut parsed = ParsedMessage {
        content_type: "text/plain".to_string(),
        ..Default::default()
    };
    let mut name = String::new();
    for h in &root.headers {
        // One buffer for every header's lowercased name: no allocation each.
        name.clear();
        name.extend(h.name.as_str().chars().map(|c| c.to_ascii_lowercase()));
        let bytes = raw_value(h);
        match name.as_str() {
            "subject" if parsed.subject.is_empty() => {
                parsed.subject = rfc2047::decode_header(bytes)
            }
            "from" if parsed.from.is_none() => {
                parsed.from = mailboxes(&h.value, bytes).into_iter().next();
            }
            "to" => parsed.to.extend(mailboxes(&h.value, bytes)),
            "cc" => parsed.cc.extend(mailboxes(&h.value, bytes)),
            "delivered-to" | "x-original-to" => {
                parsed.delivered_to.extend(bare_addresses(bytes));
            }
            "message-id" if parsed.message_id.is_none() => {
                parsed.message_id = message_ids(bytes).into_iter().next();
            }
            "in-reply-to" => parsed.in_reply_to.extend(message_ids(bytes)),
            "references" => parsed.references.extend(message_ids(bytes)),
            "return-path" if parsed.return_path == ReturnPath::Absent => {
                parsed.return_path = return_path(bytes);
            }
            "content-type" => content_type(&h.value, &mut parsed),
            _ => {}
        }
        if KEPT_HEADERS.contains(&name.as_str()) {
            parsed.headers.push((name.clone(), unfold_lossy(bytes)));
        }
    }
    if let Some(report) = parsed.report.as_mut() {
        report.delivery_status = delivery_status(message);
    }
    parsed.damaged = message.parts.iter().any(|p| p.is_encoding_problem);
    parsed.returned_to = returned_to(message);
    let (text, from_html) = body::body_text(message, raw);
    parsed.text = text;
    parsed.text_from_html = from_html;
    if parsed.text.trim().is_empty() && parsed.content_type.starts_with("multipart/") {
        // A broken structure (a boundary parameter on an unfolded line)
        // hides every part: read the body as the plain text it mostly is.
        parsed.text = raw_body_text(root, raw);
    }
    parsed
}

/// The top-level type, and the report type of a `multipart/report`.
fn content_type(value: &HeaderValue<'_>, parsed: &mut ParsedMessage) {
    let HeaderValue::ContentType(ct) = value else {
        return;
    };
    let sub = ct.subtype().unwrap_or("");
    parsed.content_type = format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase();
    if parsed.content_type == "multipart/report" {
        parsed.report = Some(Report {
            report_type: ct
                .attribute("report-type")
                .unwrap_or("")
                .to_ascii_lowercase(),
            delivery_status: None,
        });
    }
}

/// The root's body bytes as text, MIME boundary and part-header lines
/// dropped, bounded.
fn raw_body_text(root: &MessagePart<'_>, raw: &[u8]) -> String {
    let start = root.offset_body as usize;
    let end = (root.offset_end as usize).min(start + 64 * 1024);
    let bytes = raw.get(start..end.max(start)).unwrap_or_default();
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    let mut in_part_headers = false;
    for line in text.lines() {
        let t = line.trim_end();
        if t.starts_with("--") && !t.contains(' ') {
            in_part_headers = true;
            continue;
        }
        if in_part_headers {
            in_part_headers = !t.is_empty();
            continue;
        }
        out.push_str(t);
        out.push('\n');
    }
    out.trim().to_string()
}

/// The machine-readable part of a DSN (RFC 3464 §2; RFC 6533 for global).
fn delivery_status(message: &Message<'_>) -> Option<String> {
    message.parts.iter().find_map(|p| {
        let ct = p.headers.iter().find_map(|h| match &h.value {
            HeaderValue::ContentType(ct)
                if h.name.as_str().eq_ignore_ascii_case("content-type") =>
            {
                Some(ct)
            }
            _ => None,
        })?;
        let sub = ct.subtype().unwrap_or("").to_ascii_lowercase();
        let is_status = ct.ctype().eq_ignore_ascii_case("message")
            && (sub == "delivery-status" || sub == "global-delivery-status");
        is_status.then(|| part_text(p))
    })
}

/// The To of the first returned message or returned header block.
fn returned_to(message: &Message<'_>) -> Vec<String> {
    for p in message.parts.iter().skip(1) {
        match &p.body {
            PartType::Message(m) => {
                if let Some(to) = m.to() {
                    return to
                        .iter()
                        .filter_map(|a| a.address())
                        .map(str::to_string)
                        .collect();
                }
            }
            PartType::Text(t) if is_rfc822_headers(p) => {
                if let Some(line) = t
                    .lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("to:"))
                {
                    return bare_addresses(&line.as_bytes()[3..]);
                }
            }
            _ => {}
        }
    }
    Vec::new()
}

fn is_rfc822_headers(p: &MessagePart<'_>) -> bool {
    p.headers.iter().any(|h| match &h.value {
        HeaderValue::ContentType(ct) => {
            ct.ctype().eq_ignore_ascii_case("text")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
        }
        _ => false,
    })
}

fn part_text(p: &MessagePart<'_>) -> String {
    match &p.body {
        PartType::Text(t) | PartType::Html(t) => t.to_string(),
        PartType::Binary(b) | PartType::InlineBinary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// Transfer-decodes a part's raw body bytes (RFC 2045 §6).
pub(super) fn transfer_decoded(part: &MessagePart<'_>, raw: &[u8]) -> Vec<u8> {
    let bytes = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    match part.encoding {
        Encoding::Base64 => rfc2047::base64_lenient(bytes),
        Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(bytes)
                .unwrap_or_else(|| bytes.to_vec())
        }
        Encoding::None => bytes.to_vec(),
    }
}

fn unfold_lossy(bytes: &[u8]) -> String {
    if bytes.is_ascii() && !bytes.contains(&b'\n') {
        return String::from_utf8_lossy(bytes).trim().to_string();
    }
    let s = charset::decode_raw_header(bytes);
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Addresses from mail-parser's parse, display names re-decoded from the raw
/// bytes when they hold encoded-words (see rfc2047.rs for why).
fn mailboxes(value: &HeaderValue<'_>, raw: &[u8]) -> Vec<Mailbox> {
    let HeaderValue::Address(addr) = value else {
        return bare_addresses(raw)
            .into_iter()
            .map(|address| Mailbox {
                address,
                name: None,
            })
            .collect();
    };
    let list: Vec<_> = addr.iter().collect();
    let single = list.len() == 1;
    list.into_iter()
        .filter_map(|a| {
            let address = a.address()?.trim().to_string();
            if address.is_empty() {
                return None;
            }
            let mut name = a.name().map(str::to_string);
            if single && raw.windows(2).any(|w| w == b"=?") {
                name = display_name_from_raw(raw).or(name);
            }
            Some(Mailbox {
                address,
                name: name.filter(|n| !n.trim().is_empty()),
            })
        })
        .collect()
}

fn display_name_from_raw(raw: &[u8]) -> Option<String> {
    let lt = raw.iter().rposition(|&b| b == b'<')?;
    let name = rfc2047::decode_header(&raw[..lt]);
    let name = name.trim().trim_matches('"').trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// Addresses in a header mail-parser does not parse as an address list.
fn bare_addresses(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    text.split([',', ' ', '\t', '\r', '\n'])
        .map(|t| t.trim_matches(|c| c == '<' || c == '>' || c == '"'))
        .filter(|t| t.contains('@'))
        .map(str::to_string)
        .collect()
}

/// Message-IDs (RFC 5322 §3.6.4) from a raw header: `<...>` spans, or
/// bare tokens with `@` from sloppy mailers.
fn message_ids(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut ids = Vec::new();
    let mut rest = text.as_ref();
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('>') else { break };
        let id = after[..end].trim();
        if !id.is_empty() && !id.contains(char::is_whitespace) {
            ids.push(id.to_string());
        }
        rest = &after[end + 1..];
    }
    if ids.is_empty() {
        ids = text
            .split_whitespace()
            .filter(|t| t.contains('@') && !t.contains('<'))
            .map(str::to_string)
            .collect();
    }
    ids
}

fn return_path(raw: &[u8]) -> ReturnPath {
    let text = String::from_utf8_lossy(raw);
    let inner = text
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if inner.is_empty() {
        ReturnPath::Null
    } else {
        ReturnPath::Address(inner.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_return_paths() {
        assert_eq!(
            message_ids(b" <a@b> <c@d>\r\n <invalid."),
            vec!["a@b".to_string(), "c@d".to_string()]
        );
        assert!(message_ids(b" ").is_empty());
        assert_eq!(return_path(b" <>"), ReturnPath::Null);
        assert_eq!(
            return_path(b" <MAILER-DAEMON@x.org>"),
            ReturnPath::Address("MAILER-DAEMON@x.org".into())
        );
    }

    #[test]
    fn too_large_is_refused_before_parsing() {
        let limits = Limits {
            max_message_bytes: 10,
        };
        assert!(matches!(
            parse(b"Subject: way more than ten bytes\r\n\r\nbody", &limits),
            Err(UnderstandError::TooLarge { limit: 10, .. })
        ));
        assert!(check_size(11, &limits).is_err());
        assert!(check_size(10, &limits).is_ok());
    }
}
