//! `/api/v1/calendar-feeds`: the caller's calendar feeds; and `/feeds/<token>.ics`: a feed's
//! iCalendar text, opened by its secret token alone (calendar apps send no other credentials).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use tickler_app::feeds::{CalendarDocument, MEDIA_TYPE, feed_path};
use tickler_app::{AppError, CalendarFeed};
use tickler_domain::CalendarFeedId;
use tickler_protocol::feed::{
    CalendarFeedBody, CreateCalendarFeedRequest, CreatedCalendarFeedBody,
};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, if_none_match_tag};
use crate::http::json;

fn feed_body(feed: &CalendarFeed) -> CalendarFeedBody {
    CalendarFeedBody {
        id: feed.id,
        name: feed.name.clone(),
        filter: feed.filter.clone(),
        created_at: feed.created_at,
    }
}

/// Creates a calendar feed of the caller's tasks. Its secret address is in this response only.
#[utoipa::path(
    post, path = "/api/v1/calendar-feeds", tag = "calendar feeds",
    request_body = CreateCalendarFeedRequest,
    responses(
        (status = 201, description = "Created; the address (with its token) is shown once", body = CreatedCalendarFeedBody),
        (status = 422, description = "Invalid name or filter", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_feed(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<CreateCalendarFeedRequest>,
) -> Result<Response, ApiError> {
    let (token, feed) = state.app.create_calendar_feed(&actor, body.value).await?;
    let path = feed_path(&token);
    let url = match state.public_url.as_deref() {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => path,
    };
    Ok(json(
        StatusCode::CREATED,
        &CreatedCalendarFeedBody {
            details: feed_body(&feed),
            url,
        },
    ))
}

/// Lists the caller's calendar feeds (without their addresses), newest first.
#[utoipa::path(
    get, path = "/api/v1/calendar-feeds", tag = "calendar feeds",
    responses((status = 200, description = "The feeds", body = Vec<CalendarFeedBody>)),
    security(("bearer" = []))
)]
pub async fn list_feeds(
    State(state): State<ApiState>,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let feeds = state.app.list_calendar_feeds(&actor).await?;
    let bodies: Vec<CalendarFeedBody> = feeds.iter().map(feed_body).collect();
    Ok(json(StatusCode::OK, &bodies))
}

/// Revokes one of the caller's calendar feeds: its address answers 404 from now on.
#[utoipa::path(
    delete, path = "/api/v1/calendar-feeds/{id}", tag = "calendar feeds",
    params(("id" = String, Path, description = "Feed id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such feed for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_feed(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: CalendarFeedId = id.parse().map_err(|_| AppError::CalendarFeedNotFound)?;
    state.app.revoke_calendar_feed(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Serves a calendar feed as RFC 5545 iCalendar: one VTODO per task with a due date. The
/// token in the address is the only credential. Answers 304 when `If-None-Match` names the
/// current `ETag`.
#[utoipa::path(
    get, path = "/feeds/{file}", tag = "calendar feeds",
    params(("file" = String, Path, description = "`<token>.ics`, as in the address the feed was created with")),
    responses(
        (status = 200, description = "The calendar", content_type = "text/calendar", body = String,
            headers(("ETag" = String, description = "Entity tag of the calendar"))),
        (status = 304, description = "Unchanged since the entity tag in If-None-Match"),
        (status = 404, description = "Unknown or revoked feed", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn serve_feed(
    State(state): State<ApiState>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = file
        .strip_suffix(".ics")
        .filter(|token| !token.is_empty())
        .ok_or(AppError::CalendarFeedNotFound)?;
    let document = state.app.calendar_feed_document(token).await?;
    let unchanged = if_none_match_tag(&headers, &document.etag);
    Ok(calendar_response(document, unchanged))
}

fn calendar_response(document: CalendarDocument, unchanged: bool) -> Response {
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, document.body).into_response()
    };
    let headers = response.headers_mut();
    if !unchanged {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    }
    if let Ok(value) = HeaderValue::from_str(&document.etag) {
        headers.insert(header::ETAG, value);
    }
    // Anyone with the address may read it, but shared caches should not keep a copy.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
