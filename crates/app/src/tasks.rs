//! Task use cases: create, read, edit (JSON merge patch), complete, reopen, delete.

mod patch;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tickler_domain::{
    DomainEvent, FieldError, Task, TaskChange, TaskChangeKind, TaskId, TaskInput,
};
use tickler_protocol::task::{DeleteScope, TaskBody, TaskRequest};
use tickler_store::{ChangeSet, Conflict, IdempotentResponse, StoreError, TaskWrite};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};
use patch::TaskPatch;

/// How often a change is retried when a concurrent change to the same task wins the race.
const MAX_ATTEMPTS: u32 = 16;
/// How many candidates an ambiguous id prefix names.
const MAX_PREFIX_CANDIDATES: u32 = 10;
/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// An `Idempotency-Key` header and the fingerprint of the request that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    key: String,
    request_hash: String,
}

impl IdempotencyKey {
    /// Validates the key (1 to 255 visible ASCII characters) and fingerprints the request:
    /// a retry must repeat the same method, path and body.
    pub fn new(key: &str, method: &str, path: &str, body: &[u8]) -> AppResult<Self> {
        let valid = !key.is_empty()
            && key.len() <= MAX_IDEMPOTENCY_KEY_LEN
            && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid {
            return Err(FieldError::new(
                "Idempotency-Key",
                "invalid_format",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into());
        }
        let mut hasher = Sha256::new();
        for part in [method.as_bytes(), b"\n", path.as_bytes(), b"\n", body] {
            hasher.update(part);
        }
        Ok(Self {
            key: key.to_owned(),
            request_hash: hex::encode(hasher.finalize()),
        })
    }
}

/// The outcome of a create request.
#[derive(Debug, Clone)]
pub enum CreatedTask {
    /// The task was created now.
    New {
        /// The task.
        task: Box<Task>,
        /// Its wire body, also the idempotency record's when the request carried a key.
        created: CreatedBody,
    },
    /// A retry of an earlier request: the task as the first request answered it.
    Replayed(CreatedBody),
}

impl CreatedTask {
    /// Returns the created task's wire body, now or as first answered.
    pub fn body(&self) -> &CreatedBody {
        match self {
            CreatedTask::New { created, .. } | CreatedTask::Replayed(created) => created,
        }
    }
}

/// A created task as the create use case answers it: its wire body (a [`TaskBody`], encoded
/// once) and the id and version that body holds. The idempotency record keeps the body; a
/// retry reads it back unchanged, whatever the current task looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBody {
    /// The task's id.
    pub id: TaskId,
    /// The task's version when it was created.
    pub version: i64,
    /// The task's `TaskBody` as JSON.
    pub json: String,
}

impl CreatedBody {
    /// Reads back a body stored in an idempotency record. Records of every version hold the
    /// created task's `TaskBody` JSON, whose `id` and `version` it carries.
    fn from_record(record: IdempotentResponse) -> AppResult<Self> {
        #[derive(serde::Deserialize)]
        struct Identity {
            id: TaskId,
            version: i64,
        }
        let identity: Identity = serde_json::from_str(&record.body).map_err(|error| {
            AppError::Internal(format!("unreadable idempotency record: {error}"))
        })?;
        Ok(Self {
            id: identity.id,
            version: identity.version,
            json: record.body,
        })
    }
}

