//! `/admin/directory/import`: a CSV (uploaded, or pasted) is read with the
//! rules of `members import`, and a preview shows what would change; only
//! the confirming POST applies it, after reading it again. A file with any
//! bad row shows every one of them by line and applies nothing.
//!
//! The preview carries the decoded text to the confirm step in a hidden
//! field of a multipart form (sent as it is, not URL-encoded); the confirm
//! step trusts nothing of the preview and validates the text again.

use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};

use super::languages;
use crate::directory::{CsvError, decode_csv, parse_members_csv};
use crate::domain::{MailLanguage, Member};
use crate::store::ImportPreview;
use crate::store::admin::{AdminAction, AdminChange};
use crate::web::page::PAGES;
use crate::web::session::same;
use crate::web::{Admin, Page, WebError, WebState};

/// How many added or changed members the preview lists (the counts are all).
const SHOWN: usize = 200;

pub async fn form(State(state): State<WebState>, admin: Admin) -> Page {
    import_page(&state, &admin, context! {})
}

fn import_page(state: &WebState, admin: &Admin, data: Value) -> Page {
    admin.page(
        state,
        "admin/directory_import.html",
        "directory",
        "dir_import_title",
        data,
    )
}

/// The fields of an import form: the CSRF token, a file, pasted text.
#[derive(Default)]
struct Upload {
    csrf: String,
    file: Vec<u8>,
    text: String,
}

async fn read_upload(
    admin: &Admin,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Upload, WebError> {
    let mut multipart = multipart.map_err(|e| WebError::BadInput(e.body_text()))?;
    let mut upload = Upload::default();
    let bad = |e: axum::extract::multipart::MultipartError| WebError::BadInput(e.body_text());
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "csrf" => upload.csrf = field.text().await.map_err(bad)?,
            "file" => upload.file = field.bytes().await.map_err(bad)?.to_vec(),
            "text" | "content" => upload.text = field.text().await.map_err(bad)?,
            _ => {}
        }
    }
    if !same(&upload.csrf, &admin.csrf) {
        return Err(WebError::Csrf);
    }
    Ok(upload)
}

/// POST /admin/directory/import: the preview; nothing is changed.
pub async fn preview(
    State(state): State<WebState>,
    admin: Admin,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let upload = read_upload(&admin, multipart).await?;
    let bytes = if upload.file.is_empty() {
        upload.text.into_bytes()
    } else {
        upload.file
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        let problem = PAGES.word(admin.lang, "dir_import_nothing");
        return Ok(refused(import_page(&state, &admin, context! { problem })));
    }
    let outcome = read(&state, &bytes).await?;
    Ok(outcome_page(&state, &admin, outcome))
}

/// What reading a file came to.
enum Outcome {
    /// The file as a whole cannot be read (encoding, header).
    Unreadable(CsvError),
    /// Some rows are bad: every one, by line.
    BadRows(Vec<crate::directory::RowError>),
    Good {
        text: String,
        members: Vec<Member>,
        preview: ImportPreview,
    },
}

async fn read(state: &WebState, bytes: &[u8]) -> Result<Outcome, WebError> {
    let text = match decode_csv(bytes) {
        Ok(t) => t,
        Err(e) => return Ok(Outcome::Unreadable(e)),
    };
    match parse_members_csv(text.as_bytes()) {
        Ok(members) => {
            let preview = state.store.import_preview(&members).await?;
            Ok(Outcome::Good {
                text,
                members,
                preview,
            })
        }
        Err(CsvError::Rows(errors)) => Ok(Outcome::BadRows(errors)),
        Err(e) => Ok(Outcome::Unreadable(e)),
    }
}

fn listed(m: &Member, fields: &[&str], lang: MailLanguage) -> Value {
    let fields: Vec<String> = fields
        .iter()
        .map(|f| PAGES.word(lang, &format!("dir_field_{f}")))
        .collect();
    context! {
        email => m.email.as_str(),
        name => &m.name,
        skills => m.skills.join("; "),
        languages => languages(&m.languages),
        fields => fields,
    }
}

fn outcome_page(state: &WebState, admin: &Admin, outcome: Outcome) -> Response {
    let lang = admin.lang;
    match outcome {
        Outcome::Unreadable(e) => {
            let detail = super::words::file_problem(&e, lang);
            let problem = format!("{}\n{detail}", PAGES.word(lang, "dir_import_unreadable"));
            refused(import_page(state, admin, context! { problem }))
        }
        Outcome::BadRows(errors) => {
            let rows: Vec<Value> = errors
                .iter()
                .map(|e| context! { line => e.line, message => super::words::problem(&e.problem, lang) })
                .collect();
            let problem = PAGES
                .word(lang, "dir_import_bad_rows")
                .replace("{n}", &errors.len().to_string());
            refused(import_page(
                state,
                admin,
                context! { problem, bad_rows => rows },
            ))
        }
        Outcome::Good { text, preview, .. } => {
            let added: Vec<Value> = preview
                .added
                .iter()
                .take(SHOWN)
                .map(|m| listed(m, &[], lang))
                .collect();
            let changed: Vec<Value> = preview
                .changed
                .iter()
                .take(SHOWN)
                .map(|(m, f)| listed(m, f, lang))
                .collect();
            let data = context! {
                preview => true,
                content => text,
                added_count => preview.added.len(),
                changed_count => preview.changed.len(),
                unchanged_count => preview.unchanged,
                added => added,
                changed => changed,
                shown => SHOWN,
            };
            import_page(state, admin, data).into_response()
        }
    }
}

fn refused(page: Page) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// POST /admin/directory/import/apply: reads the text again and imports it
/// all, or shows why not and changes nothing.
pub async fn apply(
    State(state): State<WebState>,
    admin: Admin,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, WebError> {
    let upload = read_upload(&admin, multipart).await?;
    let (members, preview) = match read(&state, upload.text.as_bytes()).await? {
        Outcome::Good {
            members, preview, ..
        } => (members, preview),
        other => return Ok(outcome_page(&state, &admin, other)),
    };
    let summary = state.store.import_members(&members, false).await?;
    let actor = admin.actor();
    let detail = format!(
        "{} rows: {} added, {} updated, {} unchanged",
        members.len(),
        summary.added,
        summary.updated,
        summary.unchanged
    );
    let change = AdminChange {
        action: AdminAction::MembersImport,
        actor: &actor,
        detail: &detail,
        now: state.now(),
    };
    state.store.record_admin_change(&change).await?;
    state.pipeline.directory_changed().await;
    tracing::info!(actor, previewed_added = preview.added.len(), "{detail}");
    Ok(Redirect::to(&format!(
        "/admin/directory?done=imported&added={}&changed={}&unchanged={}",
        summary.added, summary.updated, summary.unchanged
    ))
    .into_response())
}
