//! The CloudEvents 1.0 envelope of domain events (JSON structured mode) and the data of each
//! event type. Schemas for every type live in `contracts/events/`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::{EventId, TaskId, UserId};
use utoipa::ToSchema;

use crate::task::TaskBody;

/// The CloudEvents version every event uses.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of every event's data.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// Prefix of every event type (`tickler.task.completed`).
pub const TYPE_PREFIX: &str = "tickler.";
/// Prefix of every `dataschema` URI; the schema file name follows (`task.v1.json`).
pub const DATA_SCHEMA_PREFIX: &str = "urn:tickler:events:";

/// A CloudEvent in JSON structured mode, with tickler's extension attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CloudEvent<T> {
    /// Always `1.0`.
    pub specversion: String,
    /// UUIDv7; unique per event, the deduplication key of every consumer.
    pub id: EventId,
    /// The emitting tickler instance (`urn:tickler:<instance>`).
    pub source: String,
    /// `tickler.<aggregate>.<what happened>`, e.g. `tickler.task.completed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The task id (or, for tag events, the tag name).
    pub subject: String,
    /// When the change was committed.
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// Versioned schema of `data`, e.g. `urn:tickler:events:task.v1.json`.
    pub dataschema: String,
    /// Extension: the user whose data changed.
    pub userid: UserId,
    /// Extension: the request id of the change, when it came from a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    /// Extension: W3C trace context of the change, when traced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// Extension: where the change came from (`api`, `chat`, `mcp`, `system`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// The event's payload.
    pub data: T,
}

/// Data of `tickler.task.*` events (schema `task.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskEventData {
    /// The task after the change (for `deleted`, as it was when deleted).
    pub task: TaskBody,
    /// The fields that changed (empty for `created` and `deleted`).
    pub changed_fields: Vec<String>,
}

/// Data of `tickler.tag.renamed` and `tickler.tag.deleted` events (schema `tag.v1.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TagEventData {
    /// The tag's name before the change.
    pub tag: String,
    /// The new name (renames only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_to: Option<String>,
    /// The tasks that carried the tag.
    pub task_ids: Vec<TaskId>,
}

/// Data of `tickler.reminder.due` (sent to the user's channels) and `tickler.reminder.missed`
/// (fell due while tickler was down for longer than the catch-up horizon: recorded, not sent);
/// schema `reminder.v1.json`. The subject is the task id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReminderEventData {
    /// The scheduled reminder's id (UUIDv7); deliveries are deduplicated by it.
    pub reminder_id: String,
    /// The task it reminds of.
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub task_title: String,
    /// The task's due date, if it has one.
    pub due_at: Option<DateTime<Utc>>,
    /// When the reminder was meant to fire.
    pub fire_at: DateTime<Utc>,
    /// When it fired (or was found missed).
    pub fired_at: DateTime<Utc>,
    /// How late it fired, in milliseconds (0 when on time).
    pub late_ms: i64,
    /// The reminder as written on the task (`-PT30M`, an instant), or `snooze`.
    pub spec: String,
}

/// Data of `tickler.notification.delivered` and `tickler.notification.failed` (gave up after
/// the last attempt); schema `notification.v1.json`. The subject is the task id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotificationEventData {
    /// The notification's id.
    pub notification_id: String,
    /// The reminder that caused it.
    pub reminder_id: String,
    /// The task concerned.
    pub task_id: TaskId,
    /// The channel's id.
    pub channel_id: String,
    /// `in_app`, `webhook` or `email`.
    pub channel_kind: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The last HTTP status, for webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// The last error, for failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
