//! The admin pages, one module per menu entry. Every handler takes an
//! [`Admin`] (no session: a redirect to /login) and every POST an
//! [`AdminForm`](super::AdminForm) (no CSRF token: refused).

mod audit;
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
