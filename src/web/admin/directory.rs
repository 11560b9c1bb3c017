//! `/admin/directory`: search the members, add and edit one, mark one as
//! left, import a CSV after a preview, export it. The rules for every field
//! are the CLI's and the CSV import's (crate::directory); every change is
//! recorded in `admin_actions` and makes the next match use the new profile.

mod import;
mod words;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::directory::{FieldError, Problem, ProfileInput, changed_fields, write_members_csv};
use crate::domain::{Language, Member, MemberStatus};
use crate::store::admin::{AdminAction, AdminChange};
use crate::store::{MemberListRow, MemberSearch, StoreError};
use crate::web::page::PAGES;
use crate::web::session::CsrfOnly;
use crate::web::{Admin, AdminForm, Csrf, Page, WebError, WebState};

/// Rows on one page of the list: a directory of 10,000 is never sent whole.
const PER_PAGE: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/directory", get(list))
        .route("/admin/directory/new", get(new_form).post(add))
        .route("/admin/directory/export.csv", get(export))
        .route(
            "/admin/directory/import",
            get(import::form).post(import::preview),
        )
        .route("/admin/directory/import/apply", post(import::apply))
        .route("/admin/directory/{id}", get(edit_form).post(save))
        .route("/admin/directory/{id}/remove", post(remove))
        // A CSV upload may be as large as any request (multipart's own default is smaller).
        .layer(DefaultBodyLimit::max(crate::web::security::MAX_BODY_BYTES))
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    added: String,
    #[serde(default)]
    changed: String,
    #[serde(default)]
    unchanged: String,
}

/// One member as the list shows them.
fn row_view(r: MemberListRow, lang: crate::domain::MailLanguage) -> Value {
    let m = r.member;
    context! {
        id => m.id,
        name => m.name,
        email => m.email.as_str(),
        skills => m.skills,
        languages => crate::web::page::language_names(&m.languages, lang),
        region => m.region,
        status => m.status.as_str(),
        paused_until => m.paused_until,
        hard_bounces => r.hard_bounces,
    }
}

