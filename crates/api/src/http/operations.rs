//! Operational endpoints: liveness, readiness and Prometheus metrics. Not under `/api/v1`,
//! unauthenticated, and left out of the OpenAPI document.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

use crate::ApiState;
use crate::error::ApiError;
use crate::metrics::MetricsHandle;

/// The operational routes; `/metrics` only when `with_metrics` (it may have its own
/// listener, [`metrics_router`]).
pub fn router(with_metrics: bool) -> Router<ApiState> {
    let router = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready));
    if with_metrics {
        router.route("/metrics", get(metrics))
    } else {
        router
    }
}

/// `/metrics` alone, for a listener of its own.
pub fn metrics_router(handle: MetricsHandle) -> Router {
    Router::new().route("/metrics", get(move || async move { exposition(&handle) }))
}

/// Liveness: the process answers.
async fn health() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

/// Readiness: the database answers and is migrated, and, where this process serves the live
/// stream, its hub has started (until then `/api/v1/live` answers 503 too).
async fn ready(State(state): State<ApiState>) -> Result<Response, ApiError> {
    state.app.check_ready().await?;
    if let Some(hub) = &state.live
        && !hub.is_started()
    {
        return Err(ApiError(tickler_app::AppError::Unavailable(
            "the live stream is starting".to_owned(),
        )));
    }
    Ok(axum::Json(serde_json::json!({"status": "ready"})).into_response())
}

async fn metrics(State(state): State<ApiState>) -> Response {
    exposition(&state.metrics)
}

fn exposition(handle: &MetricsHandle) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}
