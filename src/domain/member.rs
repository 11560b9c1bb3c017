//! A profile in the member directory.

use std::fmt;
use std::str::FromStr;

use super::{EmailAddress, MailLanguage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    Active,
    Paused,
    Left,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Left => "left",
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for MemberStatus {
    type Err = String;
    /// Empty means active, as the CSV format says.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "left" => Ok(Self::Left),
            other => Err(format!(
                "unknown status {other:?} (expected active, paused or left)"
            )),
        }
    }
}

/// A language tag such as `ja` or `en` (lowercased, letters and `-` only).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        if t.is_empty() || t.len() > 16 || !t.chars().all(|c| c.is_ascii_alphabetic() || c == '-') {
            return Err(format!("invalid language tag {s:?} (expected e.g. ja, en)"));
        }
        Ok(Self(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_japanese(&self) -> bool {
        self.0 == "ja" || self.0.starts_with("ja-")
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The IANA time zone a member reads times in, such as `Europe/London`:
/// known to the bundled time zone database, kept in its canonical spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName(String);

impl TimeZoneName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let name = s.trim();
        let tz = jiff::tz::TimeZone::get(name).map_err(|_| {
            format!("unknown time zone {s:?} (expected an IANA name such as Europe/London or Asia/Tokyo)")
        })?;
        Ok(Self(tz.iana_name().unwrap_or(name).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeZoneName> for String {
    fn from(t: TimeZoneName) -> Self {
        t.0
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Database id; 0 for a member not stored yet.
    pub id: i64,
    pub email: EmailAddress,
    pub name: String,
    pub skills: Vec<String>,
    pub bio: String,
    /// First language is the one mails are sent in.
    pub languages: Vec<Language>,
    pub region: String,
    pub status: MemberStatus,
    /// `YYYY-MM-DD`: a paused member becomes active again on this date.
    pub paused_until: Option<String>,
    /// The zone the member reads times in; `None` = the circle's.
    pub timezone: Option<TimeZoneName>,
}

impl Member {
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    pub fn mail_language(&self) -> Option<&Language> {
        self.languages.first()
    }

    /// What mail and pages to this member are written in: Japanese when their
    /// first language is, English for any other, `fallback` when they list none.
    pub fn language_or(&self, fallback: MailLanguage) -> MailLanguage {
        match self.mail_language() {
            Some(l) if l.is_japanese() => MailLanguage::Ja,
            Some(_) => MailLanguage::En,
            None => fallback,
        }
    }

    /// The member's own time zone name, when the directory has one.
    pub fn timezone_name(&self) -> Option<&str> {
        self.timezone.as_ref().map(TimeZoneName::as_str)
    }
}

/// Splits a directory list field on `;`, `；` and `、`, trimming and dropping
/// empty items.
pub fn split_list(field: &str) -> Vec<String> {
    field
        .split([';', '；', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_all_three_separators() {
        assert_eq!(
            split_list("看護師；助産師、 nurse ;;"),
            vec!["看護師", "助産師", "nurse"]
        );
    }

    #[test]
    fn time_zones_are_iana_names_in_their_canonical_spelling() {
        assert_eq!(
            TimeZoneName::parse(" europe/london ").unwrap().as_str(),
            "Europe/London"
        );
        assert_eq!(TimeZoneName::parse("UTC").unwrap().as_str(), "UTC");
        for bad in ["", "London", "Mars/Olympus", "+09:00"] {
            let e = TimeZoneName::parse(bad).unwrap_err();
            assert!(e.contains("Europe/London"), "{bad}: {e}");
        }
    }

    #[test]
    fn writes_in_the_first_language_japanese_or_else_english() {
        let with = |langs: &[&str]| Member {
            id: 0,
            email: EmailAddress::parse("m@example.com").unwrap(),
            name: String::new(),
            skills: vec![],
            bio: String::new(),
            languages: langs.iter().map(|l| Language::parse(l).unwrap()).collect(),
            region: String::new(),
            status: MemberStatus::Active,
            paused_until: None,
            timezone: None,
        };
        let ja = MailLanguage::Ja;
        assert_eq!(with(&["ja-JP", "en"]).language_or(MailLanguage::En), ja);
        assert_eq!(with(&["en", "ja"]).language_or(ja), MailLanguage::En);
        assert_eq!(with(&["fr"]).language_or(ja), MailLanguage::En);
        assert_eq!(with(&[]).language_or(ja), ja);
    }

    #[test]
    fn status_defaults_to_active_and_rejects_unknown() {
        assert_eq!("".parse::<MemberStatus>(), Ok(MemberStatus::Active));
        assert_eq!(" Paused ".parse::<MemberStatus>(), Ok(MemberStatus::Paused));
        assert!("gone".parse::<MemberStatus>().is_err());
    }
}
