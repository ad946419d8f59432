//! `/api/v1/tasks`: create, read, list/search, merge-patch, complete, reopen, delete, the
//! occurrences of a recurring task, and the preview of a rule before a task has it.

use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tickler_app::{AppError, CreatedTask, IdempotencyKey, ListTasksParams};
use tickler_domain::{FieldError, Task, TaskId};
use tickler_protocol::problem::Problem;
use tickler_protocol::task::{
    DeleteScope, Occurrences, RecurrencePreviewRequest, SeriesBody, TaskBody, TaskPage,
    TaskPatchDoc, TaskRequest,
};

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, IfNoneMatch, JsonBody, MergePatch, QueryPairs, if_match};
use crate::http::{json, with_etag};

/// A malformed id names no task: answered like another user's task, 404.
fn parse_id(id: &str) -> Result<TaskId, ApiError> {
    id.parse().map_err(|_| ApiError(AppError::TaskNotFound))
}

/// Adds the `Location` of a created task, its resource's path.
pub(crate) fn with_location(mut response: Response, id: TaskId) -> Response {
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/tasks/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn task_response(status: StatusCode, task: &Task) -> Response {
    with_etag(json(status, &TaskBody::from(task)), task.version)
}

/// Creates a task. A retry with the same `Idempotency-Key` and body returns the original
/// response and creates nothing.
#[utoipa::path(
    post, path = "/api/v1/tasks", tag = "tasks",
    request_body = TaskRequest,
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = "^[!-~]+$", description = "Makes retries safe: same key and body, same response, one task. 1 to 255 visible ASCII characters")),
    responses(
        (status = 201, description = "Created", body = TaskBody,
            headers(("Location" = String, description = "The task's URL"), ("ETag" = String, description = "The task's version"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or an idempotency key reused with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: JsonBody<TaskRequest>,
) -> Result<Response, ApiError> {
    let idempotency = match headers.get("idempotency-key") {
        Some(value) => Some(IdempotencyKey::new(
            value.to_str().unwrap_or(""),
            "POST",
            uri.path(),
            &body.bytes,
        )?),
        None => None,
    };
    let (created, replayed) = match state
        .app
        .create_task(&actor, body.value, idempotency)
        .await?
    {
        CreatedTask::New { created, .. } => (created, false),
        CreatedTask::Replayed(created) => (created, true),
    };
    let response = (
        StatusCode::CREATED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        created.json,
    )
        .into_response();
    let mut response = with_location(with_etag(response, created.version), created.id);
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Lists or searches the caller's tasks, one page at a time.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks",
    params(
        ("q" = Option<String>, Query, max_length = 500, description = "Full-text search over title, description and tags (ranked by relevance: the newest 1,000 matches after the other filters; another sort lists every match)"),
        ("status" = Option<Vec<tickler_protocol::task::StatusFilter>>, Query, description = "todo, in_progress, done or open; repeatable"),
        ("priority" = Option<Vec<tickler_domain::Priority>>, Query, description = "none, low, medium, high, urgent; repeatable"),
        ("tag" = Option<Vec<tickler_protocol::tag::TagName>>, Query, description = "Tags that must all be present; repeatable"),
        ("due_before" = Option<String>, Query, format = DateTime, description = "RFC 3339 instant (exclusive)"),
        ("due_after" = Option<String>, Query, format = DateTime, description = "RFC 3339 instant (inclusive)"),
        ("overdue" = Option<bool>, Query, description = "Only open tasks whose due date has passed"),
        ("sort" = Option<String>, Query, pattern = "^\\s*([+-]?(created_at|updated_at|due_at|priority|title|relevance))?\\s*(,\\s*([+-]?(created_at|updated_at|due_at|priority|title|relevance))?\\s*)*$", description = "created_at, updated_at, due_at, priority, title, relevance; '-' for descending; comma-separated"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of tasks", body = TaskPage),
        (status = 400, description = "A cursor this server did not issue (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tasks(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let params = ListTasksParams {
        q: query.one("q"),
        status: query.all("status"),
        priority: query.all("priority"),
        tag: query.all("tag"),
        due_before: query.one("due_before"),
        due_after: query.one("due_after"),
        overdue: query.one("overdue"),
        sort: query.all("sort"),
        limit: query.one("limit"),
        cursor: query.one("cursor"),
    };
    let (tasks, next_cursor) = state.app.list_tasks(&actor, params).await?;
    Ok(json(
        StatusCode::OK,
        &TaskPage {
            items: tasks.iter().map(TaskBody::from).collect(),
            next_cursor,
        },
    ))
}

/// Reads a task.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskBody, headers(("ETag" = String))),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let task = state.app.get_task(&actor, parse_id(&id)?).await?;
    if if_none_match.matches(task.version) {
        return Ok(with_etag(
            StatusCode::NOT_MODIFIED.into_response(),
            task.version,
        ));
    }
    Ok(task_response(StatusCode::OK, &task))
}

/// Finds the caller's one task whose id starts with a prefix, as git resolves abbreviated
/// commit ids (what `tickler show 0193a1b2` uses).
#[utoipa::path(
    get, path = "/api/v1/tasks/resolve/{prefix}", tag = "tasks",
    params(("prefix" = String, Path, description = "The start of a task id: hex digits, any case; hyphens are ignored")),
    responses(
        (status = 200, description = "The one task of the caller whose id starts with the prefix", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No task of the caller starts with the prefix (or it is not hex)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Several tasks start with the prefix (code `ambiguous_task_id`); `detail` names up to ten candidates, id and title", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn resolve_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(prefix): Path<String>,
) -> Result<Response, ApiError> {
    let task = state.app.resolve_task_prefix(&actor, &prefix).await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Changes a task with a JSON merge patch (RFC 7396). With `If-Match`, a stale version is
/// refused with 412.
#[utoipa::path(
    patch, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    request_body(content = TaskPatchDoc, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed task", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since the If-Match version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn patch_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    MergePatch(patch): MergePatch,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let task = state
        .app
        .patch_task(&actor, id, patch, if_match(&headers))
        .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Deletes a task. For a recurring task, `scope=this` (the default) skips this occurrence
/// and creates the next one, `scope=series` ends the series.
#[utoipa::path(
    delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("scope" = Option<DeleteScope>, Query, description = "For a recurring task: `this` (default) deletes this occurrence and creates the next one; `series` also deletes the series' other open instances and ends the series (done instances stay as history). Ignored for a task that does not recur"),
        ("If-Match" = Option<String>, Header, description = "The ETag the deletion is based on"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since the If-Match version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown scope", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    query: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let scope = match query.one("scope") {
        None => DeleteScope::default(),
        Some(text) => DeleteScope::parse(&text).ok_or_else(|| {
            ApiError(AppError::from(FieldError::new(
                "scope",
                "invalid_value",
                "scope must be this or series",
            )))
        })?,
    };
    let id = parse_id(&id)?;
    state
        .app
        .delete_task(&actor, id, if_match(&headers), scope)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Lists the instances of the recurring series a task belongs to.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/series", tag = "tasks",
    params(("id" = String, Path, description = "Any instance's id")),
    responses(
        (status = 200, description = "The series' instances still stored (done ones included), ordered by sequence", body = SeriesBody),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn series(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let instances = state.app.list_series(&actor, id).await?;
    let items = instances.iter().map(TaskBody::from).collect();
    Ok(json(StatusCode::OK, &SeriesBody { items }))
}

/// Marks a task done (a no-op if it already is).
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/complete", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    responses(
        (status = 200, description = "The task", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since the If-Match version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn complete_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let task = state
        .app
        .complete_task(&actor, id, if_match(&headers))
        .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Puts a done task back to `todo` (a no-op if it is not done).
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
    ),
    responses(
        (status = 200, description = "The task", body = TaskBody, headers(("ETag" = String))),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task changed since the If-Match version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn reopen_task(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let task = state
        .app
        .reopen_task(&actor, id, if_match(&headers))
        .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Previews a recurrence before any task has it: the next due instants of a rule from a first
/// occurrence, expanded in a time zone, with the checks a task's fields get on saving. Changes
/// nothing.
#[utoipa::path(
    post, path = "/api/v1/recurrence/preview", tag = "tasks",
    request_body = RecurrencePreviewRequest,
    responses(
        (status = 200, description = "Due instants, the first being `due_at`", body = Occurrences),
        (status = 422, description = "An invalid rule, a rule without `due_at`, a malformed `due_at`, an unknown time zone or a limit out of range", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn preview_recurrence(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<RecurrencePreviewRequest>,
) -> Result<Response, ApiError> {
    let occurrences = state.app.preview_occurrences(&actor, &body.value).await?;
    Ok(json(StatusCode::OK, &Occurrences { occurrences }))
}

/// Lists the next due instants of a recurring task, expanded in its time zone.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/occurrences", tag = "tasks",
    params(
        ("id" = String, Path, description = "Task id"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "1 to 1000, default 10"),
    ),
    responses(
        (status = 200, description = "Due instants, the first being the current due date", body = Occurrences),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn occurrences(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let limit = query.one("limit");
    let occurrences = state.app.occurrences(&actor, id, limit.as_deref()).await?;
    Ok(json(StatusCode::OK, &Occurrences { occurrences }))
}
