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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickler_domain::FieldError;

    use super::*;

    /// An error of each kind. The match is exhaustive, so a new kind must be added here (and
    /// given its status below) before this compiles.
    fn sample(kind: ErrorKind) -> AppError {
        match kind {
            ErrorKind::NotFound => AppError::TaskNotFound,
            ErrorKind::Conflict => AppError::EmailTaken,
            ErrorKind::PreconditionFailed => AppError::VersionMismatch {
                expected: 1,
                current: 2,
            },
            ErrorKind::Invalid => {
                AppError::from(FieldError::new("title", "required", "a title is required"))
            }
            ErrorKind::BadRequest => AppError::InvalidCursor("not issued here"),
            ErrorKind::Unauthenticated => AppError::Unauthenticated("send a token"),
            ErrorKind::Forbidden => AppError::InsufficientScope("write"),
            ErrorKind::TooManyRequests => AppError::TooManyAttempts {
                retry_after_seconds: 42,
            },
            ErrorKind::Unavailable => AppError::Overloaded {
                retry_after_seconds: 2,
            },
            ErrorKind::Internal => AppError::Internal("row 7 has a corrupt due date".into()),
        }
    }

    /// Every kind, with the status and code it is answered with.
    const KINDS: [(ErrorKind, u16, &str); 10] = [
        (ErrorKind::NotFound, 404, "task_not_found"),
        (ErrorKind::Conflict, 409, "email_taken"),
        (ErrorKind::PreconditionFailed, 412, "version_mismatch"),
        (ErrorKind::Invalid, 422, "validation_failed"),
        (ErrorKind::BadRequest, 400, "invalid_cursor"),
        (ErrorKind::Unauthenticated, 401, "unauthenticated"),
        (ErrorKind::Forbidden, 403, "insufficient_scope"),
        (ErrorKind::TooManyRequests, 429, "too_many_attempts"),
        (ErrorKind::Unavailable, 503, "server_busy"),
        (ErrorKind::Internal, 500, "internal_error"),
    ];

    #[tokio::test]
    async fn every_error_kind_is_answered_with_its_status_as_a_problem_document() {
        for (kind, status, code) in KINDS {
            let error = sample(kind);
            assert_eq!(error.kind(), kind);
            let detail = error.public_message();
            let response = ApiError(error).into_response();
            assert_eq!(response.status().as_u16(), status, "{kind:?}");
            assert_eq!(status_of(kind).as_u16(), status, "{kind:?}");
            let headers = response.headers().clone();
            assert_eq!(headers[header::CONTENT_TYPE], PROBLEM_JSON, "{kind:?}");
            assert_eq!(
                headers.contains_key(header::WWW_AUTHENTICATE),
                status == 401,
                "{kind:?}"
            );
            assert_eq!(
                headers
                    .get(header::RETRY_AFTER)
                    .map(|value| value.to_str().unwrap()),
                match kind {
                    ErrorKind::TooManyRequests => Some("42"),
                    ErrorKind::Unavailable => Some("2"),
                    _ => None,
                },
                "{kind:?}"
            );
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let problem: Problem = serde_json::from_slice(&body).unwrap();
            assert_eq!(problem.status, status, "{kind:?}");
            assert_eq!(problem.code, code);
            assert_eq!(problem.problem_type, format!("/problems/{code}"));
            assert_eq!(
                Some(problem.title.as_str()),
                StatusCode::from_u16(status).unwrap().canonical_reason()
            );
            assert_eq!(problem.detail.as_deref(), Some(detail.as_str()));
            // Only a validation failure lists fields.
            let fields: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
            let expected: &[&str] = if kind == ErrorKind::Invalid {
                &["title"]
            } else {
                &[]
            };
            assert_eq!(fields, expected, "{kind:?}");
        }
    }

    #[tokio::test]
    async fn a_server_error_shows_a_generic_detail_not_its_cause() {
        for error in [
            AppError::Internal("row 7 has a corrupt due date".into()),
            AppError::Unavailable("database at 10.0.0.5 refused the connection".into()),
        ] {
            let response = ApiError(error).into_response();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(!text.contains("row 7"), "{text}");
            assert!(!text.contains("10.0.0.5"), "{text}");
            let problem: Problem = serde_json::from_str(&text).unwrap();
            assert!(
                matches!(
                    problem.detail.as_deref(),
                    Some("an internal error occurred" | "the service is temporarily unavailable")
                ),
                "{problem:?}"
            );
        }
    }
}
