//! Records the store reads and writes besides the domain's own types.

use chrono::{DateTime, Utc};
use tickler_domain::{ApiTokenId, ConversationId, Task, TaskId, User, UserId};

use crate::outbox::OutboxMessage;

/// A user together with the hash of their password, for logging in.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// The password's PHC string (argon2id).
    pub password_hash: String,
}

/// What [`crate::AccountStore::update_user`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    /// The account as it is now.
    pub user: User,
    /// How many API tokens a new password revoked (0 without one).
    pub api_tokens_revoked: u64,
}

/// Which accounts may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationRule {
    /// Any new e-mail address may register.
    Open,
    /// Only while there is no account yet (checked atomically with the insert).
    FirstUserOnly,
}

/// A personal API token's metadata. The secret itself is never stored: only a keyed hash of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    /// Its id.
    pub id: ApiTokenId,
    /// Whose token.
    pub owner: UserId,
    /// The label its owner gave it.
    pub name: String,
    /// The first characters of the secret, to recognise it in a list.
    pub prefix: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last used to authenticate, if ever (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (`read`, `write`, `mcp`).
    pub scopes: Vec<String>,
}

/// A token to store: its metadata and the keyed hash of its secret.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    /// Metadata.
    pub token: ApiToken,
    /// HMAC-SHA256 of the secret under the server's key (32 bytes).
    pub secret_hash: Vec<u8>,
}

/// What a use case answered to a request with an `Idempotency-Key` (today: the task a create
/// made), stored in the transaction of its effect so that a retry is answered the same way
/// instead of acting twice. Each front door derives its own answer from [`Self::body`] (the
/// api its status, `Location` and `ETag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentResponse {
    /// Whose request.
    pub owner: UserId,
    /// The client's key.
    pub key: String,
    /// A hash of the request (method, path, body) that a retry must match.
    pub request_hash: String,
    /// Not used: `0` in records written now. Records written by earlier versions, which kept
    /// the HTTP answer, hold its status here (201); it is read back and ignored.
    pub status: u16,
    /// Not used: empty in records written now. Records written by earlier versions hold the
    /// headers they replayed (`Location`, `ETag`); they are read back and ignored.
    pub headers: Vec<(String, String)>,
    /// What the use case answered: the created task's `TaskBody` as JSON.
    pub body: String,
    /// When it was recorded; records older than the retention window may be purged.
    pub created_at: DateTime<Utc>,
}

/// One write to a task inside a [`ChangeSet`].
#[derive(Debug, Clone, PartialEq)]
pub enum TaskWrite {
    /// Insert a new task; [`crate::Conflict::AlreadyExists`] if its id exists.
    Insert(Task),
    /// Replace a task whose stored version is `expected_version`; `task.version` is the new
    /// version. [`crate::StoreError::NotFound`] if the task does not exist for `task.owner`,
    /// [`crate::Conflict::VersionMismatch`] if its version differs.
    Update {
        /// The task after the change.
        task: Task,
        /// The version the change was computed from.
        expected_version: i64,
    },
    /// Delete a task whose stored version is `expected_version` (same errors as `Update`).
    Delete {
        /// Whose task.
        owner: UserId,
        /// Which task.
        id: TaskId,
        /// The version the deletion was decided on.
        expected_version: i64,
    },
}

/// Everything one use case writes, committed atomically: task rows, the outbox events that
/// describe the change and, for a request with an `Idempotency-Key`, its response. Either all
/// of it is durable when [`crate::TaskStore::commit`] returns `Ok`, or none of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeSet {
    /// Task writes, applied in order.
    pub tasks: Vec<TaskWrite>,
    /// Outbox events, appended in order after the writes.
    pub events: Vec<OutboxMessage>,
    /// What the use case answered, remembered under the request's idempotency key;
    /// [`crate::Conflict::IdempotencyKeyUsed`] if the key exists.
    pub idempotency: Option<IdempotentResponse>,
    /// For a consumer's effect: the events it handles (one, or a batch's committed together),
    /// recorded so a redelivery has no second effect ([`crate::Conflict::AlreadyProcessed`] if
    /// any is already recorded; nothing of the change set is then written).
    pub processed: Vec<crate::events::ProcessedEvent>,
    /// For an embedded consumer: its new position in the outbox log (kept if the stored one
    /// is already further).
    pub consumer_position: Option<crate::events::ConsumerPosition>,
    /// Entries appended to the audit trail ([`crate::Conflict::AlreadyExists`] for an event
    /// id already in it), each linked into its owner's hash chain ([`crate::audit_chain`]).
    pub audit: Vec<crate::events::AuditRecord>,
    /// Notifications with their deliveries, and re-armed deliveries (the notifier's effects).
    pub notifications: Vec<crate::notifications::NotificationWrite>,
    /// Changes of recurring series (a next instance made, a series ended), applied before
    /// the task writes.
    pub series: Vec<SeriesWrite>,
    /// Import ledger entries for the tasks this change set creates
    /// ([`crate::Conflict::AlreadyImported`] if one exists).
    pub imports: Vec<ImportRecord>,
}

