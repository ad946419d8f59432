//! Operational endpoints: liveness, readiness and Prometheus metrics. Not under `/api/v1`,
//! unauthenticated, and left out of the OpenAPI document.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

use crate::ApiState;
use crate::error::ApiError;

/// The operational routes.
pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
}

/// Liveness: the process answers.
async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Readiness: the database answers and is migrated.
async fn ready(State(state): State<ApiState>) -> Result<Response, ApiError> {
    state.app.check_ready().await?;
    Ok(axum::Json(serde_json::json!({"status": "ready"})).into_response())
}

async fn metrics(State(state): State<ApiState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        state.metrics.render(),
    )
        .into_response()
}
