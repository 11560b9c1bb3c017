//! `/admin`: this week's numbers and a 12-week chart.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use minijinja::context;

use crate::web::{Admin, Page, WebState};

pub fn routes() -> Router<WebState> {
    Router::new().route("/admin", get(overview))
}

async fn overview(State(state): State<WebState>, admin: Admin) -> Page {
    admin.page(
        &state,
        "admin/overview.html",
        "overview",
        "overview_title",
        context! {},
    )
}
