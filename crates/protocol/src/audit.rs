//! The audit trail and dead letters as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::{EventId, TaskId};
use utoipa::ToSchema;

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryBody {
    /// The event's id.
    pub event_id: EventId,
    /// The event type, e.g. `tickler.task.completed`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The task concerned, for task events.
    pub task_id: Option<TaskId>,
    /// Where the change came from: `api`, `chat`, `mcp` or `system`.
    pub origin: Option<String>,
    /// The request id of the change.
    pub correlation_id: Option<String>,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// When the audit trail recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The event's data: for task events the task after the change and the changed fields.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// One page of the audit trail, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<AuditEntryBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// An event a consumer gave up on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterBody {
    /// Its id.
    pub id: String,
    /// The consumer that gave up.
    pub consumer: String,
    /// The event's id, when readable.
    pub event_id: Option<String>,
    /// The event type, when readable.
    pub event_type: Option<String>,
    /// The topic it came from.
    pub topic: String,
    /// The event as received.
    pub payload: String,
    /// The last error.
    pub error: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the consumer gave up.
    pub failed_at: DateTime<Utc>,
    /// When it was replayed successfully, if it was.
    pub replayed_at: Option<DateTime<Utc>>,
}
