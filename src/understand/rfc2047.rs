//! RFC 2047 encoded-word decoding for unstructured headers (Subject, display
//! names), done by hand because mail-parser 0.11 decodes each encoded-word on
//! its own: an ISO-2022-JP character split across two words (as Exchange and
//! some Japanese mailers write them) then comes out as U+FFFD.
//!
//! We unfold, decode every word to bytes, join the bytes of adjacent words
//! with the same charset (RFC 2047 §6.2: whitespace between adjacent
//! encoded-words is not displayed) and only then decode the charset.

use super::charset;

/// Decodes a raw header value (the bytes after `Name:`).
pub fn decode_header(raw: &[u8]) -> String {
    let unfolded = unfold(raw);
    let mut out = String::new();
    // Pending bytes of consecutive encoded-words sharing a charset.
    let mut pending: Option<(String, Vec<u8>)> = None;
    // Literal text between words: dropped when it is only whitespace
    // between two encoded-words.
    let mut gap: Vec<u8> = Vec::new();
    let mut i = 0;
    let mut literal_start = 0;
    let mut had_word = false;
    while i < unfolded.len() {
        let Some((charset, bytes, end)) = encoded_word_at(&unfolded, i) else {
            i += 1;
            continue;
        };
        gap.extend_from_slice(&unfolded[literal_start..i]);
        let gap_is_space = gap.iter().all(|b| b.is_ascii_whitespace());
        if !(had_word && gap_is_space) {
            flush(&mut pending, &mut out);
            out.push_str(&charset::decode_raw_header(&gap));
        }
        gap.clear();
        match &mut pending {
            Some((cs, buf)) if cs.eq_ignore_ascii_case(&charset) => {
                // WHATWG ISO-2022-JP flags an escape right after an escape
                // as an error: drop the first word's return to ASCII when
                // the next word opens with its own escape.
                if bytes.first() == Some(&0x1b) && buf.ends_with(b"\x1b(B") {
                    buf.truncate(buf.len() - 3);
                }
                buf.extend_from_slice(&bytes);
            }
            _ => {
                flush(&mut pending, &mut out);
                pending = Some((charset, bytes));
            }
        }
        had_word = true;
        i = end;
        literal_start = end;
    }
    flush(&mut pending, &mut out);
    out.push_str(&charset::decode_raw_header(&unfolded[literal_start..]));
    clean(&out)
}

fn flush(pending: &mut Option<(String, Vec<u8>)>, out: &mut String) {
    if let Some((cs, bytes)) = pending.take() {
        out.push_str(&charset::decode(&bytes, Some(&cs)));
    }
}

/// Removes CR/LF followed by whitespace (RFC 5322 §2.2.3) and stray CR/LF.
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    for &b in raw {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    out
}

/// Control characters (a decoded word may carry a newline) become spaces;
/// runs of whitespace collapse; ends are trimmed.
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' || c == '\t' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(c);
            last_space = false;
        }
    }
    out.trim_end().to_string()
}

/// Parses `=?charset?E?text?=` at `i`; returns charset, decoded bytes and the
/// index after the word.
fn encoded_word_at(s: &[u8], i: usize) -> Option<(String, Vec<u8>, usize)> {
    let rest = s.get(i..)?;
    if !rest.starts_with(b"=?") {
        return None;
    }
    let q1 = 2 + rest.get(2..)?.iter().position(|&b| b == b'?')?;
    let charset = std::str::from_utf8(&rest[2..q1]).ok()?;
    if charset.is_empty() || charset.len() > 40 || charset.contains(char::is_whitespace) {
        return None;
    }
    let enc = *rest.get(q1 + 1)?;
    if rest.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    // The text ends at the first `?=`; encoded text never contains `?`.
    let text_len = rest
        .get(text_start..)?
        .windows(2)
        .position(|w| w == b"?=")?;
    let text = &rest[text_start..text_start + text_len];
    if text.iter().any(|b| b.is_ascii_whitespace()) && text.len() > 200 {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => base64_lenient(text),
        b'Q' | b'q' => q_decode(text),
        _ => return None,
    };
    // RFC 2231 §5: `charset*language`.
    let charset = charset.split('*').next().unwrap_or(charset).to_string();
    Some((charset, bytes, i + text_start + text_len + 2))
}

/// Base64 that ignores padding and junk: mailers put stray `=` inside words.
pub fn base64_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in text {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// RFC 2047 §4.2 "Q" encoding: `_` is a space, `=XX` a byte.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = text
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'=');
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_utf8_words() {
        assert_eq!(decode_header(b" Hello world"), "Hello world");
        assert_eq!(
            decode_header(b"=?utf-8?b?44GL44GN44GP?= =?UTF-8?Q?=E3=81=88=E3=81=93?="),
            "かきくえこ"
        );
        assert_eq!(decode_header(b"Re: =?utf-8?q?a_b?= c"), "Re: a b c");
    }

    #[test]
    fn iso2022jp_character_split_across_words() {
        // Exchange 2007 NDR: the second word lacks ESC $ B, the first has a
        // stray `=`.
        let raw = b"=?iso-2022-jp?B?VW5kZWxpdmVyYWJsZTogGyRCJS0lOCVIJWkhJiVVJWklQyU3JWUbKEIvGyRCJUsl=?=\r\n =?iso-2022-jp?B?YyE8JXMbKEIK=?=";
        assert_eq!(
            decode_header(raw),
            "Undeliverable: キジトラ・フラッシュ/ニャーン"
        );
    }

    #[test]
    fn folded_words_with_blank_continuation_lines() {
        let raw = b" Re: TEST\r\n \r\n\t=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n  =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=";
        assert_eq!(decode_header(raw), "Re: TEST テストテスト");
    }

    #[test]
    fn cp50220_numero_sign_in_subject() {
        let raw = b"=?iso-2022-jp?B?GyRCJygnJS1iGyhCNDEgGyRCJ2AnZBsoQiAyOC4wOS4yMDE2?=";
        assert_eq!(decode_header(raw), "ЖД№41 от 28.09.2016");
    }

    #[test]
    fn raw_utf8_and_shift_jis_headers() {
        assert_eq!(
            decode_header("メールエラー通知".as_bytes()),
            "メールエラー通知"
        );
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("不在のお知らせ");
        assert_eq!(decode_header(&sjis), "不在のお知らせ");
    }

    #[test]
    fn broken_words_do_not_panic() {
        for raw in [
            &b"=?"[..],
            b"=?utf-8?",
            b"=?utf-8?B?",
            b"=?NONE?B?abc=?=",
            b"=?utf-8?X?abc?=",
            b"=??B?abc?=",
            b"=?utf-8?Q?=E3=8?=",
        ] {
            let _ = decode_header(raw);
        }
    }
}
