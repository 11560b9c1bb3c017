//! "Forward to…" on a request's page: the admin picks an active member (who
//! came close first) and the relay makes an ordinary forward to them
//! (`Relay::forward_by_hand`, what `requests forward N EMAIL` does).

use std::collections::{HashMap, HashSet};

use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::{EmailAddress, MailLanguage, Member, RequestStatus};
use crate::matching::{Candidate, MatchContext, Matcher};
use crate::relay::{ByHand, Refusal};
use crate::store::requests::{RequestRow, forwards_this_week};
use crate::web::page::PAGES;
use crate::web::{Admin, AdminForm, Csrf, WebError, WebState};

/// Members named first, as having come close (the alert names three).
const CLOSE: usize = 3;

pub(super) fn routes() -> Router<WebState> {
    Router::new().route("/admin/requests/{id}/forward", post(forward))
}

/// Whether a request in this state can still be forwarded by hand.
pub(super) fn may_forward(status: RequestStatus) -> bool {
    !matches!(status, RequestStatus::Filled | RequestStatus::Closed)
}

/// The members the form offers: active, not the requester, without a
/// forward of this request; who came close first. `None` when the request
/// is over.
pub(super) async fn choices(
    state: &WebState,
    admin: &Admin,
    r: &RequestRow,
) -> Result<Option<Value>, WebError> {
    if !may_forward(r.status) {
        return Ok(None);
    }
    let matcher = state
        .pipeline
        .matcher()
        .await
        .map_err(|e| super::relay_failed(&e))?;
    let mut tx = state.store.begin().await.map_err(super::store_err)?;
    let asked: HashSet<i64> = crate::store::requests::forwards_of(&mut tx, r.id)
        .await?
        .iter()
        .map(|f| f.member_id)
        .collect();
    let recent = forwards_this_week(&mut tx, state.now()).await?;
    tx.rollback().await.map_err(super::store_err)?;
    let requester = EmailAddress::parse(&r.requester_email).ok();
    let eligible = |m: &&Member| {
        m.is_active()
            && !asked.contains(&m.id)
            && requester.as_ref().is_none_or(|q| q.key() != m.email.key())
    };
    let (fit, close) = came_close(&matcher, r, &asked, requester.as_ref());
    let why = crate::relay::near_miss_words(&close, admin.lang == MailLanguage::Ja);
    let close: Vec<i64> = close.iter().map(|c| c.member_id).collect();
    let cap = state.pipeline.relay().weekly_cap();
    let option = |m: &Member| option(m, recent.get(&m.id).copied().unwrap_or(0), cap, admin.lang);
    let members = matcher.members();
    let listed = |ids: &[i64]| -> Vec<Value> {
        ids.iter()
            .filter_map(|id| members.iter().find(|m| m.id == *id))
            .filter(eligible)
            .map(option)
            .collect()
    };
    let (fit_options, near) = (listed(&fit), listed(&close));
    let mut others: Vec<&Member> = members
        .iter()
        .filter(eligible)
        .filter(|m| !close.contains(&m.id) && !fit.contains(&m.id))
        .collect();
    others.sort_by_key(|m| label_name(m).to_lowercase());
    let others: Vec<Value> = others.into_iter().map(option).collect();
    Ok(Some(context! {
        fit => fit_options, near, others, why,
        reopens => r.status != RequestStatus::Open,
    }))
}

/// Who the matcher would forward to now (members who fit and were not
/// asked, e.g. past the shortlist) and who came close (the near-misses the
/// alert names), active, best first.
fn came_close(
    matcher: &Matcher,
    r: &RequestRow,
    asked: &HashSet<i64>,
    requester: Option<&EmailAddress>,
) -> (Vec<i64>, Vec<Candidate>) {
    let ctx = MatchContext {
        exclude_emails: requester.cloned().into_iter().collect(),
        exclude_members: asked.clone(),
        recent_forwards: HashMap::new(),
        weekly_cap: None,
    };
    let ranked = matcher.rank_with_near_misses(&r.subject, &r.body, &ctx, CLOSE);
    let active = |c: &Candidate| {
        matcher
            .members()
            .iter()
            .any(|m| m.id == c.member_id && m.is_active())
    };
    let fit: Vec<i64> = ranked
        .candidates
        .iter()
        .filter(|c| active(c))
        .map(|c| c.member_id)
        .collect();
    let close: Vec<Candidate> = ranked
        .near_misses
        .into_iter()
        .filter(|c| active(c) && !fit.contains(&c.member_id))
        .take(CLOSE)
        .collect();
    (fit, close)
}

