//! Records of the event backbone: consumer bookkeeping (processed events, positions in the
//! outbox log), the audit trail, dead letters and leases.

use chrono::{DateTime, Utc};
use tickler_domain::{EventId, TaskId, UserId};

use crate::outbox::OutboxPosition;

/// Largest page of the audit trail a read returns: above the API's largest page (500), so a
/// use case can read one record more to learn whether another page follows.
pub const MAX_AUDIT_PAGE_SIZE: u32 = 1_000;

/// Most dead letters a listing returns.
pub const MAX_DEAD_LETTERS: u32 = 500;

/// Marks an event as handled by a consumer. Written in the transaction of the consumer's
/// effect, so a redelivered event is recognised and has no second effect:
/// [`crate::Conflict::AlreadyProcessed`] when the pair exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedEvent {
    /// The consumer's name (`audit`, `recurring`, ...).
    pub consumer: String,
    /// The event's id.
    pub event_id: EventId,
    /// When it was handled.
    pub processed_at: DateTime<Utc>,
}

/// Where an embedded consumer stands in the outbox log. Saved with its effects (or alone when
/// it skips events not meant for it); a saved position never moves backwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerPosition {
    /// The consumer's name.
    pub consumer: String,
    /// The last record it has dealt with.
    pub position: OutboxPosition,
}

/// One entry of the append-only audit trail: an event as the audit consumer recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    /// The event's id; unique in the trail.
    pub event_id: EventId,
    /// Whose data changed.
    pub owner: UserId,
    /// The task concerned, for task events.
    pub task_id: Option<TaskId>,
    /// The event type, e.g. `tickler.task.completed`.
    pub event_type: String,
    /// Where the change came from (`api`, `chat`, `mcp`, `system`), when known.
    pub origin: Option<String>,
    /// The request id of the change, when known.
    pub correlation_id: Option<String>,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// When the trail recorded it.
    pub recorded_at: DateTime<Utc>,
    /// The event's `data`, as JSON text.
    pub data: String,
}

/// Which audit records to read, for one user, in the order things happened (by
/// `(occurred_at, event_id)`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditQuery {
    /// Only this task's records.
    pub task_id: Option<TaskId>,
    /// Only records that occurred at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Continue strictly after this `(occurred_at, event_id)` (the last record of the
    /// previous page).
    pub after: Option<(DateTime<Utc>, EventId)>,
    /// Page size, 1 to [`MAX_AUDIT_PAGE_SIZE`] (clamped).
    pub limit: u32,
}

impl AuditQuery {
    /// Returns the page size clamped to 1 to [`MAX_AUDIT_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_AUDIT_PAGE_SIZE)
    }
}

/// An event a consumer gave up on, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id (UUIDv7).
    pub id: uuid::Uuid,
    /// The consumer that failed.
    pub consumer: String,
    /// The event's id, when the payload could be read far enough to know it.
    pub event_id: Option<EventId>,
    /// The event type, when known.
    pub event_type: Option<String>,
    /// The topic it came from.
    pub topic: String,
    /// The event exactly as received.
    pub payload: String,
    /// The last error.
    pub error: String,
    /// How many times handling was attempted.
    pub attempts: u32,
    /// When the consumer gave up.
    pub failed_at: DateTime<Utc>,
    /// When an operator replayed it successfully, if they did.
    pub replayed_at: Option<DateTime<Utc>>,
}

/// Which dead letters to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeadLetterQuery {
    /// Only this consumer's.
    pub consumer: Option<String>,
    /// Include those already replayed.
    pub include_replayed: bool,
    /// At most this many, oldest first: 1 to [`MAX_DEAD_LETTERS`] (clamped).
    pub limit: u32,
}

impl DeadLetterQuery {
    /// Returns the number of letters to list, clamped to 1 to [`MAX_DEAD_LETTERS`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_DEAD_LETTERS)
    }
}

/// A time-limited exclusive role (the active outbox relay). Whoever holds an unexpired lease
/// may act; renewing extends it; another holder may take it only once it has expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRequest {
    /// The lease's name, e.g. `outbox-relay`.
    pub name: String,
    /// Who asks (unique per process).
    pub holder: String,
    /// How long it lasts from now if granted.
    pub ttl: std::time::Duration,
}
