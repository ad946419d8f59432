//! `/api/v1/auth/*` and `/api/v1/me`: registration, login, refreshing and ending sessions,
//! and the caller's profile. Sessions hand their tokens over in the body (JSON clients) or as
//! cookies (the web app; see [`crate::browser_session`]).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use tickler_app::Session;
use tickler_protocol::auth::{
    CookieSessionBody, LoginRequest, RefreshRequest, RegisterRequest, SessionBody,
    SessionTransport, UpdateMeRequest, UserBody,
};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::browser_session::{self, REFRESH_COOKIE};
use crate::error::ApiError;
use crate::extract::{Caller, CallerSession, JsonBody, PeerAddress};
use crate::http::json;

/// Answers a new or refreshed session in the body, or as cookies.
fn session_response(
    status: StatusCode,
    session: Session,
    transport: SessionTransport,
    headers: &HeaderMap,
) -> Response {
    match transport {
        SessionTransport::Body => json(
            status,
            &SessionBody {
                token_type: "Bearer".to_owned(),
                expires_in: session.expires_in,
                refresh_expires_in: Some(session.refresh_expires_in),
                user: UserBody::from(&session.user),
                access_token: session.access_token,
                refresh_token: Some(session.refresh_token),
            },
        ),
        SessionTransport::Cookie => {
            let mut response = json(
                status,
                &CookieSessionBody {
                    csrf_token: session.csrf_token.clone(),
                    expires_in: session.expires_in,
                    refresh_expires_in: session.refresh_expires_in,
                    user: UserBody::from(&session.user),
                },
            );
            browser_session::set_session_cookies(
                response.headers_mut(),
                &session,
                browser_session::served_over_tls(headers),
            );
            response
        }
    }
}

/// Adds the headers that delete the web app's session cookies to a response.
fn without_session_cookies(mut response: Response, request: &HeaderMap) -> Response {
    browser_session::clear_session_cookies(
        response.headers_mut(),
        browser_session::served_over_tls(request),
    );
    response
}

/// Cookie sessions are started only from this server's pages (a foreign page must not sign a
/// visitor into an account of its choosing).
fn check_transport(
    transport: Option<SessionTransport>,
    headers: &HeaderMap,
) -> Result<SessionTransport, ApiError> {
    let transport = transport.unwrap_or_default();
    if transport == SessionTransport::Cookie {
        browser_session::require_same_origin(headers)?;
    }
    Ok(transport)
}

/// Creates an account and returns a session for it.
#[utoipa::path(
    post, path = "/api/v1/auth/register", tag = "accounts",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; with `\"session\": \"cookie\"` the body is a `CookieSessionBody` and the tokens are cookies", body = SessionBody),
        (status = 403, description = "Registration is closed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The e-mail is registered", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many accounts created from this network; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being hashed; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    State(state): State<ApiState>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    body: JsonBody<RegisterRequest>,
) -> Result<Response, ApiError> {
    let transport = check_transport(body.value.session, &headers)?;
    let session = state.app.register(body.value, address).await?;
    Ok(session_response(
        StatusCode::CREATED,
        session,
        transport,
        &headers,
    ))
}

