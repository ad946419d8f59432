//! Task writes inside the writer's transaction, and reads of single tasks and tags.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tickler_domain::{Tag, Task, TaskId, UserId};
use tickler_store::backend::keyset::title_sort_key;
use tickler_store::backend::row::{TaskColumns, headers_from_json, headers_to_json, status_code};
use tickler_store::{
    ChangeSet, Conflict, IdempotentResponse, StoreError, TagCount, TaskPage, TaskQuery, TaskStore,
    TaskWrite,
};
use uuid::Uuid;

use crate::codec::{self, TASK_COLUMNS, micros, string_list};
use crate::error::ResultExt;
use crate::numbering::{task_range, user_seq};
use crate::search::queue_search;
use crate::store::SqliteStore;
use crate::{audit, events, list, outbox};

/// Applies a change set; on error the caller's savepoint undoes whatever was applied.
pub(crate) fn apply(connection: &Connection, changes: &ChangeSet) -> Result<(), StoreError> {
    // First, so that a redelivered event costs one statement and writes nothing.
    for processed in &changes.processed {
        events::mark_processed(connection, processed)?;
    }
    for write in &changes.series {
        crate::series::apply(connection, write)?;
    }
    for write in &changes.tasks {
        match write {
            TaskWrite::Insert(task) => insert(connection, task)?,
            TaskWrite::Update {
                task,
                expected_version,
            } => update(connection, task, *expected_version)?,
            TaskWrite::Delete {
                owner,
                id,
                expected_version,
            } => delete(connection, *owner, *id, *expected_version)?,
        }
        // The task's reminders follow it in the same transaction: never stale.
        match write {
            TaskWrite::Insert(task) => crate::reminders::plan(connection, task, true)?,
            TaskWrite::Update { task, .. } => crate::reminders::plan(connection, task, false)?,
            TaskWrite::Delete { id, .. } => crate::reminders::remove(connection, *id)?,
        }
    }
    for event in &changes.events {
        outbox::append_event(connection, event)?;
    }
    if let Some(response) = &changes.idempotency {
        connection
            .prepare_cached(
                "INSERT INTO idempotent_responses
                     (user_id, key, request_hash, status, headers, body, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .store()?
            .execute(params![
                response.owner.as_uuid(),
                response.key,
                response.request_hash,
                response.status,
                headers_to_json(&response.headers),
                response.body,
                micros(response.created_at),
            ])
            .store()?;
    }
    if let Some(position) = &changes.consumer_position {
        events::save_position(connection, position)?;
    }
    audit::append_audits(connection, &changes.audit)?;
    for write in &changes.notifications {
        crate::notifications::apply(connection, write)?;
    }
    for record in &changes.imports {
        connection
            .prepare_cached(
                "INSERT INTO import_ledger (user_id, source, source_id, task_id, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .store()?
            .execute(params![
                record.owner.as_uuid(),
                record.source,
                record.source_id,
                record.task.as_uuid(),
                micros(record.imported_at),
            ])
            .store()?;
    }
    Ok(())
}

fn insert(connection: &Connection, task: &Task) -> Result<(), StoreError> {
    // A task of an unknown owner has nowhere to go.
    let owner = user_seq(connection, task.owner.as_uuid())?.ok_or(StoreError::NotFound)?;
    let (low, high) = task_range(owner);
    let seq: i64 = connection
        .prepare_cached("SELECT coalesce(max(seq), ?1) + 1 FROM tasks WHERE seq >= ?1 AND seq < ?2")
        .store()?
        .query_row([low, high], |row| row.get(0))
        .store()?;
    if seq >= high {
        return Err(StoreError::Internal(format!(
            "user {} has used up the task numbers of their range",
            task.owner
        )));
    }
    let columns = TaskColumns::from_task(task);
    connection
        .prepare_cached(
            "INSERT INTO tasks (seq, id, owner, title, title_sort, description, status, priority,
                 due_at, all_day, timezone, tags, recurrence, recurrence_mode, reminders,
                 created_at, updated_at, completed_at, version, series_id, sequence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21)",
        )
        .store()?
        .execute(params![
            seq,
            columns.id,
            owner,
            columns.title,
            title_sort_key(&columns.title),
            columns.description,
            columns.status,
            columns.priority,
            columns.due_at.map(micros),
            columns.all_day,
            columns.timezone,
            string_list(&columns.tags),
            columns.recurrence,
            columns.recurrence_mode,
            string_list(&columns.reminders),
            micros(columns.created_at),
            micros(columns.updated_at),
            columns.completed_at.map(micros),
            columns.version,
            columns.series_id,
            columns.sequence,
        ])
        .store()?;
    queue_search(connection, seq, Some(&columns), false)
}

fn update(connection: &Connection, task: &Task, expected_version: i64) -> Result<(), StoreError> {
    let owner = user_seq(connection, task.owner.as_uuid())?.ok_or(StoreError::NotFound)?;
    let columns = TaskColumns::from_task(task);
    let tags = string_list(&columns.tags);
    let current: Option<(i64, String, String, String)> = connection
        .prepare_cached(
            "SELECT seq, title, tags, description FROM tasks
             WHERE id = ?1 AND owner = ?2 AND version = ?3",
        )
        .store()?
        .query_row(params![columns.id, owner, expected_version], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()
        .store()?;
    let Some((seq, title, old_tags, description)) = current else {
        return Err(missing_or_stale(connection, &columns.id, owner));
    };
    connection
        .prepare_cached(
            "UPDATE tasks SET title = ?2, title_sort = ?3, description = ?4, status = ?5,
                 priority = ?6, due_at = ?7, all_day = ?8, timezone = ?9, tags = ?10,
                 recurrence = ?11, recurrence_mode = ?12, reminders = ?13, updated_at = ?14,
                 completed_at = ?15, version = ?16
             WHERE seq = ?1",
        )
        .store()?
        .execute(params![
            seq,
            columns.title,
            title_sort_key(&columns.title),
            columns.description,
            columns.status,
            columns.priority,
            columns.due_at.map(micros),
            columns.all_day,
            columns.timezone,
            tags,
            columns.recurrence,
            columns.recurrence_mode,
            string_list(&columns.reminders),
            micros(columns.updated_at),
            columns.completed_at.map(micros),
            columns.version,
        ])
        .store()?;
    if title != columns.title || old_tags != tags || description != columns.description {
        queue_search(connection, seq, Some(&columns), true)?;
    }
    Ok(())
}

fn delete(
    connection: &Connection,
    owner: UserId,
    id: TaskId,
    expected_version: i64,
) -> Result<(), StoreError> {
    let owner = user_seq(connection, owner.as_uuid())?.ok_or(StoreError::NotFound)?;
    let deleted: Option<i64> = connection
        .prepare_cached(
            "DELETE FROM tasks WHERE id = ?1 AND owner = ?2 AND version = ?3 RETURNING seq",
        )
        .store()?
        .query_row(params![id.as_uuid(), owner, expected_version], |row| {
            row.get(0)
        })
        .optional()
        .store()?;
    match deleted {
        Some(seq) => queue_search(connection, seq, None, true),
        None => Err(missing_or_stale(connection, id.as_uuid(), owner)),
    }
}

/// Tells why a versioned write matched no row.
fn missing_or_stale(connection: &Connection, id: &Uuid, owner: i64) -> StoreError {
    let version = connection
        .prepare_cached("SELECT version FROM tasks WHERE id = ?1 AND owner = ?2")
        .and_then(|mut statement| {
            statement
                .query_row(params![id, owner], |row| row.get::<_, i64>(0))
                .optional()
        });
    match version {
        Ok(Some(_)) => StoreError::Conflict(Conflict::VersionMismatch),
        Ok(None) => StoreError::NotFound,
        Err(error) => crate::error::convert(error),
    }
}

/// Reads one of the user's tasks.
pub(crate) fn get(connection: &Connection, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t
         WHERE t.id = ?1 AND t.owner = (SELECT seq FROM users WHERE id = ?2)"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![id.as_uuid(), owner.as_uuid()])
        .store()?;
    match rows.next().store()? {
        Some(row) => codec::task_from_row(row, *owner.as_uuid()),
        None => Err(StoreError::NotFound),
    }
}

/// Reads every task of the user carrying `tag`, oldest first.
pub(crate) fn with_tag(
    connection: &Connection,
    owner: UserId,
    tag: &Tag,
) -> Result<Vec<Task>, StoreError> {
    let Some(owner_seq) = user_seq(connection, owner.as_uuid())? else {
        return Ok(Vec::new());
    };
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM task_tags g JOIN tasks t ON t.seq = g.task_seq
         WHERE g.owner = ?1 AND g.tag = ?2 ORDER BY t.seq"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query(params![owner_seq, tag.as_str()]).store()?;
    let mut tasks = Vec::new();
    while let Some(row) = rows.next().store()? {
        tasks.push(codec::task_from_row(row, *owner.as_uuid())?);
    }
    Ok(tasks)
}

/// Reads up to `limit` of the user's tasks whose ids lie in `first..=last`, in id order.
pub(crate) fn in_id_range(
    connection: &Connection,
    owner: UserId,
    first: TaskId,
    last: TaskId,
    limit: u32,
) -> Result<Vec<Task>, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t
         WHERE t.id BETWEEN ?1 AND ?2 AND t.owner = (SELECT seq FROM users WHERE id = ?3)
         ORDER BY t.id LIMIT ?4"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![
            first.as_uuid(),
            last.as_uuid(),
            owner.as_uuid(),
            i64::from(limit)
        ])
        .store()?;
    let mut tasks = Vec::new();
    while let Some(row) = rows.next().store()? {
        tasks.push(codec::task_from_row(row, *owner.as_uuid())?);
    }
    Ok(tasks)
}

