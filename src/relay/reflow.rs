//! Text as a reader should see it: a request's hard-wrapped lines joined into
//! paragraphs (lists kept), plain text wrapped for reading, and HTML where
//! Japanese breaks only between phrases.

/// Paragraphs of `text`: blank lines separate them; the lines inside one are
/// joined (without a space between two Japanese characters), except lines
/// that start a list item, which keep their own line.
pub fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let flush = |current: &mut Vec<String>, out: &mut Vec<String>| {
        if !current.is_empty() {
            out.push(current.join("\n"));
            current.clear();
        }
    };
    for raw in text.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            flush(&mut current, &mut out);
            continue;
        }
        match current.last_mut() {
            Some(last) if !starts_item(line) && !ends_hard(last) => join_into(last, line.trim()),
            _ => current.push(line.trim().to_string()),
        }
    }
    flush(&mut current, &mut out);
    out
}

/// Bullets, numbers and headings that begin their own line.
fn starts_item(line: &str) -> bool {
    let t = line.trim_start();
    let first = t.chars().next().unwrap_or(' ');
    if "・-*•●○■□◆◇▶※①②③④⑤⑥⑦⑧⑨⑩【>＞".contains(first) {
        return true;
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    !digits.is_empty() && t[digits.len()..].starts_with(['.', ')', '）', '．'])
}

/// A line that is a short label ("Hello,", 「よろしくお願いします。」 at the
/// end) still joins; only a line ending like a signature label stays.
fn ends_hard(line: &str) -> bool {
    line.ends_with(':') || line.ends_with('：')
}

fn join_into(last: &mut String, next: &str) {
    let a = last.chars().next_back().unwrap_or(' ');
    let b = next.chars().next().unwrap_or(' ');
    if !(is_cjk(a) || is_cjk(b)) {
        last.push(' ');
    }
    last.push_str(next);
}

pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3000}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}'
        | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309f}')
}

/// Particles that end a phrase (を, は, が, …): okurigana inside a word
/// (作り直す, 引き受け) are not among them.
fn is_particle(c: char) -> bool {
    "をはがにでともへのやかね".contains(c)
}

/// Where a Japanese line may break without splitting a phrase: after
/// punctuation and closing brackets, and where a particle meets kanji,
/// katakana or Latin. A simple stand-in for phrase segmentation
/// that needs no dictionary.
fn break_after(a: char, b: char) -> bool {
    if "、。，．！？!?）」』】〉》".contains(a) {
        // A weekday's bracket stays with the hour after it: （木）18時.
        let weekday_hour = a == '）' && b.is_ascii_digit();
        return !weekday_hour && !"、。，．！？!?）」』】〉》ー".contains(b);
    }
    // An honorific お/ご starts a phrase after を, は, が, に: …を<wbr>お送りします.
    if "をはがに".contains(a) && "おご".contains(b) {
        return true;
    }
    // Before an opening bracket, except a date's weekday: 12月3日（木）.
    if "「『【〈《".contains(b) || (b == '（' && !a.is_ascii_digit() && a != '日') {
        return true;
    }
    is_particle(a) && !is_hiragana(b) && !"ー、。".contains(b)
}

/// HTML-escapes `s`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One paragraph as escaped HTML: `<wbr>` at phrase boundaries (the element
/// around it sets `word-break: keep-all`), `<br>` at kept line breaks.
pub fn html_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c == '\n' {
            out.push_str("<br>");
            prev = None;
            continue;
        }
        if let Some(p) = prev
            && (is_cjk(p) || is_cjk(c))
            && break_after(p, c)
        {
            out.push_str("<wbr>");
        }
        out.push_str(&escape(&c.to_string()));
        prev = Some(c);
    }
    out
}

/// Display width: two columns for full-width characters.
fn width(c: char) -> usize {
    if is_cjk(c) { 2 } else { 1 }
}

/// Wraps one paragraph for a plain-text part at `cols` columns: English at
/// spaces, Japanese only at phrase boundaries; kept line breaks stay.
pub fn wrap(text: &str, cols: usize, indent: &str) -> String {
    text.lines()
        .map(|l| wrap_line(l, cols, indent))
        .collect::<Vec<_>>()
        .join("\n")
}

