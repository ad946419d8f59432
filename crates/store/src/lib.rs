//! The storage contract of tickler: the [`Store`] trait every backend implements, its errors,
//! the records it reads and writes, and (feature `testing`) the conformance suite that both
//! backends pass.
//!
//! This crate holds no SQL. `tickler-store-sqlite` and `tickler-store-postgres` implement the
//! trait; the application layer (`tickler-app`) is its only caller.
//!
//! Every read and write of user data is scoped to an owner: a task that exists but belongs to
//! someone else is [`StoreError::NotFound`], indistinguishable from one that does not exist.

pub mod audit_chain;
pub mod backend;
mod error;
pub mod events;
pub mod feeds;
pub mod notifications;
pub mod outbox;
pub mod query;
pub mod records;
pub mod reminders;
pub mod sessions;
#[cfg(feature = "testing")]
pub mod testing;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{
    ApiTokenId, CalendarFeedId, ChannelId, ConversationId, Email, NotificationId, Tag, Task,
    TaskId, User, UserId,
};

pub use audit_chain::{AuditChainHead, ChainedAuditRecord};
pub use error::{Conflict, StoreError};
pub use events::{
    AuditQuery, AuditRecord, ConsumerPosition, DeadLetter, DeadLetterQuery, LeaseRequest,
    ProcessedEvent,
};
pub use feeds::{CalendarFeed, NewCalendarFeed};
pub use notifications::{
    ClaimedDelivery, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryHistory, DeliveryOutcome,
    Notification, NotificationChannel, NotificationQuery, NotificationWrite, VerificationLimits,
    VerificationMail,
};
pub use outbox::{OutboxMessage, OutboxPosition, OutboxRecord};
pub use query::{Cursor, CursorValue, SortField, SortKey, TaskPage, TaskQuery};
pub use records::{
    ApiToken, ChangeSet, Conversation, ConversationMessage, IdempotentResponse, ImportRecord,
    MessageRole, NewApiToken, RegistrationRule, SeriesWrite, TagCount, TaskWrite, UserCredentials,
};
pub use reminders::{
    FiredReminder, ReminderEventBuilder, ReminderFiring, ReminderQuery, ReminderSnooze,
    ScheduledReminder,
};
pub use sessions::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
};

