//! Application errors. Every front door maps [`AppError::kind`] to its own outcome (an HTTP
//! status, an MCP tool error, a CLI exit code) in one place, and shows [`AppError::code`] to
//! clients as the stable identifier of the problem.

use tickler_domain::ValidationErrors;
use tickler_store::{Conflict, StoreError};

/// The broad category of an error, which decides how front doors report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The thing does not exist for this caller.
    NotFound,
    /// The request conflicts with the current state.
    Conflict,
    /// The request names a version that is no longer current.
    PreconditionFailed,
    /// The request is well-formed but its content is invalid.
    Invalid,
    /// The request is malformed beyond field validation (a bad cursor).
    BadRequest,
    /// Who is calling is unknown.
    Unauthenticated,
    /// The caller may not do this.
    Forbidden,
    /// The caller is going too fast.
    TooManyRequests,
    /// A dependency is down or the service is shutting down; retrying later may help.
    Unavailable,
    /// A bug or corrupted data.
    Internal,
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No such task for this user.
    #[error("task not found")]
    TaskNotFound,
    /// Several of the user's tasks have ids starting with the prefix a client gave.
    #[error("task id prefix {prefix:?} is ambiguous: {}", candidate_list(.candidates, *.more))]
    AmbiguousTaskId {
        /// The prefix as given.
        prefix: String,
        /// Some of the matching tasks: id and title, in id order.
        candidates: Vec<(tickler_domain::TaskId, String)>,
        /// Whether more tasks match than `candidates` lists.
        more: bool,
    },
    /// No such conversation for this user.
    #[error("conversation not found")]
    ConversationNotFound,
    /// No such API token for this user.
    #[error("api token not found")]
    ApiTokenNotFound,
    /// No such calendar feed for this user, or (at its address) an unknown or revoked token.
    #[error("calendar feed not found")]
    CalendarFeedNotFound,
    /// No such dead letter.
    #[error("dead letter not found")]
    DeadLetterNotFound,
    /// No such notification channel for this user.
    #[error("notification channel not found")]
    ChannelNotFound,
    /// No such notification for this user.
    #[error("notification not found")]
    NotificationNotFound,
    /// The user has as many channels as allowed.
    #[error("at most {limit} notification channels are allowed")]
    ChannelLimitReached {
        /// The limit.
        limit: u32,
    },
    /// The user's in-app channel exists already (change it instead).
    #[error("the in-app channel exists already; change it with PATCH")]
    InAppChannelExists,
    /// Only webhook channels have a signing secret.
    #[error("only webhook channels have a signing secret")]
    ChannelHasNoSecret,
    /// Only e-mail channels are verified.
    #[error("only e-mail channels are verified")]
    ChannelNeedsNoVerification,
    /// The e-mail channel is verified already.
    #[error("this e-mail channel is verified already")]
    ChannelAlreadyVerified,
    /// The code is not the one mailed to the channel.
    #[error("the verification code is wrong")]
    VerificationCodeInvalid,
    /// The channel has no usable code: it expired, was used up by wrong guesses, or none was
    /// mailed; ask for a new one.
    #[error(
        "the verification code expired or too many wrong codes were posted; ask for a new one \
         with POST /api/v1/notification-channels/{{id}}/verification"
    )]
    VerificationCodeExpired,
    /// Too many verification mails for this user or this address lately.
    #[error("too many verification mails; retry in {retry_after_seconds} s")]
    VerificationMailLimit {
        /// When to retry.
        retry_after_seconds: u64,
    },
    /// The server has no SMTP server to mail codes with.
    #[error("this server sends no e-mail (notifier.smtp_url is not set)")]
    EmailUnavailable,
    /// The route is for operators (`tickler admin grant`, `auth.admin_user_ids`).
    #[error("this route is for operators")]
    AdminRequired,
    /// A replayed dead letter failed again.
    #[error("the event failed again: {0}")]
    ReplayFailed(String),
    /// No task of this user carries the tag.
    #[error("tag not found")]
    TagNotFound,
    /// Input fields are invalid.
    #[error("validation failed: {0}")]
    Validation(ValidationErrors),
    /// The e-mail/password pair is wrong (deliberately not saying which).
    #[error("invalid email or password")]
    InvalidCredentials,
    /// The bearer token is missing, malformed, expired or revoked.
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    /// Registration is closed on this server.
    #[error("registration is closed on this server")]
    RegistrationClosed,
    /// The e-mail address is already registered.
    #[error("the email address is already registered")]
    EmailTaken,
    /// `If-Match` named a version that is no longer current.
    #[error("the task has changed since version {expected}; it is now version {current}")]
    VersionMismatch {
        /// The version the client based its change on.
        expected: i64,
        /// The stored version.
        current: i64,
    },
    /// Concurrent changes kept conflicting with this one.
    #[error("the task is being changed concurrently; retry")]
    ConcurrentModification,
    /// An `Idempotency-Key` was reused with a different request.
    #[error("the idempotency key was already used with a different request")]
    IdempotencyKeyReused,
    /// The body is not well-formed JSON.
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    /// A pagination cursor is malformed or belongs to a different query.
    #[error("invalid cursor: {0}")]
    InvalidCursor(&'static str),
    /// Too many attempts; retry after the given number of seconds.
    #[error("too many attempts; retry in {retry_after_seconds} s")]
    TooManyAttempts {
        /// When to retry.
        retry_after_seconds: u64,
    },
    /// Too much password hashing is under way; retry after the given number of seconds.
    #[error("the server is busy; retry in {retry_after_seconds} s")]
    Overloaded {
        /// When to retry.
        retry_after_seconds: u64,
    },
    /// The credential lacks the scope the operation needs.
    #[error("this token lacks the {0:?} scope this operation needs")]
    InsufficientScope(&'static str),
    /// Storage is unreachable or shutting down.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or corrupted data; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// No such reminder for this user.
    #[error("reminder not found")]
    ReminderNotFound,
    /// The reminder was cancelled or its task is done: it cannot be snoozed.
    #[error("the reminder's task is done or the reminder was cancelled")]
    ReminderClosed,
    /// The refresh token is unknown, expired, or its session was revoked.
    #[error("the refresh token is invalid, expired or revoked; sign in again")]
    RefreshTokenInvalid,
    /// A refresh token was presented after it had been exchanged: its session is revoked.
    #[error("the refresh token was already used, so its session was revoked; sign in again")]
    RefreshTokenReused,
    /// The refresh token was exchanged moments ago by another request of the same client.
    #[error("the refresh token was just exchanged by another request; use its successor")]
    RefreshTokenSuperseded,
    /// No such session for this user.
    #[error("session not found")]
    SessionNotFound,
    /// A request authenticated by the browser session's cookies lacks the session's CSRF
    /// token in `X-CSRF-Token`.
    #[error("send the session's CSRF token in the X-CSRF-Token header")]
    CsrfTokenInvalid,
    /// A request that may act on a browser session came from a page of another origin.
    #[error("this request must come from a page of this server")]
    OriginNotAllowed,
}

impl AppError {
    /// Returns the category of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::TaskNotFound
            | AppError::ConversationNotFound
            | AppError::ApiTokenNotFound
            | AppError::CalendarFeedNotFound
            | AppError::TagNotFound
            | AppError::DeadLetterNotFound
            | AppError::ChannelNotFound
            | AppError::NotificationNotFound => ErrorKind::NotFound,
            AppError::ChannelLimitReached { .. }
            | AppError::AmbiguousTaskId { .. }
            | AppError::InAppChannelExists
            | AppError::ChannelHasNoSecret
            | AppError::ChannelNeedsNoVerification
            | AppError::ChannelAlreadyVerified
            | AppError::VerificationCodeExpired => ErrorKind::Conflict,
            AppError::VerificationCodeInvalid => ErrorKind::Invalid,
            AppError::VerificationMailLimit { .. } => ErrorKind::TooManyRequests,
            AppError::EmailUnavailable => ErrorKind::Unavailable,
            AppError::AdminRequired => ErrorKind::Forbidden,
            AppError::ReplayFailed(_) => ErrorKind::Conflict,
            AppError::Validation(_) | AppError::IdempotencyKeyReused => ErrorKind::Invalid,
            AppError::InvalidCursor(_) | AppError::MalformedJson(_) => ErrorKind::BadRequest,
            AppError::InvalidCredentials | AppError::Unauthenticated(_) => {
                ErrorKind::Unauthenticated
            }
            AppError::RegistrationClosed => ErrorKind::Forbidden,
            AppError::EmailTaken | AppError::ConcurrentModification => ErrorKind::Conflict,
            AppError::VersionMismatch { .. } => ErrorKind::PreconditionFailed,
            AppError::TooManyAttempts { .. } => ErrorKind::TooManyRequests,
            AppError::Unavailable(_) | AppError::Overloaded { .. } => ErrorKind::Unavailable,
            AppError::InsufficientScope(_) => ErrorKind::Forbidden,
            AppError::Internal(_) => ErrorKind::Internal,
            AppError::ReminderNotFound => ErrorKind::NotFound,
            AppError::ReminderClosed => ErrorKind::Conflict,
            AppError::RefreshTokenInvalid | AppError::RefreshTokenReused => {
                ErrorKind::Unauthenticated
            }
            AppError::RefreshTokenSuperseded => ErrorKind::Conflict,
            AppError::SessionNotFound => ErrorKind::NotFound,
            AppError::CsrfTokenInvalid | AppError::OriginNotAllowed => ErrorKind::Forbidden,
        }
    }

    /// Returns the stable snake_case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::TaskNotFound => "task_not_found",
            AppError::AmbiguousTaskId { .. } => "ambiguous_task_id",
            AppError::ConversationNotFound => "conversation_not_found",
            AppError::ApiTokenNotFound => "api_token_not_found",
            AppError::CalendarFeedNotFound => "calendar_feed_not_found",
            AppError::TagNotFound => "tag_not_found",
            AppError::DeadLetterNotFound => "dead_letter_not_found",
            AppError::ChannelNotFound => "notification_channel_not_found",
            AppError::NotificationNotFound => "notification_not_found",
            AppError::ChannelLimitReached { .. } => "channel_limit_reached",
            AppError::InAppChannelExists => "in_app_channel_exists",
            AppError::ChannelHasNoSecret => "channel_has_no_secret",
            AppError::ChannelNeedsNoVerification => "channel_needs_no_verification",
            AppError::ChannelAlreadyVerified => "channel_already_verified",
            AppError::VerificationCodeInvalid => "verification_code_invalid",
            AppError::VerificationCodeExpired => "verification_code_expired",
            AppError::VerificationMailLimit { .. } => "verification_mail_limit",
            AppError::EmailUnavailable => "email_unavailable",
            AppError::AdminRequired => "admin_required",
            AppError::ReplayFailed(_) => "replay_failed",
            AppError::Validation(_) => "validation_failed",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::RegistrationClosed => "registration_closed",
            AppError::EmailTaken => "email_taken",
            AppError::VersionMismatch { .. } => "version_mismatch",
            AppError::ConcurrentModification => "concurrent_modification",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::InvalidCursor(_) => "invalid_cursor",
            AppError::MalformedJson(_) => "malformed_json",
            AppError::TooManyAttempts { .. } => "too_many_attempts",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Overloaded { .. } => "server_busy",
            AppError::InsufficientScope(_) => "insufficient_scope",
            AppError::Internal(_) => "internal_error",
            AppError::ReminderNotFound => "reminder_not_found",
            AppError::ReminderClosed => "reminder_closed",
            AppError::RefreshTokenInvalid => "invalid_refresh_token",
            AppError::RefreshTokenReused => "refresh_token_reused",
            AppError::RefreshTokenSuperseded => "refresh_token_superseded",
            AppError::SessionNotFound => "session_not_found",
            AppError::CsrfTokenInvalid => "csrf_token_invalid",
            AppError::OriginNotAllowed => "origin_not_allowed",
        }
    }

    /// Returns the message safe to show a client: the display text, except for internal
    /// errors whose details stay in the logs.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "an internal error occurred".to_owned(),
            AppError::Unavailable(_) => "the service is temporarily unavailable".to_owned(),
            other => other.to_string(),
        }
    }

    /// Returns the field errors of a validation failure.
    pub fn field_errors(&self) -> &[tickler_domain::FieldError] {
        match self {
            AppError::Validation(errors) => errors.errors(),
            _ => &[],
        }
    }
}

