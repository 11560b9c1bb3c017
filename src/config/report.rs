//! How a config error is shown: like cargo and rustc, the file and line, the
//! line itself with a caret under the culprit, and a "did you mean" when a
//! key or section is a typo of a real one.

use std::fmt;

/// Where in the file a bad key or value is, with the line to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The line as written.
    pub text: String,
    /// How many characters the caret underlines.
    pub width: usize,
}

impl Location {
    /// The three-line diagram: gutter, the line, the caret.
    pub fn diagram(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "{pad} |")?;
        writeln!(f, "{number} | {}", self.text)?;
        write!(
            f,
            "{pad} | {}{}",
            " ".repeat(self.column.saturating_sub(1)),
            "^".repeat(self.width.max(1))
        )
    }
}

/// Which part of a `key = value` line to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Key,
    Value,
}

/// Finds `key` in `[section]` of the file's text (plain `key = value` lines
/// and `section.key = value` at the top; other forms get no diagram).
pub fn locate(text: &str, section: &str, key: &str, part: Part) -> Option<Location> {
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header.split(']').next().unwrap_or("").trim().to_string();
            continue;
        }
        let rest = if current == section {
            strip_key(trimmed, key)
        } else if current.is_empty() {
            trimmed
                .strip_prefix(section)
                .and_then(|r| r.trim_start().strip_prefix('.'))
                .and_then(|r| strip_key(r.trim_start(), key))
        } else {
            None
        };
        let Some(rest) = rest else { continue };
        let indent = line.chars().count() - trimmed.chars().count();
        let location = match part {
            Part::Key => Location {
                line: i + 1,
                column: indent + 1,
                text: line.to_string(),
                width: trimmed.chars().count() - rest.chars().count(),
            },
            Part::Value => {
                let value = rest.trim_start().trim_start_matches('=').trim_start();
                let value_text = value.trim_end();
                Location {
                    line: i + 1,
                    column: line.chars().count() - value.chars().count() + 1,
                    text: line.to_string(),
                    width: value_text.chars().count(),
                }
            }
        };
        return Some(location);
    }
    None
}

/// `key = …` (or `"key" = …`) → the text from the `=` on; anything else → None.
fn strip_key<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let after = line
        .strip_prefix(key)
        .or_else(|| line.strip_prefix(&format!("\"{key}\"")[..]))?;
    let after_ws = after.trim_start();
    after_ws.starts_with('=').then_some(after)
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1) || c.starts_with(&word[..]))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The key serde names in "unknown field `x`, expected …".
pub fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_key_in_its_section_only() {
        let text = "[relay]\npoll_secs = 1\n[inbox]\n# c\n  poll_secs = 5 \n";
        let at = locate(text, "inbox", "poll_secs", Part::Key).unwrap();
        assert_eq!((at.line, at.column, at.width), (5, 3, 9));
        let at = locate(text, "inbox", "poll_secs", Part::Value).unwrap();
        assert_eq!((at.line, at.column, at.width), (5, 15, 1));
        assert!(locate(text, "digest", "poll_secs", Part::Key).is_none());
        let dotted = locate("inbox.port = \"x\"\n", "inbox", "port", Part::Value).unwrap();
        assert_eq!((dotted.line, dotted.column, dotted.width), (1, 14, 3));
    }

    #[test]
    fn suggests_close_keys_only() {
        let keys = ["poll_seconds", "port", "password", "idle"];
        assert_eq!(did_you_mean("poll_secs", keys), Some("poll_seconds"));
        assert_eq!(did_you_mean("pasword", keys), Some("password"));
        assert_eq!(did_you_mean("colour", keys), None);
        assert_eq!(
            did_you_mean("databse", ["database", "digest"]),
            Some("database")
        );
    }
}
