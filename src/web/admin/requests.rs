//! `/admin/requests`: the requests with their state, filtered and paged, and
//! each request's timeline (what `requests show` tells): the request, who it
//! went to and why, their answers, introductions, every mail with its status
//! and what admins did. An open request can be closed here; a held one
//! (moderation) approved or rejected at `/admin/requests/held/N`.

mod forward;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::domain::{MailLanguage, RequestStatus};
use crate::relay::Decision;
use crate::relay::reasons::{Field, How, MatchTerm, from_strings};
use crate::store::Store;
use crate::store::admin::{AdminAction, AdminChange, OutboxFilter, record_action};
use crate::store::console_requests::{ForwardDetail, RequestFilter, RequestListRow};
use crate::store::holds::{HoldRow, HoldState, hold_by_id, list_holds};
use crate::store::requests::forwards_this_week;
use crate::web::session::CsrfOnly;
use crate::web::{Admin, AdminForm, Csrf, Page, WebError, WebState};

/// Requests per page of the list.
const PAGE_SIZE: i64 = 25;

pub fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/requests", get(list))
        .route("/admin/requests/{id}", get(timeline))
        .route("/admin/requests/{id}/close", post(close))
        .route("/admin/requests/held/{id}", get(held).post(decide))
        .merge(forward::routes())
}

/// The list's GET form: `status` (a request state, or `held`), `q`, `page`.
#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
    #[serde(default)]
    done: String,
    /// Whom a forward by hand was about (its notice names them).
    #[serde(default)]
    who: String,
    #[serde(default)]
    n: u32,
}

/// The tag colour of a request state.
fn tone(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Open => "warn",
        RequestStatus::Filled => "ok",
        RequestStatus::Closed => "",
        RequestStatus::Unmatched | RequestStatus::Exhausted => "bad",
    }
}

fn requester(name: &str, email: &str) -> String {
    if name.trim().is_empty() {
        email.to_string()
    } else {
        name.trim().to_string()
    }
}

async fn list(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<ListQuery>,
) -> Result<Page, WebError> {
    let page = q.page.unwrap_or(1).max(1);
    let holds = open_holds(&state.store).await?;
    let held_only = q.status == "held";
    let status = RequestStatus::from_word(&q.status);
    let filter = RequestFilter {
        status,
        text: Some(q.q.clone()).filter(|t| !t.trim().is_empty()),
        limit: PAGE_SIZE,
        offset: (page - 1) * PAGE_SIZE,
    };
    let (rows, total) = if held_only {
        (Vec::new(), 0)
    } else {
        state.store.requests_page(&filter).await?
    };
    let items: Vec<Value> = rows.iter().map(|r| request_item(&admin, r)).collect();
    let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
    let link = |p: i64| page_link(&q, p);
    let holds: Vec<Value> = holds.iter().map(|h| hold_item(&admin, h)).collect();
    let states: Vec<&str> = RequestStatus::ALL.iter().map(|s| s.as_str()).collect();
    let notice = done_notice(admin.lang, &q.done);
    Ok(admin.page(
        &state,
        "admin/requests.html",
        "requests",
        "requests_title",
        context! {
            items, total, page, pages, holds, states, held_only, notice,
            status => &q.status, q => &q.q,
            first => (page - 1) * PAGE_SIZE + 1,
            last => ((page - 1) * PAGE_SIZE + PAGE_SIZE).min(total),
            prev => (page > 1).then(|| link(page - 1)),
            next => (page < pages).then(|| link(page + 1)),
        },
    ))
}

/// One row of the requests list.
fn request_item(admin: &Admin, r: &RequestListRow) -> Value {
    context! {
        id => r.id,
        href => format!("/admin/requests/{}", r.id),
        subject => &r.subject,
        requester => requester(&r.requester_name, &r.requester_email),
        state => r.status.as_str(),
        tone => tone(r.status),
        when => admin.when(r.created_at),
        forwards => r.forwards,
        accepts => r.accepts,
    }
}

