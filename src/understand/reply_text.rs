//! The new text of a reply: quoted original, attribution lines and
//! signatures removed, as Gmail, Outlook, Apple Mail, Thunderbird, Yahoo,
//! Japanese clients and carriers write them. Works top- and bottom-posted.

/// Returns the reply's own words, trimmed, blank runs collapsed.
pub fn new_text(body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = body.lines().collect();
    let lines = &lines[..cut_point(&lines)];
    let mut keep = vec![true; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        if is_quoted(line) {
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

/// Index of the first line of the original message when the reply puts it
/// after a separator (everything from there on is dropped).
fn cut_point(lines: &[&str]) -> usize {
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if is_signature_separator(line)
            || is_original_message_separator(t)
            || is_header_block(lines, i)
            || (is_attribution(t) && !next_nonblank_is_quote(lines, i) && has_text_before(lines, i))
        {
            return i;
        }
    }
    lines.len()
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
                | "message d'origine"
                | "mensaje original"
                | "messaggio originale"
                | "reply message"
                | "返信元メッセージ"
        )
}

/// Outlook-style header block: `From:`/`差出人:` followed by `Sent:`/`Date:`/
/// `To:`/`Subject:` or their Japanese names within a few lines.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    const FROM: &[&str] = &[
        "from:",
        "差出人:",
        "差出人：",
        "送信者:",
        "送信元:",
        "von:",
        "de:",
        "*from:*",
    ];
    const NEXT: &[&str] = &[
        "sent:",
        "date:",
        "to:",
        "subject:",
        "cc:",
        "送信日時:",
        "送信日時：",
        "日時:",
        "宛先:",
        "宛先：",
        "件名:",
        "件名：",
        "*sent:*",
        "*to:*",
        "*subject:*",
        "gesendet:",
        "an:",
        "betreff:",
    ];
    let starts = |l: &str, set: &[&str]| {
        let l = l.trim().to_lowercase();
        set.iter().any(|p| l.starts_with(p))
    };
    if !starts(lines[i], FROM) {
        return false;
    }
    lines
        .iter()
        .skip(i + 1)
        .take(4)
        .filter(|l| starts(l, NEXT))
        .count()
        >= 2
}

/// An attribution line: "On … wrote:", "2026年11月28日(土) 10:00 山田 <x@y>:",
/// "…のメール:", "…さんは書きました:", "(2026/11/28 10:00), … wrote:".
fn is_attribution(t: &str) -> bool {
    if !(t.ends_with(':') || t.ends_with('：')) {
        return false;
    }
    let lower = t.to_lowercase();
    let phrases = [
        "wrote:",
        "writes:",
        "書きました:",
        "書きました：",
        "のメール:",
        "のメッセージ:",
        "のメール：",
        "のメッセージ：",
        "schrieb:",
        "a écrit :",
        "a écrit:",
        "escribió:",
        "написал:",
        "написала:",
    ];
    if phrases.iter().any(|p| lower.ends_with(p)) {
        return true;
    }
    // Gmail in Japanese: a date and an address, then a colon.
    let has_date = lower.contains('年') && lower.contains('月') || lower.contains('/');
    has_date && lower.contains('@') && lower.ends_with(">:")
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
}
