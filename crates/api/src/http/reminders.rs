//! `/api/v1/reminders`: the caller's scheduled reminders, and snoozing one.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use tickler_app::reminders::{ReminderParams, reminder_body};
use tickler_protocol::problem::Problem;
use tickler_protocol::reminder::{ReminderBody, ReminderList, SnoozeRequest};

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, QueryPairs};
use crate::http::json;

/// Lists the caller's reminders: with `upcoming=true` the pending ones, soonest first;
/// otherwise all of them (fired, missed, cancelled too), latest fire time first.
#[utoipa::path(
    get, path = "/api/v1/reminders", tag = "reminders",
    params(
        ("upcoming" = Option<bool>, Query, description = "true: only pending reminders"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
    ),
    responses(
        (status = 200, description = "The reminders", body = ReminderList),
        (status = 422, description = "Invalid query", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_reminders(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let reminders = state
        .app
        .list_reminders(
            &actor,
            ReminderParams {
                upcoming: query.one("upcoming"),
                limit: query.one("limit"),
            },
        )
        .await?;
    Ok(json(
        StatusCode::OK,
        &ReminderList {
            items: reminders.iter().map(reminder_body).collect(),
        },
    ))
}

/// Snoozes one of the caller's reminders to `minutes` from now or `until` an instant. A
/// pending reminder moves (same id); one that fired or was missed fires again as a new
/// reminder (spec `snooze`), whose id the response carries.
#[utoipa::path(
    post, path = "/api/v1/reminders/{id}/snooze", tag = "reminders",
    params(("id" = String, Path, description = "Reminder id")),
    request_body = SnoozeRequest,
    responses(
        (status = 200, description = "The reminder that will fire", body = ReminderBody),
        (status = 404, description = "No such reminder", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The task is done or the reminder was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "minutes out of 1..=10080, until not in the future, or neither", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn snooze_reminder(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: JsonBody<SnoozeRequest>,
) -> Result<Response, ApiError> {
    let reminder = state.app.snooze_reminder(&actor, &id, body.value).await?;
    Ok(json(StatusCode::OK, &reminder_body(&reminder)))
}