/// Lists ambiguous candidates on one line: `<id> "title", <id> "title"[, ...]`.
fn candidate_list(candidates: &[(tickler_domain::TaskId, String)], more: bool) -> String {
    let mut listed: Vec<String> = candidates
        .iter()
        .map(|(id, title)| format!("{id} {title:?}"))
        .collect();
    if more {
        listed.push("...".to_owned());
    }
    listed.join(", ")
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl From<tickler_domain::FieldError> for AppError {
    fn from(error: tickler_domain::FieldError) -> Self {
        AppError::Validation(ValidationErrors::single(error))
    }
}

impl From<StoreError> for AppError {
    /// Maps storage errors that a use case did not handle itself. `NotFound` here means a
    /// task, the common case; use cases about other records map it explicitly.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => AppError::TaskNotFound,
            StoreError::Conflict(Conflict::VersionMismatch) => AppError::ConcurrentModification,
            StoreError::Conflict(Conflict::EmailTaken) => AppError::EmailTaken,
            StoreError::Conflict(Conflict::UsersExist) => AppError::RegistrationClosed,
            StoreError::Conflict(other) => AppError::Internal(other.to_string()),
            StoreError::Unavailable(reason) => AppError::Unavailable(reason),
            StoreError::Internal(reason) => AppError::Internal(reason),
        }
    }
}

/// The result of a use case.
pub type AppResult<T> = Result<T, AppError>;
