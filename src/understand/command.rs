//! Members' commands by email (SPEC flow 5), English and Japanese.
//!
//! A command is a whole line (the subject or the first line of new text), not
//! a word inside a sentence: "help me find a nurse" is a request.

use jiff::civil::Date;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// `pause [until YYYY-MM-DD]` / `休止 [YYYY-MM-DDまで]`.
    Pause {
        until: Option<Date>,
    },
    Resume,
    Profile,
    Unsubscribe,
}

/// Japanese politeness a member may add after the command word.
const JA_SUFFIXES: &[&str] = &[
    "をお願いします",
    "お願いします",
    "をお願いいたします",
    "お願いいたします",
    "したいです",
    "します",
    "希望",
    "を希望します",
];

/// Parses one line (subject or first line); `None` when it is not a command.
/// Case- and width-insensitive (NFKC), `Re:`/`Fwd:` prefixes ignored. A pause
/// with a date that cannot be read answers with help rather than guessing.
pub fn parse_command(line: &str) -> Option<Command> {
    let norm: String = line.nfkc().collect::<String>().to_lowercase();
    let norm = strip_reply_prefixes(norm.trim());
    let norm = norm.trim_end_matches(['.', '。', '!', '！', ' ']).trim();
    let (word, rest) = split_word(norm);
    let rest = rest.trim();
    let rest = JA_SUFFIXES
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest)
        .trim();
    let simple = |c: Command| rest.is_empty().then_some(c);
    match word {
        "help" | "ヘルプ" | "?" => simple(Command::Help),
        "resume" | "再開" => simple(Command::Resume),
        "profile" | "プロフィール" => simple(Command::Profile),
        "unsubscribe" | "退会" => simple(Command::Unsubscribe),
        "pause" | "休止" => pause(rest),
        _ => None,
    }
}

/// Splits the command word: up to whitespace, or for Japanese words that
/// run into their argument (`休止2026-12-01まで`), at a known prefix.
fn split_word(s: &str) -> (&str, &str) {
    for w in ["ヘルプ", "休止", "再開", "プロフィール", "退会"] {
        if let Some(rest) = s.strip_prefix(w) {
            return (w, rest);
        }
    }
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

fn pause(rest: &str) -> Option<Command> {
    if rest.is_empty() {
        return Some(Command::Pause { until: None });
    }
    // Only an argument that looks like a date makes it a command:
    // "休止中のプロジェクト…" is a sentence.
    let arg = match rest.strip_prefix("until") {
        Some(a) => a.trim(),
        None if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        None => return None,
    };
    let arg = arg
        .strip_suffix("まで")
        .unwrap_or(arg)
        .trim()
        .trim_end_matches(['、', ',']);
    Some(match parse_date(arg.trim()) {
        Some(d) => Command::Pause { until: Some(d) },
        None => Command::Help,
    })
}

/// `2026-12-01`, `2026/12/01`, `2026.12.1`, `2026年12月1日`.
fn parse_date(s: &str) -> Option<Date> {
    let nums: Vec<&str> = s
        .split(['-', '/', '.', '年', '月', '日'])
        .filter(|p| !p.is_empty())
        .collect();
    let [y, m, d] = nums.as_slice() else {
        return None;
    };
    Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()
}

/// `Re:`, `Fwd:`, `Fw:`, `AW:`, `転送:`, `返信:` and their repeats.
pub fn strip_reply_prefixes(s: &str) -> &str {
    let mut s = s.trim();
    loop {
        let lower = s.to_lowercase();
        let found = [
            "re:", "fwd:", "fw:", "aw:", "wg:", "sv:", "転送:", "返信:", "re：",
        ]
        .iter()
        .find(|p| lower.starts_with(*p));
        match found {
            // The prefixes are ASCII or have the same byte length lowercased.
            Some(p) if s.is_char_boundary(p.len()) => s = s[p.len()..].trim_start(),
            _ => return s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_commands() {
        assert_eq!(parse_command("help"), Some(Command::Help));
        assert_eq!(parse_command("  HELP. "), Some(Command::Help));
        assert_eq!(parse_command("Re: Resume"), Some(Command::Resume));
        assert_eq!(parse_command("profile"), Some(Command::Profile));
        assert_eq!(
            parse_command("Fwd: unsubscribe"),
            Some(Command::Unsubscribe)
        );
        assert_eq!(parse_command("pause"), Some(Command::Pause { until: None }));
        assert_eq!(
            parse_command("pause until 2026-12-31"),
            Some(Command::Pause {
                until: Date::new(2026, 12, 31).ok()
            })
        );
    }

    #[test]
    fn full_width_and_japanese_commands() {
        assert_eq!(parse_command("ＨＥＬＰ"), Some(Command::Help));
        assert_eq!(parse_command("ヘルプ"), Some(Command::Help));
        assert_eq!(parse_command("退会します"), Some(Command::Unsubscribe));
        assert_eq!(parse_command("再開"), Some(Command::Resume));
        assert_eq!(parse_command("プロフィール"), Some(Command::Profile));
        assert_eq!(
            parse_command("休止 ２０２６年１２月１日まで"),
            Some(Command::Pause {
                until: Date::new(2026, 12, 1).ok()
            })
        );
        assert_eq!(
            parse_command("休止2026/12/01まで"),
            Some(Command::Pause {
                until: Date::new(2026, 12, 1).ok()
            })
        );
    }

    #[test]
    fn sentences_are_not_commands() {
        assert_eq!(parse_command("help me find a nurse"), None);
        assert_eq!(parse_command("再開発の相談ができる方"), None);
        assert_eq!(parse_command("Resume writing coach wanted"), None);
        assert_eq!(parse_command(""), None);
        assert_eq!(parse_command("pause until someday"), Some(Command::Help));
        assert_eq!(parse_command("休止中のプロジェクトを手伝える方"), None);
    }
}
