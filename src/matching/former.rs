//! A trade a member used to have is not one they offer: 「元看護師」,
//! "former nurse", "retired teacher", 「以前は獣医師として勤務していました」.
//! Such skill items and bio clauses are weak evidence (context): they can
//! make a near-miss the admins are told about, never a candidate.

use super::lexicon;
use super::text::normalize;

/// Words that put a whole clause in the past (English, lower case, matched
/// as whole words, "ex-" as a prefix).
const FORMER_EN: &[&str] = &[
    "former",
    "formerly",
    "retired",
    "previously",
    "used to",
    "ex-",
    "in the past",
    "no longer",
];

/// Japanese cues of a trade left behind.
const FORMER_JA: &[&str] = &[
    "以前は",
    "かつては",
    "前職は",
    "前職で",
    "していました",
    "しておりました",
    "勤めていました",
    "勤務していました",
    "働いていました",
];

/// Whether a skill item or bio clause names a trade the member no longer
/// practises.
pub fn is_former(text: &str) -> bool {
    let norm = normalize(text);
    let padded = format!(" {} ", norm.to_lowercase().replace(['.', ',', '!'], " "));
    FORMER_EN.iter().any(|cue| {
        if cue.ends_with('-') {
            padded.contains(&format!(" {cue}"))
        } else {
            padded.contains(&format!(" {cue} "))
        }
    }) || FORMER_JA.iter().any(|cue| norm.contains(cue))
        || has_former_prefix(&norm)
}

/// 元 starting a word (元看護師, 元・保育士) that is not a word of its own
/// (元気, 元日, 元祖, 地元 do not start with a free 元).
fn has_former_prefix(norm: &str) -> bool {
    let chars: Vec<char> = norm.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| {
        let starts_word = i == 0 || !is_kanji_or_katakana(chars[i - 1]);
        let next = chars.get(i + 1).copied();
        let next = if next == Some('・') {
            chars.get(i + 2).copied()
        } else {
            next
        };
        c == '元'
            && starts_word
            && next.is_some_and(is_kanji_or_katakana)
            && !is_lexicon_word_from(&chars, i)
    })
}

/// Whether a lexicon word of two or more characters starts at `i`.
fn is_lexicon_word_from(chars: &[char], i: usize) -> bool {
    (i + 2..=chars.len().min(i + 4)).any(|j| {
        let form: String = chars[i..j].iter().collect();
        lexicon::lookup(&form).is_some()
    })
}

fn is_kanji_or_katakana(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || ('\u{3400}'..='\u{4DBF}').contains(&c)
        || ('\u{30A1}'..='\u{30FA}').contains(&c)
        || c == 'ー'
}

#[cfg(test)]
mod tests {
    use super::is_former;

    #[test]
    fn a_former_trade_is_recognised_in_both_languages() {
        for text in [
            "元看護師",
            "元・保育士の経験を活かしています",
            "以前は薬剤師として病院に勤務していました",
            "Former paramedic",
            "retired schoolteacher",
            "ex-chef",
            "I used to be a florist",
        ] {
            assert!(is_former(text), "{text}");
        }
    }

    #[test]
    fn a_current_trade_is_not_former() {
        for text in [
            "看護師",
            "元気な子どもたちと一緒に",
            "地元の農家さんと",
            "元祖の味を守っています",
            "paramedic and first-aid trainer",
            "retirement planning for small firms",
            "Experienced florist",
        ] {
            assert!(!is_former(text), "{text}");
        }
    }
}
