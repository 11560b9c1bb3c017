//! A member's own page (`/me/TOKEN`) and one-click unsubscribe (`/u/TOKEN`,
//! RFC 8058), reached by signed links in mails; no session, no cookie.
//!
//! The signed token in the path is the authority (relay/member_link.rs:
//! bound to one member, page links expire). Every form on the page POSTs
//! back to a path carrying the same token, so a page on another site cannot
//! forge a change without knowing the token, which only the member's own
//! mails carry: the token does what a CSRF token does (SameSite does not come
//! into it, as there is no cookie). A GET never changes anything, since mail
//! scanners open every link they see.

mod form;
mod unsubscribe;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use super::page::PAGES;
use super::{Page, WebError, WebState};
use crate::domain::{MailLanguage, Member, MemberStatus};
use crate::relay::member_link::{self, LinkKind};
use crate::store::admin::{AdminAction, AdminChange};
use form::{PauseForm, ProfileForm};

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/me/{token}", get(show))
        .route("/me/{token}/profile", post(save_profile))
        .route("/me/{token}/pause", post(pause))
        .route("/me/{token}/resume", post(resume))
        .route("/me/{token}/leave", get(leave_confirm).post(leave))
        .route(
            "/u/{token}",
            get(unsubscribe::confirm).post(unsubscribe::one_click),
        )
}

/// A member who came with a valid link.
struct Visit {
    member: Member,
    lang: MailLanguage,
    token: String,
    /// The page link's last day (days since the epoch).
    last_day: Option<i64>,
}

impl Visit {
    async fn open(state: &WebState, kind: LinkKind, token: String) -> Result<Self, WebError> {
        let link = member_link::verify(&state.tokens, kind, &token, state.now())
            .ok_or(WebError::BadLink)?;
        let member = state
            .store
            .member_by_id(link.member_id)
            .await?
            .ok_or(WebError::BadLink)?;
        let lang = member.language_or(state.circle.language);
        Ok(Self {
            member,
            lang,
            token,
            last_day: link.last_day,
        })
    }

    fn page(&self, state: &WebState, template: &'static str, title: &str, data: Value) -> Page {
        Page {
            template,
            lang: self.lang,
            circle: state.circle.name.clone(),
            admin: None,
            csrf: String::new(),
            nav: "",
            title: PAGES.word(self.lang, title),
            data: context! { member_page => true, ..data },
        }
    }

    /// `member:EMAIL` did `detail`, now.
    fn change<'a>(
        &'a self,
        state: &WebState,
        action: AdminAction,
        actor: &'a str,
        detail: &'a str,
    ) -> AdminChange<'a> {
        let _ = &self.member;
        AdminChange {
            action,
            actor,
            detail,
            now: state.now(),
        }
    }

    fn actor(&self) -> String {
        format!("member:{}", self.member.email)
    }

    fn home(&self) -> String {
        format!("/me/{}", self.token)
    }
}

/// A day as its reader writes it: 2026年12月20日 / 20 Dec 2026.
fn human_day(day: &str, lang: MailLanguage) -> String {
    let Ok(d) = day.parse::<jiff::civil::Date>() else {
        return day.to_string();
    };
    match lang {
        MailLanguage::Ja => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        MailLanguage::En => d.strftime("%-d %b %Y").to_string(),
    }
}

fn epoch_day(day: i64) -> Option<jiff::civil::Date> {
    jiff::Timestamp::from_second(day * 86_400)
        .ok()
        .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
}

/// Today on the circle's calendar (pauses end on the circle's days).
fn today(state: &WebState) -> jiff::civil::Date {
    let zone = jiff::tz::TimeZone::get(&state.circle.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_second(state.now())
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_zoned_datetime(zone)
        .date()
}

impl ProfileForm {
    fn of(m: &Member) -> Self {
        let langs: Vec<&str> = m.languages.iter().map(|l| l.as_str()).collect();
        Self {
            skills: m.skills.join("; "),
            bio: m.bio.clone(),
            languages: langs.join("; "),
            region: m.region.clone(),
            timezone: m.timezone_name().unwrap_or_default().to_string(),
            ..Self::default()
        }
    }
}

/// What the profile page shows; `form` is the member's typing on a problem.
struct Shown<'a> {
    form: ProfileForm,
    until: String,
    problem: Option<String>,
    notice: Option<String>,
    /// Which form the problem is about, to show it there too.
    problem_at: &'a str,
}

