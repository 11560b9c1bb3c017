//! The message body as text: text/plain preferred, HTML-only read as text.

use mail_parser::{HeaderValue, Message, MessagePart, PartType};

use super::{charset, parse::transfer_decoded};

/// Enough for any human request or reply; bounds work on hostile input.
const MAX_TEXT_BYTES: usize = 512 * 1024;

/// Returns the body text and whether it came from HTML.
pub fn body_text(message: &Message<'_>, raw: &[u8]) -> (String, bool) {
    let mut text = String::new();
    let mut from_html = false;
    let mut any_plain = false;
    for &id in &message.text_body {
        let Some(part) = message.parts.get(id as usize) else {
            continue;
        };
        match &part.body {
            PartType::Text(t) => {
                push_block(&mut text, &fixed_text(part, t, raw));
                any_plain = true;
            }
            PartType::Html(h) => {
                push_block(&mut text, &html_to_text(&fixed_text(part, h, raw)));
                from_html = true;
            }
            _ => {}
        }
        if text.len() > MAX_TEXT_BYTES {
            break;
        }
    }
    if !any_plain && text.trim().is_empty() {
        for &id in &message.html_body {
            if let Some(
                part @ MessagePart {
                    body: PartType::Html(h),
                    ..
                },
            ) = message.parts.get(id as usize)
            {
                push_block(&mut text, &html_to_text(&fixed_text(part, h, raw)));
                from_html = true;
            }
        }
    }
    truncate(&mut text);
    (normalize_newlines(&text), from_html && !any_plain)
}

fn push_block(text: &mut String, block: &str) {
    if !text.is_empty() && !block.is_empty() {
        text.push('\n');
    }
    text.push_str(block);
}

/// mail-parser's decoding, redone from the part's bytes when its charset
/// label is one mail-parser mishandles or when U+FFFD shows it failed.
fn fixed_text(part: &MessagePart<'_>, decoded: &str, raw: &[u8]) -> String {
    let label = part_charset(part);
    let trusted =
        !charset::needs_own_decoding(label) || label.is_some_and(charset::mail_parser_decodes);
    if trusted && !decoded.contains('\u{FFFD}') {
        return decoded.to_string();
    }
    let bytes = transfer_decoded(part, raw);
    if bytes.is_empty() && !decoded.is_empty() {
        return decoded.to_string();
    }
    let label = label.or_else(|| html_meta_charset(&bytes));
    charset::decode(&bytes, label)
}

fn part_charset<'a>(part: &'a MessagePart<'_>) -> Option<&'a str> {
    part.headers.iter().find_map(|h| match &h.value {
        HeaderValue::ContentType(ct) => ct.attribute("charset"),
        _ => None,
    })
}

/// `<meta charset=...>` of an HTML part without a MIME charset; only used as
/// a hint, `charset::decode` still checks it against the bytes.
fn html_meta_charset(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(2048)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let pos = head.find("charset=")?;
    let value: String = head[pos + 8..]
        .chars()
        .skip_while(|c| *c == '"' || *c == '\'')
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    charset::encoding_for_label(&value).map(encoding_rs::Encoding::name)
}

/// HTML to plain text (html2text); blockquotes become `> ` lines, which is
/// what the quote remover expects.
pub fn html_to_text(html: &str) -> String {
    let html = &html[..floor_char_boundary(html, MAX_TEXT_BYTES * 2)];
    let html = break_at_rules(html);
    html2text::config::plain_no_decorate()
        .link_footnotes(false)
        .string_from_read(html.as_bytes(), 200)
        .unwrap_or_else(|_| mail_parser::decoders::html::html_to_text(&html))
}

/// html2text drops `<hr>` without a line break, so "Bob<hr>From: …" became
/// one line and the quoted header block under the rule went unseen.
fn break_at_rules(html: &str) -> std::borrow::Cow<'_, str> {
    let is_rule = |rest: &[u8]| {
        rest.len() >= 3
            && rest[..3].eq_ignore_ascii_case(b"<hr")
            && rest
                .get(3)
                .is_none_or(|c| matches!(c, b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r'))
    };
    let bytes = html.as_bytes();
    if !(0..bytes.len()).any(|i| is_rule(&bytes[i..])) {
        return html.into();
    }
    let mut out = String::with_capacity(html.len() + 64);
    let mut last = 0;
    for i in 0..bytes.len() {
        if is_rule(&bytes[i..]) {
            out.push_str(&html[last..i]);
            out.push_str("<br>");
            last = i;
        }
    }
    out.push_str(&html[last..]);
    out.into()
}

fn truncate(text: &mut String) {
    if text.len() > MAX_TEXT_BYTES {
        let at = floor_char_boundary(text, MAX_TEXT_BYTES);
        text.truncate(at);
    }
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn normalize_newlines(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_breaks_the_line() {
        let text = html_to_text("<div>Ann<hr>From: a@b.c<br>To: d@e.f</div><HR/>x<hra>");
        assert_eq!(text.trim(), "Ann\nFrom: a@b.c\nTo: d@e.f\n\nx");
    }
}
