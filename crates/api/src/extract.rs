//! Request extractors: the authenticated caller, JSON bodies with field-level errors, query
//! pairs with repeated keys, and conditional-request headers.

use std::convert::Infallible;

use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use tickler_app::auth::Scope;
use tickler_app::auth::session::Authenticated;
use tickler_app::{Actor, AppError, Origin, SessionId};

use crate::ApiState;
use crate::browser_session;
use crate::error::{ApiError, http_problem};
use crate::middleware::RequestId;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        request_actor(parts, state, Origin::Api).await.map(Caller)
    }
}

/// Authenticates a request (see [`authenticate_request`]) and describes the caller coming
/// through `origin`, with the request id and `traceparent` the events will carry. Shared by
/// every front door served over HTTP (REST, chat, MCP, the live stream).
pub async fn request_actor(
    parts: &Parts,
    state: &ApiState,
    origin: Origin,
) -> Result<Actor, ApiError> {
    let authenticated = authenticate_request(parts, state).await?;
    // The MCP endpoint needs `mcp` (its tools check `read` / `write` one by one); elsewhere a
    // safe method needs `read` and every other method `write`.
    let needed = if origin == Origin::Mcp {
        Scope::Mcp
    } else if parts.method.is_safe() {
        Scope::Read
    } else {
        Scope::Write
    };
    authenticated.scopes.require(needed)?;
    Ok(Actor {
        user: authenticated.user,
        scopes: authenticated.scopes,
        origin,
        correlation_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
        // The request's span when traces are exported (it continues the client's trace);
        // otherwise the client's header as it came.
        traceparent: tickler_app::trace::current().or_else(|| {
            parts
                .headers
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .filter(|value| value.len() <= 128)
                .map(str::to_owned)
        }),
    })
}

/// Verifies a request's credential: the `Authorization: Bearer` header when present, otherwise
/// the web app's access cookie, which is accepted only with the session's CSRF token on
/// state-changing requests and from this server's pages (see [`browser_session`]).
pub async fn authenticate_request(
    parts: &Parts,
    state: &ApiState,
) -> Result<Authenticated, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let credential = bearer_credential(value)?;
        return Ok(state.app.authenticate_credential(credential).await?);
    }
    let Some(token) = browser_session::cookie(&parts.headers, browser_session::ACCESS_COOKIE)
    else {
        return Err(AppError::Unauthenticated(
            "send an access token or API token as Authorization: Bearer <token>, or sign in",
        )
        .into());
    };
    let authenticated = state.app.authenticate_credential(token).await?;
    let session = authenticated
        .session
        .ok_or(AppError::Unauthenticated("the session cookie is invalid"))?;
    browser_session::check_cookie_request(parts, &state.app, session)?;
    Ok(authenticated)
}

/// The caller's sign-in session, when the request was authenticated by an access token (in
/// the header or the web app's cookie).
#[derive(Debug, Clone)]
pub struct CallerSession {
    /// The caller.
    pub actor: Actor,
    /// The session of its access token (none for API tokens).
    pub session: Option<SessionId>,
}

impl FromRequestParts<ApiState> for CallerSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let authenticated = authenticate_request(parts, state).await?;
        authenticated.scopes.require(Scope::Write)?;
        let mut actor = Actor::new(authenticated.user, Origin::Api);
        actor.scopes = authenticated.scopes;
        actor.correlation_id = parts.extensions.get::<RequestId>().map(|id| id.0.clone());
        Ok(CallerSession {
            actor,
            session: authenticated.session,
        })
    }
}

impl axum::extract::OptionalFromRequestParts<ApiState> for CallerSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <CallerSession as FromRequestParts<ApiState>>::from_request_parts(parts, state)
                .await
                .ok(),
        )
    }
}

fn bearer_credential(value: &http::HeaderValue) -> Result<&str, ApiError> {
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is malformed"))?;
    let (scheme, credential) = value.split_once(' ').ok_or(AppError::Unauthenticated(
        "the Authorization header is malformed",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") || credential.trim().is_empty() {
        return Err(AppError::Unauthenticated("use the Bearer authorization scheme").into());
    }
    Ok(credential.trim())
}

/// The client's address (used for throttling): the socket peer, or what a trusted proxy
/// forwarded (see [`crate::client_address`]); never a header a client could forge.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let resolved = parts
            .extensions
            .get::<crate::client_address::ClientAddress>()
            .map(|client| client.0);
        Ok(PeerAddress(resolved.or_else(|| {
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip())
        })))
    }
}

