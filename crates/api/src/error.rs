//! The one mapping from application errors to HTTP responses: RFC 9457 problem details with a
//! stable `code`. A 5xx logs the full error and shows a generic message.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tickler_app::{AppError, ErrorKind};
use tickler_protocol::problem::{FieldErrorBody, PROBLEM_JSON, Problem};

/// An error answered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

/// Returns the status code of an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        ErrorKind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    /// Returns the problem document of the error (a 5xx is logged in full here, its document
    /// says only what is public).
    pub fn problem(&self) -> Problem {
        let error = &self.0;
        let status = status_of(error.kind());
        if status.is_server_error() {
            tracing::error!(error = %error, code = error.code(), "request failed");
        }
        Problem {
            problem_type: format!("/problems/{}", error.code()),
            title: title_of(status),
            status: status.as_u16(),
            detail: Some(error.public_message()),
            code: error.code().to_owned(),
            request_id: None,
            errors: error
                .field_errors()
                .iter()
                .map(FieldErrorBody::from)
                .collect(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error = self.0;
        let mut response = problem_response(status, &problem);
        // RFC 9110 §15.5.2: every 401 names the scheme to authenticate with.
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tickler\""),
            );
        }
        match &error {
            AppError::TooManyAttempts {
                retry_after_seconds,
            }
            | AppError::Overloaded {
                retry_after_seconds,
            }
            | AppError::VerificationMailLimit {
                retry_after_seconds,
            } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
            }
            _ => {}
        }
        response
    }
}

/// Returns the reason phrase of a status as the problem title.
pub fn title_of(status: StatusCode) -> String {
    status.canonical_reason().unwrap_or("Error").to_owned()
}

/// Serialises a problem with its media type.
pub fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

/// Builds a problem response for errors raised by the HTTP layer itself (unknown route,
/// method not allowed, body too large, unsupported media type, timeout, panic).
pub fn http_problem(status: StatusCode, code: &str, detail: impl Into<String>) -> Response {
    problem_response(
        status,
        &Problem {
            problem_type: format!("/problems/{code}"),
            title: title_of(status),
            status: status.as_u16(),
            detail: Some(detail.into()),
            code: code.to_owned(),
            request_id: None,
            errors: Vec::new(),
        },
    )
}
