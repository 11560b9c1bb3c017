//! `/admin/mail`: the outbox by status (held, failed, queued) with release,
//! retry and discard (what `outbox release|retry|discard` do), and the
//! messages the inbox moved aside with their reason and reprocess (what
//! `inbox reprocess` does). Every change is recorded as "web:ADMIN".

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::MailLanguage;
use crate::store::admin::{AdminAction, OutboxRow, OutboxStatus};
use crate::web::page::PAGES;
use crate::web::session::CsrfOnly;
use crate::web::{Admin, AdminForm, Page, WebError, WebState};

/// Mails listed per status.
const LIST: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/mail", get(mail))
        .route("/admin/mail/{id}/{action}", post(change))
        .route("/admin/mail/inbound/{id}/reprocess", post(reprocess))
}

/// A mail's last error in the admin's words (the server's own words kept
/// as the detail).
fn error_words(error: Option<&str>, lang: MailLanguage) -> (String, String) {
    let Some(e) = error.map(str::trim).filter(|e| !e.is_empty()) else {
        return (String::new(), String::new());
    };
    let key = if e.starts_with("hourly cap") {
        "mail_error_cap"
    } else if e.starts_with("discarded by") {
        "mail_error_discarded"
    } else if e.starts_with("permanent failure") {
        "mail_error_refused"
    } else if e.starts_with("temporary failure") {
        "mail_error_temporary"
    } else {
        return (e.to_string(), String::new());
    };
    (PAGES.word(lang, key), e.to_string())
}

/// How the inbox records a request from an address not in the directory.
const NOT_A_MEMBER: &str = "request from an address that is not an active member";

/// Why an incoming message was set aside, in the admin's words where the
/// reason is a known one; any other as it was stored.
fn reason_words(reason: &str, lang: MailLanguage) -> String {
    if reason.starts_with(NOT_A_MEMBER) {
        PAGES.word(lang, "mail_reason_not_member")
    } else {
        reason.to_string()
    }
}

/// What the templates show of outbox rows (also the request timeline's mail).
pub(super) fn mail_items(admin: &Admin, rows: &[OutboxRow]) -> Vec<Value> {
    let lang = admin.lang;
    rows.iter()
        .map(|r| {
            let (error, detail) = error_words(r.last_error.as_deref(), lang);
            context! {
                id => r.id,
                kind => &r.kind,
                kind_words => PAGES.word(lang, &format!("kind_{}", r.kind)),
                to => &r.to_email,
                subject => &r.subject,
                status => &r.status,
                attempts => r.attempts,
                error, detail,
                request => r.request_id.map(|n| format!("/admin/requests/{n}")),
                request_id => r.request_id,
                when => admin.when(r.sent_at.unwrap_or(r.created_at)),
            }
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
struct MailQuery {
    #[serde(default)]
    done: String,
    #[serde(default)]
    problem: String,
}

async fn rows(state: &WebState, status: OutboxStatus) -> Result<Vec<OutboxRow>, WebError> {
    Ok(state.store.outbox_with_status(status, LIST).await?)
}

async fn mail(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<MailQuery>,
) -> Result<Page, WebError> {
    let lang = admin.lang;
    let counts = state.store.outbox_counts().await?;
    let held = mail_items(&admin, &rows(&state, OutboxStatus::Held).await?);
    let failed = mail_items(&admin, &rows(&state, OutboxStatus::Failed).await?);
    let queued = mail_items(&admin, &rows(&state, OutboxStatus::Queued).await?);
    let inbound: Vec<Value> = state
        .store
        .inbound_failed(LIST)
        .await?
        .iter()
        .map(|m| {
            let error = m.error.as_deref().unwrap_or("");
            let reason = reason_words(error, lang);
            // A request from someone not yet a member: the form to add them, filled in.
            let add = error
                .starts_with(NOT_A_MEMBER)
                .then_some(m.from_addr.as_deref())
                .flatten()
                .map(|a| {
                    format!(
                        "/admin/directory/new?email={}",
                        crate::web::session::url_escape(a)
                    )
                });
            context! {
                id => m.id,
                from => m.from_addr.as_deref().unwrap_or(""),
                subject => m.subject.as_deref().unwrap_or(""),
                reason, add,
                kept => m.has_raw,
                when => admin.when(m.received_at),
            }
        })
        .collect();
    let notice = known(&q.done).map(|k| PAGES.word(lang, &format!("mail_done_{k}")));
    let problem = (!q.problem.is_empty()).then(|| q.problem.clone());
    Ok(admin.page(
        &state,
        "admin/mail.html",
        "mail",
        "mail_title",
        context! {
            held, failed, queued, inbound, notice, problem,
            n_held => counts.held, n_failed => counts.failed,
            n_queued => counts.queued + counts.sending, n_sent => counts.sent,
        },
    ))
}

fn known(done: &str) -> Option<&str> {
    [
        "released",
        "retried",
        "discarded",
        "reprocessed",
        "unchanged",
    ]
    .into_iter()
    .find(|k| *k == done)
}

/// POST /admin/mail/N/release|retry|discard.
async fn change(
    State(state): State<WebState>,
    Path((id, action)): Path<(i64, String)>,
    AdminForm(admin, _): AdminForm<CsrfOnly>,
) -> Result<Response, WebError> {
    let (action, from, done) = match action.as_str() {
        "release" => (
            AdminAction::OutboxRelease,
            vec![OutboxStatus::Held],
            "released",
        ),
        "retry" => (
            AdminAction::OutboxRetry,
            vec![OutboxStatus::Failed],
            "retried",
        ),
        "discard" => (AdminAction::OutboxDiscard, vec![], "discarded"),
        _ => return Err(WebError::NotFound),
    };
    let who = admin.actor();
    let changed =
        crate::cli::outbox::apply(&state.store, id, action, &from, &who, state.now()).await?;
    if changed {
        state.outbox_waker.notify_one();
    }
    let done = if changed { done } else { "unchanged" };
    Ok(Redirect::to(&format!("/admin/mail?done={done}")).into_response())
}

/// POST /admin/mail/inbound/N/reprocess: handles a failed message again.
async fn reprocess(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    AdminForm(admin, _): AdminForm<CsrfOnly>,
) -> Result<Response, WebError> {
    let who = admin.actor();
    let to = match crate::cli::inbox::reprocess_with(&state.store, &state.pipeline, id, &who).await
    {
        Ok(_) => {
            state.outbox_waker.notify_one();
            "/admin/mail?done=reprocessed".to_string()
        }
        Err(e) => {
            let problem: String =
                url::form_urlencoded::byte_serialize(e.to_string().as_bytes()).collect();
            format!("/admin/mail?problem={problem}")
        }
    };
    Ok(Redirect::to(&to).into_response())
}
