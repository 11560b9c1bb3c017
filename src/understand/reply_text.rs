//! The new text of a reply: quoted original, attribution lines and
//! signatures removed, as Gmail, Outlook, Apple Mail, Thunderbird, Yahoo,
//! Japanese clients and carriers write them. Works top- and bottom-posted.

/// Returns the reply's own words, trimmed, blank runs collapsed.
pub fn new_text(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let body = split_shared_attribution_lines(&body);
    let lines: Vec<&str> = body.lines().collect();
    let lines = &lines[..cut_point(&lines)];
    let mut keep = vec![true; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if is_quoted(line) || continues_quoted_link(lines, i) {
            keep[i] = false;
            drop_attribution_before(lines, &mut keep, i);
        }
    }
    let kept: Vec<&str> = lines
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(l, _)| l.trim_end())
        .collect();
    let kept = strip_mobile_signature(kept);
    collapse_blank_lines(&kept)
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// "reply On Wed, Apr 4, 2012 at 3:59 PM, bob@x.org wrote:": the client put
/// the attribution on the reply's last line; give it a line of its own.
fn split_shared_attribution_lines(body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 16);
    for line in body.split_inclusive('\n') {
        match shared_attribution_at(line) {
            Some(at) => {
                out.push_str(line[..at].trim_end_matches(['-', ' ']));
                out.push('\n');
                out.push_str(&line[at..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

fn shared_attribution_at(line: &str) -> Option<usize> {
    let t = line.trim_end();
    if is_quoted(t) || !is_attribution(t) {
        return None;
    }
    let at = t
        .find(" On ")
        .map(|i| i + 1)
        .or_else(|| t.find("--- On "))?;
    let before = t[..at].trim_end_matches(['-', ' ']);
    let rest = &t[at..];
    let dated = rest.chars().take(40).any(|c| c.is_ascii_digit());
    (!before.trim().is_empty() && dated).then_some(at)
}

/// A wrapped link inside a quote: " (http://x/y) >" or "_nonce=3dd518)"
/// between two quoted lines belongs to the quote.
fn continues_quoted_link(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim();
    let linkish = (t.starts_with('(') && t.contains("://"))
        || (!t.is_empty() && !t.contains(' ') && (t.ends_with(')') || t.ends_with('>')));
    let after_quote = i > 0 && is_quoted(lines[i - 1]);
    let before_quote = lines.get(i + 1).is_some_and(|l| is_quoted(l));
    linkish && after_quote && before_quote
}

/// Index of the first line of the original message when the reply puts it
/// after a separator (everything from there on is dropped).
fn cut_point(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if is_signature_separator(line)
            || is_original_message_separator(t)
            || is_forward_separator(t)
            || is_header_block(lines, i)
            || (has_text_before(lines, i) && unquoted_attribution_at(lines, i))
        {
            return i;
        }
    }
    lines.len()
}

/// An attribution starting at line `i`, on one line or wrapped over up to
/// six (blank and quoted pieces included, as Polymail writes it), that is
/// not followed by a quote block (that case is `drop_attribution_before`).
fn unquoted_attribution_at(lines: &[&str], i: usize) -> bool {
    let first = lines[i].trim();
    if is_quoted(first) || first.is_empty() {
        return false;
    }
    if is_attribution(first) {
        return !next_nonblank_is_quote(lines, i);
    }
    if !looks_like_attribution_start(first) || !has_date(&first.to_lowercase()) {
        return false;
    }
    let mut joined = first.to_string();
    for (j, line) in lines.iter().enumerate().skip(i + 1).take(5) {
        let piece = line.trim().trim_start_matches('>').trim();
        if piece.is_empty() {
            continue;
        }
        joined.push(' ');
        joined.push_str(piece);
        if is_attribution(&joined) {
            return !next_nonblank_is_quote(lines, j);
        }
    }
    false
}

/// `-- ` (RFC 3676 §4.3) and the common `--` without the space.
fn is_signature_separator(line: &str) -> bool {
    let t = line.trim_end_matches(['\r', '\n']);
    t == "-- " || t == "--" || t == "—" || t == "-- \u{a0}"
}

fn is_original_message_separator(t: &str) -> bool {
    let core = t.trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c.is_whitespace());
    let lower = core.to_lowercase();
    let dashed = t.starts_with("--") || t.starts_with("__") || t.starts_with("==");
    dashed
        && matches!(
            lower.as_str(),
            "original message"
                | "元のメッセージ"
                | "オリジナルメッセージ"
                | "original nachricht"
                | "ursprüngliche nachricht"
                | "antwort nachricht"
                | "oprindelig meddelelse"
                | "opprinnelig melding"
                | "ursprungligt meddelande"
                | "oorspronkelijk bericht"
                | "message d'origine"
                | "mensaje original"
                | "mensagem original"
                | "messaggio originale"
                | "исходное сообщение"
                | "reply message"
                | "返信元メッセージ"
        )
}

/// "---------- Forwarded message ----------", "Begin forwarded message:",
/// "-------- 転送メッセージ --------": a third party's mail, not the
/// member's words, so it is not passed on.
fn is_forward_separator(t: &str) -> bool {
    let core = t.trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c.is_whitespace());
    let lower = core.to_lowercase();
    let lower = lower.trim_end_matches([':', '：']);
    matches!(
        lower,
        "forwarded message"
            | "begin forwarded message"
            | "weitergeleitete nachricht"
            | "message transféré"
            | "転送メッセージ"
            | "転送されたメッセージ"
    )
}

/// Header names that open a quoted header block (From: in several languages).
const FROM_HEADERS: &[&str] = &[
    "from",
    "差出人",
    "送信者",
    "送信元",
    "von",
    "de",
    "fra",
    "från",
    "van",
    "от",
    "od",
];
/// Header names that follow From: in such a block.
const NEXT_HEADERS: &[&str] = &[
    "sent",
    "date",
    "to",
    "subject",
    "cc",
    "送信日時",
    "日時",
    "日付",
    "宛先",
    "件名",
    "gesendet",
    "datum",
    "an",
    "betreff",
    "envoyé",
    "à",
    "objet",
    "sendt",
    "til",
    "emne",
    "skickat",
    "till",
    "ämne",
    "verzonden",
    "aan",
    "onderwerp",
    "отправлено",
    "дата",
    "кому",
    "тема",
    "enviado",
    "para",
    "asunto",
];

/// Outlook-style header block: `From:`/`差出人:` (or `Date:`) followed by
/// `Sent:`/`To:`/`Subject:` or their names in other languages within a few
/// lines; or a lone `From:` line that carries an address.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    let Some(key) = header_key(lines[i]) else {
        return false;
    };
    let from = FROM_HEADERS.contains(&key.as_str());
    if !from && key != "date" {
        return false;
    }
    let followers = lines
        .iter()
        .skip(i + 1)
        .take(4)
        .filter_map(|l| header_key(l))
        .filter(|k| NEXT_HEADERS.contains(&k.as_str()) || FROM_HEADERS.contains(&k.as_str()))
        .count();
    // "Date: Wed, 16 May 2012 …" + "To: …"; "From: bob@x.org" alone. Not
    // "From: Tokyo" / "To: Osaka" in a member's own text.
    let dated = key == "date" && lines[i].chars().any(|c| c.is_ascii_digit());
    let lone_from_address = from && lines[i].contains('@');
    followers >= 2 || (followers == 1 && dated) || lone_from_address
}

