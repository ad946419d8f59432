//! Converting SQLite errors at the edge of the crate.

use rusqlite::ErrorCode;
use tickler_store::{Conflict, StoreError};

/// Which unique constraint a failed insert hit, named by SQLite as `table.column[, ...]`.
const UNIQUE_CONFLICTS: &[(&str, Conflict)] = &[
    ("users.email", Conflict::EmailTaken),
    (
        "idempotent_responses.user_id, idempotent_responses.key",
        Conflict::IdempotencyKeyUsed,
    ),
    ("users.id", Conflict::AlreadyExists),
    ("tasks.id", Conflict::AlreadyExists),
    // One instance per sequence number of a recurring series.
    ("tasks.series_id, tasks.sequence", Conflict::AlreadyExists),
    ("api_tokens.id", Conflict::AlreadyExists),
    ("api_tokens.secret_hash", Conflict::AlreadyExists),
    ("calendar_feeds.id", Conflict::AlreadyExists),
    ("calendar_feeds.token_hash", Conflict::AlreadyExists),
    ("auth_sessions.id", Conflict::AlreadyExists),
    ("auth_refresh_tokens.token_hash", Conflict::AlreadyExists),
    ("outbox.event_id", Conflict::AlreadyExists),
    ("audit_events.event_id", Conflict::AlreadyExists),
    ("dead_letters.id", Conflict::AlreadyExists),
    (
        "import_ledger.user_id, import_ledger.source, import_ledger.source_id",
        Conflict::AlreadyImported,
    ),
    ("notification_channels.id", Conflict::AlreadyExists),
    // The one in-app channel of a user.
    ("notification_channels.user_id", Conflict::AlreadyExists),
    ("notifications.id", Conflict::AlreadyExists),
    (
        "notifications.user_id, notifications.reminder_id",
        Conflict::AlreadyExists,
    ),
    ("deliveries.id", Conflict::AlreadyExists),
    (
        "deliveries.notification_id, deliveries.channel_id",
        Conflict::AlreadyExists,
    ),
    (
        "delivery_attempts.delivery_id, delivery_attempts.attempt",
        Conflict::AlreadyExists,
    ),
];

/// Converts a driver error: a known unique constraint becomes a conflict, a busy or locked
/// database or a failing disk `Unavailable`, a missing row `NotFound`, anything else `Internal`.
pub(crate) fn convert(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
            ErrorCode::ConstraintViolation => {
                let message = message.as_deref().unwrap_or_default();
                UNIQUE_CONFLICTS
                    .iter()
                    .find(|(columns, _)| {
                        message
                            .strip_prefix("UNIQUE constraint failed: ")
                            .is_some_and(|failed| failed == *columns)
                    })
                    .map(|(_, conflict)| StoreError::Conflict(*conflict))
                    .unwrap_or_else(|| StoreError::internal(&error))
            }
            ErrorCode::DatabaseBusy
            | ErrorCode::DatabaseLocked
            | ErrorCode::SystemIoFailure
            | ErrorCode::DiskFull
            | ErrorCode::CannotOpen
            | ErrorCode::ReadOnly
            | ErrorCode::OutOfMemory => StoreError::unavailable(&error),
            _ => StoreError::internal(&error),
        },
        _ => StoreError::internal(&error),
    }
}

/// Adds `?`-conversion from driver errors inside this crate.
pub(crate) trait ResultExt<T> {
    /// Converts the error with [`convert`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, rusqlite::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(convert)
    }
}