fn label_name(m: &Member) -> &str {
    let name = m.name.trim();
    if name.is_empty() {
        m.email.as_str()
    } else {
        name
    }
}

/// One member in the list: "Name <email> · skill, skill", disabled at the
/// weekly limit (with why).
fn option(m: &Member, count: u32, cap: u32, lang: MailLanguage) -> Value {
    let skills: Vec<&str> = m.skills.iter().take(3).map(String::as_str).collect();
    let sep = if lang == MailLanguage::Ja {
        "、"
    } else {
        ", "
    };
    let mut label = format!("{} <{}>", label_name(m), m.email.as_str());
    if !skills.is_empty() {
        label.push_str(&format!(" · {}", skills.join(sep)));
    }
    let full = count >= cap;
    if full {
        let note = PAGES
            .word(lang, "fwd_to_full")
            .replace("{n}", &count.to_string());
        label.push_str(&format!(" ({note})"));
    }
    context! { email => m.email.as_str(), label, full }
}

#[derive(Deserialize)]
struct ForwardForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    member: String,
}

impl Csrf for ForwardForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// POST /admin/requests/N/forward: one forward to the chosen member, once;
/// back to the request's page with what happened.
async fn forward(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    AdminForm(admin, form): AdminForm<ForwardForm>,
) -> Result<Response, WebError> {
    let back = |done: &str, who: &str, n: u32| {
        let who = crate::web::session::url_escape(who);
        Redirect::to(&format!("/admin/requests/{id}?done={done}&who={who}&n={n}")).into_response()
    };
    let Ok(member) = EmailAddress::parse(form.member.trim()) else {
        return Ok(back("fwd_choose", "", 0));
    };
    let matcher = state
        .pipeline
        .matcher()
        .await
        .map_err(|e| super::relay_failed(&e))?;
    let relay = state.pipeline.relay();
    let actor = admin.actor();
    let mut tx = state.store.begin().await.map_err(super::store_err)?;
    let by = ByHand {
        request_id: id,
        member: &member,
        actor: &actor,
    };
    let done = relay
        .forward_by_hand(&mut tx, &matcher, &by)
        .await
        .map_err(|e| super::relay_failed(&e))?;
    let refusal = match done {
        Ok(f) => {
            tx.commit().await.map_err(super::store_err)?;
            state.outbox_waker.notify_one();
            let done = if f.reopened {
                "fwd_reopened"
            } else {
                "fwd_done"
            };
            let who = if f.name.trim().is_empty() {
                f.email
            } else {
                f.name
            };
            return Ok(back(done, &who, 0));
        }
        Err(refusal) => refusal,
    };
    tx.rollback().await.map_err(super::store_err)?;
    let (done, who, n) = refused(refusal).ok_or(WebError::NotFound)?;
    Ok(back(done, &who, n))
}

/// A refusal as the page's notice key, whom it names, and a count.
fn refused(refusal: Refusal) -> Option<(&'static str, String, u32)> {
    Some(match refusal {
        Refusal::NoSuchRequest(_) => return None,
        Refusal::RequestOver { .. } => ("fwd_over", String::new(), 0),
        Refusal::NotAMember(e) => ("fwd_not_member", e, 0),
        Refusal::Requester(e) => ("fwd_requester", e, 0),
        Refusal::NotActive { email, .. } => ("fwd_not_active", email, 0),
        Refusal::AlreadyForwarded(e) => ("fwd_already", e, 0),
        Refusal::OverCap { email, count, .. } => ("fwd_full", email, count),
    })
}

/// What a forward's redirect says: `(notice, problem)`, in the admin's words.
pub(super) fn outcome(lang: MailLanguage, done: &str, who: &str, n: u32) -> Option<(bool, String)> {
    const GOOD: &[&str] = &["fwd_done", "fwd_reopened", "fwd_already"];
    const BAD: &[&str] = &[
        "fwd_choose",
        "fwd_over",
        "fwd_not_member",
        "fwd_requester",
        "fwd_not_active",
        "fwd_full",
    ];
    let good = GOOD.contains(&done);
    if !good && !BAD.contains(&done) {
        return None;
    }
    let text = PAGES
        .word(lang, &format!("requests_{done}"))
        .replace("{who}", who)
        .replace("{n}", &n.to_string());
    Some((good, text))
}
