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

/// A mail's last error in the admin's words, and what the mail server said
/// (kept verbatim; the page labels it as such). `bad_address`: the
/// recipient is no address at all (the error is then the relay's own).
fn error_words(error: Option<&str>, bad_address: bool, lang: MailLanguage) -> (String, String) {
    let Some(e) = error.map(str::trim).filter(|e| !e.is_empty()) else {
        return (String::new(), String::new());
    };
    let (key, said) = if bad_address {
        ("mail_error_bad_address", "")
    } else if e.starts_with("hourly cap") {
        ("mail_error_cap", "")
    } else if e.starts_with("discarded by") {
        ("mail_error_discarded", "")
    } else if let Some(said) = e.strip_prefix("permanent failure:") {
        ("mail_error_refused", said)
    } else if let Some(said) = e.strip_prefix("temporary failure:") {
        ("mail_error_temporary", said)
    } else {
        return (e.to_string(), String::new());
    };
    (PAGES.word(lang, key), said.trim().to_string())
}

/// How the inbox records a request from an address not in the directory.
const NOT_A_MEMBER: &str = "request from an address that is not an active member";

/// Why an incoming message was set aside, in the admin's words where the
/// reason is one the relay writes (`pipeline.rs`, `inbox/runner.rs`), with
/// what another program said kept verbatim as the detail; any other
/// reason as it was stored.
pub(super) fn reason_words(kind: &str, reason: &str, lang: MailLanguage) -> (String, String) {
    let word = |k: &str| PAGES.word(lang, k);
    let r = reason.trim();
    if r.starts_with(NOT_A_MEMBER) {
        return (word("mail_reason_not_member"), String::new());
    }
    if r == "no usable From address" {
        return (word("mail_reason_no_from"), String::new());
    }
    if r == "the message has nothing readable" {
        return (word("mail_reason_nothing_readable"), String::new());
    }
    if let Some(why) = r
        .strip_prefix("not applied: ")
        .and_then(|w| w.strip_suffix(" at the trusted server"))
    {
        return not_applied(why, lang);
    }
    if let Some((size, max)) = too_large(r) {
        let text = word("mail_reason_too_large")
            .replace("{size}", &size)
            .replace("{max}", &max);
        return (text, String::new());
    }
    if kind == "unreadable" {
        return (word("mail_reason_cannot_read"), r.to_string());
    }
    (r.to_string(), String::new())
}

/// A forged sender's message: the trusted server's verdict (as
/// `understand/auth_results.rs` words it) in the page's words; a verdict of
/// another shape is kept as recorded.
fn not_applied(why: &str, lang: MailLanguage) -> (String, String) {
    let (verdict, detail) = match verdict_words(why, lang) {
        Some(v) => (v, String::new()),
        None => (PAGES.word(lang, "mail_auth_unknown"), why.to_string()),
    };
    let text = PAGES
        .word(lang, "mail_reason_not_applied")
        .replace("{why}", &verdict);
    (text, detail)
}

/// The trusted server's verdict on a sender in the page's words, when it is
/// one of the shapes `understand/auth_results.rs` writes.
pub(super) fn verdict_words(why: &str, lang: MailLanguage) -> Option<String> {
    [
        ("DMARC failed for ", "mail_auth_dmarc"),
        ("SPF and DKIM failed for ", "mail_auth_spf_dkim"),
    ]
    .iter()
    .find_map(|(prefix, key)| {
        why.strip_prefix(prefix)
            .map(|domain| PAGES.word(lang, key).replace("{domain}", domain))
    })
}

/// "message of 123 bytes exceeds max_message_bytes (100)": the two numbers.
fn too_large(r: &str) -> Option<(String, String)> {
    let rest = r.strip_prefix("message of ")?;
    let (size, rest) = rest.split_once(" bytes exceeds max_message_bytes (")?;
    let max = rest.strip_suffix(')')?;
    Some((size.to_string(), max.to_string()))
}

/// What the templates show of outbox rows (also the request timeline's mail).
pub(super) fn mail_items(admin: &Admin, rows: &[OutboxRow]) -> Vec<Value> {
    let lang = admin.lang;
    rows.iter()
        .map(|r| {
            let bad_address = crate::domain::EmailAddress::parse(&r.to_email).is_err();
            let (error, detail) = error_words(r.last_error.as_deref(), bad_address, lang);
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
    /// The stored reason of a message that still fails.
    #[serde(default)]
    why: String,
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
            let (reason, detail) = reason_words(&m.kind, error, lang);
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
                reason, detail, add,
                kept => m.has_raw,
                when => admin.when(m.received_at),
            }
        })
        .collect();
    let notice = known(&q.done).map(|k| PAGES.word(lang, &format!("mail_done_{k}")));
    let problem = problem_words(&q.problem, &q.why, lang);
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
            let (key, why) = reprocess_problem(&e.to_string());
            let why = crate::web::session::url_escape(&why);
            format!("/admin/mail?problem={key}&why={why}")
        }
    };
    Ok(Redirect::to(&to).into_response())
}