fn profile_page(state: &WebState, v: &Visit, shown: Shown<'_>) -> Page {
    let m = &v.member;
    let lang = v.lang;
    let data = context! {
        token => &v.token,
        left => m.status == MemberStatus::Left,
        paused => m.status == MemberStatus::Paused,
        name => &m.name, email => m.email.as_str(),
        status_text => PAGES.word(lang, &format!("me_status_{}", m.status.as_str())),
        paused_until => m.paused_until.as_deref().map(|d| human_day(d, lang)),
        skills => &m.skills, languages => crate::web::page::language_names(&m.languages, lang), region => &m.region, bio => &m.bio,
        timezone => m.timezone_name(), circle_timezone => &state.circle.timezone,
        form => Value::from(minijinja::value::Serde(&shown.form)),
        language_lists => crate::web::page::language_choices(&shown.form.language_tags(), lang),
        until => shown.until,
        tomorrow => today(state).tomorrow().map(|d| d.to_string()).unwrap_or_default(),
        link_until => v.last_day.and_then(epoch_day).map(|d| human_day(&d.to_string(), lang)),
        form_problem => shown.problem, problem_at => shown.problem_at, notice => shown.notice,
    };
    v.page(state, "member.html", "me_title", data)
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

async fn show(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Query(q): Query<Done>,
) -> Result<Page, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    let notice = match q.done.as_deref() {
        Some(d @ ("saved" | "paused" | "resumed")) => {
            Some(PAGES.word(v.lang, &format!("me_done_{d}")))
        }
        _ => None,
    };
    let form = ProfileForm::of(&v.member);
    Ok(profile_page(
        &state,
        &v,
        Shown {
            form,
            until: String::new(),
            problem: None,
            notice,
            problem_at: "",
        },
    ))
}

/// After a change: the page again, with a notice (POST/redirect/GET).
fn done(v: &Visit, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", v.home())).into_response()
}

fn refused(state: &WebState, v: &Visit, shown: Shown<'_>) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        profile_page(state, v, shown),
    )
        .into_response()
}

async fn save_profile(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Form(typed): Form<ProfileForm>,
) -> Result<Response, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    if v.member.status == MemberStatus::Left {
        return Ok(Redirect::to(&v.home()).into_response());
    }
    let edit = match typed.check(v.lang) {
        Ok(edit) => edit,
        Err(problem) => {
            let shown = Shown {
                form: typed,
                until: String::new(),
                problem: Some(problem),
                notice: None,
                problem_at: "profile",
            };
            return Ok(refused(&state, &v, shown));
        }
    };
    let langs: Vec<&str> = edit.languages.iter().map(|l| l.as_str()).collect();
    let detail = format!(
        "{} changed their profile: skills {}; languages {}; region {}; time zone {}",
        v.member.email,
        edit.skills.join("; "),
        langs.join("; "),
        edit.region,
        edit.timezone
            .as_ref()
            .map_or("(the circle's)", |t| t.as_str()),
    );
    let actor = v.actor();
    let change = v.change(&state, AdminAction::MemberOwnProfile, &actor, &detail);
    state
        .store
        .member_edit_own(v.member.id, &edit, &change)
        .await?;
    // The next request is matched against the new profile.
    state.pipeline.directory_changed().await;
    Ok(done(&v, "saved"))
}

async fn set_status(
    state: &WebState,
    v: &Visit,
    status: MemberStatus,
    until: Option<&str>,
    detail: &str,
) -> Result<(), WebError> {
    let actor = v.actor();
    let change = v.change(state, AdminAction::MemberOwnStatus, &actor, detail);
    state
        .store
        .member_status_own(v.member.id, status, until, &change)
        .await?;
    state.pipeline.directory_changed().await;
    Ok(())
}

async fn pause(
    State(state): State<WebState>,
    Path(token): Path<String>,
    Form(typed): Form<PauseForm>,
) -> Result<Response, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    if v.member.status == MemberStatus::Left {
        return Ok(Redirect::to(&v.home()).into_response());
    }
    let until = match typed.check(v.lang, today(&state)) {
        Ok(until) => until,
        Err(problem) => {
            let shown = Shown {
                form: ProfileForm::of(&v.member),
                until: typed.until,
                problem: Some(problem),
                notice: None,
                problem_at: "pause",
            };
            return Ok(refused(&state, &v, shown));
        }
    };
    let detail = match &until {
        Some(d) => format!("{} paused until {d}", v.member.email),
        None => format!("{} paused", v.member.email),
    };
    set_status(&state, &v, MemberStatus::Paused, until.as_deref(), &detail).await?;
    Ok(done(&v, "paused"))
}

async fn resume(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    if v.member.status == MemberStatus::Paused {
        let detail = format!("{} resumed", v.member.email);
        set_status(&state, &v, MemberStatus::Active, None, &detail).await?;
    }
    Ok(done(&v, "resumed"))
}

/// GET: asks before anything changes.
async fn leave_confirm(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Page, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    Ok(unsubscribe::confirm_page(
        &state,
        &v,
        format!("{}/leave", v.home()),
        Some(v.home()),
    ))
}

async fn leave(State(state): State<WebState>, Path(token): Path<String>) -> Result<Page, WebError> {
    let v = Visit::open(&state, LinkKind::Page, token).await?;
    unsubscribe::leave_now(&state, &v, "left the circle from their page").await
}