/// The name of a header-like line, lower case: "*From:* x" → "from",
/// "De : x" → "de", "件名：x" → "件名". None for other lines.
fn header_key(line: &str) -> Option<String> {
    let t = line.trim().trim_start_matches('*');
    let colon = t.find([':', '：'])?;
    let key = t[..colon].trim().trim_end_matches('*').trim();
    let short = !key.is_empty() && key.chars().count() <= 12 && !key.contains("  ");
    short.then(|| key.to_lowercase())
}

/// An attribution line: "On … wrote:", "2026年11月28日(土) 10:00 山田 <x@y.jp>:",
/// "…のメール:", "…さんは書きました:", "(2026/11/28 10:00), … wrote:", in
/// the languages talon knows; "---- X wrote ----" as Android writes it.
fn is_attribution(t: &str) -> bool {
    let t = t.trim();
    if t.starts_with("--") && t.ends_with("--") {
        let core = t.trim_matches(|c: char| c == '-' || c.is_whitespace());
        return !core.is_empty() && is_attribution(&format!("{core}:"));
    }
    if !(t.ends_with(':') || t.ends_with('：') || t.ends_with('>')) {
        return false;
    }
    let lower = t.to_lowercase();
    let phrase = lower.trim_end_matches([':', '：']).trim_end();
    let ends_with_phrase = lower.ends_with(':') || lower.ends_with('：');
    if ends_with_phrase && ATTRIBUTION_PHRASES.iter().any(|p| phrase.ends_with(p)) {
        return true;
    }
    // "On 11-Apr-2011, at 6:54 PM, Roman <r@x.com> sent:"
    if phrase.ends_with(" sent") && lower.starts_with("on ") && has_date(&lower) {
        return true;
    }
    // A date and an address, then a colon or the address's ">": Gmail in
    // Japanese, mail.ru, Yandex, "2011/4/7 Nathan <support@example.com>".
    let address = lower.contains('@');
    (address && lower.ends_with(">:") && has_date(&lower))
        || (address && lower.ends_with('>') && starts_with_numeric_date(&lower))
}

