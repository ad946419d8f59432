//! Scheduled reminders as the API shows them: `GET /api/v1/reminders` and
//! `POST /api/v1/reminders/{id}/snooze`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::TaskId;
use utoipa::ToSchema;

/// A scheduled reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReminderBody {
    /// Its id (UUIDv7): the `reminder_id` of its `tickler.reminder.due` event and of the
    /// notification it becomes.
    pub id: String,
    /// The task it reminds of.
    pub task_id: TaskId,
    /// The reminder as written on the task (`-PT30M`, an instant), or `snooze`.
    pub spec: String,
    /// When it fires (or fired).
    pub fire_at: DateTime<Utc>,
    /// `pending`, `fired`, `missed` (later than the catch-up horizon: recorded, not sent) or
    /// `cancelled` (its task was completed).
    pub state: String,
    /// Whether it was snoozed.
    pub snoozed: bool,
    /// When it fired or was found missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<DateTime<Utc>>,
    /// How late it fired, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_ms: Option<i64>,
    /// Whether it fired late: more than a second after its time (tickler was down or
    /// overloaded).
    pub late: bool,
}

/// The reminders of `GET /api/v1/reminders`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReminderList {
    /// With `upcoming=true` the pending reminders, soonest first; otherwise every reminder,
    /// latest fire time first.
    pub items: Vec<ReminderBody>,
}

/// The body of `POST /api/v1/reminders/{id}/snooze`: exactly one of the two.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// Fire again this many minutes from now (1 to 10080, a week).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::integer::optional"
    )]
    #[schema(minimum = 1, maximum = 10080)]
    pub minutes: Option<i64>,
    /// Fire again at this instant (RFC 3339, in the future, within a year).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub until: Option<String>,
}