fn languages(l: &[Language]) -> String {
    l.iter()
        .map(Language::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

async fn list(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Page, WebError> {
    let status = q
        .status
        .parse::<MemberStatus>()
        .ok()
        .filter(|_| !q.status.is_empty());
    let page = q.page.parse::<i64>().unwrap_or(1).max(1) - 1;
    let search = MemberSearch {
        text: q.q.clone(),
        status,
        page,
        per_page: PER_PAGE,
    };
    let found = state.store.search_members(&search).await?;
    let pages = (found.total + PER_PAGE - 1) / PER_PAGE;
    let link = |p: i64| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q.q)
            .append_pair("status", &q.status)
            .append_pair("page", &(p + 1).to_string())
            .finish();
        format!("/admin/directory?{query}")
    };
    let first = if found.total == 0 {
        0
    } else {
        page * PER_PAGE + 1
    };
    let rows: Vec<Value> = found
        .rows
        .into_iter()
        .map(|r| row_view(r, admin.lang))
        .collect();
    let shown = first + rows.len() as i64 - i64::from(first > 0);
    let data = context! {
        q => &q.q,
        status => &q.status,
        rows => rows,
        total => found.total,
        first => first,
        last => shown,
        prev => (page > 0).then(|| link(page - 1)),
        next => (page + 1 < pages).then(|| link(page + 1)),
        notice => list_notice(admin.lang, &q),
    };
    Ok(admin.page(
        &state,
        "admin/directory.html",
        "directory",
        "dir_title",
        data,
    ))
}

/// The notice after a change (POST/redirect/GET), in the admin's words.
fn list_notice(lang: crate::domain::MailLanguage, q: &ListQuery) -> Option<String> {
    let key = match q.done.as_str() {
        "removed" => "dir_done_removed",
        "imported" => "dir_done_imported",
        _ => return None,
    };
    let n = |s: &str| s.parse::<u64>().unwrap_or(0).to_string();
    Some(
        PAGES
            .word(lang, key)
            .replace("{added}", &n(&q.added))
            .replace("{changed}", &n(&q.changed))
            .replace("{unchanged}", &n(&q.unchanged)),
    )
}

/// The add and edit form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
struct ProfileForm {
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    bio: String,
    /// An older form's typed tags; the lists below win when sent.
    #[serde(default)]
    languages: String,
    #[serde(default)]
    lang1: String,
    #[serde(default)]
    lang2: String,
    #[serde(default)]
    lang3: String,
    #[serde(default)]
    lang4: String,
    #[serde(default)]
    lang5: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    paused_until: String,
    #[serde(default)]
    timezone: String,
}

impl Csrf for ProfileForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl ProfileForm {
    fn input(self) -> ProfileInput {
        ProfileInput {
            email: self.email,
            name: self.name,
            skills: self.skills,
            bio: self.bio,
            languages: crate::web::page::chosen_languages(
                &[
                    self.lang1.as_str(),
                    self.lang2.as_str(),
                    self.lang3.as_str(),
                    self.lang4.as_str(),
                    self.lang5.as_str(),
                ],
                &self.languages,
            ),
            region: self.region,
            status: self.status,
            paused_until: self.paused_until,
            timezone: self.timezone,
        }
    }
}

/// The form's fields for the template.
fn form_view(i: &ProfileInput, lang: crate::domain::MailLanguage) -> Value {
    context! {
        language_lists => crate::web::page::language_choices(&i.languages, lang),
        email => &i.email,
        name => &i.name,
        skills => &i.skills,
        bio => &i.bio,
        languages => &i.languages,
        region => &i.region,
        status => if i.status.is_empty() { "active" } else { i.status.as_str() },
        paused_until => &i.paused_until,
        timezone => &i.timezone,
    }
}

/// The add form (no member yet) or the edit form of `member`.
fn profile_page(
    state: &WebState,
    admin: &Admin,
    member: Option<&Member>,
    input: &ProfileInput,
    errors: &[FieldError],
    notice: Option<String>,
) -> Page {
    // Next to each field: what is wrong, in the admin's language.
    let errors: BTreeMap<&str, Value> = errors
        .iter()
        .map(|e| {
            // The form offers languages in lists: say to choose, not to type.
            let text = match &e.problem {
                Problem::Language { tag, .. } => PAGES
                    .word(admin.lang, "problem_language_list")
                    .replace("{value}", tag),
                p => words::problem(p, admin.lang),
            };
            (e.field.as_str(), context! { text => text })
        })
        .collect();
    let problem = (!errors.is_empty()).then(|| PAGES.word(admin.lang, "dir_form_problem"));
    let (title, action) = match member {
        Some(m) => ("dir_edit_title", format!("/admin/directory/{}", m.id)),
        None => ("dir_add_title", "/admin/directory/new".to_string()),
    };
    let data = context! {
        form => form_view(input, admin.lang),
        errors => errors,
        problem => problem,
        notice => notice,
        editing => member.is_some(),
        member_id => member.map(|m| m.id),
        left => member.is_some_and(|m| m.status == MemberStatus::Left),
        action => action,
        heading => PAGES.word(admin.lang, title),
    };
    admin.page(state, "admin/directory_edit.html", "directory", title, data)
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    /// An address to start with (the Mail page's "add the sender").
    #[serde(default)]
    email: String,
}

async fn new_form(State(state): State<WebState>, admin: Admin, Query(q): Query<NewQuery>) -> Page {
    let input = ProfileInput {
        email: q.email.trim().to_string(),
        ..ProfileInput::default()
    };
    profile_page(&state, &admin, None, &input, &[], None)
}

async fn add(
    State(state): State<WebState>,
    AdminForm(admin, form): AdminForm<ProfileForm>,
) -> Result<Response, WebError> {
    let input = form.input();
    let member = match input.to_member() {
        Ok(m) => m,
        Err(errors) => return Ok(refused(&state, &admin, None, &input, &errors)),
    };
    let actor = admin.actor();
    let change = AdminChange {
        action: AdminAction::MemberAdd,
        actor: &actor,
        detail: member.email.as_str(),
        now: state.now(),
    };
    match state.store.add_member_by(&member, &change).await {
        Ok(id) => {
            state.pipeline.directory_changed().await;
            Ok(Redirect::to(&format!("/admin/directory/{id}?done=added")).into_response())
        }
        Err(StoreError::Conflict(message)) => {
            let errors = [FieldError {
                field: crate::directory::Field::Email,
                problem: Problem::EmailTaken {
                    email: member.email.to_string(),
                    message,
                },
            }];
            Ok(refused(&state, &admin, None, &input, &errors))
        }
        Err(e) => Err(e.into()),
    }
}

/// The form again, with what was typed and what is wrong (nothing changed).
fn refused(
    state: &WebState,
    admin: &Admin,
    member: Option<&Member>,
    input: &ProfileInput,
    errors: &[FieldError],
) -> Response {
    let page = profile_page(state, admin, member, input, errors, None);
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

async fn member(state: &WebState, id: &str) -> Result<Member, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    state
        .store
        .member_by_id(id)
        .await?
        .ok_or(WebError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn edit_form(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Page, WebError> {
    let m = member(&state, &id).await?;
    let notice = match q.done.as_str() {
        "added" => Some(PAGES.word(admin.lang, "dir_done_added")),
        "saved" => Some(PAGES.word(admin.lang, "dir_done_saved")),
        _ => None,
    };
    let input = ProfileInput::of(&m);
    Ok(profile_page(&state, &admin, Some(&m), &input, &[], notice))
}

async fn save(
    State(state): State<WebState>,
    Path(id): Path<String>,
    AdminForm(admin, form): AdminForm<ProfileForm>,
) -> Result<Response, WebError> {
    let old = member(&state, &id).await?;
    let mut input = form.input();
    // The address is the member's key: it is shown, not edited.
    input.email = old.email.as_str().to_string();
    let new = match input.to_member() {
        Ok(m) => m,
        Err(errors) => return Ok(refused(&state, &admin, Some(&old), &input, &errors)),
    };
    let fields = changed_fields(&old, &new);
    if !fields.is_empty() {
        let action = if new.status == MemberStatus::Left && old.status != MemberStatus::Left {
            AdminAction::MemberRemove
        } else {
            AdminAction::MemberEdit
        };
        change_member(&state, &admin, &old, &new, action, &fields).await?;
    }
    Ok(Redirect::to(&format!("/admin/directory/{}?done=saved", old.id)).into_response())
}

/// Stores `new` over `old`, records it, and drops the cached matcher.
async fn change_member(
    state: &WebState,
    admin: &Admin,
    old: &Member,
    new: &Member,
    action: AdminAction,
    fields: &[&str],
) -> Result<(), WebError> {
    let actor = admin.actor();
    let detail = format!("{}: {}", old.email, fields.join(", "));
    let change = AdminChange {
        action,
        actor: &actor,
        detail: &detail,
        now: state.now(),
    };
    state.store.update_member_by(old.id, new, &change).await?;
    state.pipeline.directory_changed().await;
    Ok(())
}

/// POST …/remove: marks the member `left` (their history is kept).
async fn remove(
    State(state): State<WebState>,
    Path(id): Path<String>,
    AdminForm(admin, _): AdminForm<CsrfOnly>,
) -> Result<Response, WebError> {
    let old = member(&state, &id).await?;
    if old.status != MemberStatus::Left {
        let new = Member {
            status: MemberStatus::Left,
            paused_until: None,
            ..old.clone()
        };
        let fields = changed_fields(&old, &new);
        change_member(
            &state,
            &admin,
            &old,
            &new,
            AdminAction::MemberRemove,
            &fields,
        )
        .await?;
    }
    Ok(Redirect::to("/admin/directory?done=removed").into_response())
}

/// GET …/export.csv: the directory as `members export` writes it.
async fn export(State(state): State<WebState>, _admin: Admin) -> Result<Response, WebError> {
    let members = state.store.members().await?;
    let mut out = Vec::new();
    write_members_csv(&mut out, &members).map_err(|e| {
        tracing::error!(error = %e, "cannot write the directory CSV");
        WebError::Internal
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"members.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
