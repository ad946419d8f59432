//! RFC 9457 problem details, the body of every error response.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of problem details.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response. `type` is a stable URI reference per `code`; `code` is the stable
/// snake_case identifier clients match on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// Identifies the problem type (`/problems/<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable machine-readable code, e.g. `task_not_found`, `validation_failed`.
    pub code: String,
    /// The request id (also in the `X-Request-Id` header), for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For validation failures: every invalid field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldErrorBody {
    /// The field, as the client spelled it (`title`, `tags[2]`).
    pub field: String,
    /// A stable snake_case code (`too_long`, `unknown_time_zone`).
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl From<&tickler_domain::FieldError> for FieldErrorBody {
    fn from(error: &tickler_domain::FieldError) -> Self {
        Self {
            field: error.field.clone(),
            code: error.code.to_owned(),
            message: error.message.clone(),
        }
    }
}
