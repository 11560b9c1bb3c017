//! The admin pages, one module per menu entry. Every handler takes an
//! [`Admin`] (no session: a redirect to /login) and every POST an
//! [`AdminForm`](super::AdminForm) (no CSRF token: refused).

mod audit;
mod audit_details;
mod chart;
mod directory;
mod mail;
mod overview;
mod requests;

use axum::Router;
use axum::routing::get;
use minijinja::Value;

use super::page::PAGES;
use super::{Admin, Page, WebError, WebState};
use crate::domain::MailLanguage;
use crate::domain::human_time::{self, ReaderZone};

pub fn routes() -> Router<WebState> {
    Router::new()
        .merge(overview::routes())
        .merge(requests::routes())
        .merge(directory::routes())
        .merge(mail::routes())
        .merge(audit::routes())
        // Any other admin path: no session, the login page; else "no such page".
        .route(
            "/admin/{*rest}",
            get(|_: Admin| async { WebError::NotFound }),
        )
}

impl Admin {
    /// A time as this admin reads it, in their zone and naming it:
    /// "Wed 2 Dec, 14:05 JST" / 「12月2日（水）14:05（日本時間）」.
    pub fn when(&self, at: i64) -> String {
        when_in(&self.zone, at, self.lang)
    }

    /// A page in this admin's language, with the menu showing `nav`.
    pub fn page(
        &self,
        state: &WebState,
        template: &'static str,
        nav: &'static str,
        title_key: &str,
        data: Value,
    ) -> Page {
        Page {
            template,
            lang: self.lang,
            circle: state.circle.name.clone(),
            admin: Some(self.email.clone()),
            csrf: self.csrf.clone(),
            nav,
            title: PAGES.word(self.lang, title_key),
            data,
        }
    }
}

/// A time in `zone`, with the zone named (pages are read from anywhere, and
/// an admin's own zone may differ from the circle's).
pub fn when_in(zone: &ReaderZone, at: i64, lang: MailLanguage) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(at) else {
        return String::new();
    };
    let z = ts.to_zoned_datetime(zone.tz.clone());
    let ja = lang == MailLanguage::Ja;
    let day = human_time::date(at, zone, ja);
    let clock = z.strftime("%H:%M").to_string();
    if ja {
        return format!("{day}{clock}（{}）", human_time::zone_name_ja(&zone.name));
    }
    // "JST", "GMT", "CET"; zones whose abbreviation is only an offset ("+04") by city.
    let abbr = z.strftime("%Z").to_string();
    if !abbr.is_empty() && abbr.chars().all(|c| c.is_ascii_alphabetic()) {
        format!("{day}, {clock} {abbr}")
    } else {
        format!("{day}, {clock} ({})", human_time::zone_name_en(&zone.name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_name_their_zone() {
        // Wed 2 Dec 2026 05:05 UTC.
        let at = 1_796_187_900;
        let tokyo = ReaderZone::pick(None, "Asia/Tokyo");
        assert_eq!(
            when_in(&tokyo, at, MailLanguage::En),
            "Wed 2 Dec, 14:05 JST"
        );
        assert_eq!(
            when_in(&tokyo, at, MailLanguage::Ja),
            "12月2日（水）14:05（日本時間）"
        );
        let london = ReaderZone::pick(Some("Europe/London"), "Asia/Tokyo");
        assert_eq!(
            when_in(&london, at, MailLanguage::En),
            "Wed 2 Dec, 05:05 GMT"
        );
        let dubai = ReaderZone::pick(Some("Asia/Dubai"), "Asia/Tokyo");
        assert_eq!(
            when_in(&dubai, at, MailLanguage::En),
            "Wed 2 Dec, 09:05 (Dubai time)"
        );
    }
}
