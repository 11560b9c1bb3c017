//! Charset decoding with the repairs Japanese mail needs.
//!
//! mail-parser 0.11 (even with `full_encoding`) gets a few real-world cases
//! wrong (see CRATES.md): the `cp932` label falls back to UTF-8, UTF-8 bytes
//! labelled ISO-2022-JP turn into U+FFFD, and unlabelled 8-bit text is read
//! as UTF-8 only. Here a declared label is a hint that the bytes may
//! contradict: we check what the bytes really are before trusting it.

use encoding_rs::{EUC_JP, Encoding, ISO_2022_JP, SHIFT_JIS, UTF_8, WINDOWS_1252};
use mail_parser::decoders::charsets::map::charset_decoder;

const ESC: u8 = 0x1b;

/// Maps a MIME charset label to an encoding_rs encoding, including the
/// Microsoft and legacy Japanese labels that the WHATWG label list lacks.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches('"').to_ascii_lowercase();
    // RFC 2231 / RFC 2184 allow a language suffix: `iso-2022-jp*ja`.
    let l = l.split('*').next().unwrap_or("");
    match l {
        // Windows-31J: NEC and IBM extensions (①, Ⅰ, ㈱, 髙, 﨑) included.
        "cp932" | "ms932" | "x-ms-cp932" | "ibm-943" | "windows-932" | "sjis-win" | "sjis-open"
        | "shift_jisx0213" | "shift_jis-2004" | "x-sjis-cp932" => Some(SHIFT_JIS),
        // CP50220/CP50221/CP50222 and the ISO-2022-JP-1/2/3 supersets: the
        // WHATWG decoder covers JIS X 0208 with NEC row 13 and ESC ( I kana.
        "cp50220"
        | "cp50221"
        | "cp50222"
        | "iso-2022-jp-ms"
        | "iso-2022-jp-1"
        | "iso-2022-jp-2"
        | "iso-2022-jp-3"
        | "iso-2022-jp-2004"
        | "jis"
        | "x-windows-iso2022jp" => Some(ISO_2022_JP),
        "cp51932" | "eucjp-win" | "eucjp-ms" | "euc-jis-2004" | "x-euc-jp" | "euc-jp-ms" => {
            Some(EUC_JP)
        }
        "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "us" => Some(WINDOWS_1252),
        "utf8" => Some(UTF_8),
        other => Encoding::for_label(other.as_bytes()),
    }
}

/// True for labels whose decoding we always redo ourselves rather than trust
/// mail-parser with.
pub fn needs_own_decoding(label: Option<&str>) -> bool {
    let Some(label) = label else { return true };
    let Some(enc) = encoding_for_label(label) else {
        return true;
    };
    enc == ISO_2022_JP || enc == SHIFT_JIS || enc == EUC_JP || enc == WINDOWS_1252
}

/// Whether mail-parser (with `full_encoding`) decodes this exact Japanese
/// label right: its own decoding is then kept unless it shows U+FFFD, which
/// is what wrong bytes under these labels produce. Other spellings (cp932,
/// iso-2022-jp-ms, …) it does not know, and gets wrong silently.
pub fn mail_parser_decodes(label: &str) -> bool {
    let l = label.trim().trim_matches('"');
    ["iso-2022-jp", "shift_jis", "euc-jp"]
        .iter()
        .any(|known| l.eq_ignore_ascii_case(known))
}

/// Decodes `bytes` declared as `label`, correcting labels the bytes contradict.
pub fn decode(bytes: &[u8], label: Option<&str>) -> String {
    if bytes.is_ascii() {
        // 7-bit data: ISO-2022-JP is recognisable by its escape sequences,
        // whatever the label says (or when there is none).
        if bytes.contains(&ESC) && looks_like_iso2022jp(bytes) {
            return decode_with(ISO_2022_JP, bytes).0;
        }
        // UTF-7 and UTF-16 are the 7-bit/binary labels encoding_rs lacks.
        if let Some(f) = label.and_then(|l| charset_decoder(l.trim().as_bytes()))
            && label.is_some_and(|l| l.to_ascii_lowercase().contains("utf"))
        {
            return f(bytes);
        }
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let declared = label.and_then(encoding_for_label);
    // A single-byte or legacy multibyte label is trusted while its bytes
    // decode cleanly; an ASCII, UTF-8 or ISO-2022-JP label on 8-bit bytes is
    // contradicted by them, so the bytes decide.
    let contradicted = match declared {
        None => true,
        Some(enc) => enc == UTF_8 || enc == ISO_2022_JP || label.is_some_and(is_ascii_label),
    };
    // Valid UTF-8 wins over a contradicted label: mislabelled UTF-8 is common.
    if (contradicted || declared == Some(UTF_8))
        && let Ok(s) = std::str::from_utf8(bytes)
    {
        return s.to_string();
    }
    if let Some(enc) = declared.filter(|_| !contradicted) {
        let (text, had_errors) = decode_with(enc, bytes);
        if !had_errors || enc.is_single_byte() {
            return text;
        }
        return guess_legacy(bytes).unwrap_or(text);
    }
    if declared.is_none() {
        // Labels only mail-parser knows (UTF-16 and friends).
        if let Some(f) = label.and_then(|l| charset_decoder(l.trim().as_bytes())) {
            return f(bytes);
        }
    }
    guess_legacy(bytes).unwrap_or_else(|| decode_with(WINDOWS_1252, bytes).0)
}

fn is_ascii_label(label: &str) -> bool {
    matches!(
        label.trim().trim_matches('"').to_ascii_lowercase().as_str(),
        "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" | "us"
    )
}

/// Tries Shift_JIS and EUC-JP and keeps the one that decodes cleanly into
/// text that looks Japanese; `None` when neither does.
pub fn guess_legacy(bytes: &[u8]) -> Option<String> {
    let mut best: Option<(i64, String)> = None;
    for enc in [SHIFT_JIS, EUC_JP] {
        let (text, had_errors) = decode_with(enc, bytes);
        if had_errors {
            continue;
        }
        let score = japanese_score(&text);
        if score > 0 && best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, text));
        }
    }
    best.map(|(_, t)| t)
}

