//! The live stream, served by the `realtime` role: `GET /api/v1/live` (a WebSocket of the
//! caller's events) and `POST /api/v1/live/tickets` (one-time tickets for `?ticket=`).
//!
//! The upgrade is authenticated before it happens (a refusal is a problem document): by
//! `Authorization: Bearer`, by the web app's session cookie (which requires an `Origin` of
//! this server, see [`crate::browser_session`]), or by a ticket. Frames are described in
//! [`tickler_protocol::live::LiveFrame`]; the fan-out in [`hub`].

mod connection;
pub mod hub;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use tickler_app::live::parse_cursor;
use tickler_app::{AppError, Origin};

use crate::ApiState;
use crate::error::{ApiError, http_problem};
use crate::extract::{authenticate_request, request_actor};
use crate::http::json;

pub use hub::{LiveHub, LiveSettings};

/// Largest message accepted from a client (clients only answer pings and close).
const MAX_CLIENT_MESSAGE_BYTES: usize = 4 * 1024;
/// Read buffer of a connection: small, since clients hardly send anything, and it is
/// allocated for every idle connection.
const READ_BUFFER_BYTES: usize = 1024;

/// The live routes.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/live", get(connect))
        .route("/api/v1/live/tickets", post(create_ticket))
}

/// The live routes' part of the OpenAPI document (served or not, they are part of the API).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_ticket, connect),
    components(schemas(tickler_protocol::live::LiveFrame)),
    tags((name = "live", description = "The live stream of the caller's changes (role realtime)"))
)]
pub(crate) struct LiveDoc;

/// `POST /api/v1/live/tickets`: a ticket for `GET /api/v1/live?ticket=`, valid 30 s, used once.
#[utoipa::path(
    post, path = "/api/v1/live/tickets", tag = "live",
    responses(
        (status = 201, description = "A one-time ticket for `GET /api/v1/live?ticket=`, valid 30 seconds", body = tickler_protocol::live::LiveTicketBody),
        (status = 401, description = "No valid credentials", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn create_ticket(
    State(state): State<ApiState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, _) = request.into_parts();
    let actor = request_actor(&parts, &state, Origin::Api).await?;
    let ticket = state.app.create_live_ticket(&actor).await?;
    Ok(json(StatusCode::CREATED, &ticket))
}

/// The query of `GET /api/v1/live`.
#[derive(Debug, Default)]
struct LiveQuery {
    cursor: Option<String>,
    ticket: Option<String>,
}

impl LiveQuery {
    fn parse(query: Option<&str>) -> Self {
        let mut parsed = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "cursor" => parsed.cursor = Some(value.into_owned()),
                "ticket" => parsed.ticket = Some(value.into_owned()),
                _ => {}
            }
        }
        parsed
    }
}

/// `GET /api/v1/live`: authenticates, checks the cursor, then upgrades.
#[utoipa::path(
    get, path = "/api/v1/live", tag = "live",
    params(
        ("cursor" = Option<String>, Query, description = "Resume after this cursor: the caller's events after it are replayed in order before `ready`"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /api/v1/live/tickets`, instead of a bearer token or the session cookie"),
    ),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol: every text frame is one `LiveFrame`"),
        (status = 400, description = "Not an upgrade request, or a malformed cursor", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid credentials", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "A session cookie without this server's Origin", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "This process does not run the realtime role", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The live stream is starting", body = tickler_protocol::problem::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
async fn connect(State(state): State<ApiState>, request: Request) -> Response {
    match accept(state, request).await {
        Ok(response) | Err(response) => response,
    }
}

async fn accept(state: ApiState, request: Request) -> Result<Response, Response> {
    let Some(hub) = state.live.clone() else {
        return Err(http_problem(
            StatusCode::NOT_FOUND,
            "route_not_found",
            "this process does not serve the live stream (the realtime role)",
        ));
    };
    let (mut parts, _) = request.into_parts();
    let query = LiveQuery::parse(parts.uri.query());
    let upgrade = WebSocketUpgrade::from_request_parts(&mut parts, &state).await;
    let user = match &query.ticket {
        // A ticket is spent only by a real upgrade.
        Some(ticket) => {
            if upgrade.is_err() {
                return Err(not_an_upgrade());
            }
            state
                .app
                .redeem_live_ticket(ticket)
                .await
                .map_err(|error| ApiError(error).into_response())?
        }
        None => {
            authenticate_request(&parts, &state)
                .await
                .map_err(IntoResponse::into_response)?
                .user
        }
    };
    let cursor = query
        .cursor
        .as_deref()
        .map(parse_cursor)
        .transpose()
        .map_err(|error| ApiError(error).into_response())?;
    let upgrade = upgrade.map_err(|_| not_an_upgrade())?;
    let subscription = hub.subscribe(user.id).ok_or_else(|| {
        ApiError(AppError::Unavailable(
            "the live stream is starting".to_owned(),
        ))
        .into_response()
    })?;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::serve(socket, hub, user.id, cursor, subscription)))
}

fn not_an_upgrade() -> Response {
    http_problem(
        StatusCode::BAD_REQUEST,
        "websocket_upgrade_required",
        "GET /api/v1/live is a WebSocket: send an upgrade request (Upgrade: websocket)",
    )
}
