//! Storage errors. Backends convert driver errors at their edge: a missing row becomes
//! [`StoreError::NotFound`], a named unique constraint a [`StoreError::Conflict`], a lost
//! connection or a busy database [`StoreError::Unavailable`].

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist, or belongs to another user (callers cannot tell apart).
    #[error("record not found")]
    NotFound,
    /// The write conflicts with the current state.
    #[error("conflict: {0}")]
    Conflict(Conflict),
    /// The database cannot be reached or is not ready (not migrated, shutting down).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back into domain types, or the database misbehaved.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// What a write conflicted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// The task changed since the version the write was based on.
    #[error("the task was changed concurrently")]
    VersionMismatch,
    /// Another account uses this e-mail address.
    #[error("the email address is already registered")]
    EmailTaken,
    /// The registration rule allows only the first account, and one exists.
    #[error("an account already exists")]
    UsersExist,
    /// The idempotency key was already used by this user.
    #[error("the idempotency key was already used")]
    IdempotencyKeyUsed,
    /// The record already exists (same id).
    #[error("the record already exists")]
    AlreadyExists,
    /// The consumer already handled this event.
    #[error("the event was already processed by this consumer")]
    AlreadyProcessed,
    /// The owner already has as many records of this kind as allowed.
    #[error("the limit of records of this kind is reached")]
    LimitReached,
    /// The claim on a job expired and another worker holds (or finished) it.
    #[error("the claim was lost to another worker")]
    ClaimLost,
    /// The recurring series ended, or already made this instance (or a later one).
    #[error("the series ended or already has this instance")]
    SeriesClosed,
    /// An earlier import of this user already created a task for this source id.
    #[error("the item was already imported")]
    AlreadyImported,
    /// The reminder was cancelled or its task is done: it cannot be snoozed.
    #[error("the reminder's task is closed")]
    ReminderClosed,
}

impl StoreError {
    /// Wraps any displayable driver error as [`StoreError::Internal`].
    pub fn internal(error: impl std::fmt::Display) -> Self {
        StoreError::Internal(error.to_string())
    }

    /// Wraps any displayable driver error as [`StoreError::Unavailable`].
    pub fn unavailable(error: impl std::fmt::Display) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}
