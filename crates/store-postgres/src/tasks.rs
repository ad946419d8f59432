//! Task writes inside a transaction, and reads of single tasks and tags.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{Tag, Task, TaskId, UserId};
use tickler_store::backend::keyset::title_sort_key;
use tickler_store::backend::row::{TaskColumns, headers_from_json, headers_to_json, status_code};
use tickler_store::{
    ChangeSet, Conflict, IdempotentResponse, StoreError, TagCount, TaskPage, TaskQuery, TaskStore,
    TaskWrite,
};

use crate::error::ResultExt;
use crate::rows::{self, TASK_COLUMNS, task_columns};
use crate::store::PostgresStore;
use crate::{audit, events, list, outbox};

/// Applies a change set inside the caller's transaction.
pub(crate) async fn apply(
    connection: &mut PgConnection,
    changes: &ChangeSet,
) -> Result<(), StoreError> {
    // First, so that a redelivered event costs one statement and writes nothing.
    events::mark_processed(connection, &changes.processed).await?;
    for write in &changes.series {
        crate::series::apply(connection, write).await?;
    }
    for write in &changes.tasks {
        match write {
            TaskWrite::Insert(task) => insert(connection, task).await?,
            TaskWrite::Update {
                task,
                expected_version,
            } => update(connection, task, *expected_version).await?,
            TaskWrite::Delete {
                owner,
                id,
                expected_version,
            } => delete(connection, *owner, *id, *expected_version).await?,
        }
        // The task's reminders follow it in the same transaction: never stale. A deleted
        // task's go with it (foreign key, on delete cascade).
        match write {
            TaskWrite::Insert(task) => crate::reminders::plan(connection, task, true).await?,
            TaskWrite::Update { task, .. } => {
                crate::reminders::plan(connection, task, false).await?
            }
            TaskWrite::Delete { .. } => {}
        }
    }
    outbox::append_events(connection, &changes.events).await?;
    if let Some(response) = &changes.idempotency {
        sqlx::query(
            "INSERT INTO idempotent_responses
                 (user_id, key, request_hash, status, headers, body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(*response.owner.as_uuid())
        .bind(response.key.clone())
        .bind(response.request_hash.clone())
        .bind(i32::from(response.status))
        .bind(headers_to_json(&response.headers))
        .bind(response.body.clone())
        .bind(response.created_at)
        .execute(&mut *connection)
        .await
        .store()?;
    }
    if let Some(position) = &changes.consumer_position {
        events::save_position(&mut *connection, position).await?;
    }
    audit::append_audit(&mut *connection, &changes.audit).await?;
    for write in &changes.notifications {
        crate::notifications::apply(connection, write).await?;
    }
    for record in &changes.imports {
        sqlx::query(
            "INSERT INTO import_ledger (user_id, source, source_id, task_id, imported_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(*record.owner.as_uuid())
        .bind(record.source.clone())
        .bind(record.source_id.clone())
        .bind(*record.task.as_uuid())
        .bind(record.imported_at)
        .execute(&mut *connection)
        .await
        .store()?;
    }
    Ok(())
}

async fn insert(connection: &mut PgConnection, task: &Task) -> Result<(), StoreError> {
    let columns = TaskColumns::from_task(task);
    let title_sort = title_sort_key(&columns.title);
    sqlx::query(
        "INSERT INTO tasks (id, user_id, title, title_sort, description, status, priority,
             due_at, all_day, timezone, tags, recurrence, recurrence_mode, reminders,
             created_at, updated_at, completed_at, version, series_id, sequence)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20)",
    )
    .bind(columns.id)
    .bind(columns.owner)
    .bind(columns.title)
    .bind(title_sort)
    .bind(columns.description)
    .bind(columns.status)
    .bind(priority(columns.priority))
    .bind(columns.due_at)
    .bind(columns.all_day)
    .bind(columns.timezone)
    .bind(columns.tags)
    .bind(columns.recurrence)
    .bind(columns.recurrence_mode)
    .bind(columns.reminders)
    .bind(columns.created_at)
    .bind(columns.updated_at)
    .bind(columns.completed_at)
    .bind(columns.version)
    .bind(columns.series_id)
    .bind(i32::try_from(columns.sequence).map_err(StoreError::internal)?)
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}

fn priority(rank: i64) -> i16 {
    i16::try_from(rank).unwrap_or_default()
}

async fn update(
    connection: &mut PgConnection,
    task: &Task,
    expected_version: i64,
) -> Result<(), StoreError> {
    let columns = TaskColumns::from_task(task);
    let title_sort = title_sort_key(&columns.title);
    let changed = sqlx::query(
        "UPDATE tasks SET title = $3, title_sort = $4, description = $5, status = $6,
             priority = $7, due_at = $8, all_day = $9, timezone = $10, tags = $11,
             recurrence = $12, recurrence_mode = $13, reminders = $14, updated_at = $15,
             completed_at = $16, version = $17
         WHERE id = $1 AND user_id = $2 AND version = $18",
    )
    .bind(columns.id)
    .bind(columns.owner)
    .bind(columns.title)
    .bind(title_sort)
    .bind(columns.description)
    .bind(columns.status)
    .bind(priority(columns.priority))
    .bind(columns.due_at)
    .bind(columns.all_day)
    .bind(columns.timezone)
    .bind(columns.tags)
    .bind(columns.recurrence)
    .bind(columns.recurrence_mode)
    .bind(columns.reminders)
    .bind(columns.updated_at)
    .bind(columns.completed_at)
    .bind(columns.version)
    .bind(expected_version)
    .execute(&mut *connection)
    .await
    .store()?
    .rows_affected();
    if changed == 0 {
        return Err(missing_or_stale(connection, task.id, task.owner).await);
    }
    Ok(())
}

async fn delete(
    connection: &mut PgConnection,
    owner: UserId,
    id: TaskId,
    expected_version: i64,
) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM tasks WHERE id = $1 AND user_id = $2 AND version = $3")
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .bind(expected_version)
        .execute(&mut *connection)
        .await
        .store()?
        .rows_affected();
    if deleted == 0 {
        return Err(missing_or_stale(connection, id, owner).await);
    }
    Ok(())
}

