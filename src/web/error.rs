//! What a person sees when a page cannot be shown: a plain page that says
//! what happened and what to do, never a stack trace or a bare 500.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::context;

use super::page::PAGES;
use crate::domain::MailLanguage;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The database did not answer; the daemon goes on.
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("not found")]
    NotFound,
    /// A form without this session's CSRF token, or with a stale one.
    #[error("form token missing or stale")]
    Csrf,
    /// A member's link that is tampered with or too old.
    #[error("link not valid")]
    BadLink,
    /// Input the page explains (already in the reader's words).
    #[error("{0}")]
    BadInput(String),
    #[error("too many attempts")]
    TooMany,
    #[error("page did not render")]
    Internal,
}

impl WebError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Csrf | Self::BadLink => StatusCode::FORBIDDEN,
            Self::BadInput(_) => StatusCode::BAD_REQUEST,
            Self::TooMany => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text keys of the heading and the explanation (templates/web/text/common.toml).
    fn keys(&self) -> (&'static str, &'static str) {
        match self {
            Self::Store(_) => ("error_store", "error_store_help"),
            Self::NotFound => ("error_not_found", "error_not_found_help"),
            Self::Csrf => ("error_csrf", "error_csrf_help"),
            Self::BadLink => ("error_link", "error_link_help"),
            Self::BadInput(_) => ("error_input", "error_input_help"),
            Self::TooMany => ("error_too_many", "error_too_many_help"),
            Self::Internal => ("error_internal", "error_internal_help"),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::Store(e) = &self {
            tracing::error!(error = %e, "web: database error");
        }
        // Both languages: an error page does not know its reader.
        let (heading, help) = self.keys();
        let detail = match &self {
            Self::BadInput(text) => text.clone(),
            _ => String::new(),
        };
        let lines: Vec<_> = [MailLanguage::Ja, MailLanguage::En]
            .iter()
            .map(|&l| context! { heading => PAGES.word(l, heading), help => PAGES.word(l, help), lang => l.as_str() })
            .collect();
        let page = super::Page {
            template: "message.html",
            lang: MailLanguage::En,
            circle: String::new(),
            admin: None,
            csrf: String::new(),
            nav: "",
            title: PAGES.word(MailLanguage::En, heading),
            data: context! { messages => lines, detail => detail },
        };
        let body = page
            .render()
            .unwrap_or_else(|_| "Something went wrong.".into());
        (self.status(), Html(body)).into_response()
    }
}

/// Any path we do not serve.
pub async fn not_found() -> Response {
    WebError::NotFound.into_response()
}
