//! The re-plan policy: what a write of a task does to its stored reminders.
//!
//! Both stores apply [`plan_reminders`] as given, in the transaction of every task write: they
//! read the task's reminder rows, hand them in with the task as written, and write the plan.
//! The policy:
//!
//! * a done task's pending reminders are cancelled (snoozed ones too), and nothing is added;
//! * an open task keeps its pending reminders that it still specifies (same id, overdue ones
//!   too, so one that fell due while the scheduler was down still fires after an unrelated
//!   edit), loses the pending ones it no longer specifies (its spec or due date changed),
//!   except snoozed ones, which a user placed and only the user moves;
//! * the reminders planned for it ([`planned_reminders`]) that have no row yet are inserted,
//!   and cancelled ones planned again (a reopened task) are re-armed;
//! * a reminder that fired or was missed is never touched: it is history, and its id is never
//!   armed twice.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use super::{PlannedReminder, ReminderState, planned_reminders, specified_reminder_ids};
use crate::task::{Task, TaskStatus};

/// A reminder row of a task as stored, with what the policy looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredReminder {
    /// Its id.
    pub id: Uuid,
    /// Where it stands.
    pub state: ReminderState,
    /// Whether a user snoozed it.
    pub snoozed: bool,
}

/// What a task write does to the task's reminder rows. Every id appears in at most one list,
/// and each list names rows in the state it expects them in: a store may guard each write by
/// that state (a row the scheduler fired meanwhile is then left alone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReminderPlan {
    /// New pending reminders (no row has their id), in fire order.
    pub insert: Vec<PlannedReminder>,
    /// Pending, unsnoozed rows the task no longer specifies: removed.
    pub delete: Vec<Uuid>,
    /// Pending rows of a done task: cancelled.
    pub cancel: Vec<Uuid>,
    /// Cancelled rows planned again (the task was reopened): pending again.
    pub rearm: Vec<Uuid>,
}

impl ReminderPlan {
    /// Returns whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty()
            && self.delete.is_empty()
            && self.cancel.is_empty()
            && self.rearm.is_empty()
    }
}

/// Returns what writing `task` (as written, planned as of its `updated_at`) does to its
/// reminder rows `existing` (every row of the task, in any order). Lists follow the order of
/// `existing`, except `insert`, which is in fire order.
pub fn plan_reminders(task: &Task, existing: &[StoredReminder]) -> ReminderPlan {
    let pending = |row: &&StoredReminder| row.state == ReminderState::Pending;
    if task.fields.status == TaskStatus::Done {
        return ReminderPlan {
            cancel: existing.iter().filter(pending).map(|row| row.id).collect(),
            ..ReminderPlan::default()
        };
    }
    let specified: HashSet<Uuid> = specified_reminder_ids(task).into_iter().collect();
    let delete = existing
        .iter()
        .filter(pending)
        .filter(|row| !row.snoozed && !specified.contains(&row.id))
        .map(|row| row.id)
        .collect();
    let states: HashMap<Uuid, ReminderState> =
        existing.iter().map(|row| (row.id, row.state)).collect();
    let planned = planned_reminders(task, task.updated_at);
    let rearm = existing
        .iter()
        .filter(|row| row.state == ReminderState::Cancelled)
        .filter(|row| planned.iter().any(|reminder| reminder.id == row.id))
        .map(|row| row.id)
        .collect();
    let insert = planned
        .into_iter()
        .filter(|reminder| !states.contains_key(&reminder.id))
        .collect();
    ReminderPlan {
        insert,
        delete,
        cancel: Vec::new(),
        rearm,
    }
}

#[cfg(test)]
mod tests;