/// "2011/4/7 …", "26.06.2014, …", "2014-10-17 …".
fn starts_with_numeric_date(lower: &str) -> bool {
    let head: String = lower.chars().take(10).collect();
    let seps = head
        .chars()
        .filter(|c| matches!(c, '/' | '.' | '-'))
        .count();
    head.starts_with(|c: char| c.is_ascii_digit()) && seps >= 2 && has_date(&head)
}

const ATTRIBUTION_PHRASES: &[&str] = &[
    "wrote",
    "writes",
    "書きました",
    "のメール",
    "のメッセージ",
    "schrieb",
    "a écrit",
    "escribió",
    "escreveu",
    "ha scritto",
    "skrev",
    "schreef",
    "het volgende geschreven",
    "napisał",
    "napisała",
    "kirjoitti",
    "đã viết",
    "написал",
    "написала",
    "написал(а)",
];

/// A date in the line: 2026年11月, 2026/11/28, 28.11.2026, 2014-10-17, or a
/// clock time (10:07, 6:54).
fn has_date(lower: &str) -> bool {
    if lower.contains('年') && lower.contains('月') {
        return true;
    }
    let b = lower.as_bytes();
    b.windows(3).any(|w| {
        w[0].is_ascii_digit() && matches!(w[1], b'/' | b'.' | b'-' | b':') && w[2].is_ascii_digit()
    })
}

fn next_nonblank_is_quote(lines: &[&str], i: usize) -> bool {
    lines[i + 1..]
        .iter()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| is_quoted(l))
}

fn has_text_before(lines: &[&str], i: usize) -> bool {
    lines[..i]
        .iter()
        .any(|l| !l.trim().is_empty() && !is_quoted(l))
}

/// Before a quote block: drop the attribution, which may wrap onto up to
/// three lines ("On Mon, … <" / "x@y> wrote:"), and the blank lines between.
fn drop_attribution_before(lines: &[&str], keep: &mut [bool], quote: usize) {
    let mut j = quote;
    while j > 0 && lines[j - 1].trim().is_empty() {
        j -= 1;
    }
    if j == 0 || is_quoted(lines[j - 1]) {
        return;
    }
    // Grow the attribution upwards while the joined text still reads as one.
    // Longest first; a wrapped attribution has no blank line inside.
    for start in j.saturating_sub(3)..j {
        if lines[start..j].iter().any(|l| l.trim().is_empty()) {
            continue;
        }
        let joined = lines[start..j]
            .iter()
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(" ");
        if is_attribution(&joined) && (start + 1 == j || looks_like_attribution_start(lines[start]))
        {
            for k in keep.iter_mut().take(quote).skip(start) {
                *k = false;
            }
            return;
        }
    }
}

