//! A member's own page (`/me/TOKEN`) and one-click unsubscribe (`/u/TOKEN`,
//! RFC 8058), reached by signed links in mails; no session, no cookie.

use axum::Router;

use super::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
}