/// Durable storage for users, tokens, tasks and the outbox.
///
/// Writes that return `Ok` are durable (committed and, unless the operator chose otherwise,
/// flushed to disk). Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Succeeds when the database answers and its schema is fully migrated for this build.
    async fn check_ready(&self) -> Result<(), StoreError>;

    /// Creates an account. [`Conflict::EmailTaken`] if the e-mail is registered,
    /// [`Conflict::UsersExist`] if `rule` is [`RegistrationRule::FirstUserOnly`] and an account
    /// exists (checked in the same transaction as the insert).
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        rule: RegistrationRule,
    ) -> Result<(), StoreError>;

    /// Returns whether any account exists (checked before the costly part of a first-user-only
    /// registration; the insert checks again in its transaction).
    async fn has_users(&self) -> Result<bool, StoreError>;

    /// Finds an account and its password hash by e-mail.
    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError>;

    /// Reads an account.
    async fn get_user(&self, id: UserId) -> Result<User, StoreError>;

    /// Saves a changed profile (name, time zone, `updated_at`, `credentials_version`) and, when
    /// given, a new password hash.
    async fn update_user(&self, user: &User, password_hash: Option<&str>)
    -> Result<(), StoreError>;

    /// Grants (`true`) or revokes (`false`) operator rights to the account with this e-mail;
    /// returns the account as it is now. `NotFound` if no account has the address.
    async fn set_operator(&self, email: &Email, operator: bool) -> Result<User, StoreError>;

    /// Lists the accounts with operator rights, by e-mail.
    async fn list_operators(&self) -> Result<Vec<User>, StoreError>;

    /// Returns who owns a task, whoever that is (`None` when no such task exists, as after
    /// its deletion). For consumers checking that an event's user owns the task it names;
    /// never for answering a user.
    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError>;

    /// Stores a new personal API token.
    async fn insert_api_token(&self, token: &NewApiToken) -> Result<(), StoreError>;

    /// Lists a user's API tokens, newest first.
    async fn list_api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes (deletes) one of the user's API tokens.
    async fn delete_api_token(&self, owner: UserId, id: ApiTokenId) -> Result<(), StoreError>;

    /// Revokes (deletes) every API token of the user; returns how many.
    async fn delete_api_tokens(&self, owner: UserId) -> Result<u64, StoreError>;

    /// Finds the token whose secret has this keyed hash, with its owner.
    async fn find_api_token(
        &self,
        secret_hash: &[u8],
    ) -> Result<Option<(ApiToken, User)>, StoreError>;

    /// Records that a token was used at `at`.
    async fn touch_api_token(&self, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError>;

    // --- Calendar feeds (see [`feeds`]) ------------------------------------------------------

    /// Stores a new calendar feed. `NotFound` if its owner does not exist;
    /// [`Conflict::AlreadyExists`] if its id or token hash is taken.
    async fn insert_calendar_feed(&self, feed: &NewCalendarFeed) -> Result<(), StoreError>;

    /// Lists a user's calendar feeds, newest first.
    async fn list_calendar_feeds(&self, owner: UserId) -> Result<Vec<CalendarFeed>, StoreError>;

    /// Revokes (deletes) one of the user's calendar feeds; another user's is `NotFound`.
    async fn delete_calendar_feed(
        &self,
        owner: UserId,
        id: CalendarFeedId,
    ) -> Result<(), StoreError>;

    /// Finds the feed whose token has this keyed hash, with its owner.
    async fn find_calendar_feed(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(CalendarFeed, User)>, StoreError>;

    // --- Sign-in sessions (see [`sessions`]) -------------------------------------------------

    /// Stores a new session with its first refresh token, and deletes its owner's sessions
    /// that expired before `session.created_at` (so they do not pile up).
    async fn insert_session(&self, session: &NewAuthSession) -> Result<(), StoreError>;

    /// Reads a session (active or not).
    async fn get_session(&self, id: SessionId) -> Result<AuthSession, StoreError>;

    /// Finds the session a refresh token (by keyed hash) belongs to, whether or not the token
    /// was rotated since.
    async fn find_session_by_refresh(
        &self,
        refresh_hash: &[u8],
    ) -> Result<Option<AuthSession>, StoreError>;

    /// Exchanges a refresh token for its successor, atomically (see [`RefreshOutcome`]): of
    /// two concurrent refreshes with one token, exactly one rotates it.
    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Revokes one of the user's sessions at `at` (a revoked one keeps its first revocation).
    /// `NotFound` for another user's session.
    async fn revoke_session(
        &self,
        owner: UserId,
        id: SessionId,
        at: DateTime<Utc>,
        reason: SessionRevocation,
    ) -> Result<(), StoreError>;

    /// Signs the user out everywhere in one transaction: revokes every active session and
    /// increments the user's `credentials_version`, which revokes every access token issued
    /// before. Returns the user as it is now.
    async fn revoke_all_sessions(
        &self,
        owner: UserId,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError>;

    /// Commits task writes, their outbox events and an idempotent response atomically.
    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError>;

    /// Reads one of the user's tasks.
    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError>;

    /// Lists the user's tasks matching `query`, one page at a time.
    ///
    /// Ties on every sort key are broken by task id, in the direction of the last sort key.
    /// A cursor that does not fit the query's sort keys (wrong number of values, a value of
    /// the wrong kind; see [`backend::keyset::cursor_values`]) yields an empty page, never an
    /// error; so does a `text` without any word to search for.
    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError>;

    /// Reads every task of the user that carries `tag`.
    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError>;

    /// Reads up to `limit` of the user's tasks whose ids lie in `first..=last`, in id order:
    /// the tasks whose id starts with a given prefix, as `tickler show 0193a` resolves it.
    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError>;

    /// Counts the user's tags by usage, most used first (ties by name), optionally only those
    /// starting with `prefix` (already lowercased), at most `limit`.
    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError>;

    /// Finds the response remembered for an idempotency key of this user.
    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;

    /// Finds which of these source ids of `source` the user imported before, and the task
    /// each became.
    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError>;

    /// Deletes remembered responses created before `before`; returns how many.
    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    // ---- the live stream ----

    /// Stores a one-time ticket of the live stream (its keyed hash) for `owner`, and deletes
    /// tickets that expired before `now`.
    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Spends a ticket: deletes it and returns its owner if it exists and expires after `now`
    /// (once, however many callers race for it); `None` otherwise.
    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Reads up to `limit` outbox records strictly after `position`, in log order, never
    /// returning a record while one before it could still be committed (see
    /// [`OutboxPosition`]).
    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Whether records after `position` have committed that [`Store::outbox_after`] does not
    /// return yet, because a transaction that began before theirs is still running. On
    /// PostgreSQL that is any transaction of the server, in any database (transaction ids
    /// are server-wide). A reader that found nothing after a wake-up (a commit, a broker
    /// record) looks again soon while this holds, rather than waiting for its next wake-up.
    /// Always false on SQLite, whose one writer commits in log order.
    async fn outbox_held_back(&self, position: OutboxPosition) -> Result<bool, StoreError>;

    // ---- event backbone: relay, consumers, audit trail, dead letters ----

    /// Reads up to `limit` outbox records not yet published to a broker, in sequence order
    /// (one task's events are in commit order; see [`OutboxPosition`]).
    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Marks outbox records as published (by their sequence numbers) at `at`.
    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Counts outbox records not yet published.
    async fn outbox_backlog(&self) -> Result<u64, StoreError>;

    /// Returns the position of the newest readable outbox record (the default position when
    /// the outbox is empty), to measure how far behind a consumer is.
    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError>;

    /// Deletes outbox records that occurred before `before` and are no longer needed: published
    /// ones, or (when `require_published` is false, the embedded bus) those every consumer
    /// with a saved position has passed, so a consumer that was down longer than the
    /// retention window still finds its events. Returns how many.
    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError>;

    /// Returns where an embedded consumer stands (the default position if it never saved one).
    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError>;

    /// Lists every embedded consumer's saved position, the slowest first.
    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError>;

    /// Saves an embedded consumer's position, unless the stored one is already further.
    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError>;

    /// Reads the caller's audit trail in the order things happened.
    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Lists the users that have an audit trail (for `tickler audit verify`).
    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError>;

    /// Reads a user's audit chain head ([`audit_chain`]); `None` before their first chained
    /// row.
    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError>;

    /// Reads a user's audit rows recorded before the chain existed (migration 0022).
    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError>;

    /// Reads up to `limit` of a user's chained audit rows with `chain_seq` above `after`, in
    /// `chain_seq` order, exactly as stored.
    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError>;

    /// Records an event a consumer gave up on.
    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError>;

    /// Lists dead letters, oldest first.
    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError>;

    /// Reads one dead letter.
    async fn get_dead_letter(&self, id: uuid::Uuid) -> Result<DeadLetter, StoreError>;

    /// Records that a dead letter was replayed successfully at `at`.
    async fn mark_dead_letter_replayed(
        &self,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Takes or renews a lease; returns whether `request.holder` holds it now. Expiry is
    /// judged by the database's clock where there is one shared by several processes
    /// (PostgreSQL), so a process with a skewed clock cannot steal a lease early.
    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError>;

    /// Gives a lease up if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
    // --- Conversations with the chat assistant ---------------------------------------------
    //
    // Every read and write is scoped to the owner: another user's conversation is `NotFound`.

    /// Stores a new conversation (without messages).
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;

    /// Reads one of the user's conversations.
    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError>;

    /// Lists the user's conversations, most recently active first, at most `limit`.
    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Appends messages to one of the user's conversations and sets its pending `state` and
    /// `updated_at`, atomically.
    async fn append_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        messages: &[ConversationMessage],
        state: Option<&str>,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Reads the last `limit` messages of one of the user's conversations, oldest first.
    async fn recent_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        limit: u32,
    ) -> Result<Vec<ConversationMessage>, StoreError>;

    // --- Notifications: channels, in-app notifications and deliveries ----------------------
    //
    // Channels, notifications and delivery histories are scoped to their owner: another user's
    // is `NotFound`. Claiming and finishing deliveries is the notifier's, across all users.

    /// Stores a new channel, unless its owner already has `max_per_owner` channels
    /// ([`Conflict::LimitReached`], checked atomically with the insert) or an in-app channel
    /// when this is one ([`Conflict::AlreadyExists`], as for a reused id).
    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
    ) -> Result<(), StoreError>;

    /// Lists the user's channels, oldest first.
    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError>;

    /// Reads one of the user's channels.
    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError>;

    /// Saves a changed channel of `channel.owner` (everything but its kind and creation time).
    async fn update_channel(&self, channel: &NotificationChannel) -> Result<(), StoreError>;

    /// Records a verification mail unless its owner or its address had as many as
    /// `limits` allow within their windows: then records nothing and returns when the oldest
    /// of the mails that fill the window leaves it (the earliest a retry can succeed).
    /// Checked atomically with the insert; mails older than both windows are forgotten.
    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Spends a pending channel's verification code: if `code_hash` is the channel's current
    /// code, unexpired at `now`, and fewer than `max_failures` wrong codes were posted since
    /// it was mailed, the channel is verified at `now` and the code forgotten (`true`);
    /// otherwise a pending channel counts one more wrong code (`false`). `NotFound` for
    /// another user's channel.
    async fn verify_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        code_hash: &[u8],
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<bool, StoreError>;

    /// Deletes one of the user's channels. Its deliveries stay (with their history); those
    /// still pending are cancelled when next claimed.
    async fn delete_channel(&self, owner: UserId, id: ChannelId) -> Result<(), StoreError>;

    /// Finds the user's notification of a reminder, if one was created.
    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError>;

    /// Lists the user's in-app notifications, newest first (by `(created_at, id)`).
    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Reads one of the user's notifications (in-app or not).
    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError>;

    /// Marks one of the user's in-app notifications read at `at` (a notification already read
    /// keeps its first `read_at`); returns it as stored.
    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError>;

    /// Reads the deliveries of one of the user's notifications with their attempts, in the
    /// order the deliveries were created.
    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError>;

    /// Claims due pending deliveries (see [`DeliveryClaim`]): each is leased to the claim's
    /// token until `now + lease`, so a crashed worker's claims come back.
    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records an attempt's outcome, if the claim still holds the delivery
    /// ([`Conflict::ClaimLost`] otherwise, and nothing is written).
    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError>;

    // --- Recurring series --------------------------------------------------------------------

    /// Reads the user's tasks of a series (`series` is its first instance's id), ordered by
    /// sequence number; empty when the user has none.
    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError>;

    // --- Scheduled reminders ---------------------------------------------------------------
    //
    // Task writes keep them (see [`reminders`]); firing is the scheduler's, across all users.
    // Whether a reminder is due is decided by the database's clock, never a process's.

    /// Returns how long until the earliest pending reminder is due by the database's clock
    /// (zero when one is due already), or `None` when nothing is pending.
    async fn next_reminder_due_in(&self) -> Result<Option<Duration>, StoreError>;

    /// Fires due pending reminders, earliest first, in one transaction: each is marked fired
    /// (or missed, beyond `missed_after`) with the database's time and its lateness, and its
    /// event is appended to the outbox. Concurrent callers never fire the same reminder.
    async fn fire_due_reminders(
        &self,
        firing: &ReminderFiring,
    ) -> Result<Vec<FiredReminder>, StoreError>;

    /// Lists the user's reminders (see [`ReminderQuery`]).
    async fn list_reminders(
        &self,
        owner: UserId,
        query: &ReminderQuery,
    ) -> Result<Vec<ScheduledReminder>, StoreError>;

    /// Reads one of the user's reminders; `None` when the user has no such reminder (another
    /// user's, or removed with its task).
    async fn get_reminder(
        &self,
        owner: UserId,
        id: uuid::Uuid,
    ) -> Result<Option<ScheduledReminder>, StoreError>;

    /// Snoozes one of the user's reminders: a pending one moves to `until` (same id), a fired
    /// or missed one gets a new pending reminder at `until` with id `new_id`. `NotFound` for
    /// another user's reminder, [`Conflict::ReminderClosed`] when the reminder was cancelled
    /// or its task is done. Returns the reminder that will fire.
    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
    ) -> Result<ScheduledReminder, StoreError>;
}
