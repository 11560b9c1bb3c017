//! Admin sessions: a random token in an HttpOnly, SameSite=Lax cookie
//! (Secure when `base_url` is https), its SHA-256 in `web_sessions`; and the
//! CSRF token every admin POST carries (synchronizer token, one per session,
//! compared in constant time).

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{WebError, WebState};
use crate::domain::human_time::ReaderZone;
use crate::domain::{EmailAddress, MailLanguage};
use crate::store::web::WebSession;

pub const COOKIE: &str = "circle_session";

/// A signed-in admin; extracting it from a request without a live session
/// redirects to `/login?next=…` instead of running the handler.
#[derive(Debug, Clone)]
pub struct Admin {
    pub email: String,
    pub csrf: String,
    /// The admin's member language, else the browser's, else the circle's.
    pub lang: MailLanguage,
    /// The time zone pages show times in: the admin's member time zone,
    /// else the circle's.
    pub zone: ReaderZone,
}

impl FromRequestParts<WebState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &WebState) -> Result<Self, Response> {
        let jar = CookieJar::from_headers(&parts.headers);
        let session = match jar.get(COOKIE) {
            Some(c) => state
                .store
                .web_session(&hash_hex(c.value()), state.now())
                .await
                .map_err(|e| WebError::from(e).into_response())?,
            None => None,
        };
        let Some(session) = session else {
            return Err(to_login(parts.uri.path()).into_response());
        };
        let (lang, zone) = admin_prefs(state, &session.admin, &parts.headers).await;
        Ok(Self {
            email: session.admin,
            csrf: session.csrf,
            lang,
            zone,
        })
    }
}

fn to_login(path: &str) -> Redirect {
    if path.starts_with("/admin") {
        Redirect::to(&format!("/login?next={}", url_escape(path)))
    } else {
        Redirect::to("/login")
    }
}

pub fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The admin's language and time zone: their member profile's, else the
/// browser's language and the circle's zone.
async fn admin_prefs(
    state: &WebState,
    admin: &str,
    headers: &axum::http::HeaderMap,
) -> (MailLanguage, ReaderZone) {
    let member = match EmailAddress::parse(admin) {
        Ok(email) => state.store.member_by_email(&email).await.ok().flatten(),
        Err(_) => None,
    };
    let browser = super::page::browser_language(headers, state.circle.language);
    let lang = member.as_ref().map_or(browser, |m| m.language_or(browser));
    let own = member.as_ref().and_then(|m| m.timezone_name());
    (lang, ReaderZone::pick(own, &state.circle.timezone))
}

/// A form that carries the CSRF token in a field named `csrf`.
pub trait Csrf {
    fn csrf(&self) -> &str;
}

/// A form with only the token (a button's POST); a missing token is refused
/// as a wrong one (403).
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

impl Csrf for CsrfOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// How the audit (`admin_actions`) names an admin acting in the console.
pub fn actor(email: &str) -> String {
    format!("web:{email}")
}

impl Admin {
    /// This admin as the audit names them ([`actor`]).
    pub fn actor(&self) -> String {
        actor(&self.email)
    }
}

/// An admin's POSTed form, accepted only with the session's CSRF token.
pub struct AdminForm<T>(pub Admin, pub T);

impl<T> FromRequest<WebState> for AdminForm<T>
where
    T: DeserializeOwned + Csrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let admin = Admin::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, super::security::MAX_BODY_BYTES)
            .await
            .map_err(|_| WebError::BadInput(String::new()).into_response())?;
        // The token first: a forged form is refused as such, whatever else it holds.
        let token = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !same(&token, &admin.csrf) {
            return Err(WebError::Csrf.into_response());
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        let Form(form) = Form::<T>::from_request(req, state)
            .await
            .map_err(|e| WebError::BadInput(e.body_text()).into_response())?;
        if !same(form.csrf(), &admin.csrf) {
            return Err(WebError::Csrf.into_response());
        }
        Ok(Self(admin, form))
    }
}

/// Constant-time equality of two secrets.
pub fn same(a: &str, b: &str) -> bool {
    crate::crypto::constant_time_eq(a.as_bytes(), b.as_bytes())
}

/// 32 random bytes as hex: session tokens, CSRF tokens.
pub fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| WebError::Internal)?;
    Ok(crate::crypto::hex(&bytes))
}

pub fn hash_hex(secret: &str) -> String {
    crate::crypto::sha256_hex(secret.as_bytes())
}

/// Starts a session for `admin`: stores it and returns the cookie to set.
/// Sign-in always makes a new token, so a session is renewed, never reused.
pub async fn start(state: &WebState, admin: &str) -> Result<Cookie<'static>, WebError> {
    let token = random_token()?;
    let now = state.now();
    let session = WebSession {
        admin: admin.to_string(),
        csrf: random_token()?,
        expires_at: now + i64::from(state.web.session_hours) * 3600,
    };
    state
        .store
        .web_session_create(&hash_hex(&token), &session, now)
        .await?;
    Ok(cookie(
        state,
        token,
        time_from_hours(state.web.session_hours),
    ))
}

/// Ends the session of this cookie jar (logout) and returns the jar that clears it.
pub async fn end(state: &WebState, jar: CookieJar) -> Result<CookieJar, WebError> {
    if let Some(c) = jar.get(COOKIE) {
        state
            .store
            .web_session_end(&hash_hex(c.value()), state.now())
            .await?;
    }
    Ok(jar.remove(cookie(state, String::new(), cookie::time::Duration::ZERO)))
}

fn cookie(state: &WebState, value: String, max_age: cookie::time::Duration) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.web.is_https())
        .max_age(max_age)
        .build()
}

fn time_from_hours(hours: u32) -> cookie::time::Duration {
    cookie::time::Duration::hours(i64::from(hours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_hashes_hide_them() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(hash_hex(&a).len(), 64);
        assert_ne!(hash_hex(&a), a);
        assert!(same(&a, &a.clone()) && !same(&a, &b) && !same(&a, "short"));
    }
}