/// Signs in with e-mail and password.
#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "accounts",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in; with `\"session\": \"cookie\"` the body is a `CookieSessionBody` and the tokens are cookies", body = SessionBody),
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`\"session\": \"cookie\"` from outside a page of this server (`origin_not_allowed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts for this account or from this network; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being verified; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<ApiState>,
    PeerAddress(address): PeerAddress,
    headers: HeaderMap,
    body: JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let transport = check_transport(body.value.session, &headers)?;
    let session = state.app.login(body.value, address).await?;
    Ok(session_response(
        StatusCode::OK,
        session,
        transport,
        &headers,
    ))
}

/// Where a refresh or logout found its refresh token.
enum PresentedRefresh {
    Body(String),
    Cookie(String),
}

/// Reads the refresh token from the body or, for the web app, from its cookie; a cookie is
/// accepted only with the session's CSRF token.
async fn presented_refresh(
    state: &ApiState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<PresentedRefresh, ApiError> {
    let request: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        tickler_app::decode::object_from_slice(body)?
    };
    if let Some(token) = request.refresh_token {
        return Ok(PresentedRefresh::Body(token));
    }
    let token = browser_session::cookie(headers, REFRESH_COOKIE)
        .ok_or(tickler_app::AppError::RefreshTokenInvalid)?
        .to_owned();
    if browser_session::request_origin(headers) == browser_session::RequestOrigin::Foreign {
        return Err(tickler_app::AppError::OriginNotAllowed.into());
    }
    let session = state.app.session_of_refresh_token(&token).await?;
    browser_session::check_csrf(headers, &state.app, session)?;
    Ok(PresentedRefresh::Cookie(token))
}

/// Exchanges a refresh token for a new access token and a new refresh token.
///
/// The refresh token comes in the body (`{"refresh_token": "tkr_..."}`), or in the web app's
/// cookie together with the `X-CSRF-Token` header; the answer hands the new tokens over the
/// same way. A refresh token works once: presenting it again revokes its whole session, except
/// within `auth.refresh_reuse_grace_seconds` (10 s) of its use (409 `refresh_token_superseded`:
/// another tab already refreshed).
#[utoipa::path(
    post, path = "/api/v1/auth/refresh", tag = "accounts",
    request_body(content = Option<RefreshRequest>, description = "The refresh token, unless it is in the cookie"),
    responses(
        (status = 200, description = "New tokens (a `CookieSessionBody` and cookies when the refresh token came as a cookie)", body = SessionBody),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie without the CSRF token, or from another site", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Just exchanged by another request: use its successor", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn refresh(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Response, ApiError> {
    let (token, transport) = match presented_refresh(&state, &headers, &body).await? {
        PresentedRefresh::Body(token) => (token, SessionTransport::Body),
        PresentedRefresh::Cookie(token) => (token, SessionTransport::Cookie),
    };
    match state.app.refresh_session(&token).await {
        Ok(session) => Ok(session_response(
            StatusCode::OK,
            session,
            transport,
            &headers,
        )),
        Err(error) => {
            let superseded = matches!(error, tickler_app::AppError::RefreshTokenSuperseded);
            let response = ApiError(error).into_response();
            if transport == SessionTransport::Cookie && !superseded {
                Ok(without_session_cookies(response, &headers))
            } else {
                Ok(response)
            }
        }
    }
}

/// Signs out of one session: its refresh token and access tokens stop working.
///
/// The session is the one of the refresh token in the body, else of the web app's refresh
/// cookie (with `X-CSRF-Token`), else of the caller's access token. The web app's cookies are
/// cleared.
#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "accounts",
    request_body(content = Option<RefreshRequest>, description = "The refresh token of the session to end, unless it is in the cookie or the access token names the session"),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "No session to end", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Cookie without the CSRF token, or from another site", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<ApiState>,
    headers: HeaderMap,
    caller: Option<CallerSession>,
    body: bytes::Bytes,
) -> Result<Response, ApiError> {
    let presented = match presented_refresh(&state, &headers, &body).await {
        Ok(presented) => Some(presented),
        Err(ApiError(tickler_app::AppError::RefreshTokenInvalid)) if caller.is_some() => None,
        Err(error) => return Err(error),
    };
    match (presented, caller) {
        (Some(PresentedRefresh::Body(token) | PresentedRefresh::Cookie(token)), _) => {
            state.app.end_session_by_refresh_token(&token).await?;
        }
        (
            None,
            Some(CallerSession {
                actor,
                session: Some(session),
            }),
        ) => state.app.end_session(actor.user.id, session).await?,
        (None, _) => return Err(tickler_app::AppError::RefreshTokenInvalid.into()),
    }
    Ok(without_session_cookies(
        StatusCode::NO_CONTENT.into_response(),
        &headers,
    ))
}

/// Signs the caller out everywhere: every session ends and every access token issued so far
/// stops working (personal API tokens keep working; revoke them under `/api/v1/tokens`).
#[utoipa::path(
    post, path = "/api/v1/auth/logout-all", tag = "accounts",
    responses(
        (status = 204, description = "Every session ended"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn logout_all(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    state.app.sign_out_everywhere(&actor).await?;
    Ok(without_session_cookies(
        StatusCode::NO_CONTENT.into_response(),
        &headers,
    ))
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