/// The first line of a wrapped attribution carries a date or an "On".
fn looks_like_attribution_start(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("On ")
        || t.starts_with("Le ")
        || t.starts_with("Am ")
        || t.starts_with("W dniu ")
        || t.starts_with('(')
        || t.chars().take(12).filter(char::is_ascii_digit).count() >= 4
}

/// "Sent from my iPhone", "iPhoneから送信" and similar last lines.
fn strip_mobile_signature(mut lines: Vec<&str>) -> Vec<&str> {
    loop {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let Some(last) = lines.last() else { break };
        let t = last.trim().to_lowercase();
        // Outlook's rule line above the quoted header block.
        let is_rule =
            t.chars().count() >= 5 && t.chars().all(|c| matches!(c, '_' | '-' | '=' | '—' | '─'));
        let is_sig = is_rule
            || t.starts_with("sent from ")
            || t.starts_with("sent with ")
            || t.starts_with("get outlook for")
            || t.ends_with("から送信")
            || t.ends_with("から送信しました")
            || t.starts_with("送信元:")
            || t == "sent from my iphone";
        if is_sig && (is_rule || t.chars().count() < 60) {
            lines.pop();
        } else {
            break;
        }
    }
    lines
}

fn collapse_blank_lines(lines: &[&str]) -> String {
    let mut out = String::new();
    let mut blank_run = false;
    for l in lines {
        if l.trim().is_empty() {
            blank_run = true;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run {
                out.push('\n');
            }
        }
        blank_run = false;
        out.push_str(l);
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_clients() {
        assert_eq!(
            new_text("Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan <x@y.z> wrote:\n\n> Hi\n"),
            "Hello"
        );
        assert_eq!(
            new_text("Hello\n\n-----Original Message-----\nFrom: a\nHi"),
            "Hello"
        );
        assert_eq!(
            new_text("Hello\n\nFrom: a@b.c\nSent: today\nTo: x\nSubject: y\n\nHi"),
            "Hello"
        );
        assert_eq!(
            new_text("On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi \nHello"),
            "Hello"
        );
        assert_eq!(new_text("Hello \n\n-- \nxxx\nSent with Sparrow"), "Hello");
        assert_eq!(
            new_text("Hello\n\nSent from my iPhone\n\nOn Apr 3, bob wrote:\n\n> Hi"),
            "Hello"
        );
    }

    #[test]
    fn wrapped_attribution_keeps_text_above() {
        let body = "Hello\n02.04.2012 14:20 пользователь \"bob@x.org\" <\nbob@x.org> написал:\n\n> Hi\n>\n";
        assert_eq!(new_text(body), "Hello");
    }

    #[test]
    fn japanese_clients() {
        assert_eq!(
            new_text(
                "ぜひお受けします。\n来週火曜日なら対応可能です。\n\n2026年11月28日(土) 10:00 山田 <x@y.jp>:\n> 看護師の…"
            ),
            "ぜひお受けします。\n来週火曜日なら対応可能です。"
        );
        assert_eq!(
            new_text("今回は難しいです。\n\n-----元のメッセージ-----\n差出人: Circle <c@x>\n"),
            "今回は難しいです。"
        );
        assert_eq!(
            new_text(
                "お引き受けします。\n\n鈴木\n\n差出人: C <c@x>\n送信日時: 2026年11月28日 10:00\n件名: x\n\n本文"
            ),
            "お引き受けします。\n\n鈴木"
        );
        assert_eq!(
            new_text(
                "質問です？\n\niPhoneから送信\n\n2026/11/28 10:00、Circle <c@x>のメール:\n\n> 本文"
            ),
            "質問です？"
        );
        assert_eq!(
            new_text("辞退します。\n\nCircle さんは書きました:\n> 本文\n\n-- \n森 結衣"),
            "辞退します。"
        );
        assert_eq!(
            new_text("はい。\n\n(2026/11/28 10:00), Circle wrote:\n> 本文"),
            "はい。"
        );
    }

    #[test]
    fn bottom_posted_reply() {
        assert_eq!(
            new_text(
                "On Sat, Nov 28, 2026 at 10:00 AM Circle <c@x> wrote:\n> 本文\n> 本文\n\nSorry, I can't this time.\n"
            ),
            "Sorry, I can't this time."
        );
    }

    #[test]
    fn attribution_shares_the_reply_line() {
        assert_eq!(
            new_text("Fine by me On Tue, Dec 1, 2026 at 9:00 AM, Ann <a@x.org> wrote:\n> Hi"),
            "Fine by me"
        );
        assert_eq!(
            new_text("ok - see you--- On Tue, Dec 1, 2026 at 9:00 AM, a@x.org wrote:\n> Hi"),
            "ok - see you"
        );
        assert_eq!(new_text("We met On Monday.\n> Hi"), "We met On Monday.");
    }

    #[test]
    fn attribution_wrapped_over_lines_without_a_quote_after() {
        assert_eq!(
            new_text(
                "Yes\n\nOn Tue, Dec 1, 2026 at 9:00 AM Ann\n\n<\nmailto:Ann <a@x.org>\n> wrote:\nThe request"
            ),
            "Yes"
        );
        assert_eq!(
            new_text(
                "Tak\n\nW dniu 1 grudnia 2026 09:00 użytkownik Ann <a@x.org>\nnapisał:\n\nThe request"
            ),
            "Tak"
        );
        // A sentence starting with "On" is not an attribution.
        assert_eq!(
            new_text("On Monday I can come.\nMy colleague said so."),
            "On Monday I can come.\nMy colleague said so."
        );
    }

    #[test]
    fn attributions_in_more_languages() {
        for line in [
            "Op 1-12-2026 9:00 schreef Ann <a@x.org>:",
            "Den 1 december 2026 09:00, Ann (a@x.org) skrev:",
            "Vào 09:00 1 tháng 12, 2026, Ann <a@x.org> đã viết:",
            "On 1-Dec-2026, at 9:00 AM, Ann <a@x.org> sent:",
            "---- Ann wrote ----",
            "-----On 12/01/2026 09:00 AM, Ann wrote-----",
            "01.12.2026, 09:00, \"Ann\" <a@x.org>:",
            "2026-12-01 9:00 GMT+09:00 Ann <a@x.org>:",
            "2026/12/1 Ann <a@x.org>",
        ] {
            assert_eq!(
                new_text(&format!("Yes\n\n{line}\n\nThe request")),
                "Yes",
                "{line}"
            );
        }
        assert_eq!(new_text("Yes\nI sent:\nthe form"), "Yes\nI sent:\nthe form");
    }

    #[test]
    fn separators_and_header_blocks_in_more_languages() {
        for sep in [
            "-----Ursprüngliche Nachricht-----",
            "-----Oprindelig meddelelse-----",
            "---------- Forwarded message ----------",
            "-------- 転送メッセージ --------",
            "Fra: a@x.org\nSendt: 1. december 2026\nTil: b\nEmne: c",
            "Från: Ann [mailto:a@x.org]\nSkickat: den 1 december\nTill: b\nÄmne: c",
            "De : Ann [mailto:a@x.org]\nEnvoyé : mardi\nÀ : b\nObjet : c",
            "От: Ann\nОтправлено: 1 декабря\nКому: b",
            "Date: Tue, 1 Dec 2026 09:00:00 +0900\nTo: b@x.org",
            "From: a@x.org",
        ] {
            assert_eq!(
                new_text(&format!("Yes\n\n{sep}\n\nThe request")),
                "Yes",
                "{sep}"
            );
        }
        // Travel plans are not a header block.
        assert_eq!(
            new_text("Route:\nFrom: Tokyo\nTo: Osaka"),
            "Route:\nFrom: Tokyo\nTo: Osaka"
        );
    }

    #[test]
    fn wrapped_link_inside_a_quote() {
        let body = "Yes\n\nOn Tue, Dec 1, 2026 at 9:00 AM, Ann wrote:\n> See (http://x.org/a\n_b=1)\n>\n (http://x.org/c) >\n> end\n";
        assert_eq!(new_text(body), "Yes");
        let inline = "> Saturday?\nyes, see http://x.org/map\n> Sunday?\nno";
        assert_eq!(new_text(inline), "yes, see http://x.org/map\nno");
    }
}
