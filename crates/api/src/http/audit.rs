//! `/api/v1/audit` and `/api/v1/tasks/{id}/history`: the caller's audit trail; and the
//! operator routes for dead letters.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use tickler_app::audit::audit_entry_body;
use tickler_app::{AppError, AuditParams, AuditRecord, DeadLetter};
use tickler_protocol::audit::{AuditPage, DeadLetterBody};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, QueryPairs};
use crate::http::json;

fn page(records: Vec<AuditRecord>, next_cursor: Option<String>) -> AuditPage {
    AuditPage {
        items: records.into_iter().map(audit_entry_body).collect(),
        next_cursor,
    }
}

/// Reads the caller's audit trail: every recorded change, oldest first.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(
        ("task_id" = Option<String>, Query, format = Uuid, description = "Only this task's changes"),
        ("since" = Option<String>, Query, format = DateTime, description = "RFC 3339: only changes at or after"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of the trail", body = AuditPage),
        (status = 400, description = "A cursor this server did not issue (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn audit(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let (records, next) = state
        .app
        .audit(
            &actor,
            AuditParams {
                task_id: query.one("task_id"),
                since: query.one("since"),
                limit: query.one("limit"),
                cursor: query.one("cursor"),
            },
        )
        .await?;
    Ok(json(StatusCode::OK, &page(records, next)))
}

/// Reads the history of a task (also after it was deleted).
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/history", tag = "audit",
    params(
        ("id" = String, Path, description = "Task id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "The task's changes, oldest first", body = AuditPage),
        (status = 400, description = "A cursor this server did not issue (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No history for this task and user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn history(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let id = id.parse().map_err(|_| ApiError(AppError::TaskNotFound))?;
    let limit = query.one("limit");
    let cursor = query.one("cursor");
    let (records, next) = state
        .app
        .task_history(&actor, id, limit.as_deref(), cursor.as_deref())
        .await?;
    Ok(json(StatusCode::OK, &page(records, next)))
}

fn letter_body(letter: DeadLetter) -> DeadLetterBody {
    DeadLetterBody {
        id: letter.id.to_string(),
        consumer: letter.consumer,
        event_id: letter.event_id.map(|id| id.to_string()),
        event_type: letter.event_type,
        topic: letter.topic,
        payload: letter.payload,
        error: letter.error,
        attempts: letter.attempts,
        failed_at: letter.failed_at,
        replayed_at: letter.replayed_at,
    }
}

/// Lists events consumers gave up on (operators: `tickler admin grant`).
#[utoipa::path(
    get, path = "/api/v1/admin/dead-letters", tag = "operations",
    params(
        ("consumer" = Option<String>, Query, description = "Only this consumer's"),
        ("all" = Option<bool>, Query, description = "Include replayed ones"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
    ),
    responses(
        (status = 200, description = "Dead letters, oldest first", body = Vec<DeadLetterBody>),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn dead_letters(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let limit = query.one("limit");
    let letters = state
        .app
        .list_dead_letters(
            &actor,
            query.one("consumer"),
            query.one("all").as_deref() == Some("true"),
            limit.as_deref(),
        )
        .await?;
    let bodies: Vec<DeadLetterBody> = letters.into_iter().map(letter_body).collect();
    Ok(json(StatusCode::OK, &bodies))
}

/// Hands a dead letter to its consumer again (operators).
#[utoipa::path(
    post, path = "/api/v1/admin/dead-letters/{id}/replay", tag = "operations",
    params(("id" = String, Path, description = "Dead letter id")),
    responses(
        (status = 200, description = "Replayed", body = DeadLetterBody),
        (status = 403, description = "Not an operator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such dead letter", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "It failed again", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn replay(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some(replayer) = state.replayer.clone() else {
        return Err(ApiError(AppError::ReplayFailed(
            "this process runs no consumers; replay from a process that does, or with tickler dlq replay"
                .to_owned(),
        )));
    };
    let letter = state
        .app
        .replay_dead_letter(&actor, &id, replayer.as_ref())
        .await?;
    Ok(json(StatusCode::OK, &letter_body(letter)))
}
