//! Whether a fired reminder still holds when its notification is about to be delivered.
//!
//! A delivery may be attempted long after its reminder fired (retries run for a day), and by
//! then the task may be completed, deleted or rescheduled, or the user may have snoozed the
//! reminder: sending it then would be wrong, so the notifier asks [`stale_reason`] just before
//! every attempt and drops the delivery with the reason it returns.

use tickler_domain::schedule::{SNOOZE_SPEC, specified_reminder_ids};
use tickler_domain::{ReminderState, Task, TaskId, TaskStatus, UserId};
use tickler_store::{ScheduledReminder, Store, StoreError};

/// Why a reminder no longer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// The task was deleted.
    TaskDeleted,
    /// The task was completed.
    TaskCompleted,
    /// The reminder no longer exists (removed with its task, or never stored).
    ReminderRemoved,
    /// The reminder was cancelled.
    ReminderCancelled,
    /// The user snoozed it: another reminder replaces it.
    ReminderSnoozed,
    /// The task no longer specifies it (its due date or its reminders changed).
    TaskRescheduled,
}

impl Staleness {
    /// Returns the reason recorded with the dropped delivery.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TaskDeleted => "stale: the task was deleted",
            Self::TaskCompleted => "stale: the task was completed",
            Self::ReminderRemoved => "stale: the reminder was removed",
            Self::ReminderCancelled => "stale: the reminder was cancelled",
            Self::ReminderSnoozed => "stale: the reminder was snoozed",
            Self::TaskRescheduled => "stale: the task was rescheduled",
        }
    }

    /// Returns a stable label for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TaskDeleted => "task_deleted",
            Self::TaskCompleted => "task_completed",
            Self::ReminderRemoved => "reminder_removed",
            Self::ReminderCancelled => "reminder_cancelled",
            Self::ReminderSnoozed => "reminder_snoozed",
            Self::TaskRescheduled => "task_rescheduled",
        }
    }
}

/// Decides whether the reminder still holds for the task as it is now (both as read just
/// before the delivery); `None` when it does.
pub fn staleness(task: Option<&Task>, reminder: Option<&ScheduledReminder>) -> Option<Staleness> {
    let Some(task) = task else {
        return Some(Staleness::TaskDeleted);
    };
    if task.fields.status == TaskStatus::Done {
        return Some(Staleness::TaskCompleted);
    }
    let Some(reminder) = reminder else {
        return Some(Staleness::ReminderRemoved);
    };
    if reminder.task_id != task.id {
        return Some(Staleness::ReminderRemoved);
    }
    if reminder.state == ReminderState::Cancelled {
        return Some(Staleness::ReminderCancelled);
    }
    if reminder.snoozed_into.is_some() {
        return Some(Staleness::ReminderSnoozed);
    }
    // A snooze is not one of the task's specs: it holds while the task is open. Any other
    // reminder holds while the task still specifies it at the same time (its id is derived
    // from task, spec and fire time).
    if reminder.spec != SNOOZE_SPEC && !specified_reminder_ids(task).contains(&reminder.id) {
        return Some(Staleness::TaskRescheduled);
    }
    None
}

/// Reads the task and the reminder of a notification and decides whether it is stale
/// (`reminder_id` as the notification carries it; one that is not a reminder id is stale).
pub async fn stale_reason(
    store: &dyn Store,
    owner: UserId,
    task_id: TaskId,
    reminder_id: &str,
) -> Result<Option<Staleness>, StoreError> {
    let task = match store.get_task(owner, task_id).await {
        Ok(task) => Some(task),
        Err(StoreError::NotFound) => None,
        Err(error) => return Err(error),
    };
    let reminder = match uuid::Uuid::parse_str(reminder_id) {
        Ok(id) if task.is_some() => store.get_reminder(owner, id).await?,
        _ => None,
    };
    Ok(staleness(task.as_ref(), reminder.as_ref()))
}
