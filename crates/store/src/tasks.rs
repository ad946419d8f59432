//! The tasks part of the storage port: the one transactional write, reads and listings of
//! tasks, tags, recurring series, idempotent responses and the import ledger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{Tag, Task, TaskId, UserId};

use crate::error::StoreError;
use crate::query::{TaskPage, TaskQuery};
use crate::records::{ChangeSet, IdempotentResponse, TagCount};

/// Tasks and what is written with them. [`TaskStore::commit`] is the one write of a use case
/// or a consumer: its [`ChangeSet`] carries task and series writes, outbox events, an
/// idempotent response, a consumer's processed-event markers and position, audit rows,
/// notifications and import ledger rows, all committed in one transaction. Every read of a
/// task is scoped to its owner.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Returns who owns a task, whoever that is (`None` when no such task exists, as after
    /// its deletion). For consumers checking that an event's user owns the task it names;
    /// never for answering a user.
    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError>;

    /// Returns the owners of those of `ids` that exist, as [`TaskStore::task_owner`] does for
    /// one: for a consumer checking a batch of events at once. By default one lookup each; a
    /// store whose lookups cross a network answers in one.
    async fn task_owners(&self, ids: &[TaskId]) -> Result<Vec<(TaskId, UserId)>, StoreError> {
        let mut owners = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(owner) = self.task_owner(*id).await? {
                owners.push((*id, owner));
            }
        }
        Ok(owners)
    }

    /// Commits task writes, their outbox events and an idempotent response atomically.
    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError>;

    /// Reads one of the user's tasks.
    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError>;

    /// Lists the user's tasks matching `query`, one page at a time.
    ///
    /// Ties on every sort key are broken by task id, in the direction of the last sort key.
    /// A cursor that does not fit the query's sort keys (wrong number of values, a value of
    /// the wrong kind; see [`crate::backend::keyset::cursor_values`]) yields an empty page, never an
    /// error; so does a `text` without any word to search for.
    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError>;

    /// Reads every task of the user that carries `tag`.
    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError>;

    /// Reads up to `limit` of the user's tasks whose ids lie in `first..=last`, in id order:
    /// the tasks whose id starts with a given prefix, as `tickler show 0193a` resolves it.
    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError>;

    /// Counts the user's tags by usage, most used first (ties by name), optionally only those
    /// starting with `prefix` (already lowercased), at most `limit`.
    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError>;

    /// Finds the response remembered for an idempotency key of this user.
    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;

    /// Finds which of these source ids of `source` the user imported before, and the task
    /// each became.
    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError>;

    /// Deletes remembered responses created before `before`; returns how many.
    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Reads the user's tasks of a series (`series` is its first instance's id), ordered by
    /// sequence number; empty when the user has none.
    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError>;
}
