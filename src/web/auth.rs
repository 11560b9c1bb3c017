//! Admin sign-in by mailed link: `/login` takes an address and, for one of
//! `[circle] admins`, mails a one-time link and code; the link's GET only
//! shows a "Sign in" button (mail scanners open every link), its POST signs
//! in. `/logout` ends the session.
//!
//! The answer to `/login` is the same page whether or not the address is an
//! admin's, and takes the same time: the code and its mail are made after
//! the answer, in a task of their own.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Path, Query, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use minijinja::context;
use serde::Deserialize;

use super::page::{PAGES, browser_language};
use super::{Page, WebError, WebState, code, session};
use crate::domain::{EmailAddress, MailLanguage};
use crate::relay::WebLoginMail;
use crate::store::admin::{AdminAction, AdminChange, record_action};
use crate::store::web::NewLoginCode;

/// A sign-in code lives this long.
pub const CODE_MINUTES: i64 = 15;
/// Codes mailed to one address per window; more are not sent (same page).
pub const PER_ADDRESS: i64 = 5;
/// Sign-in attempts (asking for a code, presenting one) per client per window.
pub const PER_CLIENT: i64 = 20;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/login", get(login_page).post(ask_for_code))
        .route("/login/enter", post(sign_in))
        .route("/login/{code}", get(link_page))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// A page for someone not signed in, in their browser's language.
fn public_page(
    state: &WebState,
    headers: &HeaderMap,
    template: &'static str,
    title_key: &str,
    data: minijinja::Value,
) -> Page {
    let lang = browser_language(headers, state.circle.language);
    Page {
        template,
        lang,
        circle: state.circle.name.clone(),
        admin: None,
        csrf: String::new(),
        nav: "",
        title: PAGES.word(lang, title_key),
        data,
    }
}

async fn login_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Page {
    let next = safe_next(q.next.as_deref());
    public_page(
        &state,
        &headers,
        "login.html",
        "login_title",
        context! { next },
    )
}

/// Only a path of our own admin pages: never an open redirect.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/admin") && !n.contains("//") && !n.contains('\\') => n,
        _ => "/admin",
    }
}

/// Who is asking: the peer, or behind a proxy on loopback the last
/// X-Forwarded-For entry (the one the proxy added; earlier ones are the
/// client's own words).
#[derive(Debug, Clone)]
pub struct Client(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded = || {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty())
                .map(str::to_string)
        };
        Ok(Self(match peer {
            Some(ip) if ip.is_loopback() => forwarded().unwrap_or_else(|| ip.to_string()),
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        }))
    }
}

#[derive(Deserialize)]
struct AskForm {
    #[serde(default)]
    email: String,
    next: Option<String>,
}

/// POST /login: the "check your mail" page, whoever asked.
async fn ask_for_code(
    State(state): State<WebState>,
    headers: HeaderMap,
    client: Client,
    Form(form): Form<AskForm>,
) -> Result<Page, WebError> {
    if !code::LIMITS.allow(&client.0, state.now()) {
        return Err(WebError::TooMany);
    }
    let next = safe_next(form.next.as_deref()).to_string();
    let typed = form.email.trim().to_string();
    let lang = browser_language(&headers, state.circle.language);
    if let Some(admin) = admin_address(&state, &typed) {
        let (state, client, next) = (state.clone(), client.0.clone(), next.clone());
        tokio::spawn(async move {
            if let Err(e) = mail_code(&state, &admin, &client, &next, lang).await {
                tracing::error!(error = %e, "web: cannot mail a sign-in code");
            }
        });
    }
    let again = match next.as_str() {
        "/admin" => "/login".to_string(),
        n => format!("/login?next={}", session::url_escape(n)),
    };
    Ok(public_page(
        &state,
        &headers,
        "login_sent.html",
        "login_sent_title",
        context! { email => typed, next, again },
    ))
}

/// The address as `[circle] admins` has it, when it is one (any case).
fn admin_address(state: &WebState, typed: &str) -> Option<EmailAddress> {
    let email = EmailAddress::parse(typed).ok()?;
    state
        .circle
        .admins
        .iter()
        .filter_map(|a| EmailAddress::parse(a).ok())
        .find(|a| a.as_str().eq_ignore_ascii_case(email.as_str()))
}

