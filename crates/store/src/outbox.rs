//! Records of the transactional outbox: the messages a change set appends, their positions in
//! the log and the records read back. Shared by the change sets, the event backbone, the
//! notifications and the reminders, so it depends on none of them.

use chrono::{DateTime, Utc};
use tickler_domain::{EventId, UserId};

/// One event appended to the transactional outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    /// The event id (UUIDv7), unique.
    pub id: EventId,
    /// Its CloudEvents type, e.g. `tickler.task.completed`.
    pub event_type: String,
    /// What it is about (the task id): the partition key that keeps one task's events in order.
    pub subject: String,
    /// Whose data changed.
    pub owner: UserId,
    /// When the change happened.
    pub occurred_at: DateTime<Utc>,
    /// The complete CloudEvent, serialised as JSON.
    pub payload: String,
}

/// A position in the outbox log. Records are read in `(transaction, sequence)` order, and a
/// reader that has seen a position never later finds a new record before it:
///
/// * SQLite has one writer, so `transaction` is always 0 and `sequence` grows in commit order.
/// * PostgreSQL assigns sequence numbers at insert time, not commit time, so a plain
///   `sequence > last_seen` poll would miss a slow transaction's rows. There `transaction` is
///   the writing transaction's id (`xid8`) and a record is readable only once every
///   transaction with a smaller id has finished (`xid < pg_snapshot_xmin(...)`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OutboxPosition {
    /// The writing transaction (0 on SQLite).
    pub transaction: i64,
    /// The record's sequence number.
    pub sequence: i64,
}

/// An outbox message as stored, with its position in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRecord {
    /// Where it sits in the log.
    pub position: OutboxPosition,
    /// The message.
    pub message: OutboxMessage,
}