/// Tells why a versioned write matched no row.
async fn missing_or_stale(connection: &mut PgConnection, id: TaskId, owner: UserId) -> StoreError {
    let found = sqlx::query("SELECT 1 FROM tasks WHERE id = $1 AND user_id = $2")
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .fetch_optional(&mut *connection)
        .await;
    match found {
        Ok(Some(_)) => StoreError::Conflict(Conflict::VersionMismatch),
        Ok(None) => StoreError::NotFound,
        Err(error) => crate::error::convert(error),
    }
}

/// Reads one of the user's tasks.
pub(crate) async fn get(pool: &PgPool, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks t WHERE t.id = $1 AND t.user_id = $2"
    );
    let row = sqlx::query(SQL)
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .fetch_optional(pool)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    rows::task(&row)
}

/// Reads every task of the user carrying `tag`, oldest first.
pub(crate) async fn with_tag(
    pool: &PgPool,
    owner: UserId,
    tag: &Tag,
) -> Result<Vec<Task>, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM task_tags g JOIN tasks t ON t.id = g.task_id
         WHERE g.user_id = $1 AND g.tag = $2 ORDER BY t.created_at, t.id"
    );
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*owner.as_uuid())
        .bind(tag.as_str().to_owned())
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(rows::task).collect()
}

/// Reads up to `limit` of the user's tasks whose ids lie in `first..=last`, in id order.
pub(crate) async fn in_id_range(
    pool: &PgPool,
    owner: UserId,
    first: TaskId,
    last: TaskId,
    limit: u32,
) -> Result<Vec<Task>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks t WHERE t.user_id = $1 AND t.id BETWEEN $2 AND $3 ORDER BY t.id LIMIT $4"
    );
    let found = sqlx::query(SQL)
        .bind(*owner.as_uuid())
        .bind(*first.as_uuid())
        .bind(*last.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(rows::task).collect()
}

