//! `/admin/audit`: what admins did, newest first, a page at a time: who
//! (an admin's address from the console, or the server user of a CLI
//! command), when (in the circle's zone), what, and on which request or mail.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::store::web_stats::AuditRow;
use crate::web::page::PAGES;
use crate::web::{Admin, Page, WebError, WebState};

/// Rows on one page.
const PER_PAGE: i64 = 50;

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin/audit", get(audit))
}

#[derive(Deserialize)]
struct Paging {
    page: Option<i64>,
}

async fn audit(
    State(state): State<WebState>,
    admin: Admin,
    Query(q): Query<Paging>,
) -> Result<Page, WebError> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    // One row more than shown says whether there is an older page.
    let mut rows = state
        .store
        .audit_page((page - 1) * PER_PAGE, PER_PAGE + 1)
        .await?;
    let older = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let tz = TimeZone::get(&state.circle.timezone).unwrap_or(TimeZone::UTC);
    let texts = PAGES.texts(admin.lang);
    let rows: Vec<Value> = rows.iter().map(|r| row(r, &tz, texts)).collect();
    Ok(admin.page(
        &state,
        "admin/audit.html",
        "audit",
        "audit_title",
        context! {
            rows, zone => &state.circle.timezone,
            newer => (page > 1).then(|| page - 1),
            older => older.then_some(page + 1),
            page,
        },
    ))
}

fn row(r: &AuditRow, tz: &TimeZone, texts: &std::collections::BTreeMap<String, String>) -> Value {
    let when = Timestamp::from_second(r.created_at)
        .map(|t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    // Console actions are `web:ADDRESS`; anything else came from the CLI.
    let (who, console) = match r.actor.strip_prefix("web:") {
        Some(address) => (address, true),
        None => (r.actor.as_str(), false),
    };
    let what = texts
        .get(&format!("action_{}", r.action))
        .cloned()
        .unwrap_or_else(|| r.action.replace('_', " "));
    context! {
        when, who, console, what, detail => &r.detail,
        request => r.request_id, mail => r.outbox_id, inbound => r.inbound_id,
    }
}
