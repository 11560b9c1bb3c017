//! Safe by default: a strict Content-Security-Policy (`default-src 'self'`,
//! so no inline script or style and nothing fetched from elsewhere), no
//! framing, no referrer, no MIME sniffing, no caching of pages, and a limit
//! on every request body.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;

/// The largest body a request may have: a member CSV of some ten thousand
/// rows fits; anything larger is refused with 413 before it is read.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

const HEADERS: &[(HeaderName, &str)] = &[
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

pub fn layers(app: Router) -> Router {
    let mut app = app.layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES));
    for (name, value) in HEADERS {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name.clone(),
            HeaderValue::from_static(value),
        ));
    }
    // Pages show personal data: never kept by a shared browser or proxy.
    // The stylesheet sets its own caching, so this only fills a gap.
    app.layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
}
