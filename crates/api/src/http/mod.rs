//! Route handlers, one module per resource. Each module's handlers carry `#[utoipa::path]`
//! so the OpenAPI document is generated from the code that serves the requests.

pub mod audit;
pub mod auth;
pub mod chat;
pub mod feeds;
pub mod notifications;
pub mod operations;
pub mod parse;
pub mod port;
pub mod reminders;
pub mod tags;
pub mod tasks;
pub mod tokens;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

/// Adds an `ETag` header for a version.
pub fn with_etag(mut response: Response, version: i64) -> Response {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A JSON response with a status.
pub fn json<T: serde::Serialize>(status: http::StatusCode, body: &T) -> Response {
    (status, axum::Json(body)).into_response()
}
