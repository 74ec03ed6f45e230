//! Health and the OpenAPI document.

use crate::registry::{route, RouteDef, Rule};
use crate::state::ApiState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use sotto_audit::Action;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: answers without touching storage.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, description = "The server is up", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// This API's OpenAPI 3.1 document, generated from the route registry.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi(State(st): State<ApiState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        st.openapi_json().as_str().to_owned(),
    )
}

pub fn routes() -> Vec<RouteDef> {
    vec![
        route::<__path_healthz, _, _>(Rule::Public, Action::Other, false, healthz),
        route::<__path_openapi, _, _>(Rule::Public, Action::Other, false, openapi),
    ]
}
