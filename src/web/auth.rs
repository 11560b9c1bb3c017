//! Admin sign-in by mailed link: `/login` takes an address and, for one of
//! `[circle] admins`, mails a one-time link and code; the link's GET only
//! shows a "Sign in" button (mail scanners open every link), its POST signs
//! in. `/logout` ends the session.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;

use super::{Page, WebError, WebState, session};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/login", get(login_page))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Page {
    let lang = super::page::browser_language(&headers, state.circle.language);
    Page {
        template: "login.html",
        lang,
        circle: state.circle.name.clone(),
        admin: None,
        csrf: String::new(),
        nav: "",
        title: super::page::PAGES.word(lang, "login_title"),
        data: context! { next => safe_next(q.next.as_deref()) },
    }
}

/// Only a path of our own admin pages: never an open redirect.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/admin") && !n.contains("//") && !n.contains('\\') => n,
        _ => "/admin",
    }
}

async fn logout(State(state): State<WebState>, jar: CookieJar) -> Result<Response, WebError> {
    // No CSRF token needed: ending a session is what an attacker cannot gain from.
    let jar = session::end(&state, jar).await?;
    Ok((jar, Redirect::to("/login")).into_response())
}
