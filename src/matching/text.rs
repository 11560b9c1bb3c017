//! Text normalisation and lexical tokens shared by the matcher and the BM25
//! baseline: NFKC (full- and half-width forms become one), lowercase, Latin
//! words with a light plural strip, and CJK character bigrams (Japanese has
//! no spaces; bigrams need no dictionary and catch two-character words).

use unicode_normalization::UnicodeNormalization;

/// NFKC then lowercase: `ＤｉＳＣ` → `disc`, `ｶﾞｲﾄﾞ` → `ガイド`.
pub fn normalize(s: &str) -> String {
    s.nfkc().flat_map(char::to_lowercase).collect()
}

/// Hiragana, katakana (with the long-vowel mark) and CJK ideographs.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{3005}')
}

/// Part of a space-separated word (Latin letters, digits and the like).
pub fn is_word(c: char) -> bool {
    (c.is_alphanumeric() && !is_cjk(c)) || c == '+' || c == '#'
}

fn is_hiragana(c: char) -> bool {
    ('\u{3040}'..='\u{309F}').contains(&c)
}

/// Words too common to tell one profile from another.
const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "has", "have", "hi", "hello", "i", "in", "is", "it", "its", "me", "my", "of", "on", "or",
    "our", "so", "that", "the", "their", "them", "they", "this", "to", "us", "we", "who", "will",
    "with", "would", "you", "your", "anyone", "someone", "thanks", "thank", "please", "looking",
    "need", "know", "any", "also", "all", "more", "about", "into", "not", "just", "one", "there",
    "here", "what", "which", "if", "than", "then", "too", "very", "want", "like", "some",
    "regards", "best", "cheers", "everyone",
];

/// Light English stemming: plural `s`/`es`/`ies` only, to stay predictable.
pub fn stem(word: &str) -> String {
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        format!("{}y", &word[..n - 3])
    } else if n > 4 && (word.ends_with("sses") || word.ends_with("shes") || word.ends_with("ches"))
    {
        word[..n - 2].to_string()
    } else if n > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        word[..n - 1].to_string()
    } else {
        word.to_string()
    }
}

/// Lexical tokens of already-normalised text: stemmed Latin words (no
/// stopwords) and bigrams of CJK runs. Hiragana-only pairs are skipped: they
/// are mostly particles and verb endings.
pub fn tokens(normalized: &str) -> Vec<String> {
    let chars: Vec<char> = normalized.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if word.chars().count() > 1 && !STOPWORDS.contains(&word.as_str()) {
                out.push(stem(&word));
            }
        } else if is_cjk(c) {
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) {
                i += 1;
            }
            cjk_bigrams(&chars[start..i], &mut out);
        } else {
            i += 1;
        }
    }
    out
}

fn cjk_bigrams(run: &[char], out: &mut Vec<String>) {
    if run.len() == 1 {
        if !is_hiragana(run[0]) {
            out.push(run[0].to_string());
        }
        return;
    }
    for pair in run.windows(2) {
        if !(is_hiragana(pair[0]) && is_hiragana(pair[1])) {
            out.push(pair.iter().collect());
        }
    }
}

/// Edit distance, giving up (returning `max + 1`) once it exceeds `max`.
pub fn bounded_levenshtein(a: &[char], b: &[char], max: usize) -> usize {
    if a.len().abs_diff(b.len()) > max {
        return max + 1;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        let mut row_min = cur[0];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            row_min = row_min.min(cur[j + 1]);
        }
        if row_min > max {
            return max + 1;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_half_width_are_the_same() {
        assert_eq!(normalize("ＤｉＳＣ研修"), "disc研修");
        assert_eq!(normalize("ｶﾞｲﾄﾞ"), "ガイド");
        assert_eq!(normalize("２００万円"), "200万円");
    }

    #[test]
    fn tokens_mix_words_and_bigrams() {
        let t = tokens(&normalize("Nurses 看護師です"));
        assert_eq!(t, vec!["nurse", "看護", "護師", "師で"]);
    }

    #[test]
    fn levenshtein_is_bounded() {
        let a: Vec<char> = "photografer".chars().collect();
        let b: Vec<char> = "photographer".chars().collect();
        assert_eq!(bounded_levenshtein(&a, &b, 2), 2);
        assert_eq!(bounded_levenshtein(&a, &b, 1), 2);
    }
}
