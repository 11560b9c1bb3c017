//! The rules for one member's fields as a person types them, shared by the
//! CSV import, the `members` commands and the web console's forms, so an
//! address, a language list or a date is judged the same way everywhere.

use std::fmt;

use super::Problem;
use crate::domain::{EmailAddress, Language, Member, MemberStatus, TimeZoneName, split_list};

/// A list of language tags (`ja;en`, `ja、en`); the first is the mail language.
pub fn parse_languages(s: &str) -> Result<Vec<Language>, String> {
    languages(s).map_err(|p| p.to_string())
}

/// [`parse_languages`], saying which tag is wrong.
pub fn languages(s: &str) -> Result<Vec<Language>, Problem> {
    split_list(s)
        .iter()
        .map(|l| {
            Language::parse(l).map_err(|message| Problem::Language {
                tag: l.clone(),
                message,
            })
        })
        .collect()
}

/// A day as `YYYY-MM-DD` (what `members pause --until` and the forms take).
pub fn parse_date(s: &str) -> Result<String, String> {
    date(s).map_err(|p| p.to_string())
}

fn date(s: &str) -> Result<String, Problem> {
    let s = s.trim();
    jiff::civil::Date::strptime("%Y-%m-%d", s)
        .map(|d| d.to_string())
        .map_err(|_| Problem::Date {
            value: s.to_string(),
            message: format!("{s:?} is not a date (expected YYYY-MM-DD, e.g. 2026-04-30)"),
        })
}

/// A member status as typed (empty is active).
pub fn status(s: &str) -> Result<MemberStatus, Problem> {
    s.parse::<MemberStatus>()
        .map_err(|message| Problem::Status {
            word: s.trim().to_string(),
            message,
        })
}

/// An IANA time zone name as typed.
pub fn timezone(s: &str) -> Result<TimeZoneName, Problem> {
    TimeZoneName::parse(s).map_err(|message| Problem::Timezone {
        name: s.trim().to_string(),
        message,
    })
}

/// A form field that can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Languages,
    Status,
    PausedUntil,
    Timezone,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Languages => "languages",
            Self::Status => "status",
            Self::PausedUntil => "paused_until",
            Self::Timezone => "timezone",
        }
    }
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub problem: Problem,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.as_str(), self.problem)
    }
}

/// One member's fields as typed (a form, a command's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileInput {
    pub email: String,
    pub name: String,
    pub skills: String,
    pub bio: String,
    pub languages: String,
    pub region: String,
    /// `active`, `paused` or `left`; empty is active.
    pub status: String,
    /// `YYYY-MM-DD` or empty; only with status `paused`.
    pub paused_until: String,
    /// An IANA name such as `Asia/Tokyo`, or empty for the circle's.
    pub timezone: String,
}

impl ProfileInput {
    /// The fields of a stored member, to fill a form with.
    pub fn of(m: &Member) -> Self {
        Self {
            email: m.email.as_str().to_string(),
            name: m.name.clone(),
            skills: m.skills.join("; "),
            bio: m.bio.clone(),
            languages: m
                .languages
                .iter()
                .map(Language::as_str)
                .collect::<Vec<_>>()
                .join(";"),
            region: m.region.clone(),
            status: m.status.as_str().to_string(),
            paused_until: m.paused_until.clone().unwrap_or_default(),
            timezone: m.timezone_name().unwrap_or_default().to_string(),
        }
    }

