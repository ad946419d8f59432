//! `/api/v1/auth/*` and `/api/v1/me`: registration, login and the caller's profile.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use tickler_app::Session;
use tickler_protocol::auth::{
    LoginRequest, RegisterRequest, SessionBody, UpdateMeRequest, UserBody,
};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, PeerAddress};
use crate::http::json;

fn session_body(session: Session) -> SessionBody {
    SessionBody {
        access_token: session.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: session.expires_in,
        user: UserBody::from(&session.user),
    }
}

/// Creates an account and returns a session for it.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created", body = SessionBody),
        (status = 403, description = "Registration is closed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail is registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<ApiState>,
    body: JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let session = state.app.register(body.value).await?;
    Ok(json(StatusCode::CREATED, &session_body(session)))
}

/// Signs in with e-mail and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionBody),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<ApiState>,
    PeerAddress(address): PeerAddress,
    body: JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = state.app.login(body.value, address).await?;
    Ok(json(StatusCode::OK, &session_body(session)))
}

/// Returns the caller's profile.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "accounts",
    responses(
        (status = 200, description = "The profile", body = UserBody),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn me(Caller(actor): Caller) -> Response {
    json(StatusCode::OK, &UserBody::from(&actor.user))
}

/// Changes the caller's name, time zone or password.
#[utoipa::path(
    patch, path = "/api/v1/me", tag = "accounts",
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated profile", body = UserBody),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or wrong current password", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn update_me(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<UpdateMeRequest>,
) -> Result<Response, ApiError> {
    let user = state.app.update_me(&actor, body.value).await?;
    Ok(json(StatusCode::OK, &UserBody::from(&user)))
}
