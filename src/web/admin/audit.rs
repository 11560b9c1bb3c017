//! `/admin/audit` (to be built).

use axum::Router;

use crate::web::WebState;

pub fn routes() -> Router<WebState> {
    Router::new()
}