impl ChangeSet {
    /// Appends `other`'s writes after this one's, so that several consumers' effects commit in
    /// one transaction. Each kind of write keeps its order, but all series changes still apply
    /// before all task writes, and so on: right only for effects that do not depend on each
    /// other. Refuses (returning `other`) a change set with an idempotent response or a consumer
    /// position, of which a transaction holds one.
    pub fn absorb(&mut self, other: ChangeSet) -> Result<(), Box<ChangeSet>> {
        if other.idempotency.is_some() || other.consumer_position.is_some() {
            return Err(Box::new(other));
        }
        let ChangeSet {
            tasks,
            events,
            idempotency: _,
            processed,
            consumer_position: _,
            audit,
            notifications,
            series,
            imports,
        } = other;
        self.tasks.extend(tasks);
        self.events.extend(events);
        self.processed.extend(processed);
        self.audit.extend(audit);
        self.notifications.extend(notifications);
        self.series.extend(series);
        self.imports.extend(imports);
        Ok(())
    }
}

/// An imported item and the task it became (the import ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRecord {
    /// Who imported it.
    pub owner: UserId,
    /// The format: `todoist`, `taskwarrior`, `ticktick`, `ical` or `tickler`.
    pub source: String,
    /// The item's id in the source.
    pub source_id: String,
    /// The task it became.
    pub task: TaskId,
    /// When.
    pub imported_at: DateTime<Utc>,
}

/// A change of a recurring series inside a [`ChangeSet`]. The store keeps one row per series
/// that ever made a next instance or ended: the last sequence number it made and whether it
/// ended. Serialising these writes on that row is what keeps a series from making the same
/// next instance twice, or any after it ended, whichever replica or event asks. The row
/// belongs to the owner that first wrote it (series ids are the owner's task ids), and writes
/// naming another owner change nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesWrite {
    /// Records that the series makes its instance `sequence`:
    /// [`crate::Conflict::SeriesClosed`] (and nothing of the change set is written) when the
    /// series ended or already made an instance with this or a later sequence number.
    Advance {
        /// Whose series.
        owner: UserId,
        /// The series (its first instance's id).
        series: TaskId,
        /// The sequence number of the instance being made.
        sequence: u32,
    },
    /// Ends the series: it makes no instance any more. Ending an ended series changes nothing.
    End {
        /// Whose series.
        owner: UserId,
        /// The series.
        series: TaskId,
        /// When it ended.
        at: DateTime<Utc>,
    },
}

/// How many of a user's tasks carry a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    /// The tag.
    pub name: String,
    /// How many of the user's tasks carry it.
    pub count: u64,
}

/// A conversation with the chat assistant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// Whose conversation.
    pub owner: UserId,
    /// A label (the start of its first message).
    pub title: String,
    /// The assistant's pending question, as JSON the application defines; `None` when nothing
    /// is pending.
    pub state: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When a message was last added.
    pub updated_at: DateTime<Utc>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageRole {
    /// The person.
    User,
    /// The assistant.
    Assistant,
}

impl MessageRole {
    /// Returns the stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "user" => Some(MessageRole::User),
            "assistant" => Some(MessageRole::Assistant),
            _ => None,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationMessage {
    /// Its id (UUIDv7: messages are ordered by id).
    pub id: uuid::Uuid,
    /// Who wrote it.
    pub role: MessageRole,
    /// Its text.
    pub content: String,
    /// What the assistant did and asked for this message, as JSON the application defines.
    pub details: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}
