//! Whole-message decoding and classification cases written for this project:
//! Japanese charsets, split encoded-words, out-of-office subjects, quote
//! headers, relay tokens, commands and limits.

use circle_relay::understand::{
    AutoReason, Classification, Command, Limits, RelayIdentity, TokenSource, classify, new_text,
    parse,
};
use encoding_rs::{EUC_JP, SHIFT_JIS};

fn relay() -> RelayIdentity {
    RelayIdentity::new("circle@circle.test").expect("valid relay address")
}

fn message(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut m =
        format!("From: Hanako <hanako@example.jp>\r\nTo: circle@circle.test\r\n{headers}\r\n")
            .into_bytes();
    m.extend_from_slice(body);
    m
}

fn parsed(headers: &str, body: &[u8]) -> circle_relay::understand::ParsedMessage {
    parse(&message(headers, body), &Limits::default()).expect("parses")
}

#[test]
fn iso2022jp_body_with_cp50220_extensions() {
    // ① ㈱ Ⅰ (NEC row 13) inside ESC $ B.
    let m = parsed(
        "Subject: test\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n",
        b"\x1b$B-!-j-5$G$9\x1b(B\r\n",
    );
    assert_eq!(m.text.trim(), "①㈱Ⅰです");
}

#[test]
fn shift_jis_with_cp932_label_and_euc_jp() {
    let (sjis, _, _) = SHIFT_JIS.encode("髙﨑です。①よろしく");
    let m = parsed(
        "Subject: a\r\nContent-Type: text/plain; charset=cp932\r\n",
        &sjis,
    );
    assert_eq!(m.text.trim(), "髙﨑です。①よろしく");
    let (euc, _, _) = EUC_JP.encode("看護師の資格があります");
    let m = parsed(
        "Subject: a\r\nContent-Type: text/plain; charset=EUC-JP\r\n",
        &euc,
    );
    assert_eq!(m.text.trim(), "看護師の資格があります");
}

#[test]
fn utf8_bytes_labelled_iso2022jp() {
    let m = parsed(
        "Subject: a\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n",
        "メールボックスが一杯です".as_bytes(),
    );
    assert_eq!(m.text.trim(), "メールボックスが一杯です");
}

#[test]
fn subject_split_inside_a_multibyte_character() {
    // "ニャーン" split after the first byte of ャ, second word without ESC $ B.
    let m = parsed(
        "Subject: =?iso-2022-jp?B?GyRCJUsl=?=\r\n =?iso-2022-jp?B?YyE8JXMbKEI=?=\r\n",
        b"body\r\n",
    );
    assert_eq!(m.subject, "ニャーン");
}

#[test]
fn html_only_mail_is_read_as_text() {
    let m = parsed(
        "Subject: a\r\nContent-Type: text/html; charset=utf-8\r\n",
        "<html><body><p>看護師を<b>探して</b>います</p></body></html>".as_bytes(),
    );
    assert!(m.text.contains("看護師を探しています"), "{:?}", m.text);
    assert!(m.text_from_html);
}

#[test]
fn japanese_out_of_office_subjects() {
    let r = relay();
    for subject in [
        "【自動返信】不在のお知らせ",
        "自動応答: 代講",
        "休暇中です",
        "不在",
    ] {
        let m = parsed(
            &format!("Subject: =?utf-8?b?{}?=\r\n", b64(subject)),
            b"body\r\n",
        );
        assert_eq!(
            classify(&m, &r),
            Classification::AutoReply(AutoReason::Subject),
            "{subject}"
        );
    }
}

#[test]
fn reply_by_token_and_japanese_quote_removed() {
    let m = parsed(
        "Subject: Re: [Circle #1] x\r\nIn-Reply-To: <cr.abcdefghij0123.1@circle.test>\r\nContent-Type: text/plain; charset=utf-8\r\n",
        "お受けします。\r\n\r\n2026年11月28日(土) 10:00 Circle <circle@circle.test>:\r\n> 看護師の方\r\n".as_bytes(),
    );
    let Classification::Reply(t) = classify(&m, &relay()) else {
        panic!("not a reply");
    };
    assert_eq!(
        (t.source, t.token.as_str()),
        (TokenSource::Thread, "abcdefghij0123")
    );
    assert_eq!(new_text(&m.text), "お受けします。");
}

#[test]
fn japanese_command_in_subject() {
    let m = parsed(
        &format!("Subject: =?utf-8?b?{}?=\r\n", b64("休止 2026-12-31まで")),
        b"\r\n",
    );
    assert!(matches!(
        classify(&m, &relay()),
        Classification::Command(Command::Pause { until: Some(_) })
    ));
}

#[test]
fn mbox_from_line_is_tolerated() {
    let mut raw = b"From someone@example.jp Sat Nov 28 10:00:00 2026\n".to_vec();
    raw.extend(message("Subject: hello\r\n", b"body\r\n"));
    let m = parse(&raw, &Limits::default()).expect("parses");
    assert_eq!(m.subject, "hello");
    assert_eq!(
        m.from.map(|f| f.address),
        Some("hanako@example.jp".to_string())
    );
}

/// Minimal base64 for building encoded-words in tests.
fn b64(s: &str) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in s.as_bytes().chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