    /// The member these fields describe, or every field that is wrong.
    pub fn to_member(&self) -> Result<Member, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut bad = |field, problem: Problem| errors.push(FieldError { field, problem });
        let email = EmailAddress::parse(self.email.trim())
            .map_err(|e| bad(Field::Email, Problem::Email(e)))
            .ok();
        let languages = languages(&self.languages)
            .map_err(|e| bad(Field::Languages, e))
            .unwrap_or_default();
        let status = status(&self.status)
            .map_err(|e| bad(Field::Status, e))
            .unwrap_or(MemberStatus::Active);
        let paused_until = match self.paused_until.trim() {
            "" => None,
            d => match date(d) {
                Ok(_) if status != MemberStatus::Paused => {
                    bad(Field::PausedUntil, Problem::PauseNeedsPaused);
                    None
                }
                Ok(d) => Some(d),
                Err(e) => {
                    bad(Field::PausedUntil, e);
                    None
                }
            },
        };
        let timezone = match self.timezone.trim() {
            "" => None,
            tz => timezone(tz).map_err(|e| bad(Field::Timezone, e)).ok(),
        };
        match email {
            Some(email) if errors.is_empty() => Ok(Member {
                id: 0,
                email,
                name: self.name.trim().to_string(),
                skills: split_list(&self.skills),
                bio: self.bio.trim().to_string(),
                languages,
                region: self.region.trim().to_string(),
                status,
                paused_until,
                timezone,
            }),
            _ => Err(errors),
        }
    }
}

/// The names of the profile fields in which `a` and `b` differ.
pub fn changed_fields(a: &Member, b: &Member) -> Vec<&'static str> {
    let mut out = Vec::new();
    let checks = [
        ("email", a.email.as_str() != b.email.as_str()),
        ("name", a.name != b.name),
        ("skills", a.skills != b.skills),
        ("bio", a.bio != b.bio),
        ("languages", a.languages != b.languages),
        ("region", a.region != b.region),
        ("status", a.status != b.status),
        ("paused_until", a.paused_until != b.paused_until),
        ("timezone", a.timezone != b.timezone),
    ];
    for (name, differs) in checks {
        if differs {
            out.push(name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            email: "a@example.org".into(),
            name: " 山田 花子 ".into(),
            skills: "看護師；助産師、保健指導".into(),
            languages: "ja;en".into(),
            status: "paused".into(),
            paused_until: "2026-04-30".into(),
            timezone: "asia/tokyo".into(),
            ..ProfileInput::default()
        }
    }

    #[test]
    fn a_good_profile_becomes_a_member_and_round_trips() {
        let m = input().to_member().unwrap();
        assert_eq!(m.name, "山田 花子");
        assert_eq!(m.skills, vec!["看護師", "助産師", "保健指導"]);
        assert_eq!(m.paused_until.as_deref(), Some("2026-04-30"));
        assert_eq!(m.timezone_name(), Some("Asia/Tokyo"));
        assert_eq!(ProfileInput::of(&m).to_member().unwrap(), m);
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = ProfileInput {
            email: "not-an-address".into(),
            languages: "ja;日本語".into(),
            status: "gone".into(),
            paused_until: "30/04/2026".into(),
            timezone: "Tokyo".into(),
            ..input()
        };
        let fields: Vec<Field> = bad
            .to_member()
            .unwrap_err()
            .iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                Field::Email,
                Field::Languages,
                Field::Status,
                Field::PausedUntil,
                Field::Timezone,
            ]
        );
        let active_with_date = ProfileInput {
            status: "active".into(),
            ..input()
        };
        let errors = active_with_date.to_member().unwrap_err();
        assert_eq!(errors[0].field, Field::PausedUntil);
        assert_eq!(errors[0].problem, Problem::PauseNeedsPaused);
    }

    #[test]
    fn a_problem_names_what_was_typed_and_keeps_the_english() {
        let bad = ProfileInput {
            languages: "ja;日本語".into(),
            timezone: "Tokyo".into(),
            ..input()
        };
        let errors = bad.to_member().unwrap_err();
        assert!(matches!(&errors[0].problem, Problem::Language { tag, .. } if tag == "日本語"));
        assert_eq!(
            errors[0].to_string(),
            "languages: invalid language tag \"日本語\" (expected e.g. ja, en)"
        );
        assert!(matches!(&errors[1].problem, Problem::Timezone { name, .. } if name == "Tokyo"));
    }
}