/// The list's page `p`, with the same filter.
fn page_link(q: &ListQuery, p: i64) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("status", &q.status)
        .append_pair("q", &q.q)
        .append_pair("page", &p.to_string())
        .finish();
    format!("/admin/requests?{query}")
}

/// The notice after a POST's redirect (`?done=KEY`), in the admin's words.
fn done_notice(lang: MailLanguage, done: &str) -> Option<String> {
    const KNOWN: &[&str] = &["closed", "approved", "rejected", "not_open", "decided"];
    KNOWN
        .contains(&done)
        .then(|| crate::web::page::PAGES.word(lang, &format!("requests_done_{done}")))
}

/// Held requests waiting for a decision (moderation), newest first.
pub(super) async fn open_holds(store: &Store) -> Result<Vec<HoldRow>, WebError> {
    let mut conn = store
        .pool()
        .acquire()
        .await
        .map_err(|e| WebError::Store(e.into()))?;
    let holds = list_holds(&mut conn, true, 50).await?;
    Ok(holds
        .into_iter()
        .filter(|h| h.reason.asks_admins())
        .collect())
}

fn hold_item(admin: &Admin, h: &HoldRow) -> Value {
    context! {
        id => h.id,
        href => format!("/admin/requests/held/{}", h.id),
        subject => &h.subject,
        requester => requester(&h.requester_name, &h.requester_email),
        email => &h.requester_email,
        reason => h.reason.as_str(),
        when => admin.when(h.created_at),
        body => &h.body,
        state => h.state.as_str(),
    }
}

