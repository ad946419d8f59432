//! The recurring consumer: when a recurring task is completed, creates its next instance (same
//! series, next sequence number, same fields, the next due date; see
//! `tickler_app::recurring`).
//!
//! Exactly one next instance per completed instance, whatever the delivery: a redelivered event
//! meets its processed marker; a second event for the same instance (completed, reopened,
//! completed again) or a second replica racing this one meets the series row, which the store
//! advances once per sequence number ([`tickler_store::Conflict::SeriesClosed`]), and the unique
//! `(series, sequence)` key behind it (`AlreadyExists`): the processor takes both as "already
//! done" ([`Consumer::already_made`]). A series that ended (deleted with `scope=series`, COUNT
//! or UNTIL reached) makes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_app::EventSettings;
use tickler_app::recurring::{next_after_completion, task_from_snapshot};
use tickler_protocol::event::TaskEventData;
use tickler_store::{ChangeSet, Conflict};

use crate::consumer::{Consumer, HandleError};
use crate::event::ReceivedEvent;
use crate::topic::Topic;

/// The event type the recurring consumer acts on.
pub const TASK_COMPLETED: &str = "tickler.task.completed";

/// Creates the next instance of completed recurring tasks.
#[derive(Debug, Clone)]
pub struct RecurringConsumer {
    events: EventSettings,
}

impl RecurringConsumer {
    /// Builds the consumer; `events` sets the envelope of the `tickler.task.created` events of
    /// the instances it creates.
    pub fn new(events: EventSettings) -> Self {
        Self { events }
    }
}

#[async_trait]
impl Consumer for RecurringConsumer {
    fn name(&self) -> &'static str {
        "recurring"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::TaskEvents]
    }

    fn accepts(&self, event_type: &str) -> bool {
        event_type == TASK_COMPLETED
    }

    /// The series row refusing the advance, or the unique `(series, sequence)` key refusing
    /// the instance (its other writes have new ids): either way the next instance exists. The
    /// key alone refuses it when the series row is behind the instances, as after an import
    /// of a series with several open instances written before imports advanced the row.
    fn already_made(&self, conflict: Conflict) -> bool {
        matches!(conflict, Conflict::SeriesClosed | Conflict::AlreadyExists)
    }

    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError> {
        let data: TaskEventData = serde_json::from_value(event.data.clone())
            .map_err(|error| HandleError::Permanent(format!("unreadable task event: {error}")))?;
        let completed = task_from_snapshot(&data.task, event.user).map_err(|error| {
            HandleError::Permanent(format!("invalid task in the event: {error}"))
        })?;
        if completed.fields.recurrence.is_none() {
            return Ok(ChangeSet::default());
        }
        match next_after_completion(&self.events, &completed, now) {
            Ok(Some((next, changes))) => {
                tracing::debug!(
                    task_id = %completed.id,
                    next_id = %next.id,
                    sequence = next.series.sequence,
                    "next instance of a recurring task"
                );
                Ok(changes)
            }
            Ok(None) => {
                tracing::debug!(task_id = %completed.id, "recurring series ended");
                Ok(ChangeSet::default())
            }
            Err(error) => Err(HandleError::Transient(error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
