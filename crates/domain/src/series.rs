//! Recurring series: the next instance a completed (or skipped) instance makes. Where a task
//! stands in its series is its [`SeriesPosition`](crate::ids::SeriesPosition).
//!
//! Every task belongs to a series. A task created by a user starts its own series: its
//! `series.id` is its own id and its `sequence` is 1. The next instance of a recurring task
//! copies the series id and takes the next sequence number; storage keeps `(series id,
//! sequence)` unique, so a series can never gain the same instance twice.
//!
//! COUNT counts instances by sequence number: the instance whose sequence equals COUNT is the
//! last, and makes no next one. Occurrences of a `from_due` rule that were skipped because they
//! lay in the past when the next instance was made (no backlog of missed copies) are not
//! instances and do not use up COUNT.

use chrono::{DateTime, Utc};

use crate::ids::TaskId;
use crate::task::{Due, RecurrenceMode, Task, TaskChange, TaskFields, TaskStatus};

/// Returns the due date of the instance that follows `task`, or `None` when `task` does not
/// recur or its series ends with it (COUNT reached, UNTIL passed).
///
/// * `from_due`: the first occurrence of the rule strictly after `task`'s due date, expanded on
///   the wall clock of the task's zone; if that is not after `now`, the first occurrence after
///   `now` instead (occurrences missed meanwhile are skipped, not created).
/// * `from_completion`: the rule's interval counted from `task.completed_at` (from `now` when
///   the instance was skipped without being completed).
pub fn next_due(task: &Task, now: DateTime<Utc>) -> Option<Due> {
    let fields = &task.fields;
    let recurrence = fields.recurrence.as_ref()?;
    let due = fields.due?;
    if recurrence
        .count()
        .is_some_and(|count| task.series.sequence >= count)
    {
        return None;
    }
    let zone = fields.timezone;
    let at = match fields.recurrence_mode {
        RecurrenceMode::FromDue => {
            let after_due = recurrence.next_after_ignoring_count(due.at, zone, due.at)?;
            if after_due > now {
                after_due
            } else {
                recurrence.next_after_ignoring_count(due.at, zone, now)?
            }
        }
        RecurrenceMode::FromCompletion => {
            let completed_at = task.completed_at.unwrap_or(now);
            recurrence.next_from_completion(due.at, due.all_day, zone, completed_at)?
        }
    };
    Some(Due {
        at,
        all_day: due.all_day,
    })
}

impl Task {
    /// Returns the creation of the instance that follows this one in its series, with the id
    /// `id`, created at `now`: the same title, description, priority, zone, tags, rule, mode and
    /// reminders, status `todo`, due at [`next_due`]. `None` when the series ends here.
    pub fn next_instance(&self, id: TaskId, now: DateTime<Utc>) -> Option<TaskChange> {
        let due = next_due(self, now)?;
        let series = self.series.next()?;
        let fields = TaskFields {
            status: TaskStatus::Todo,
            due: Some(due),
            ..self.fields.clone()
        };
        let mut change = Task::create(id, self.owner, fields, now);
        change.task.series = series;
        Some(change)
    }
}

#[cfg(test)]
mod tests;
