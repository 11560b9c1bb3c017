//! Pages: minijinja templates from templates/web/ built into the binary, and
//! their words in both languages from templates/web/text/AREA.toml (one file
//! per area, each with an `[en]` and a `[ja]` table of the same keys). A
//! template says `{{ t.sign_in }}`; the page's language picks the table.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};

use crate::domain::MailLanguage;

/// `(name, source)` of files embedded from templates/web/`dir`, each named once.
macro_rules! embedded {
    ($dir:literal, $ext:literal: $($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/web/", $dir, $name, $ext)))),*]
    };
}

/// The page templates; `base.html` is the frame every page extends.
const TEMPLATES: &[(&str, &str)] = embedded!("", "":
    "base.html",
    "message.html",
    "login.html",
    "login_sent.html",
    "login_link.html",
    "admin/overview.html",
    "admin/audit.html",
    "admin/requests.html",
    "admin/requests_show.html",
    "admin/requests_held.html",
    "admin/mail.html",
    "admin/directory.html",
    "admin/directory_edit.html",
    "admin/directory_import.html",
    "member.html",
    "member_leave.html",
    "member_left.html",
);

/// The words of each area (text/AREA.toml); keys must not repeat across files.
const TEXTS: &[(&str, &str)] = embedded!("text/", ".toml":
    "common",
    "login",
    "overview",
    "audit",
    "requests",
    "mail",
    "directory",
    "member",
    "problems",
);

const STYLESHEET: &str = include_str!("../../templates/web/console.css");

pub struct Pages {
    env: Environment<'static>,
    en: BTreeMap<String, String>,
    ja: BTreeMap<String, String>,
}

/// Built once; the templates are part of the binary (a unit test renders them).
pub static PAGES: LazyLock<Pages> = LazyLock::new(Pages::embedded);

impl Pages {
    fn embedded() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "embedded page template does not parse");
            }
        }
        let (mut en, mut ja) = (BTreeMap::new(), BTreeMap::new());
        for (area, source) in TEXTS {
            match toml::from_str::<BTreeMap<String, BTreeMap<String, String>>>(source) {
                Ok(mut t) => {
                    en.extend(t.remove("en").unwrap_or_default());
                    ja.extend(t.remove("ja").unwrap_or_default());
                }
                Err(e) => tracing::error!(area, error = %e, "page texts do not parse"),
            }
        }
        Self { env, en, ja }
    }

    /// The words of `lang`, for templates and for messages built in code.
    pub fn texts(&self, lang: MailLanguage) -> &BTreeMap<String, String> {
        match lang {
            MailLanguage::Ja => &self.ja,
            MailLanguage::En => &self.en,
        }
    }

    /// One word; the key itself when missing (a unit test checks none is).
    pub fn word(&self, lang: MailLanguage, key: &str) -> String {
        self.texts(lang)
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_string())
    }

    fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

/// What a handler returns for a page: a template, its language and data.
/// The frame's fields (`t`, `lang`, `circle`, `admin`, `csrf`, `nav`) are
/// added here, so a page's data holds only its own.
pub struct Page {
    pub template: &'static str,
    pub lang: MailLanguage,
    /// The circle's name, shown in the header.
    pub circle: String,
    /// The signed-in admin (shows the admin menu and logout).
    pub admin: Option<String>,
    /// The session's CSRF token, for the forms on the page.
    pub csrf: String,
    /// Which menu entry is current, e.g. "overview".
    pub nav: &'static str,
    pub title: String,
    pub data: Value,
}

impl Page {
    pub fn render(&self) -> Result<String, minijinja::Error> {
        let ctx = context! {
            t => Value::from_pairs(PAGES.texts(self.lang).iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            lang => self.lang.as_str(),
            circle => &self.circle,
            admin => &self.admin,
            csrf => &self.csrf,
            nav => self.nav,
            title => &self.title,
            ..self.data.clone()
        };
        PAGES.render(self.template, ctx)
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        match self.render() {
            Ok(html) => Html(html).into_response(),
            Err(e) => {
                tracing::error!(template = self.template, error = %e, "page does not render");
                super::WebError::Internal.into_response()
            }
        }
    }
}

/// The languages forms offer by name (`lang_name_CODE` in common.toml), in
/// the order the lists show them; a member's other tags are kept as typed.
pub const LANGUAGE_CODES: &[&str] = &[
    "ja", "en", "zh", "ko", "es", "fr", "de", "pt", "it", "vi", "th", "id", "tl", "ne", "ru", "ar",
    "hi",
];

/// How many language lists a profile form shows at most (`lang1`…`lang5`).
pub const LANGUAGE_FIELDS: usize = 5;

/// A profile form's language lists: one per language the member has (as
/// stored in `current`, `ja;en`) and one more (at least two), each offering
/// the languages by name in the page's language; a stored tag the list does
/// not name is offered as typed, so saving keeps it.
pub fn language_choices(current: &str, lang: MailLanguage) -> Vec<Value> {
    let have: Vec<String> = crate::domain::split_list(current)
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let shown = (have.len() + 1).clamp(2, LANGUAGE_FIELDS);
    let name = |code: &str| {
        PAGES
            .texts(lang)
            .get(&format!("lang_name_{code}"))
            .cloned()
            .unwrap_or_else(|| code.to_string())
    };
    (0..shown)
        .map(|i| {
            let picked = have.get(i).map(String::as_str).unwrap_or("");
            let mut codes: Vec<&str> = LANGUAGE_CODES.to_vec();
            if !picked.is_empty() && !codes.iter().any(|c| c.eq_ignore_ascii_case(picked)) {
                codes.push(picked);
            }
            let options: Vec<Value> = codes
                .iter()
                .map(|c| {
                    let selected = c.eq_ignore_ascii_case(picked);
                    minijinja::context! { code => *c, name => name(c), selected }
                })
                .collect();
            minijinja::context! {
                field => format!("lang{}", i + 1), first => i == 0, options,
                none => picked.is_empty(),
            }
        })
        .collect()
}

/// The languages chosen in a form's lists, in order, each once, as the
/// directory stores them (`ja;en`); `typed` (an older form's text field)
/// when no list was sent.
pub fn chosen_languages(lists: &[&str], typed: &str) -> String {
    let mut picked: Vec<&str> = Vec::new();
    for l in lists.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if !picked.iter().any(|p| p.eq_ignore_ascii_case(l)) {
            picked.push(l);
        }
    }
    if picked.is_empty() {
        return typed.to_string();
    }
    picked.join(";")
}

