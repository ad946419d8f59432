//! Converting sqlx errors at the edge of the crate.

use tickler_store::{Conflict, StoreError};

/// Which named unique constraint a failed insert hit.
const UNIQUE_CONFLICTS: &[(&str, Conflict)] = &[
    ("users_email_key", Conflict::EmailTaken),
    ("idempotent_responses_pkey", Conflict::IdempotencyKeyUsed),
    ("users_pkey", Conflict::AlreadyExists),
    ("tasks_pkey", Conflict::AlreadyExists),
    // One instance per sequence number of a recurring series.
    ("tasks_series_sequence", Conflict::AlreadyExists),
    ("api_tokens_pkey", Conflict::AlreadyExists),
    ("api_tokens_secret_hash_key", Conflict::AlreadyExists),
    ("calendar_feeds_pkey", Conflict::AlreadyExists),
    ("calendar_feeds_token_hash_key", Conflict::AlreadyExists),
    ("outbox_event_id_key", Conflict::AlreadyExists),
    ("audit_events_pkey", Conflict::AlreadyExists),
    ("dead_letters_pkey", Conflict::AlreadyExists),
    ("import_ledger_pkey", Conflict::AlreadyImported),
    ("conversations_pkey", Conflict::AlreadyExists),
    ("conversation_messages_pkey", Conflict::AlreadyExists),
    ("notification_channels_pkey", Conflict::AlreadyExists),
    ("notification_channels_one_in_app", Conflict::AlreadyExists),
    ("notifications_pkey", Conflict::AlreadyExists),
    ("notifications_one_per_reminder", Conflict::AlreadyExists),
    ("deliveries_pkey", Conflict::AlreadyExists),
    ("deliveries_one_per_channel", Conflict::AlreadyExists),
    ("delivery_attempts_pkey", Conflict::AlreadyExists),
    ("auth_sessions_pkey", Conflict::AlreadyExists),
    ("auth_refresh_tokens_pkey", Conflict::AlreadyExists),
];

/// Converts a driver error: a named unique constraint becomes a conflict, a reference to a
/// missing owner `NotFound`, a lost connection or an overloaded server `Unavailable`.
pub(crate) fn convert(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default();
            let conflict = database.constraint().and_then(|name| {
                UNIQUE_CONFLICTS
                    .iter()
                    .find(|(constraint, _)| *constraint == name)
                    .map(|(_, conflict)| *conflict)
            });
            if code == "23505"
                && let Some(conflict) = conflict
            {
                return StoreError::Conflict(conflict);
            }
            match code.get(..2) {
                // A foreign key to a user or task that does not exist.
                _ if code == "23503" => StoreError::NotFound,
                // Connection exceptions, insufficient resources, operator intervention,
                // serialization failures and deadlocks.
                Some("08" | "53" | "57" | "40") => StoreError::unavailable(&error),
                _ if code == "42P01" => {
                    StoreError::Unavailable(format!("the database schema is not migrated: {error}"))
                }
                _ => StoreError::internal(&error),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => StoreError::unavailable(&error),
        _ => StoreError::internal(&error),
    }
}

/// Adds `?`-conversion from driver errors inside this crate.
pub(crate) trait ResultExt<T> {
    /// Converts the error with [`convert`].
    fn store(self) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, sqlx::Error> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(convert)
    }
}