impl App {
    /// Creates a task for the caller. With an idempotency key, a retry of the same request
    /// returns the first answer and creates nothing; the same key with a different request
    /// is refused.
    pub async fn create_task(
        &self,
        actor: &Actor,
        request: TaskRequest,
        idempotency: Option<IdempotencyKey>,
    ) -> AppResult<CreatedTask> {
        if let Some(key) = &idempotency
            && let Some(replay) = self.replay(actor, key).await?
        {
            return Ok(CreatedTask::Replayed(replay));
        }
        let fields = TaskInput::from(request).validate(actor.user.timezone)?;
        let now = self.now();
        let change = Task::create(
            TaskId::from_uuid(self.new_uuid()),
            actor.user.id,
            fields,
            now,
        );
        let task = change.task.clone();
        // The one wire body of the new task: in its event, its answer and its record.
        let body = TaskBody::from(&task);
        let created = CreatedBody {
            id: task.id,
            version: task.version,
            json: serde_json::to_string(&body).map_err(|error| {
                AppError::Internal(format!("failed to serialise a task: {error}"))
            })?,
        };
        let record = idempotency.as_ref().map(|key| IdempotentResponse {
            owner: actor.user.id,
            key: key.key.clone(),
            request_hash: key.request_hash.clone(),
            // The record holds what the use case answered, the body; the api derives the
            // status and headers from it. Records written before kept them here too (201,
            // `Location`, `ETag`): they are read the same way, from the body.
            status: 0,
            headers: Vec::new(),
            body: created.json.clone(),
            created_at: now,
        });
        let changes = ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            events: vec![self.outbox_message_with_body(
                actor,
                &DomainEvent::Task(change),
                Some(body),
                now,
            )?],
            idempotency: record,
            ..ChangeSet::default()
        };
        match self.commit(changes).await {
            Ok(()) => {
                tracing::debug!(task_id = %task.id, "task created");
                Ok(CreatedTask::New {
                    task: Box::new(task),
                    created,
                })
            }
            Err(StoreError::Conflict(Conflict::IdempotencyKeyUsed)) => {
                // A concurrent request with the same key won; answer as its retry would.
                match &idempotency {
                    Some(key) => self
                        .replay(actor, key)
                        .await?
                        .map(CreatedTask::Replayed)
                        .ok_or_else(|| {
                            AppError::Internal("idempotency record vanished".to_owned())
                        }),
                    None => Err(AppError::Internal(
                        "idempotency conflict without a key".to_owned(),
                    )),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn replay(&self, actor: &Actor, key: &IdempotencyKey) -> AppResult<Option<CreatedBody>> {
        match self
            .store
            .find_idempotent_response(actor.user.id, &key.key)
            .await?
        {
            Some(stored) if stored.request_hash == key.request_hash => {
                CreatedBody::from_record(stored).map(Some)
            }
            Some(_) => Err(AppError::IdempotencyKeyReused),
            None => Ok(None),
        }
    }

    /// Reads one of the caller's tasks.
    pub async fn get_task(&self, actor: &Actor, id: TaskId) -> AppResult<Task> {
        Ok(self.store.get_task(actor.user.id, id).await?)
    }

    /// Finds the caller's one task whose id starts with `prefix` (hex digits, hyphens
    /// ignored, as in `0193a1b2-7c`), as git resolves abbreviated commit ids. No match, or a
    /// prefix that is not hex, is `TaskNotFound`; several are `AmbiguousTaskId`, naming some.
    pub async fn resolve_task_prefix(&self, actor: &Actor, prefix: &str) -> AppResult<Task> {
        let (first, last) = id_prefix_range(prefix).ok_or(AppError::TaskNotFound)?;
        let mut found = self
            .store
            .tasks_in_id_range(actor.user.id, first, last, MAX_PREFIX_CANDIDATES + 1)
            .await?;
        match found.len() {
            0 => Err(AppError::TaskNotFound),
            1 => Ok(found.remove(0)),
            count => {
                let more = count > MAX_PREFIX_CANDIDATES as usize;
                found.truncate(MAX_PREFIX_CANDIDATES as usize);
                Err(AppError::AmbiguousTaskId {
                    prefix: prefix.to_owned(),
                    candidates: found
                        .into_iter()
                        .map(|task| (task.id, task.fields.title.as_str().to_owned()))
                        .collect(),
                    more,
                })
            }
        }
    }

    /// Applies a JSON merge patch (RFC 7396) to a task. `if_match` is the version the client
    /// based the patch on (412 when stale).
    pub async fn patch_task(
        &self,
        actor: &Actor,
        id: TaskId,
        patch: Value,
        if_match: Option<i64>,
    ) -> AppResult<Task> {
        let Value::Object(patch) = patch else {
            return Err(FieldError::new(
                "",
                "invalid_type",
                "a merge patch of a task must be a JSON object",
            )
            .into());
        };
        let patch = match TaskPatch::decode(patch) {
            Ok(patch) => patch,
            Err(error) => {
                // A missing task (404) or a stale `If-Match` (412) is told before the patch's
                // faults.
                self.read_for_change(actor, id, if_match).await?;
                return Err(error);
            }
        };
        let zone = actor.user.timezone;
        self.change_task(actor, id, if_match, |task, now| {
            let fields = patch.apply(TaskInput::from(&task.fields)).validate(zone)?;
            Ok(task.edit(fields, now))
        })
        .await
    }

    /// Marks a task done (no change if it already is).
    pub async fn complete_task(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
    ) -> AppResult<Task> {
        self.change_task(actor, id, if_match, |task, now| Ok(task.complete(now)))
            .await
    }

    /// Puts a done task back to `todo` (no change if it is not done).
    pub async fn reopen_task(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
    ) -> AppResult<Task> {
        self.change_task(actor, id, if_match, |task, now| Ok(task.reopen(now)))
            .await
    }

    /// Deletes a task; for a recurring one, `scope` skips this occurrence (the next one is
    /// created) or ends the series (see `recurring`).
    pub async fn delete_task(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
        scope: DeleteScope,
    ) -> AppResult<()> {
        self.delete_in_scope(actor, id, if_match, scope).await
    }

    /// Reads a task, computes a change with `decide` and commits it with its event, retrying
    /// from a fresh read when a concurrent change wins (unless the client pinned a version
    /// with `If-Match`, which then fails with [`AppError::VersionMismatch`]).
    async fn change_task<F>(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
        decide: F,
    ) -> AppResult<Task>
    where
        F: Fn(&Task, chrono::DateTime<chrono::Utc>) -> AppResult<Option<TaskChange>>,
    {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let task = self.read_for_change(actor, id, if_match).await?;
            let now = self.now();
            let Some(change) = decide(&task, now)? else {
                return Ok(task);
            };
            let write = if change.kind == TaskChangeKind::Deleted {
                TaskWrite::Delete {
                    owner: task.owner,
                    id: task.id,
                    expected_version: task.version,
                }
            } else {
                TaskWrite::Update {
                    task: change.task.clone(),
                    expected_version: task.version,
                }
            };
            let changed = change.task.clone();
            let changes = ChangeSet {
                tasks: vec![write],
                events: vec![self.outbox_message(actor, &DomainEvent::Task(change), now)?],
                idempotency: None,
                ..ChangeSet::default()
            };
            match self.commit(changes).await {
                Ok(()) => return Ok(changed),
                Err(StoreError::Conflict(Conflict::VersionMismatch)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(AppError::ConcurrentModification)
    }
}

impl App {
    /// Reads one of the caller's tasks to change it; [`AppError::VersionMismatch`] when the
    /// client pinned another version with `If-Match`.
    pub(crate) async fn read_for_change(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
    ) -> AppResult<Task> {
        let task = self.store.get_task(actor.user.id, id).await?;
        match if_match {
            Some(expected) if expected != task.version => Err(AppError::VersionMismatch {
                expected,
                current: task.version,
            }),
            _ => Ok(task),
        }
    }
}

/// Waits a little before retrying a change that lost a race, so that concurrent writers of one
/// task spread out instead of colliding again: 1 to 2^attempt ms, at most 64 ms.
pub(crate) async fn backoff(attempt: u32) {
    let ceiling = 1u64 << attempt.min(6);
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => u64::from(byte[0]) % ceiling,
        Err(_) => ceiling / 2,
    };
    tokio::time::sleep(std::time::Duration::from_millis(1 + jitter)).await;
}

/// The first and last task ids starting with `prefix` (1 to 32 hex digits once hyphens are
/// removed, any case), or `None` when it is not such a prefix.
fn id_prefix_range(prefix: &str) -> Option<(TaskId, TaskId)> {
    let digits: String = prefix
        .chars()
        .filter(|c| *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if digits.is_empty() || digits.len() > 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let bound = |fill: char| -> Option<TaskId> {
        let padding: String = std::iter::repeat_n(fill, 32 - digits.len()).collect();
        let padded = format!("{digits}{padding}");
        let value = u128::from_str_radix(&padded, 16).ok()?;
        Some(TaskId::from_uuid(uuid::Uuid::from_u128(value)))
    };
    Some((bound('0')?, bound('f')?))
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn a_prefix_spans_every_id_it_starts() {
        let (first, last) = id_prefix_range("0190ABCD-12").unwrap();
        assert_eq!(first.to_string(), "0190abcd-1200-0000-0000-000000000000");
        assert_eq!(last.to_string(), "0190abcd-12ff-ffff-ffff-ffffffffffff");
        let whole = "0190abcd-1234-7000-8000-000000000001";
        let (first, last) = id_prefix_range(whole).unwrap();
        assert_eq!(
            (first.to_string(), last.to_string()),
            (whole.into(), whole.into())
        );
    }

    #[test]
    fn what_is_not_a_hex_prefix_spans_nothing() {
        for prefix in [
            "",
            "-",
            "xyz",
            "0190abcd-1234-7000-8000-0000000000011",
            "01 90",
        ] {
            assert_eq!(id_prefix_range(prefix), None, "{prefix:?}");
        }
    }
}
