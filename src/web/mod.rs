//! The web console (issue 17), served by the daemon itself when `[web]
//! listen` is set: admin sign-in by mailed link (`/login`), the admin pages
//! (`/admin/…`), a member's own page (`/me/TOKEN`) and one-click unsubscribe
//! (`/u/TOKEN`, RFC 8058).
//!
//! Every page is rendered on the server from templates/web/ and works without
//! JavaScript; every state change is a POST (admin POSTs carry the session's
//! CSRF token); responses carry a strict Content-Security-Policy.
//!
//! Layout: `session` (cookies, the `Admin` extractor, CSRF), `page` (templates
//! and languages), `security` (headers, limits), `error` (what a person sees
//! when something is wrong), then one module per area: `auth`, `admin/*`,
//! `member`.

mod admin;
mod auth;
mod code;
mod error;
mod member;
pub mod page;
mod security;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::config::{CircleConfig, WebConfig};
use crate::pipeline::Pipeline;
use crate::relay::token::TokenKey;
use crate::shutdown::Shutdown;
use crate::store::Store;

pub use error::WebError;
pub use page::Page;
pub use session::{Admin, AdminForm, Csrf};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct WebState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    /// The relay (templates, matcher, flows) and its directory cache.
    pub pipeline: Arc<Pipeline>,
    pub web: WebConfig,
    pub circle: CircleConfig,
    /// `[security] token_secret`: signs members' page and unsubscribe links.
    pub tokens: TokenKey,
    pub clock: Clock,
    /// Wakes the outbox sender after mail is queued (a sign-in link).
    pub outbox_waker: Arc<Notify>,
}

impl WebState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    pub fn now(&self) -> i64 {
        (self.0.clock)()
    }
}

impl std::ops::Deref for WebState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Every route, with the security layers around them.
pub fn router(state: WebState) -> Router {
    let app = Router::new()
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("/admin") }),
        )
        .route("/static/console.css", get(page::stylesheet))
        .merge(auth::routes())
        .merge(admin::routes())
        .merge(member::routes())
        .fallback(error::not_found)
        .with_state(state);
    security::layers(app)
}

/// Serves the console on `[web] listen` until shutdown.
pub async fn serve(
    state: WebState,
    mut shutdown: Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listen = state.web.listen.clone();
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| anyhow::anyhow!("[web] listen = {listen:?}: {e}"))?;
    tracing::info!(address = %listener.local_addr()?, base_url = %state.web.base_url, "serving the web console");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    Ok(tokio::spawn(async move {
        let stop = async move { shutdown.wait().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "the web console stopped");
        }
    }))
}
