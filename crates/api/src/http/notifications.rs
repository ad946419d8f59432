//! `/api/v1/notification-channels`: the caller's channels (in-app, webhook, e-mail); and
//! `/api/v1/notifications`: the in-app list, marking read, and each notification's
//! deliveries with every attempt.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tickler_app::notifications::{
    NotificationParams, channel_body, delivery_body, notification_body,
};
use tickler_protocol::notification::{
    ChannelBody, ChannelWithSecretBody, CreateChannelRequest, DeliveryBody, NotificationBody,
    NotificationPage, UpdateChannelRequest, VerifyChannelRequest,
};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, QueryPairs};
use crate::http::json;

/// Creates a notification channel. A webhook channel's signing secret is in this response
/// only.
#[utoipa::path(
    post, path = "/api/v1/notification-channels", tag = "notifications",
    request_body = CreateChannelRequest,
    responses(
        (status = 201, description = "Created; a webhook's secret is shown once; an e-mail channel is pending until the code mailed to it is posted", body = ChannelWithSecretBody),
        (status = 409, description = "Too many channels, or the in-app channel exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a URL to a forbidden address, an invalid e-mail address)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many verification mails for this user or address; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a new mail is allowed"))),
    ),
    security(("bearer" = []))
)]
pub async fn create_channel(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<CreateChannelRequest>,
) -> Result<Response, ApiError> {
    let (channel, secret) = state.app.create_channel(&actor, body.value).await?;
    Ok(json(
        StatusCode::CREATED,
        &ChannelWithSecretBody {
            channel: channel_body(&channel),
            secret: secret.map(|secret| secret.display()),
        },
    ))
}

/// Lists the caller's channels, oldest first; the in-app channel is always there (on until
/// turned off).
#[utoipa::path(
    get, path = "/api/v1/notification-channels", tag = "notifications",
    responses((status = 200, description = "The channels, without secrets", body = Vec<ChannelBody>)),
    security(("bearer" = []))
)]
pub async fn list_channels(
    State(state): State<ApiState>,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let channels = state.app.list_channels(&actor).await?;
    let bodies: Vec<ChannelBody> = channels.iter().map(channel_body).collect();
    Ok(json(StatusCode::OK, &bodies))
}

/// Reads one of the caller's channels.
#[utoipa::path(
    get, path = "/api/v1/notification-channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 200, description = "The channel, without its secret", body = ChannelBody),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_channel(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let channel = state.app.get_channel(&actor, &id).await?;
    Ok(json(StatusCode::OK, &channel_body(&channel)))
}

/// Changes one of the caller's channels: `enabled`, a webhook's `url`, an e-mail channel's
/// `address` (fields left out stay as they are).
#[utoipa::path(
    patch, path = "/api/v1/notification-channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    request_body(content = UpdateChannelRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed channel (a new e-mail address is pending until the code mailed to it is posted)", body = ChannelBody),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "A new address, and too many verification mails for this user or address; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a new mail is allowed"))),
    ),
    security(("bearer" = []))
)]
pub async fn update_channel(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: JsonBody<UpdateChannelRequest>,
) -> Result<Response, ApiError> {
    let channel = state.app.update_channel(&actor, &id, body.value).await?;
    Ok(json(StatusCode::OK, &channel_body(&channel)))
}

/// Deletes one of the caller's channels; its pending deliveries are cancelled. Deleting the
/// in-app channel turns in-app notifications back on (the default).
#[utoipa::path(
    delete, path = "/api/v1/notification-channels/{id}", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_channel(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    state.app.delete_channel(&actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Gives a webhook channel a new signing secret, shown in this response only. For a day the
/// old secret signs too (`webhook-signature` carries both signatures), so the receiver can
/// switch without losing a webhook.
#[utoipa::path(
    post, path = "/api/v1/notification-channels/{id}/rotate-secret", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 200, description = "The channel and its new secret", body = ChannelWithSecretBody),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a webhook channel", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_secret(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (channel, secret) = state.app.rotate_channel_secret(&actor, &id).await?;
    Ok(json(
        StatusCode::OK,
        &ChannelWithSecretBody {
            channel: channel_body(&channel),
            secret: Some(secret.display()),
        },
    ))
}

/// Verifies one of the caller's e-mail channels with the code mailed to its address; until
/// then the channel is `pending` and nothing else is sent to it.
#[utoipa::path(
    post, path = "/api/v1/notification-channels/{id}/verify", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    request_body = VerifyChannelRequest,
    responses(
        (status = 200, description = "The channel, verified", body = ChannelBody),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an e-mail channel, verified already, or the code expired or had too many wrong guesses (ask for a new one)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The code is wrong", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn verify_channel(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    body: JsonBody<VerifyChannelRequest>,
) -> Result<Response, ApiError> {
    let channel = state
        .app
        .verify_channel(&actor, &id, &body.value.code)
        .await?;
    Ok(json(StatusCode::OK, &channel_body(&channel)))
}

/// Mails a new code to one of the caller's pending e-mail channels (the previous code stops
/// working). Verification mails are limited per user and per address.
#[utoipa::path(
    post, path = "/api/v1/notification-channels/{id}/verification", tag = "notifications",
    params(("id" = String, Path, description = "Channel id")),
    responses(
        (status = 202, description = "A new code is being mailed", body = ChannelBody),
        (status = 404, description = "No such channel", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not an e-mail channel, or verified already", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many verification mails for this user or address; see Retry-After", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until a new mail is allowed"))),
        (status = 503, description = "This server sends no e-mail", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn resend_verification(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let channel = state.app.resend_channel_verification(&actor, &id).await?;
    Ok(json(StatusCode::ACCEPTED, &channel_body(&channel)))
}

/// Lists the caller's in-app notifications, newest first.
#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "notifications",
    params(
        ("unread" = Option<bool>, Query, description = "true: only those not marked read"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 400, description = "A cursor this server did not issue (`invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let (items, next_cursor) = state
        .app
        .list_notifications(
            &actor,
            NotificationParams {
                unread: query.one("unread"),
                limit: query.one("limit"),
                cursor: query.one("cursor"),
            },
        )
        .await?;
    Ok(json(
        StatusCode::OK,
        &NotificationPage {
            items: items.iter().map(notification_body).collect(),
            next_cursor,
        },
    ))
}

/// Marks one of the caller's in-app notifications read (marking it again changes nothing).
#[utoipa::path(
    post, path = "/api/v1/notifications/{id}/read", tag = "notifications",
    params(("id" = String, Path, description = "Notification id")),
    responses(
        (status = 200, description = "The notification, with read_at", body = NotificationBody),
        (status = 404, description = "No such in-app notification", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn mark_read(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let notification = state.app.mark_notification_read(&actor, &id).await?;
    Ok(json(StatusCode::OK, &notification_body(&notification)))
}

/// Lists the deliveries of one of the caller's notifications, one per channel, each with
/// every attempt: when, and the status code or the error.
#[utoipa::path(
    get, path = "/api/v1/notifications/{id}/deliveries", tag = "notifications",
    params(("id" = String, Path, description = "Notification id")),
    responses(
        (status = 200, description = "The deliveries, in the order they were created", body = Vec<DeliveryBody>),
        (status = 404, description = "No such notification", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn deliveries(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let histories = state.app.notification_deliveries(&actor, &id).await?;
    let bodies: Vec<DeliveryBody> = histories.iter().map(delivery_body).collect();
    Ok(json(StatusCode::OK, &bodies))
}