/// A JSON body decoded into `T`, with its raw bytes (for idempotency fingerprints).
#[derive(Debug)]
pub struct JsonBody<T> {
    /// The decoded value.
    pub value: T,
    /// The body as received.
    pub bytes: Bytes,
}

/// Media types accepted for JSON bodies.
const JSON_TYPES: &[&str] = &["application/json"];
/// Media types accepted for merge patches.
const MERGE_PATCH_TYPES: &[&str] = &["application/merge-patch+json", "application/json"];

impl<T: DeserializeOwned> FromRequest<ApiState> for JsonBody<T> {
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        // PATCH bodies of the API are merge patches in spirit; accept that media type too.
        let accepted = if request.method() == http::Method::PATCH {
            MERGE_PATCH_TYPES
        } else {
            JSON_TYPES
        };
        let bytes = read_body(request, state, accepted).await?;
        let value = tickler_app::decode::object_from_slice(&bytes)
            .map_err(|error| axum::response::IntoResponse::into_response(ApiError(error)))?;
        Ok(Self { value, bytes })
    }
}

/// A JSON merge patch document.
#[derive(Debug)]
pub struct MergePatch(pub serde_json::Value);

impl FromRequest<ApiState> for MergePatch {
    type Rejection = axum::response::Response;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state, MERGE_PATCH_TYPES).await?;
        tickler_app::decode::from_slice(&bytes)
            .map(MergePatch)
            .map_err(|error| axum::response::IntoResponse::into_response(ApiError(error)))
    }
}

async fn read_body(
    request: Request,
    state: &ApiState,
    accepted: &[&str],
) -> Result<Bytes, axum::response::Response> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    match content_type {
        Some(media) if accepted.contains(&media.as_str()) => {}
        _ => {
            return Err(http_problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("send the body as {}", accepted.join(" or ")),
            ));
        }
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                http_problem(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!("the body must be at most {} bytes", crate::MAX_BODY_BYTES),
                )
            } else {
                http_problem(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "the request body could not be read",
                )
            }
        })
}

/// The decoded pairs of the query string, keeping repeated keys (`?tag=a&tag=b`).
#[derive(Debug, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        ))
    }
}

impl QueryPairs {
    /// Returns the last value of `key`.
    pub fn one(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .rev()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
    }

    /// Returns every value of `key`.
    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .collect()
    }
}

/// Reads `If-Match`: `None` when absent or `*`; otherwise the version it names. A value that
/// names no version (malformed, weak, several) can never match and yields `Some(-1)`, which
/// fails the precondition.
pub fn if_match(headers: &HeaderMap) -> Option<i64> {
    let value = headers
        .get(header::IF_MATCH)?
        .to_str()
        .ok()
        .unwrap_or("")
        .trim();
    if value == "*" {
        return None;
    }
    Some(parse_etag(value).unwrap_or(-1))
}

/// A request's `If-None-Match` header alone, for a handler that reads no other header (the
/// `HeaderMap` extractor copies every header of the request).
#[derive(Debug, Clone)]
pub struct IfNoneMatch(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self(parts.headers.get(header::IF_NONE_MATCH).cloned()))
    }
}

impl IfNoneMatch {
    /// Returns whether it matches the current version (a GET may answer 304).
    pub fn matches(&self, version: i64) -> bool {
        self.0
            .as_ref()
            .is_some_and(|value| none_match(value, &format!("\"{version}\"")))
    }
}

/// Returns whether `If-None-Match` is `*` or names the entity tag `etag` (quoted), compared
/// weakly as RFC 9110 prescribes for it.
pub fn if_none_match_tag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|value| none_match(value, etag))
}

fn none_match(value: &HeaderValue, etag: &str) -> bool {
    value.to_str().is_ok_and(|value| {
        value.trim() == "*"
            || value
                .split(',')
                .any(|candidate| candidate.trim().trim_start_matches("W/") == etag)
    })
}

fn parse_etag(value: &str) -> Option<i64> {
    value
        .strip_prefix('"')?
        .strip_suffix('"')?
        .parse::<i64>()
        .ok()
}