/// Counts the user's tags, most used first.
pub(crate) fn tag_counts(
    connection: &Connection,
    owner: UserId,
    prefix: Option<&str>,
    limit: u32,
) -> Result<Vec<TagCount>, StoreError> {
    let Some(owner_seq) = user_seq(connection, owner.as_uuid())? else {
        return Ok(Vec::new());
    };
    // Every tag starting with the prefix sorts between it and the prefix followed by the last
    // code point, which no tag contains.
    let (low, high) = match prefix {
        Some(prefix) => (prefix.to_owned(), format!("{prefix}\u{10FFFF}")),
        None => (String::new(), "\u{10FFFF}".to_owned()),
    };
    let mut statement = connection
        .prepare_cached(
            "SELECT tag, tasks FROM tag_usage
             WHERE owner = ?1 AND tag >= ?2 AND tag < ?3
             ORDER BY tasks DESC, tag LIMIT ?4",
        )
        .store()?;
    let rows = statement
        .query_map(params![owner_seq, low, high, limit], |row| {
            Ok(TagCount {
                name: row.get(0)?,
                count: u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0),
            })
        })
        .store()?;
    rows.collect::<Result<Vec<_>, _>>().store()
}

#[async_trait]
impl TaskStore for SqliteStore {
    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError> {
        self.readers
            .read_now(|connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT u.id FROM tasks t JOIN users u ON u.seq = t.owner WHERE t.id = ?1",
                    )
                    .store()?;
                let mut rows = statement.query([id.as_uuid()]).store()?;
                match rows.next().store()? {
                    Some(row) => Ok(Some(UserId::from_uuid(codec::value(row, 0)?))),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        let span = tracing::info_span!(
            "commit",
            events = changes.events.len(),
            "otel.name" = "store commit"
        );
        tracing::Instrument::instrument(
            self.writer
                .write(move |connection| apply(connection, &changes)),
            span,
        )
        .await
    }

    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
        self.readers
            .read_now(|connection| get(connection, owner, id))
            .await
    }

    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| list::list(connection, owner, &query))
            .await
    }

    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError> {
        let tag = tag.clone();
        self.readers
            .read(move |connection| with_tag(connection, owner, &tag))
            .await
    }

    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        self.readers
            .read_now(|connection| in_id_range(connection, owner, first, last, limit))
            .await
    }

    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError> {
        self.readers
            .read_now(|connection| tag_counts(connection, owner, prefix, limit))
            .await
    }

    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError> {
        let source = source.to_owned();
        let source_ids = source_ids.to_vec();
        self.readers
            .read_now(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT task_id FROM import_ledger
                         WHERE user_id = ?1 AND source = ?2 AND source_id = ?3",
                    )
                    .store()?;
                let mut found = Vec::new();
                for source_id in source_ids {
                    let task: Option<uuid::Uuid> = statement
                        .query_row(params![owner.as_uuid(), source, source_id], |row| {
                            row.get(0)
                        })
                        .map(Some)
                        .or_else(|error| match error {
                            rusqlite::Error::QueryReturnedNoRows => Ok(None),
                            other => Err(other),
                        })
                        .store()?;
                    if let Some(task) = task {
                        found.push((source_id, TaskId::from_uuid(task)));
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        self.readers
            .read_now(|connection| find_idempotent(connection, owner, key))
            .await
    }

    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM idempotent_responses WHERE created_at < ?1")
                    .store()?
                    .execute([micros(before)])
                    .store()?;
                Ok(deleted as u64)
            })
            .await
    }

    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError> {
        self.readers
            .read(move |connection| crate::series::list(connection, owner, series))
            .await
    }
}

fn find_idempotent(
    connection: &Connection,
    owner: UserId,
    key: &str,
) -> Result<Option<IdempotentResponse>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT request_hash, status, headers, body, created_at
             FROM idempotent_responses WHERE user_id = ?1 AND key = ?2",
        )
        .store()?;
    let mut rows = statement.query(params![owner.as_uuid(), key]).store()?;
    let Some(row) = rows.next().store()? else {
        return Ok(None);
    };
    Ok(Some(IdempotentResponse {
        owner,
        key: key.to_owned(),
        request_hash: codec::value(row, 0)?,
        status: status_code(codec::value(row, 1)?)?,
        headers: headers_from_json(&codec::value::<String>(row, 2)?)?,
        body: codec::value(row, 3)?,
        created_at: codec::instant_column(row, 4)?,
    }))
}
