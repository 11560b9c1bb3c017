//! `/admin/audit`: what admins did, newest first, a page at a time: who
//! (an admin's address from the console, or the server user of a CLI
//! command), when (in the admin's zone, named), what, and on which request or mail.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
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
    let texts = PAGES.texts(admin.lang);
    let rows: Vec<Value> = rows.iter().map(|r| row(r, &admin, texts)).collect();
    Ok(admin.page(
        &state,
        "admin/audit.html",
        "audit",
        "audit_title",
        context! {
            rows,
            newer => (page > 1).then(|| page - 1),
            older => older.then_some(page + 1),
            page,
        },
    ))
}

/// Where an action came from: the console (`web:ADDRESS`), a member's own
/// page (`member:ADDRESS`), or else a server command (`user@host`).
fn source(actor: &str) -> (&str, &'static str) {
    if let Some(address) = actor.strip_prefix("web:") {
        (address, "console")
    } else if let Some(address) = actor.strip_prefix("member:") {
        (address, "member")
    } else {
        (actor, "cli")
    }
}

fn row(r: &AuditRow, admin: &Admin, texts: &std::collections::BTreeMap<String, String>) -> Value {
    let (who, from) = source(&r.actor);
    // Every AdminAction has a label (a test checks); an unknown word is an
    // action of a newer version, shown readably.
    let what = texts
        .get(&format!("action_{}", r.action))
        .cloned()
        .unwrap_or_else(|| r.action.replace('_', " "));
    let hold = hold_of(&r.action, &r.detail);
    let detail = match hold {
        Some(_) => String::new(),
        None => super::audit_details::words(&r.action, &r.detail, admin.lang),
    };
    context! {
        when => admin.when(r.created_at), who, from, what, detail, hold,
        request => r.request_id, mail => r.outbox_id, inbound => r.inbound_id,
    }
}

/// The held request a decision was about ("hold N"), to link to it
/// instead of naming it.
pub(super) fn hold_of(action: &str, detail: &str) -> Option<i64> {
    action
        .starts_with("hold_")
        .then(|| detail.strip_prefix("hold ")?.parse::<i64>().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MailLanguage;
    use crate::store::admin::AdminAction;

    /// Its place in [`AdminAction::ALL`]: a new variant does not compile
    /// until it is given one, and the test fails until ALL lists it.
    fn place(a: AdminAction) -> usize {
        use AdminAction as A;
        match a {
            A::OutboxRelease => 0,
            A::OutboxRetry => 1,
            A::OutboxDiscard => 2,
            A::InboxReprocess => 3,
            A::WebSignIn => 4,
            A::WebSignOut => 5,
            A::RequestClose => 6,
            A::HoldApprove => 7,
            A::HoldReject => 8,
            A::MemberAdd => 9,
            A::MemberEdit => 10,
            A::MemberRemove => 11,
            A::MembersImport => 12,
            A::MemberOwnProfile => 13,
            A::MemberOwnStatus => 14,
            A::RequestForward => 15,
        }
    }

    #[test]
    fn every_admin_action_has_a_label_in_both_languages() {
        for (i, a) in AdminAction::ALL.iter().enumerate() {
            assert_eq!(place(*a), i, "AdminAction::ALL misses or reorders {a:?}");
        }
        for lang in [MailLanguage::En, MailLanguage::Ja] {
            for a in AdminAction::ALL {
                let key = format!("action_{}", a.as_str());
                let label = PAGES.texts(lang).get(&key);
                assert!(
                    label.is_some_and(|l| !l.trim().is_empty() && !l.contains('_')),
                    "{key} has no label in {lang:?}"
                );
            }
        }
    }

    #[test]
    fn who_did_it_is_read_from_the_actor() {
        assert_eq!(source("web:a@x.org"), ("a@x.org", "console"));
        assert_eq!(source("member:m@x.org"), ("m@x.org", "member"));
        assert_eq!(source("root@relay1"), ("root@relay1", "cli"));
    }
}