#[derive(Debug, thiserror::Error)]
enum MailCodeError {
    #[error(transparent)]
    Web(#[from] WebError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Relay(#[from] crate::relay::RelayError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Makes a code for `admin` and queues its mail, unless the address or the
/// client has asked too often.
async fn mail_code(
    state: &WebState,
    admin: &EmailAddress,
    client: &str,
    next: &str,
    lang: MailLanguage,
) -> Result<(), MailCodeError> {
    let now = state.now();
    let since = now - CODE_MINUTES * 60;
    let address = admin.as_str().to_lowercase();
    let (by_address, by_client) = state
        .store
        .web_login_codes_since(&address, client, since)
        .await?;
    if by_address >= PER_ADDRESS || by_client >= PER_CLIENT {
        tracing::warn!(admin = %address, client, "web: sign-in codes over the limit; none mailed");
        return Ok(());
    }
    let code = code::new_code()?;
    let hash = session::hash_hex(&code::normalize(&code));
    let mut link = state.web.link(&format!("login/{}", code::normalize(&code)));
    if next != "/admin" {
        link.push_str(&format!("?next={}", session::url_escape(next)));
    }
    let language = admin_language(state, admin, lang).await;
    let mut tx = state.store.begin().await?;
    let row = NewLoginCode {
        code_hash: &hash,
        admin: &address,
        client,
        expires_at: now + CODE_MINUTES * 60,
    };
    state
        .store
        .web_login_code_insert_tx(&mut tx, &row, now)
        .await?;
    let mail = WebLoginMail {
        to: admin,
        language,
        link: &link,
        code: &code,
        minutes: CODE_MINUTES,
        key: &hash[..24],
    };
    state
        .pipeline
        .relay()
        .queue_web_login(&mut tx, &mail)
        .await?;
    tx.commit().await?;
    state.outbox_waker.notify_one();
    Ok(())
}

/// The admin's member language, else the language of the browser that asked.
async fn admin_language(
    state: &WebState,
    admin: &EmailAddress,
    browser: MailLanguage,
) -> MailLanguage {
    match state.store.member_by_email(admin).await.ok().flatten() {
        Some(m) => m.language_or(browser),
        None => browser,
    }
}

/// GET /login/CODE: a "Sign in" button and nothing else; a link scanner
/// that opens it changes nothing.
async fn link_page(
    State(state): State<WebState>,
    headers: HeaderMap,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Page {
    let next = safe_next(q.next.as_deref());
    let code = code::normalize(&code);
    public_page(
        &state,
        &headers,
        "login_link.html",
        "login_link_title",
        context! { code, next },
    )
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// POST /login/enter: a code from the link's button or typed by hand.
async fn sign_in(
    State(state): State<WebState>,
    client: Client,
    jar: CookieJar,
    Form(form): Form<CodeForm>,
) -> Result<Response, WebError> {
    let now = state.now();
    if !code::LIMITS.allow(&client.0, now) {
        return Err(WebError::TooMany);
    }
    let hash = session::hash_hex(&code::normalize(&form.code));
    // The lookup by hash is the comparison: no secret is compared byte by byte.
    let Some(admin) = state.store.web_login_code_consume(&hash, now).await? else {
        return Err(WebError::BadLink);
    };
    // A code mailed before the admin was removed from `[circle] admins` is void.
    if admin_address(&state, &admin).is_none() {
        return Err(WebError::BadLink);
    }
    let cookie = session::start(&state, &admin).await?;
    record(&state, AdminAction::WebSignIn, &admin, now).await?;
    let next = safe_next(form.next.as_deref()).to_string();
    Ok((jar.add(cookie), Redirect::to(&next)).into_response())
}

/// Writes a sign-in or sign-out to `admin_actions` (the audit page).
async fn record(
    state: &WebState,
    action: AdminAction,
    admin: &str,
    now: i64,
) -> Result<(), WebError> {
    let actor = session::actor(admin);
    let change = AdminChange {
        action,
        actor: &actor,
        detail: "",
        now,
    };
    let mut tx = state
        .store
        .begin()
        .await
        .map_err(crate::store::StoreError::from)?;
    record_action(&mut tx, &change, None, None, None).await?;
    tx.commit().await.map_err(crate::store::StoreError::from)?;
    Ok(())
}

async fn logout(State(state): State<WebState>, jar: CookieJar) -> Result<Response, WebError> {
    // No CSRF token needed: ending a session is what an attacker cannot gain from.
    let now = state.now();
    let who = match jar.get(session::COOKIE) {
        Some(c) => state
            .store
            .web_session(&session::hash_hex(c.value()), now)
            .await?
            .map(|s| s.admin),
        None => None,
    };
    let jar = session::end(&state, jar).await?;
    if let Some(admin) = who {
        record(&state, AdminAction::WebSignOut, &admin, now).await?;
    }
    Ok((jar, Redirect::to("/login")).into_response())
}
