//! What is wrong with a directory value a person typed (a form field, a CSV
//! row), as a typed value: `Display` is the command line's English; the web
//! console words each variant in the page's language.

use std::fmt;

use super::Field;
use crate::domain::EmailError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The address does not parse.
    Email(EmailError),
    /// The address is another member's already (`message`: the store's words).
    EmailTaken { email: String, message: String },
    /// One tag of a language list is not a language tag.
    Language { tag: String, message: String },
    /// Not `active`, `paused` or `left`.
    Status { word: String, message: String },
    /// Not a `YYYY-MM-DD` day.
    Date { value: String, message: String },
    /// A pause date with a status other than paused.
    PauseNeedsPaused,
    /// Not an IANA time zone name.
    Timezone { name: String, message: String },
    /// A CSV row with the wrong number of columns.
    Columns {
        expected: usize,
        names: String,
        found: usize,
    },
    /// A CSV row repeating an address of an earlier row.
    Duplicate { email: String, first: u64 },
    /// A CSV row the reader cannot split (an unclosed quote; the reader's words).
    Unreadable(String),
}

impl Problem {
    /// The field the problem is in, where it is one field's.
    pub fn field(&self) -> Option<Field> {
        match self {
            Self::Email(_) | Self::EmailTaken { .. } => Some(Field::Email),
            Self::Language { .. } => Some(Field::Languages),
            Self::Status { .. } => Some(Field::Status),
            Self::Date { .. } | Self::PauseNeedsPaused => Some(Field::PausedUntil),
            Self::Timezone { .. } => Some(Field::Timezone),
            Self::Columns { .. } | Self::Duplicate { .. } | Self::Unreadable(_) => None,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(e) => write!(f, "{e}"),
            Self::EmailTaken { message, .. }
            | Self::Language { message, .. }
            | Self::Status { message, .. }
            | Self::Date { message, .. }
            | Self::Timezone { message, .. } => f.write_str(message),
            Self::PauseNeedsPaused => {
                f.write_str("a pause date needs the status paused (or clear the date)")
            }
            Self::Columns {
                expected,
                names,
                found,
            } => write!(f, "expected {expected} columns ({names}), found {found}"),
            Self::Duplicate { email, first } => {
                write!(f, "{email} appears again (first on line {first})")
            }
            Self::Unreadable(e) => write!(f, "unreadable row: {e}"),
        }
    }
}
