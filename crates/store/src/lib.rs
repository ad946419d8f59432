//! The storage contract of tickler: the [`Store`] trait every backend implements (one trait per
//! area: [`AccountStore`], [`TaskStore`], [`EventStore`], [`NotificationStore`],
//! [`ReminderStore`], [`ConversationStore`]), its errors, the records it reads and writes, and
//! (feature `testing`) the conformance suite that both backends pass.
//!
//! This crate holds no SQL. `tickler-store-sqlite` and `tickler-store-postgres` implement the
//! trait; the application layer (`tickler-app`) is its only caller.
//!
//! Every read and write of user data is scoped to an owner: a task that exists but belongs to
//! someone else is [`StoreError::NotFound`], indistinguishable from one that does not exist.

pub mod accounts;
pub mod audit_chain;
pub mod backend;
pub mod conversations;
mod error;
pub mod events;
pub mod feeds;
pub mod notifications;
pub mod outbox;
pub mod query;
pub mod records;
pub mod reminders;
pub mod sessions;
pub mod tasks;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;

pub use accounts::AccountStore;
pub use conversations::ConversationStore;
pub use error::{Conflict, StoreError};
pub use events::{
    AuditChainHead, AuditOf, AuditQuery, AuditRecord, ChainedAuditRecord, ConsumerPosition,
    DeadLetter, DeadLetterQuery, EventStore, LeaseRequest, ProcessedEvent,
};
pub use feeds::{CalendarFeed, NewCalendarFeed};
pub use notifications::{
    ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryHistory, DeliveryOutcome,
    Notification, NotificationChannel, NotificationQuery, NotificationStore, NotificationWrite,
    VerificationLimits, VerificationMail,
};
pub use outbox::{OutboxMessage, OutboxPosition, OutboxRecord};
pub use query::{Cursor, CursorValue, SortField, SortKey, TaskPage, TaskQuery};
pub use records::{
    ApiToken, ChangeSet, Conversation, ConversationMessage, IdempotentResponse, ImportRecord,
    MessageRole, NewApiToken, RegistrationRule, SeriesWrite, TagCount, TaskWrite, UserCredentials,
    UserUpdate,
};
pub use reminders::{
    FiredReminder, ReminderEventBuilder, ReminderFiring, ReminderQuery, ReminderSnooze,
    ReminderStore, ScheduledReminder,
};
pub use sessions::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
};
pub use tasks::TaskStore;

/// The storage port's traits, for callers of `Arc<dyn Store>`: a method of an area trait is
/// callable on a `Store` only where that trait is in scope.
pub mod prelude {
    pub use crate::{
        AccountStore, ConversationStore, EventStore, NotificationStore, ReminderStore, Store,
        TaskStore,
    };
}

/// Durable storage for users, tokens, tasks and the outbox: every area of the port together.
///
/// Writes that return `Ok` are durable (committed and, unless the operator chose otherwise,
/// flushed to disk). Implementations are cheap to share (`Arc<dyn Store>`). The methods live in
/// the area traits; callers bring them into scope with `use tickler_store::prelude::*`.
#[async_trait]
pub trait Store:
    AccountStore
    + TaskStore
    + EventStore
    + NotificationStore
    + ReminderStore
    + ConversationStore
    + Send
    + Sync
    + std::fmt::Debug
{
    /// Succeeds when the database answers and its schema is fully migrated for this build.
    async fn check_ready(&self) -> Result<(), StoreError>;
}
