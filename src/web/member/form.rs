//! What a member types on their page, checked with the directory's rules
//! (lists split on `;`, `；` or `、`; language tags as in the CSV; a pause
//! ends on a day after today). Problems come back in the member's words.

use serde::Deserialize;

use crate::domain::{Language, MailLanguage, TimeZoneName, split_list};
use crate::store::member_page::ProfileEdit;
use crate::web::page::PAGES;

const MAX_SKILLS: usize = 40;
const MAX_ITEM_CHARS: usize = 100;
const MAX_BIO_CHARS: usize = 2000;

/// The profile form as POSTed (kept as typed, to show it again on a problem).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub skills: String,
    #[serde(default)]
    pub bio: String,
    /// An older form's typed tags; the lists (`lang1`…) win when sent.
    #[serde(default)]
    pub languages: String,
    #[serde(default)]
    pub lang1: String,
    #[serde(default)]
    pub lang2: String,
    #[serde(default)]
    pub lang3: String,
    #[serde(default)]
    pub lang4: String,
    #[serde(default)]
    pub lang5: String,
    #[serde(default)]
    pub region: String,
    /// An IANA name such as Asia/Tokyo; empty for the circle's.
    #[serde(default)]
    pub timezone: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PauseForm {
    #[serde(default)]
    pub until: String,
}

/// A problem, in `lang`, with `{value}` filled in.
fn problem(lang: MailLanguage, key: &str, value: &str) -> String {
    PAGES.word(lang, key).replace("{value}", value)
}

impl ProfileForm {
    /// The chosen languages as stored (`ja;en`), the first the mail language.
    pub fn language_tags(&self) -> String {
        let lists = [
            &self.lang1,
            &self.lang2,
            &self.lang3,
            &self.lang4,
            &self.lang5,
        ];
        crate::web::page::chosen_languages(&lists.map(String::as_str), &self.languages)
    }

    pub fn check(&self, lang: MailLanguage) -> Result<ProfileEdit, String> {
        let skills = split_list(&self.skills);
        if skills.len() > MAX_SKILLS {
            return Err(problem(lang, "me_err_skills_many", &MAX_SKILLS.to_string()));
        }
        if let Some(long) = skills.iter().find(|s| s.chars().count() > MAX_ITEM_CHARS) {
            return Err(problem(lang, "me_err_too_long", long));
        }
        let mut languages = Vec::new();
        for tag in split_list(&self.language_tags()) {
            languages
                .push(Language::parse(&tag).map_err(|_| problem(lang, "me_err_language", &tag))?);
        }
        if languages.is_empty() {
            return Err(problem(lang, "me_err_no_language", ""));
        }
        let region = self.region.trim().to_string();
        if region.chars().count() > MAX_ITEM_CHARS {
            return Err(problem(lang, "me_err_too_long", &region));
        }
        let timezone = match self.timezone.trim() {
            "" => None,
            name => Some(
                TimeZoneName::parse(name).map_err(|_| problem(lang, "me_err_timezone", name))?,
            ),
        };
        let bio = self.bio.trim().to_string();
        if bio.chars().count() > MAX_BIO_CHARS {
            return Err(problem(lang, "me_err_bio_long", &MAX_BIO_CHARS.to_string()));
        }
        Ok(ProfileEdit {
            skills,
            bio,
            languages,
            region,
            timezone,
        })
    }
}

impl PauseForm {
    /// The day the pause ends (`None`: until the member resumes), which must
    /// be after `today`.
    pub fn check(
        &self,
        lang: MailLanguage,
        today: jiff::civil::Date,
    ) -> Result<Option<String>, String> {
        let typed = self.until.trim();
        if typed.is_empty() {
            return Ok(None);
        }
        let day: jiff::civil::Date = typed
            .parse()
            .map_err(|_| problem(lang, "me_err_date", typed))?;
        if day <= today {
            return Err(problem(lang, "me_err_date_past", typed));
        }
        Ok(Some(day.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(skills: &str, languages: &str) -> ProfileForm {
        ProfileForm {
            skills: skills.into(),
            languages: languages.into(),
            ..Default::default()
        }
    }

    #[test]
    fn lists_split_as_in_the_directory_and_bad_tags_are_named() {
        let ok = form("看護師、介護；ケアプラン", "ja; en")
            .check(MailLanguage::En)
            .unwrap();
        assert_eq!(ok.skills, ["看護師", "介護", "ケアプラン"]);
        assert_eq!(ok.languages[0].as_str(), "ja");
        let bad = form("x", "ja; 日本語").check(MailLanguage::En).unwrap_err();
        assert!(bad.contains("日本語"), "{bad}");
        assert!(form("x", "").check(MailLanguage::Ja).is_err());
        let zone = |z: &str| {
            ProfileForm {
                timezone: z.into(),
                ..form("x", "ja")
            }
            .check(MailLanguage::En)
        };
        assert_eq!(
            zone("Europe/London").unwrap().timezone.unwrap().as_str(),
            "Europe/London"
        );
        assert_eq!(zone("").unwrap().timezone, None);
        assert!(zone("Mars/Olympus").unwrap_err().contains("Mars/Olympus"));
    }

    #[test]
    fn a_pause_ends_after_today() {
        let today = jiff::civil::date(2026, 12, 2);
        let f = |s: &str| PauseForm { until: s.into() }.check(MailLanguage::En, today);
        assert_eq!(f("2026-12-20").unwrap().as_deref(), Some("2026-12-20"));
        assert_eq!(f("").unwrap(), None);
        assert!(f("2026-12-02").is_err());
        assert!(f("2026-13-01").unwrap_err().contains("2026-13-01"));
    }
}
