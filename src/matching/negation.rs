//! What a request says it does not want: 「ペンキの塗装ではなく」, "rather
//! than glued", "No translation needed". Those words name no need, so the
//! matcher reads the request without them (a painter is no answer to a
//! request for a plasterer that says "not paint").
//!
//! Spans are char offsets in the normalised segment (see `text::normalize`),
//! as the request's terms and vocabulary hits are.

use super::terms::is_hiragana;

/// Japanese endings that deny the phrase before them.
const JA_AFTER: &[&str] = &[
    "ではなく",
    "ではない",
    "ではありません",
    "じゃなく",
    "じゃない",
    "でなく",
    "は不要",
    "は要りません",
    "はいりません",
    "は必要ありません",
];

/// Words before a Japanese denial that make it "not only" (「だけでなく」).
const JA_NOT_ONLY: &[&str] = &["だけ", "のみ", "ばかり"];

/// English cues that deny the rest of their clause.
const EN_BEFORE: &[&str] = &[
    "rather than ",
    "instead of ",
    "not a ",
    "not an ",
    "no need for ",
    "don't need ",
    "do not need ",
    "not looking for ",
];

/// Ends of an English clause "No X needed".
const EN_NOT_NEEDED: &[&str] = &["needed", "required", "necessary"];

/// The spans of denied phrases in a normalised segment.
pub(super) fn negated_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = japanese_spans(chars);
    spans.extend(english_spans(chars));
    spans
}

fn japanese_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let text: String = chars.iter().collect();
    let mut spans = Vec::new();
    for cue in JA_AFTER {
        for (byte, _) in text.match_indices(cue) {
            let end = text[..byte].chars().count();
            let before: String = chars[..end].iter().collect();
            if JA_NOT_ONLY.iter().any(|w| before.ends_with(w)) {
                continue;
            }
            let start = japanese_phrase_start(chars, end);
            if start < end {
                spans.push((start, end));
            }
        }
    }
    spans
}

/// Where the phrase ending at `end` begins: after the last punctuation,
/// space, or particle (を, が, は, も) before a word (仕上げは|塗装; も of
/// もの is no particle).
fn japanese_phrase_start(chars: &[char], end: usize) -> usize {
    let mut s = end;
    while s > 0 {
        let c = chars[s - 1];
        let particle = matches!(c, 'を' | 'が' | 'は' | 'も') && !is_hiragana(chars[s]);
        if clause_break(c) || particle {
            break;
        }
        s -= 1;
    }
    s
}

fn clause_break(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '、' | '。' | ',' | '.' | '!' | '?' | ';' | ':' | '(' | ')'
        )
}

fn english_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let text: String = chars.iter().collect();
    let mut spans = Vec::new();
    for cue in EN_BEFORE {
        for (byte, m) in text.match_indices(cue) {
            let at_word = text[..byte]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric());
            if !at_word {
                continue;
            }
            // the cue's own words ("rather") are no asked thing either
            let start = text[..byte].chars().count();
            let words = start + m.chars().count();
            spans.push((start, english_clause_end(chars, words)));
        }
    }
    spans.extend(not_needed_spans(chars));
    spans
}

/// The end of the clause from `start`: punctuation or the word "but".
fn english_clause_end(chars: &[char], start: usize) -> usize {
    let but = |e: usize| {
        chars[e..].starts_with(&[' ', 'b', 'u', 't'])
            && chars.get(e + 4).is_none_or(|c| !c.is_alphanumeric())
    };
    (start..chars.len())
        .find(|&e| clause_break_en(chars[e]) || but(e))
        .unwrap_or(chars.len())
}

fn clause_break_en(c: char) -> bool {
    matches!(c, ',' | '.' | '!' | '?' | ';' | ':' | '(' | ')' | '\n')
}

/// "No translation needed": a clause that opens with "no" and ends with a
/// word of need.
fn not_needed_spans(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for end in (0..=chars.len()).filter(|&i| i == chars.len() || clause_break_en(chars[i])) {
        let clause: String = chars[start..end].iter().collect();
        let lead = clause.len() - clause.trim_start().len();
        let words: Vec<&str> = clause.split_whitespace().collect();
        if words.len() >= 3
            && words[0] == "no"
            && words.last().is_some_and(|w| EN_NOT_NEEDED.contains(w))
        {
            let from = start + lead + 3;
            let to = start + clause.trim_end().chars().count() - words[words.len() - 1].len();
            spans.push((from, to));
        }
        start = end + 1;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::text::normalize;

    fn denied(text: &str) -> Vec<String> {
        let chars: Vec<char> = normalize(text).chars().collect();
        negated_spans(&chars)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect::<String>().trim().to_string())
            .collect()
    }

    #[test]
    fn a_japanese_denial_covers_the_phrase_before_it() {
        assert_eq!(
            denied("ペンキの塗装ではなく、昔ながらの塗り壁で"),
            ["ペンキの塗装"]
        );
        assert_eq!(denied("仕上げは塗装じゃなくて漆喰がいいです"), ["塗装"]);
        assert_eq!(denied("英訳は不要です"), ["英訳"]);
    }

    #[test]
    fn not_only_is_no_denial() {
        assert!(denied("ペンキだけでなく漆喰も").is_empty());
        assert!(denied("翻訳のみではなく通訳も").is_empty());
    }

    #[test]
    fn an_english_denial_covers_the_rest_of_its_clause() {
        assert_eq!(
            denied("I'd like it repaired with kintsugi rather than glued."),
            ["rather than glued"]
        );
        assert_eq!(
            denied("We want a plasterer, not a painter."),
            ["not a painter"]
        );
        assert_eq!(denied("Not a painter but a plasterer"), ["not a painter"]);
        assert_eq!(
            denied("word for word. No translation needed."),
            ["translation"]
        );
    }

    #[test]
    fn ordinary_sentences_deny_nothing() {
        assert!(denied("I'm not sure who to ask about sign painting.").is_empty());
        assert!(denied("Not only bread but also cakes.").is_empty());
        assert!(denied("No rush, any time in May is fine.").is_empty());
        assert!(denied("保育園で紙芝居をしてくださる方を探しています").is_empty());
    }
}
