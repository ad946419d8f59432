//! `POST /api/v1/parse` (read a sentence) and `POST /api/v1/tasks/quick` (create the task a
//! sentence describes).

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use tickler_protocol::nl::{ParseRequest, ParseResponse, QuickAddRequest};
use tickler_protocol::problem::Problem;
use tickler_protocol::task::TaskBody;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::http::tasks::with_location;
use crate::http::{json, with_etag};

/// Reads a sentence with the natural-language parser, without changing anything. Returns
/// what `tickler parse` prints.
#[utoipa::path(
    post, path = "/api/v1/parse", tag = "natural language",
    request_body = ParseRequest,
    responses(
        (status = 200, description = "What the sentence says", body = ParseResponse),
        (status = 422, description = "Blank or too long text, a malformed `now`, an unknown `tz`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn parse(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<ParseRequest>,
) -> Result<Response, ApiError> {
    let parsed = state.app.parse_text(&actor, &body.value)?;
    Ok(json(StatusCode::OK, &ParseResponse::from(&parsed)))
}

/// Creates the task a sentence describes ("pay rent every month on the 1st at 9am #home"),
/// read now in the caller's time zone. Answers like `POST /api/v1/tasks`.
#[utoipa::path(
    post, path = "/api/v1/tasks/quick", tag = "natural language",
    request_body = QuickAddRequest,
    responses(
        (status = 201, description = "Created", body = TaskBody,
            headers(("Location" = String, description = "The task's URL"), ("ETag" = String, description = "The task's version"))),
        (status = 422, description = "Blank or too long text, a sentence that is not a new task, or invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn quick_add(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<QuickAddRequest>,
) -> Result<Response, ApiError> {
    let task = state.app.quick_add(&actor, &body.value).await?;
    let response = with_etag(
        json(StatusCode::CREATED, &TaskBody::from(&task)),
        task.version,
    );
    Ok(with_location(response, task.id))
}