/// Counts the user's tags, most used first.
pub(crate) async fn tag_counts(
    pool: &PgPool,
    owner: UserId,
    prefix: Option<&str>,
    limit: u32,
) -> Result<Vec<TagCount>, StoreError> {
    // Every tag starting with the prefix sorts (by code point) between it and the prefix
    // followed by the last code point, which no tag contains.
    let (low, high) = match prefix {
        Some(prefix) => (prefix.to_owned(), format!("{prefix}\u{10FFFF}")),
        None => (String::new(), "\u{10FFFF}".to_owned()),
    };
    let found = sqlx::query(
        "SELECT tag, count(*) FROM task_tags
         WHERE user_id = $1 AND tag >= $2 AND tag < $3
         GROUP BY tag ORDER BY count(*) DESC, tag LIMIT $4",
    )
    .bind(*owner.as_uuid())
    .bind(low)
    .bind(high)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .store()?;
    found
        .iter()
        .map(|row| {
            Ok(TagCount {
                name: row.try_get(0).store()?,
                count: u64::try_from(row.try_get::<i64, _>(1).store()?).unwrap_or(0),
            })
        })
        .collect()
}

#[async_trait]
impl TaskStore for PostgresStore {
    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError> {
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT user_id FROM tasks WHERE id = $1")
                .bind(*id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .store()?;
        Ok(owner.map(UserId::from_uuid))
    }

    async fn task_owners(&self, ids: &[TaskId]) -> Result<Vec<(TaskId, UserId)>, StoreError> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let owners: Vec<(uuid::Uuid, uuid::Uuid)> =
            sqlx::query_as("SELECT id, user_id FROM tasks WHERE id = ANY($1)")
                .bind(ids)
                .fetch_all(&self.pool)
                .await
                .store()?;
        Ok(owners
            .into_iter()
            .map(|(task, owner)| (TaskId::from_uuid(task), UserId::from_uuid(owner)))
            .collect())
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        let span = tracing::info_span!(
            "commit",
            events = changes.events.len(),
            "otel.name" = "store commit"
        );
        tracing::Instrument::instrument(self.commit_changes(changes), span).await
    }

    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
        get(&self.pool, owner, id).await
    }

    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        list::list(&self.pool, owner, query).await
    }

    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError> {
        with_tag(&self.pool, owner, tag).await
    }

    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        in_id_range(&self.pool, owner, first, last, limit).await
    }

    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError> {
        tag_counts(&self.pool, owner, prefix, limit).await
    }

    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT source_id, task_id FROM import_ledger
             WHERE user_id = $1 AND source = $2 AND source_id = ANY($3)",
        )
        .bind(*owner.as_uuid())
        .bind(source.to_owned())
        .bind(source_ids.to_vec())
        .fetch_all(&self.pool)
        .await
        .store()?;
        rows.iter()
            .map(|row| {
                let source_id: String = row.try_get(0).store()?;
                let task: uuid::Uuid = row.try_get(1).store()?;
                Ok((source_id, TaskId::from_uuid(task)))
            })
            .collect()
    }

    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT request_hash, status, headers, body, created_at
             FROM idempotent_responses WHERE user_id = $1 AND key = $2",
        )
        .bind(*owner.as_uuid())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await
        .store()?
        else {
            return Ok(None);
        };
        Ok(Some(IdempotentResponse {
            owner,
            key: key.to_owned(),
            request_hash: row.try_get(0).store()?,
            status: status_code(i64::from(row.try_get::<i32, _>(1).store()?))?,
            headers: headers_from_json(&row.try_get::<String, _>(2).store()?)?,
            body: row.try_get(3).store()?,
            created_at: row.try_get(4).store()?,
        }))
    }

    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM idempotent_responses WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .store()?
            .rows_affected();
        Ok(deleted)
    }

    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError> {
        crate::series::list(&self.pool, owner, series).await
    }
}

impl PostgresStore {
    /// Commits a change set (the body of [`TaskStore::commit`], inside its span).
    async fn commit_changes(&self, changes: ChangeSet) -> Result<(), StoreError> {
        // An embedded consumer skipping events saves only its position: one statement, which
        // needs no transaction around it.
        if let ChangeSet {
            tasks,
            events: appended,
            idempotency: None,
            processed,
            consumer_position: Some(position),
            audit,
            notifications,
            series,
            imports,
        } = &changes
            && tasks.is_empty()
            && appended.is_empty()
            && processed.is_empty()
            && audit.is_empty()
            && notifications.is_empty()
            && series.is_empty()
            && imports.is_empty()
        {
            return events::save_position(&self.pool, position).await;
        }
        let mut transaction = self.pool.begin().await.store()?;
        apply(&mut transaction, &changes).await?;
        transaction.commit().await.store()
    }
}
