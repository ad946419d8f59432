//! Records of scheduled reminders: one row per reminder of an open task, fired once by the
//! scheduler.
//!
//! Backends keep the rows in step with the tasks themselves: every task write of a
//! [`crate::ChangeSet`] reads the task's reminder rows and writes
//! [`tickler_domain::schedule::plan_reminders`] of the task as written (as of its
//! `updated_at`), in the same transaction: the pending reminders become those planned for it
//! (completing a task cancels them), and deleting a task removes them. A reminder can
//! therefore never be stale relative to its task. Firing reads the due rows and writes
//! [`tickler_domain::schedule::firing`] of each, by the database's clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{ReminderState, TaskId, UserId};

use crate::StoreError;
use crate::events::AuditOf;
use crate::outbox::OutboxMessage;

/// Most reminders one firing hands out.
pub const MAX_FIRING_BATCH: u32 = 1_000;
/// Largest page of reminders a listing returns.
pub const MAX_REMINDER_PAGE_SIZE: u32 = 500;

/// A scheduled reminder as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledReminder {
    /// Its id (UUIDv7): the reminder id of the API and of `tickler.reminder.due`.
    pub id: uuid::Uuid,
    /// Whose reminder.
    pub owner: UserId,
    /// The task it reminds of.
    pub task_id: TaskId,
    /// The spec as written on the task, or `snooze`.
    pub spec: String,
    /// When it fires (after a snooze, the snoozed time).
    pub fire_at: DateTime<Utc>,
    /// Where it stands.
    pub state: ReminderState,
    /// Whether a user snoozed it (task edits leave snoozed reminders alone).
    pub snoozed: bool,
    /// When it fired or was found missed, by the database's clock.
    pub fired_at: Option<DateTime<Utc>>,
    /// How late it fired, in milliseconds.
    pub lateness_ms: Option<i64>,
    /// The reminder that replaces it, when the user snoozed it after it fired (or was
    /// missed): deliveries of this one still being retried are dropped as stale.
    pub snoozed_into: Option<uuid::Uuid>,
}

/// A reminder the scheduler just fired (or found missed), with what its event needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiredReminder {
    /// The reminder after firing (`state` fired or missed, `fired_at`, `lateness_ms` set).
    pub reminder: ScheduledReminder,
    /// The task's title.
    pub task_title: String,
    /// The task's due date.
    pub due_at: Option<DateTime<Utc>>,
}

/// Builds the outbox event of a fired or missed reminder; runs inside the firing
/// transaction, so it must be quick and must not block.
pub type ReminderEventBuilder =
    Arc<dyn Fn(&FiredReminder) -> Result<OutboxMessage, StoreError> + Send + Sync>;

/// Asks to fire the reminders that are due by the database's clock.
#[derive(Clone)]
pub struct ReminderFiring {
    /// At most this many, earliest first (clamped to [`MAX_FIRING_BATCH`]).
    pub limit: u32,
    /// Reminders later than this are marked missed instead of fired.
    pub missed_after: Duration,
    /// The event of each reminder, appended to the outbox in the same transaction.
    pub build_event: ReminderEventBuilder,
}

impl std::fmt::Debug for ReminderFiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReminderFiring")
            .field("limit", &self.limit)
            .field("missed_after", &self.missed_after)
            .finish_non_exhaustive()
    }
}

/// Which of a user's reminders to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReminderQuery {
    /// Only pending ones, soonest first; otherwise every state, latest fire time first.
    pub upcoming_only: bool,
    /// Page size, 1 to [`MAX_REMINDER_PAGE_SIZE`] (clamped).
    pub limit: u32,
}

impl ReminderQuery {
    /// Returns the page size clamped to 1 to [`MAX_REMINDER_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_REMINDER_PAGE_SIZE)
    }
}

/// Moves one of a user's reminders to a later time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSnooze {
    /// Whose reminder.
    pub owner: UserId,
    /// Which reminder.
    pub id: uuid::Uuid,
    /// When it should fire now.
    pub until: DateTime<Utc>,
    /// The id of the new reminder when the snoozed one already fired or was missed (a fired
    /// reminder notified once under its id; the snooze is a new reminder, spec `snooze`).
    pub new_id: uuid::Uuid,
}

/// Scheduled reminders. Task writes keep them (see the module documentation); firing is the
/// scheduler's, across all users. Whether a reminder is due is decided by the database's
/// clock, never a process's.
#[async_trait]
pub trait ReminderStore: Send + Sync {
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
    /// another user's reminder, [`Conflict::ReminderClosed`](crate::Conflict::ReminderClosed) when the reminder was cancelled
    /// or its task is done. Returns the reminder that will fire; `audit` builds its rows from it.
    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
        audit: AuditOf<ScheduledReminder>,
    ) -> Result<ScheduledReminder, StoreError>;
}