/// Kana and common kanji count for; half-width katakana (what Latin-1 bytes
/// become when misread as Shift_JIS) counts against.
fn japanese_score(text: &str) -> i64 {
    text.chars()
        .map(|c| match c as u32 {
            0x3040..=0x30ff => 2,                   // hiragana, katakana
            0x4e00..=0x9fff => 1,                   // CJK ideographs
            0x3000..=0x303f | 0xff01..=0xff5e => 1, // CJK punctuation, full-width ASCII
            0xff61..=0xff9f => -1,                  // half-width katakana
            _ => 0,
        })
        .sum()
}

fn looks_like_iso2022jp(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| {
        w[0] == ESC && ((w[1] == b'$' && matches!(w[2], b'B' | b'@' | b'(')) || w[1] == b'(')
    })
}

/// Decodes without BOM sniffing; reports whether malformed sequences occurred.
pub fn decode_with(enc: &'static Encoding, bytes: &[u8]) -> (String, bool) {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    (text.into_owned(), had_errors)
}

/// Decodes a raw (unencoded) header value: RFC 6532 UTF-8, or the legacy
/// 8-bit Japanese that old clients put in headers, or ISO-2022-JP escapes.
pub fn decode_raw_header(bytes: &[u8]) -> String {
    decode(bytes, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso2022(s: &str) -> Vec<u8> {
        let (bytes, _, _) = ISO_2022_JP.encode(s);
        bytes.into_owned()
    }

    #[test]
    fn iso2022jp_with_cp50220_extensions() {
        // ① ㈱ Ⅰ are NEC row 13: the encoder refuses them, so build the bytes
        // by hand (ESC $ B, 0x2D21 = ①, 0x2D6A = ㈱, 0x2D35 = Ⅰ, ESC ( B).
        let bytes = b"\x1b$B-!-j-5\x1b(B ok";
        assert_eq!(decode(bytes, Some("iso-2022-jp")), "①㈱Ⅰ ok");
        assert_eq!(decode(bytes, Some("CP50220")), "①㈱Ⅰ ok");
    }

    #[test]
    fn iso2022jp_without_label_is_detected() {
        let bytes = iso2022("すみません。");
        assert_eq!(decode(&bytes, None), "すみません。");
        assert_eq!(decode(&bytes, Some("us-ascii")), "すみません。");
    }

    #[test]
    fn cp932_label_and_extensions() {
        let (bytes, _, _) = SHIFT_JIS.encode("髙﨑 ①㈱ テスト");
        assert_eq!(decode(&bytes, Some("cp932")), "髙﨑 ①㈱ テスト");
        assert_eq!(decode(&bytes, Some("Shift_JIS")), "髙﨑 ①㈱ テスト");
        // No label at all: guessed.
        assert_eq!(decode(&bytes, None), "髙﨑 ①㈱ テスト");
    }

    #[test]
    fn euc_jp_body() {
        let (bytes, _, _) = EUC_JP.encode("世界人権宣言です");
        assert_eq!(decode(&bytes, Some("euc-jp")), "世界人権宣言です");
        assert_eq!(decode(&bytes, Some("utf-8")), "世界人権宣言です");
    }

    #[test]
    fn utf8_labelled_iso2022jp_is_read_as_utf8() {
        let s = "メールエラー通知";
        assert_eq!(decode(s.as_bytes(), Some("iso-2022-jp")), s);
        assert_eq!(decode(s.as_bytes(), Some("us-ascii")), s);
    }

    #[test]
    fn latin1_stays_latin1() {
        assert_eq!(decode(b"caf\xe9", Some("iso-8859-1")), "café");
        assert_eq!(decode(b"caf\xe9 cr\xe8me", None), "café crème");
    }
}
