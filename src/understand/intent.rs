//! What a reply's new text means: accept, decline, close, or anything else
//! (a question to relay). Read in Japanese and English, width- and
//! case-insensitively, from the first lines only: later lines are often
//! pleasantries that would mislead ("no problem" in a closing line).

use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Accept,
    Decline,
    Close,
    Other,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Close => "close",
            Self::Other => "question",
        }
    }
}

// Checked before accepting, since refusals often contain an accepting word
// ("I can't help", "対応できません", "お受けできません").
const DECLINE: &[&str] = &[
    "辞退",
    "難しい",
    "むずかしい",
    "できません",
    "出来ません",
    "無理",
    "お断り",
    "見送",
    "都合がつきません",
    "都合が合いません",
    "お受けできません",
    "引き受けられません",
    "対応できかねます",
    "いいえ",
    "ごめんなさい",
    "can't",
    "cannot",
    "can not",
    "unable",
    "not available",
    "unavailable",
    "decline",
    "i'll pass",
    "i will pass",
    "have to pass",
    "not this time",
    "no thanks",
    "no, thank",
    "sorry, no",
    "won't be able",
    "not able",
    "too busy",
    "fully booked",
];

// Short words that also occur inside others (日程"はい"つ): only at a line's start.
const ACCEPT_AT_START: &[&str] = &["はい", "ぜひ", "是非"];

// The forward's buttons prefill 引き受ける／辞退する／質問する and Accept /
// Decline / Ask a question; the acknowledgement's, 締め切る / Close.
const ACCEPT: &[&str] = &[
    "引き受ける",
    "お受けします",
    "お受けできます",
    "お受けいたします",
    "お引き受け",
    "引き受けます",
    "引き受けたい",
    "喜んで",
    "よろこんで",
    "対応可能",
    "対応できます",
    "対応いたします",
    "担当します",
    "やります",
    "やりたい",
    "大丈夫です",
    "お手伝いします",
    "お手伝いできます",
    "立候補",
    "承知しました",
    "了解です",
    "yes",
    "yep",
    "yeah",
    "sure",
    "happy to help",
    "glad to help",
    "i can help",
    "i can do",
    "i can take",
    "i'd love to",
    "i would love to",
    "i'll take",
    "i will take",
    "count me in",
    "i'm in",
    "i am in",
    "i'm available",
    "i am available",
    "interested",
    "no problem",
    "absolutely",
    "of course",
    "i accept",
    "accept",
];

const CLOSE: &[&str] = &[
    "締め切る",
    "締め切り",
    "締切",
    "〆切",
    "解決しました",
    "見つかりました",
    "決まりました",
    "キャンセル",
    "取り消し",
    "終了",
    "close",
    "closed",
    "resolved",
    "found someone",
    "cancel",
    "no longer needed",
];

/// Reads the first non-empty lines (at most three) of a reply's new text.
pub fn read_intent(new_text: &str) -> Intent {
    let head: Vec<String> = new_text
        .lines()
        .map(|l| {
            l.nfkc()
                .collect::<String>()
                .to_lowercase()
                .replace('’', "'")
        })
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    let Some(first) = head.first() else {
        return Intent::Other;
    };
    let text = head.join("\n");
    let starts_with_word = |w: &str| {
        first.starts_with(w)
            && first[w.len()..]
                .chars()
                .next()
                .is_none_or(|c| !c.is_alphanumeric())
    };
    if CLOSE.iter().any(|w| starts_with_word(w)) {
        return Intent::Close;
    }
    if first.starts_with("no problem") {
        return Intent::Accept;
    }
    if starts_with_word("no") || DECLINE.iter().any(|w| text.contains(w)) {
        return Intent::Decline;
    }
    if ACCEPT.iter().any(|w| contains_word(&text, w))
        || head
            .iter()
            .any(|l| ACCEPT_AT_START.iter().any(|w| l.starts_with(w)))
    {
        return Intent::Accept;
    }
    Intent::Other
}

/// Words a button prefills: alone, they say nothing worth quoting.
const BUTTON_WORDS: &[&str] = &[
    "引き受ける",
    "辞退する",
    "質問する",
    "お手伝いできます",
    "accept",
    "decline",
    "ask a question",
    "i can help",
];

/// What someone wrote beyond a button's prefilled word: the first line goes
/// when it is only that word.
pub fn own_words(text: &str) -> String {
    let t = text.trim();
    let (first, rest) = t.split_once('\n').unwrap_or((t, ""));
    let word: String = first.nfkc().collect::<String>().to_lowercase();
    let word = word.trim().trim_end_matches(['.', '!', '。', '！']);
    if BUTTON_WORDS.contains(&word) {
        rest.trim().to_string()
    } else {
        t.to_string()
    }
}

/// Substring for Japanese; whole words for English ("yes" not in "eyes").
fn contains_word(text: &str, w: &str) -> bool {
    if !w.is_ascii() {
        return text.contains(w);
    }
    text.match_indices(w).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + w.len()..].chars().next();
        before.is_none_or(|c| !c.is_ascii_alphanumeric())
            && after.is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Intent::*;

    #[test]
    fn accepts_in_both_languages_and_widths() {
        for t in [
            "Yes",
            "yes!",
            "Happy to help.",
            "Sure, I can do it",
            "はい、お受けします。",
            "ぜひやらせてください",
            "お引き受けいたします",
            "ＹＥＳ",
            "喜んで！",
            "No problem, I'll take it",
            "I'd love to.\n\nBest, Anna",
        ] {
            assert_eq!(read_intent(t), Accept, "{t}");
        }
    }

    #[test]
    fn declines_in_both_languages_even_with_accepting_words() {
        for t in [
            "No",
            "no, sorry",
            "I can't this time",
            "Sorry, I'm not available that week",
            "辞退します",
            "今回は難しいです",
            "申し訳ありませんが、お受けできません",
            "対応できません",
            "Unfortunately I cannot help.",
            "いいえ",
        ] {
            assert_eq!(read_intent(t), Decline, "{t}");
        }
    }

    #[test]
    fn the_buttons_prefilled_words_mean_what_they_say() {
        for (t, want) in [
            ("引き受ける\n", Accept),
            ("辞退する\n", Decline),
            ("質問する\n日程はいつですか", Other),
            ("Accept\n", Accept),
            ("Decline\n", Decline),
            ("Ask a question\nWhich dates?", Other),
            ("締め切る\n", Close),
            ("Close\n", Close),
            ("お手伝いできます\n", Accept),
            ("I can help\n", Accept),
            ("I can't accept this time", Decline),
        ] {
            assert_eq!(read_intent(t), want, "{t}");
        }
    }

    #[test]
    fn own_words_drop_a_bare_button_word() {
        assert_eq!(own_words("引き受ける\n"), "");
        assert_eq!(
            own_words("Accept\n\nI can do a Saturday in January."),
            "I can do a Saturday in January."
        );
        assert_eq!(
            own_words("はい、土曜なら伺えます。"),
            "はい、土曜なら伺えます。"
        );
        assert_eq!(own_words("質問する\n日程は？"), "日程は？");
    }

    #[test]
    fn close_and_questions() {
        for (t, intent) in [
            ("close", Close),
            ("Closed, thanks", Close),
            ("締め切り", Close),
            ("解決しました。ありがとうございました", Close),
            ("What dates are you thinking of?", Other),
            ("日程はいつ頃でしょうか？", Other),
            ("", Other),
            ("Notebook", Other),
        ] {
            assert_eq!(read_intent(t), intent, "{t}");
        }
        assert_eq!(read_intent("My eyes hurt"), Other, "no 'yes' inside words");
    }
}