/// The matcher's reasons for an admin: "Skill: 看護師 (asked as nurse) · Region: 東京".
/// A reason in a shape neither reader knows is shown as it was stored.
fn reasons_text(reasons: &[String], lang: MailLanguage) -> String {
    let word = |k: &str| crate::web::page::PAGES.word(lang, k);
    let part = |t: &MatchTerm| {
        let field = word(match t.field {
            Field::Skill => "requests_why_skill",
            Field::Bio => "requests_why_bio",
            Field::Region => "requests_why_region",
            Field::Language => "requests_why_language",
        });
        let asked = match (t.how, lang) {
            (How::Same, _) => String::new(),
            (_, MailLanguage::Ja) => {
                format!("（{}{}）", word("requests_why_asked"), t.request_term)
            }
            (_, MailLanguage::En) => {
                format!(" ({} {})", word("requests_why_asked"), t.request_term)
            }
        };
        let colon = if lang == MailLanguage::Ja {
            "："
        } else {
            ": "
        };
        format!("{field}{colon}{}{asked}", t.member_term)
    };
    reasons
        .iter()
        .map(|r| {
            if let Some(key) = fixed_reason(r) {
                return word(key);
            }
            match matcher_term(r).or_else(|| from_strings(std::slice::from_ref(r)).pop()) {
                Some(t) if t.field == Field::Language => part(&MatchTerm {
                    member_term: language_words(&t.member_term, lang),
                    ..t
                }),
                Some(t) => part(&t),
                None => r.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The reasons stored as fixed phrases, and their words on the page.
fn fixed_reason(r: &str) -> Option<&'static str> {
    match r.trim() {
        crate::relay::BY_HAND_REASON => Some("requests_why_by_hand"),
        "volunteered from the digest" => Some("requests_why_volunteer"),
        "works online" => Some("requests_why_online"),
        _ => None,
    }
}

/// A language the matcher named in English ("Japanese") or as a tag
/// ("ja"), by its name in the page's language; an unknown one as stored.
fn language_words(name: &str, lang: MailLanguage) -> String {
    let code = crate::web::page::LANGUAGE_CODES
        .iter()
        .find(|c| {
            c.eq_ignore_ascii_case(name.trim())
                || crate::web::page::PAGES.word(MailLanguage::En, &format!("lang_name_{c}"))
                    == name.trim()
        })
        .copied();
    match code {
        Some(c) => crate::web::page::PAGES.word(lang, &format!("lang_name_{c}")),
        None => name.to_string(),
    }
}

/// Reads the matcher's reason phrases (`"nurse" matches their skill "看護師"
/// (translation)`, `"x" matches "y" in their profile`, `works in 東京`,
/// `speaks Japanese`).
fn matcher_term(r: &str) -> Option<MatchTerm> {
    let term = |field, request: &str, member: &str, how| MatchTerm {
        request_term: request.trim().to_string(),
        member_term: member.trim().to_string(),
        field,
        how,
    };
    if let Some(region) = r.strip_prefix("works in ") {
        return Some(term(Field::Region, region, region, How::Same));
    }
    if let Some(language) = r.strip_prefix("speaks ") {
        return Some(term(Field::Language, language, language, How::Same));
    }
    let (request, rest) = r.strip_prefix('"')?.split_once("\" matches ")?;
    let (rest, how) = [
        (" (same meaning)", How::Synonym),
        (" (translation)", How::Translation),
        (" (a neighbouring trade)", How::Related),
    ]
    .iter()
    .find_map(|(suffix, how)| rest.strip_suffix(suffix).map(|r| (r, *how)))
    .unwrap_or((rest, How::Same));
    if let Some(skill) = rest.strip_prefix("their skill \"") {
        return Some(term(Field::Skill, request, skill.strip_suffix('"')?, how));
    }
    let bio = rest
        .strip_prefix('"')?
        .strip_suffix("\" in their profile")?;
    Some(term(Field::Bio, request, bio, how))
}

fn forward_item(admin: &Admin, f: &ForwardDetail) -> Value {
    let lang = admin.lang;
    context! {
        wave => f.wave,
        member => requester(&f.member_name, &f.member_email),
        email => &f.member_email,
        state => f.state.as_str(),
        why => reasons_text(&f.reasons, lang),
        score => format!("{:.2}", f.score),
        sent => admin.when(f.created_at),
        answered => f.answered_at.map(|t| admin.when(t)),
        introduced => f.introduced_at.map(|t| admin.when(t)),
    }
}

async fn timeline(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
) -> Result<Page, WebError> {
    let Some(r) = state.store.request(id).await? else {
        return Err(WebError::NotFound);
    };
    let lang = admin.lang;
    let forwards: Vec<Value> = state
        .store
        .request_forwards(id)
        .await?
        .iter()
        .map(|f| forward_item(&admin, f))
        .collect();
    let replies: Vec<Value> = state
        .store
        .request_replies(id)
        .await?
        .iter()
        .map(|x| context! { from => &x.from_email, intent => &x.intent, direction => &x.direction, when => admin.when(x.created_at) })
        .collect();
    let mails = super::mail::mail_items(&admin, &mails_of(&state.store, id).await?);
    let actions = action_items(&admin, &state.store.admin_actions_for_request(id).await?);
    let (notice, problem) = match forward::outcome(lang, &q.done, &q.who, q.n) {
        Some((true, text)) => (Some(text), None),
        Some((false, text)) => (None, Some(text)),
        None => (done_notice(lang, &q.done), None),
    };
    let forward_to = forward::choices(&state, &admin, &r).await?;
    Ok(admin.page(
        &state,
        "admin/requests_show.html",
        "requests",
        "requests_show_title",
        context! {
            id, forwards, replies, mails, actions, notice, problem, forward_to,
            subject => &r.subject, body => r.body.trim_end(),
            requester => requester(&r.requester_name, &r.requester_email),
            email => &r.requester_email,
            state => r.status.as_str(), tone => tone(r.status),
            when => admin.when(r.created_at),
            closed => r.closed_at.map(|t| admin.when(t)),
            open => r.status == RequestStatus::Open,
        },
    ))
}

/// What admins did about a request, for its page (details in the admin's words).
fn action_items(admin: &Admin, actions: &[crate::store::admin::AdminActionRow]) -> Vec<Value> {
    let lang = admin.lang;
    actions
        .iter()
        .map(|a| {
            let hold = super::audit::hold_of(&a.action, &a.detail);
            let detail = match hold {
                Some(_) => String::new(),
                None => super::audit_details::words(&a.action, &a.detail, lang),
            };
            context! { action => &a.action, actor => &a.actor, detail, hold, outbox_id => a.outbox_id, when => admin.when(a.created_at) }
        })
        .collect()
}

async fn mails_of(store: &Store, id: i64) -> Result<Vec<crate::store::admin::OutboxRow>, WebError> {
    let filter = OutboxFilter {
        request_id: Some(id),
        limit: 200,
        ..Default::default()
    };
    let mut rows = store.outbox_rows(&filter).await?;
    rows.reverse(); // oldest first, as a timeline reads
    Ok(rows)
}

/// POST /admin/requests/N/close: closes it as the requester would, and
/// records who did.
async fn close(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    AdminForm(admin, _): AdminForm<CsrfOnly>,
) -> Result<Response, WebError> {
    if state.store.request(id).await?.is_none() {
        return Err(WebError::NotFound);
    }
    let matcher = state
        .pipeline
        .matcher()
        .await
        .map_err(|e| relay_failed(&e))?;
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let closed = state
        .pipeline
        .relay()
        .close_by_admin(&mut tx, &matcher, id)
        .await
        .map_err(|e| relay_failed(&e))?;
    if closed {
        let who = admin.actor();
        let change = AdminChange {
            action: AdminAction::RequestClose,
            actor: &who,
            detail: "",
            now: state.now(),
        };
        record_action(&mut tx, &change, None, None, Some(id)).await?;
    }
    tx.commit().await.map_err(store_err)?;
    state.outbox_waker.notify_one();
    let done = if closed { "closed" } else { "not_open" };
    Ok(Redirect::to(&format!("/admin/requests/{id}?done={done}")).into_response())
}

fn store_err(e: sqlx::Error) -> WebError {
    WebError::Store(e.into())
}

fn relay_failed(e: &dyn std::fmt::Display) -> WebError {
    tracing::error!(error = %e, "web: the relay could not act");
    WebError::Internal
}

/// GET /admin/requests/held/N: a held request, with approve and reject.
async fn held(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Page, WebError> {
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let hold = hold_by_id(&mut tx, id).await?;
    tx.rollback().await.map_err(store_err)?;
    let Some(hold) = hold else {
        return Err(WebError::NotFound);
    };
    Ok(admin.page(
        &state,
        "admin/requests_held.html",
        "requests",
        "requests_held_title",
        context! {
            hold => hold_item(&admin, &hold),
            detail => hold_detail(&hold, admin.lang),
            undecided => hold.state == HoldState::Held,
            request_href => hold.request_id.map(|n| format!("/admin/requests/{n}")),
            decided_by => hold.decided_by,
        },
    ))
}

/// What the relay noted about why it held a request, in the page's words
/// (the reason itself is already named); a note of another shape (a spam
/// header's value) as recorded.
fn hold_detail(hold: &HoldRow, lang: MailLanguage) -> Option<String> {
    use crate::store::holds::HoldReason as R;
    let d = hold.detail.trim();
    let worded = match hold.reason {
        R::NonMember | R::Refused => return None,
        R::Forged => super::mail::verdict_words(d, lang),
        R::Rate => d
            .strip_prefix("more than ")
            .and_then(|r| r.strip_suffix(" requests from this address within a day"))
            .map(|n| {
                crate::web::page::PAGES
                    .word(lang, "requests_hold_rate")
                    .replace("{n}", n)
            }),
        R::Spam => None,
    };
    worded.or_else(|| (!d.is_empty()).then(|| d.to_string()))
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    decision: String,
}

impl Csrf for DecideForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// POST /admin/requests/held/N: approve (it is matched and forwarded now)
/// or reject (the requester is told), recorded with who decided.
async fn decide(
    State(state): State<WebState>,
    Path(id): Path<i64>,
    AdminForm(admin, form): AdminForm<DecideForm>,
) -> Result<Response, WebError> {
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Err(WebError::BadInput("approve or reject".into())),
    };
    let matcher = state
        .pipeline
        .matcher()
        .await
        .map_err(|e| relay_failed(&e))?;
    let relay = state.pipeline.relay();
    let who = admin.actor();
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let recent = forwards_this_week(&mut tx, relay.now()).await?;
    let outcome = relay
        .decide_by_number(&mut tx, id, decision, &matcher, recent, &who)
        .await
        .map_err(|e| relay_failed(&e))?;
    use crate::relay::HoldOutcome as O;
    let (done, request_id, action) = match outcome {
        None => return Err(WebError::NotFound),
        Some(O::Approved { request_id, .. }) => {
            ("approved", Some(request_id), AdminAction::HoldApprove)
        }
        Some(O::Rejected { .. }) => ("rejected", None, AdminAction::HoldReject),
        Some(_) => ("decided", None, AdminAction::HoldApprove),
    };
    if done != "decided" {
        let detail = format!("hold {id}");
        let change = AdminChange {
            action,
            actor: &who,
            detail: &detail,
            now: state.now(),
        };
        record_action(&mut tx, &change, None, None, request_id).await?;
    }
    tx.commit().await.map_err(store_err)?;
    state.outbox_waker.notify_one();
    let to = match request_id {
        Some(n) => format!("/admin/requests/{n}?done={done}"),
        None => format!("/admin/requests?done={done}"),
    };
    Ok(Redirect::to(&to).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_a_request_was_held_reads_in_japanese() {
        use crate::store::holds::{HoldReason, HoldState};
        let hold = |reason, detail: &str| HoldRow {
            id: 1,
            inbound_id: None,
            reason,
            detail: detail.into(),
            state: HoldState::Held,
            requester_email: "a@x.org".into(),
            requester_name: String::new(),
            subject: String::new(),
            body: String::new(),
            message_id: None,
            request_id: None,
            decided_by: None,
            created_at: 0,
        };
        let ja = MailLanguage::Ja;
        let forged = hold(HoldReason::Forged, "DMARC failed for x.org");
        assert_eq!(
            hold_detail(&forged, ja).as_deref(),
            Some("x.org のDMARC認証に失敗")
        );
        let rate = hold(
            HoldReason::Rate,
            "more than 5 requests from this address within a day",
        );
        assert_eq!(
            hold_detail(&rate, ja).as_deref(),
            Some("このアドレスから1日に5件を超える依頼がありました。")
        );
        let member = hold(HoldReason::NonMember, "not an active member");
        assert_eq!(hold_detail(&member, ja), None, "the reason says it already");
    }

    #[test]
    fn the_matchers_reasons_read_as_plain_words() {
        let reasons: Vec<String> = [
            "\"nurse\" matches their skill \"看護師\" (translation)",
            "\"first aid\" matches their skill \"first aid\"",
            "\"training\" matches \"training\" in their profile",
            "works in 東京",
            "something new",
            "speaks Japanese",
            "chosen by an admin",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            reasons_text(&reasons, MailLanguage::En),
            "Skill: 看護師 (asked as nurse) · Skill: first aid · Profile text: training · Region: 東京 · something new · Language: Japanese · Chosen by an admin"
        );
        assert!(
            reasons_text(&reasons[..1], MailLanguage::Ja)
                .starts_with("スキル：看護師（依頼の語：nurse）")
        );
        let ja = reasons_text(&reasons, MailLanguage::Ja);
        assert!(
            ja.ends_with("言語：日本語 · 管理者が選んで転送"),
            "no English on a Japanese page: {ja}"
        );
        let more = [
            "works online",
            "volunteered from the digest",
            "language: en",
        ]
        .map(String::from);
        assert_eq!(
            reasons_text(&more, MailLanguage::Ja),
            "オンライン対応 · 週のダイジェストから本人が申し出 · 言語：英語"
        );
        let old = ["nurse → skills: 看護師".to_string()];
        assert_eq!(
            reasons_text(&old, MailLanguage::En),
            "Skill: 看護師 (asked as nurse)"
        );
    }
}
