//! `/api/v1/tags`: autocomplete by usage, rename (merging) and delete.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use tickler_app::TagChange;
use tickler_protocol::problem::Problem;
use tickler_protocol::tag::{RenameTagRequest, TagChangeBody, TagCountBody};

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, QueryPairs};
use crate::http::json;

fn change_body(change: TagChange) -> TagChangeBody {
    TagChangeBody {
        name: change.name.map(|tag| tag.as_str().to_owned()),
        tasks_changed: change.tasks_changed,
    }
}

/// Lists the caller's tags, most used first, optionally by prefix (for autocompletion).
#[utoipa::path(
    get, path = "/api/v1/tags", tag = "tags",
    params(
        ("prefix" = Option<String>, Query, description = "Only tags starting with this"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 50"),
    ),
    responses(
        (status = 200, description = "Tags and how many tasks carry each", body = Vec<TagCountBody>),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_tags(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let prefix = query.one("prefix");
    let limit = query.one("limit");
    let tags = state
        .app
        .list_tags(&actor, prefix.as_deref(), limit.as_deref())
        .await?;
    let bodies: Vec<TagCountBody> = tags
        .into_iter()
        .map(|tag| TagCountBody {
            name: tag.name,
            count: tag.count,
        })
        .collect();
    Ok(json(StatusCode::OK, &bodies))
}

/// Renames a tag on every task; where a task already has the new name, the two merge.
#[utoipa::path(
    patch, path = "/api/v1/tags/{name}", tag = "tags",
    params(("name" = tickler_protocol::tag::TagName, Path, description = "The tag to rename")),
    request_body = RenameTagRequest,
    responses(
        (status = 200, description = "Renamed", body = TagChangeBody),
        (status = 404, description = "No task carries the tag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid tag name (in the path or the body)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rename_tag(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
    body: JsonBody<RenameTagRequest>,
) -> Result<Response, ApiError> {
    let change = state
        .app
        .rename_tag(&actor, &name, &body.value.name)
        .await?;
    Ok(json(StatusCode::OK, &change_body(change)))
}

/// Removes a tag from every task.
#[utoipa::path(
    delete, path = "/api/v1/tags/{name}", tag = "tags",
    params(("name" = tickler_protocol::tag::TagName, Path, description = "The tag to remove")),
    responses(
        (status = 200, description = "Removed", body = TagChangeBody),
        (status = 404, description = "No task carries the tag", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid tag name", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_tag(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let change = state.app.delete_tag(&actor, &name).await?;
    Ok(json(StatusCode::OK, &change_body(change)))
}