/// A member's languages by name in the page's language ("日本語, English";
/// 「日本語、英語」); a tag without a name stays as typed.
pub fn language_names(langs: &[crate::domain::Language], lang: MailLanguage) -> String {
    let names: Vec<String> = langs
        .iter()
        .map(|l| {
            PAGES
                .texts(lang)
                .get(&format!("lang_name_{}", l.as_str()))
                .cloned()
                .unwrap_or_else(|| l.as_str().to_string())
        })
        .collect();
    names.join(if lang == MailLanguage::Ja {
        "、"
    } else {
        ", "
    })
}

/// The language for a visitor who is not a member we know: the first of the
/// browser's languages we have, else the circle's.
pub fn browser_language(headers: &HeaderMap, circle: MailLanguage) -> MailLanguage {
    let Some(accept) = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
    else {
        return circle;
    };
    for part in accept.split(',') {
        let tag = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if tag.starts_with("ja") {
            return MailLanguage::Ja;
        }
        if tag.starts_with("en") {
            return MailLanguage::En;
        }
    }
    circle
}

/// GET /static/console.css: the one stylesheet (the CSP allows no inline style).
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_and_both_languages_have_the_same_words() {
        for (name, _) in TEMPLATES {
            assert!(
                PAGES.env.get_template(name).is_ok(),
                "{name} does not parse"
            );
        }
        let en: Vec<_> = PAGES.en.keys().collect();
        let ja: Vec<_> = PAGES.ja.keys().collect();
        assert_eq!(
            en, ja,
            "templates/web/text: [en] and [ja] must have the same keys"
        );
        assert!(!en.is_empty());
    }

    #[test]
    fn no_word_is_defined_in_two_areas() {
        // A key in two files would silently take the later file's words.
        let mut seen = BTreeMap::new();
        for (area, source) in TEXTS {
            let t: BTreeMap<String, BTreeMap<String, String>> = toml::from_str(source).unwrap();
            for key in t["en"].keys().chain(t["ja"].keys()) {
                if let Some(other) = seen.insert(key.clone(), *area) {
                    assert_eq!(
                        other, *area,
                        "{key} is in both {other}.toml and {area}.toml"
                    );
                }
            }
        }
    }

    #[test]
    fn language_lists_offer_names_and_keep_unknown_tags() {
        let lists = language_choices("ja;vi;xx", MailLanguage::Ja);
        assert_eq!(lists.len(), 4, "one per language and one more");
        let first = lists[0].get_attr("options").unwrap();
        let ja = first.get_item(&Value::from(0)).unwrap();
        assert_eq!(ja.get_attr("name").unwrap().to_string(), "日本語");
        assert!(ja.get_attr("selected").unwrap().is_true());
        let third: Vec<String> = lists[2]
            .get_attr("options")
            .unwrap()
            .try_iter()
            .unwrap()
            .filter(|o| o.get_attr("selected").unwrap().is_true())
            .map(|o| o.get_attr("name").unwrap().to_string())
            .collect();
        assert_eq!(third, ["xx"], "a tag without a name stays, as typed");
        assert_eq!(language_choices("", MailLanguage::En).len(), 2);
        assert_eq!(chosen_languages(&["en", "", "ja", "EN"], ""), "en;ja");
        assert_eq!(chosen_languages(&["", ""], "ja;en"), "ja;en");
    }

    #[test]
    fn the_browser_language_is_used_when_we_have_it() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_LANGUAGE,
            "fr-FR,ja;q=0.8,en;q=0.5".parse().unwrap(),
        );
        assert_eq!(browser_language(&h, MailLanguage::En), MailLanguage::Ja);
        h.insert(header::ACCEPT_LANGUAGE, "de".parse().unwrap());
        assert_eq!(browser_language(&h, MailLanguage::En), MailLanguage::En);
    }
}
