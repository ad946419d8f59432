//! The event backbone's part of the storage port, [`EventStore`], and its records: consumer
//! bookkeeping (processed events, positions in the outbox log), the audit trail and its chain
//! heads, dead letters and leases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{EventId, TaskId, UserId};

use crate::error::StoreError;
use crate::outbox::{OutboxPosition, OutboxRecord};

/// Largest page of the audit trail a read returns: above the API's largest page (500), so a
/// use case can read one record more to learn whether another page follows.
pub const MAX_AUDIT_PAGE_SIZE: u32 = 1_000;

/// Most dead letters a listing returns.
pub const MAX_DEAD_LETTERS: u32 = 500;

/// The last link of a user's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditChainHead {
    /// Whose chain.
    pub owner: UserId,
    /// The `chain_seq` of the last row (0 when the chain holds no row yet).
    pub seq: i64,
    /// That row's hash (the genesis digest when the chain holds no row yet), as stored.
    pub hash: Vec<u8>,
}

/// An audit row with its place in the chain, as stored (hashes are not checked on reading).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedAuditRecord {
    /// The row.
    pub record: AuditRecord,
    /// Its position in the owner's chain, from 1.
    pub seq: i64,
    /// The hash of the row before it (the genesis digest for the first).
    pub prev_hash: Vec<u8>,
    /// Its own hash.
    pub hash: Vec<u8>,
}

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

/// Builds the audit rows of an account change from what the change found in its transaction,
/// for rows that name what only the store knows (the session a refresh token belongs to, the
/// reminder a snooze arms). The store writes the rows it returns in that same transaction.
/// Shared (`Fn` behind an `Arc`) so a caller can offer it to several attempts.
pub type AuditOf<T> = std::sync::Arc<dyn Fn(&T) -> Vec<AuditRecord> + Send + Sync>;

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

/// The event backbone: the outbox log as the relay and the embedded consumers read it,
/// consumer positions, the audit trail with its hash chains ([`crate::audit_chain`]), dead
/// letters, leases, and the live stream's one-time tickets.
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores a one-time ticket of the live stream (its keyed hash) for `owner`, and deletes
    /// tickets that expired before `now`.
    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Spends a ticket: deletes it and returns its owner if it exists and expires after `now`
    /// (once, however many callers race for it); `None` otherwise.
    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError>;

    /// Reads up to `limit` outbox records strictly after `position`, in log order, never
    /// returning a record while one before it could still be committed (see
    /// [`OutboxPosition`]).
    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Whether records after `position` have committed that [`EventStore::outbox_after`] does not
    /// return yet, because a transaction that began before theirs is still running. On
    /// PostgreSQL that is any transaction of the server, in any database (transaction ids
    /// are server-wide). A reader that found nothing after a wake-up (a commit, a broker
    /// record) looks again soon while this holds, rather than waiting for its next wake-up.
    /// Always false on SQLite, whose one writer commits in log order.
    async fn outbox_held_back(&self, position: OutboxPosition) -> Result<bool, StoreError>;

    /// Reads up to `limit` outbox records not yet published to a broker, in sequence order
    /// (one task's events are in commit order; see [`OutboxPosition`]).
    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError>;

    /// Marks outbox records as published (by their sequence numbers) at `at`; an adapter may
    /// keep no instant (PostgreSQL takes them off its list of pending records).
    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Counts outbox records not yet published.
    async fn outbox_backlog(&self) -> Result<u64, StoreError>;

    /// Returns the position of the newest readable outbox record (the default position when
    /// the outbox is empty), to measure how far behind a consumer is.
    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError>;

    /// Deletes outbox records that occurred before `before` and are no longer needed: published
    /// ones, or (when `require_published` is false, the embedded bus) those every consumer
    /// with a saved position has passed, so a consumer that was down longer than the
    /// retention window still finds its events. Returns how many.
    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError>;

    /// Returns where an embedded consumer stands (the default position if it never saved one).
    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError>;

    /// Lists every embedded consumer's saved position, the slowest first.
    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError>;

    /// Saves an embedded consumer's position, unless the stored one is already further.
    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError>;

    /// Reads the caller's audit trail in the order things happened.
    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Lists the users that have an audit trail (for `tickler audit verify`).
    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError>;

    /// Reads a user's audit chain head ([`crate::audit_chain`]); `None` before their first chained
    /// row.
    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError>;

    /// Reads a user's audit rows recorded before the chain existed (migration 0022).
    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError>;

    /// Reads up to `limit` of a user's chained audit rows with `chain_seq` above `after`, in
    /// `chain_seq` order, exactly as stored.
    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError>;

    /// Records an event a consumer gave up on.
    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError>;

    /// Lists dead letters, oldest first.
    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError>;

    /// Reads one dead letter.
    async fn get_dead_letter(&self, id: uuid::Uuid) -> Result<DeadLetter, StoreError>;

    /// Records that a dead letter was replayed successfully at `at`.
    async fn mark_dead_letter_replayed(
        &self,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Takes or renews a lease; returns whether `request.holder` holds it now. Expiry is
    /// judged by the database's clock where there is one shared by several processes
    /// (PostgreSQL), so a process with a skewed clock cannot steal a lease early.
    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError>;

    /// Gives a lease up if `holder` holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