fn wrap_line(line: &str, cols: usize, indent: &str) -> String {
    // Break candidates: after a space, or at a phrase boundary.
    let chars: Vec<char> = line.chars().collect();
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    let mut last_break: Option<(usize, usize)> = None; // (byte index in cur, width there)
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        cur_w += width(c);
        let next = chars.get(i + 1).copied();
        let can_break = match next {
            Some(n) => c == ' ' || ((is_cjk(c) || is_cjk(n)) && break_after(c, n)),
            None => false,
        };
        if can_break {
            last_break = Some((cur.len(), cur_w));
        }
        if cur_w + indent.len() > cols
            && let Some((at, w)) = last_break.take()
        {
            let rest = cur.split_off(at);
            lines.push(cur.trim_end().to_string());
            cur = rest;
            cur_w -= w;
        }
    }
    lines.push(cur.trim_end().to_string());
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text for a Japanese carrier phone, whose filters reject or hide mail
/// with URLs: every `http://` and `https://` the sender typed loses its
/// scheme (any case, full-width colon and slashes too), so the address
/// still reads (`example.com/form`) but is no link.
pub fn unlink(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_scheme(rest) {
        out.push_str(&rest[..at.0]);
        rest = &rest[at.0 + at.1..];
    }
    out.push_str(rest);
    out
}

/// Where the next `http(s)://` starts and how long it is, in bytes.
fn find_scheme(s: &str) -> Option<(usize, usize)> {
    s.char_indices()
        .filter(|(_, c)| matches!(c, 'h' | 'H' | 'ｈ' | 'Ｈ'))
        .find_map(|(i, _)| scheme_len(&s[i..]).map(|len| (i, len)))
}

fn scheme_len(s: &str) -> Option<usize> {
    let norm = |c: char| match c {
        'ａ'..='ｚ' => char::from_u32(c as u32 - 'ａ' as u32 + 'a' as u32).unwrap_or(c),
        'Ａ'..='Ｚ' => char::from_u32(c as u32 - 'Ａ' as u32 + 'a' as u32).unwrap_or(c),
        '：' => ':',
        '／' => '/',
        c => c.to_ascii_lowercase(),
    };
    let mut len = 0;
    let mut seen = String::new();
    for c in s.chars() {
        seen.push(norm(c));
        len += c.len_utf8();
        if seen == "http://" || seen == "https://" {
            return Some(len);
        }
        if !"https://".starts_with(seen.as_str()) && !"http://".starts_with(seen.as_str()) {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_wraps_join_and_paragraphs_and_lists_stay() {
        let text = "Our language school in Tokyo needs a nurse or a certified instructor to teach\n\
                    a half-day course.\n\nDates:\n- Sat 9 Jan\n- Sun 10 Jan\n\n\
                    社員が10名を超えたので、就業規則を\n作り直したいです。\n";
        let p = paragraphs(text);
        assert_eq!(
            p[0],
            "Our language school in Tokyo needs a nurse or a certified instructor to teach a half-day course."
        );
        assert_eq!(p[1], "Dates:\n- Sat 9 Jan\n- Sun 10 Jan");
        assert_eq!(p[2], "社員が10名を超えたので、就業規則を作り直したいです。");
    }

    #[test]
    fn japanese_breaks_only_between_phrases() {
        let h = html_inline("就業規則を作り直したいです。<急ぎ>");
        assert_eq!(h, "就業規則を<wbr>作り直したいです。<wbr>&lt;急ぎ&gt;");
        let w = wrap(
            "社員が10名を超えたので、就業規則を作り直したいです。社労士の方を紹介していただけませんか。",
            30,
            "",
        );
        for line in w.lines() {
            assert!(line.chars().map(width).sum::<usize>() <= 30, "{line}");
        }
        assert!(w.contains("就業規則を"), "{w}");
        assert!(!w.contains("就業\n"), "{w}");
    }

    #[test]
    fn english_wraps_at_spaces() {
        let w = wrap(
            "The request asks for a nurse and first-aid teaching; your profile lists both.",
            30,
            "  ",
        );
        assert!(
            w.lines().all(|l| l.len() <= 30 && l.starts_with("  ")),
            "{w}"
        );
        assert_eq!(w.split_whitespace().count(), 13);
    }

    #[test]
    fn unlink_drops_every_scheme_and_keeps_the_address() {
        assert_eq!(
            unlink("申込: https://example.com/form?a=1 と HTTP://Example.org／ｘ"),
            "申込: example.com/form?a=1 と Example.org／ｘ"
        );
        assert_eq!(unlink("ｈｔｔｐｓ：／／例え.jp です"), "例え.jp です");
        assert_eq!(
            unlink("the HTTP protocol, hhttp://x"),
            "the HTTP protocol, hx"
        );
        assert_eq!(unlink("no links here"), "no links here");
    }

    #[test]
    fn phrases_start_at_honorifics_and_a_deadline_holds_together() {
        let h = html_inline("メールをお送りします。12月3日（木）18時までに");
        assert_eq!(h, "メールを<wbr>お送りします。<wbr>12月3日（木）18時までに");
    }
}
