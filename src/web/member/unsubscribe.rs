//! One-click unsubscribe (RFC 8058): a mail client POSTs
//! `List-Unsubscribe=One-Click` to the `List-Unsubscribe` https URL, with no
//! cookie and no session, and the member has left. A GET of the same URL
//! only asks (scanners and previews open links), with a button that sends
//! the same POST.

use axum::body::Bytes;
use axum::extract::{Path, State};
use minijinja::context;

use super::{Visit, WebError, WebState};
use crate::domain::MemberStatus;
use crate::relay::member_link::LinkKind;
use crate::web::Page;

/// The confirmation: a button that POSTs to `action`; `back` to the page.
pub(super) fn confirm_page(
    state: &WebState,
    v: &Visit,
    action: String,
    back: Option<String>,
) -> Page {
    if v.member.status == MemberStatus::Left {
        return left_page(state, v);
    }
    let data = context! { action => action, back => back, email => v.member.email.as_str() };
    v.page(state, "member_leave.html", "me_leave_title", data)
}

fn left_page(state: &WebState, v: &Visit) -> Page {
    let data = context! { email => v.member.email.as_str(), address => &state.circle.address };
    v.page(state, "member_left.html", "me_left_title", data)
}

/// Marks the member `left` (once) and says so.
pub(super) async fn leave_now(state: &WebState, v: &Visit, how: &str) -> Result<Page, WebError> {
    if v.member.status != MemberStatus::Left {
        let detail = format!("{} {how}", v.member.email);
        super::set_status(state, v, MemberStatus::Left, None, &detail).await?;
    }
    Ok(left_page(state, v))
}

pub(super) async fn confirm(
    State(state): State<WebState>,
    Path(token): Path<String>,
) -> Result<Page, WebError> {
    let v = Visit::open(&state, LinkKind::Unsubscribe, token).await?;
    let action = format!("/u/{}", v.token);
    Ok(confirm_page(&state, &v, action, None))
}

/// RFC 8058 §3.1: the body is `List-Unsubscribe=One-Click`, form-urlencoded
/// or multipart/form-data.
fn is_one_click(body: &[u8]) -> bool {
    let urlencoded =
        url::form_urlencoded::parse(body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    let text = String::from_utf8_lossy(body);
    urlencoded || (text.contains("name=\"List-Unsubscribe\"") && text.contains("One-Click"))
}

pub(super) async fn one_click(
    State(state): State<WebState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Page, WebError> {
    let v = Visit::open(&state, LinkKind::Unsubscribe, token).await?;
    if !is_one_click(&body) {
        return Err(WebError::BadInput(
            "expected List-Unsubscribe=One-Click (RFC 8058)".into(),
        ));
    }
    leave_now(&state, &v, "unsubscribed (one-click)").await
}

#[cfg(test)]
mod tests {
    use super::is_one_click;

    #[test]
    fn both_form_encodings_of_the_one_click_body_count() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        let multipart = b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n";
        assert!(is_one_click(multipart));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"List-Unsubscribe=No"));
    }
}