/// Why "Handle again" did nothing, as a word key (the page words it) and,
/// when the message still fails, its stored reason. The shapes are the ones
/// `cli::inbox::reprocess_with` says.
fn reprocess_problem(error: &str) -> (&'static str, String) {
    if let Some((_, reason)) = error.split_once(" still cannot be handled: ") {
        return ("still", reason.to_string());
    }
    let key = if error.starts_with("there is no inbound message") {
        "missing"
    } else if error.contains("was handled already") || error.contains("could double them") {
        "done"
    } else if error.contains("is being handled right now") {
        "busy"
    } else if error.contains("was not kept") {
        "not_kept"
    } else {
        tracing::warn!(error, "web: handling a message again failed");
        "failed"
    };
    (key, String::new())
}

/// The problem line of the Mail page after a refused "Handle again".
fn problem_words(key: &str, why: &str, lang: MailLanguage) -> Option<String> {
    const KNOWN: &[&str] = &["still", "missing", "done", "busy", "not_kept", "failed"];
    let key = KNOWN.iter().find(|k| **k == key)?;
    let mut text = PAGES.word(lang, &format!("mail_problem_{key}"));
    if *key == "still" {
        let (reason, detail) = reason_words("", why, lang);
        text = text.replace("{reason}", &reason);
        if !detail.is_empty() {
            text.push_str(&format!(
                " {} {detail}",
                PAGES.word(lang, "mail_as_recorded")
            ));
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inboxs_reasons_read_in_the_pages_language() {
        let ja = MailLanguage::Ja;
        for (kind, stored, want) in [
            (
                "request",
                "request from an address that is not an active member (hold 3)",
                "メンバーではありません",
            ),
            ("request", "no usable From address", "差出人アドレス"),
            (
                "unreadable",
                "the message has nothing readable",
                "読める本文",
            ),
            (
                "reply",
                "not applied: DMARC fail for x.org at the trusted server",
                "確認できなかった",
            ),
            (
                "error",
                "message of 2000 bytes exceeds max_message_bytes (1000)",
                "2000バイト（上限は1000バイト",
            ),
            ("unreadable", "headers are not valid", "読み取れません"),
        ] {
            let (words, _) = reason_words(kind, stored, ja);
            assert!(words.contains(want), "{stored}: {words}");
            assert!(!words.is_ascii(), "English on a Japanese page: {words}");
        }
        let (_, detail) = reason_words(
            "reply",
            "not applied: DMARC fail for x.org at the trusted server",
            ja,
        );
        assert_eq!(
            detail, "DMARC fail for x.org",
            "the server's verdict, verbatim"
        );
        let (words, detail) = reason_words("request", "something new", ja);
        assert_eq!((words.as_str(), detail.as_str()), ("something new", ""));
    }

    #[test]
    fn a_refused_handle_again_is_said_in_the_pages_words() {
        let ja = MailLanguage::Ja;
        let (key, why) = reprocess_problem(
            "message 4 still cannot be handled: request from an address that is not an active member (hold 2)",
        );
        assert_eq!(key, "still");
        let text = problem_words(key, &why, ja).unwrap();
        assert!(
            text.contains("送信者はまだサークルのメンバーではありません"),
            "{text}"
        );
        let (key, _) = reprocess_problem(
            "message 4 was handled already; handling it again could send its mails twice",
        );
        assert!(!problem_words(key, "", ja).unwrap().is_ascii());
        assert_eq!(
            problem_words("made up <b>text</b>", "", ja),
            None,
            "only known problems"
        );
    }

    #[test]
    fn a_mails_error_is_worded_and_the_servers_words_kept() {
        let ja = MailLanguage::Ja;
        let (words, said) = error_words(
            Some("permanent failure: permanent error (550): 5.1.1 User unknown"),
            false,
            ja,
        );
        assert_eq!(words, "受信側のサーバーが受け取りを拒否しました。");
        assert_eq!(said, "permanent error (550): 5.1.1 User unknown");
        let (words, said) = error_words(Some("address \"x\" has no single '@'"), true, ja);
        assert!(
            words.contains("有効なメールアドレスではない") && said.is_empty(),
            "{words}"
        );
        let (words, _) = error_words(
            Some("hourly cap for this recipient reached (loop breaker)"),
            false,
            ja,
        );
        assert!(words.contains("上限"), "{words}");
    }
}
