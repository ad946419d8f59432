//! Scheduled reminders: kept in step with task writes (inside the writer's transaction), fired
//! by a writer command, read by the readers.
//!
//! "Now" is SQLite's clock (`julianday('now')`, millisecond precision), read inside the
//! statement that decides what is due.

use std::collections::HashSet;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::schedule::{SNOOZE_SPEC, planned_reminders, specified_reminder_ids};
use tickler_domain::{ReminderState, Task, TaskId, TaskStatus, UserId};
use tickler_store::{
    Conflict, FiredReminder, ReminderFiring, ReminderQuery, ReminderSnooze, ReminderStore,
    ScheduledReminder, StoreError,
};
use uuid::Uuid;

use crate::codec::{instant, micros};
use crate::error::ResultExt;
use crate::store::SqliteStore;

/// SQLite's current time in microseconds since the epoch.
const DATABASE_NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";

/// The columns every reminder query selects, in the order [`reminder_from_row`] reads them.
const REMINDER_COLUMNS: &str =
    "id, user_id, task_id, spec, fire_at, state, snoozed, fired_at, lateness_ms, snoozed_into";

fn reminder_from_row(row: &Row<'_>) -> Result<ScheduledReminder, StoreError> {
    let state: String = row.get(5).store()?;
    Ok(ScheduledReminder {
        id: row.get(0).store()?,
        owner: UserId::from_uuid(row.get(1).store()?),
        task_id: TaskId::from_uuid(row.get(2).store()?),
        spec: row.get(3).store()?,
        fire_at: instant(row.get(4).store()?)?,
        state: ReminderState::parse(&state)
            .ok_or_else(|| StoreError::Internal(format!("stored reminder state {state:?}")))?,
        snoozed: row.get(6).store()?,
        fired_at: row
            .get::<_, Option<i64>>(7)
            .store()?
            .map(instant)
            .transpose()?,
        lateness_ms: row.get(8).store()?,
        snoozed_into: row.get(9).store()?,
    })
}

/// Replaces the task's pending reminders with those planned for it as written: keeps the
/// pending ones the task still specifies (same ids, overdue ones too), removes the others (but
/// not snoozed ones), adds the new ones and re-arms cancelled ones planned again (a reopened
/// task). A done task's pending reminders are cancelled.
pub(crate) fn plan(connection: &Connection, task: &Task) -> Result<(), StoreError> {
    let task_id = task.id.as_uuid();
    if task.fields.status == TaskStatus::Done {
        connection
            .prepare_cached(
                "UPDATE scheduled_reminders SET state = 'cancelled'
                 WHERE task_id = ?1 AND state = 'pending'",
            )
            .store()?
            .execute([task_id])
            .store()?;
        return Ok(());
    }
    let planned = planned_reminders(task, task.updated_at);
    let keep: HashSet<Uuid> = specified_reminder_ids(task).into_iter().collect();
    let pending: Vec<Uuid> = connection
        .prepare_cached(
            "SELECT id FROM scheduled_reminders
             WHERE task_id = ?1 AND state = 'pending' AND NOT snoozed",
        )
        .store()?
        .query_map([task_id], |row| row.get(0))
        .store()?
        .collect::<Result<_, _>>()
        .store()?;
    for id in pending.iter().filter(|id| !keep.contains(id)) {
        connection
            .prepare_cached("DELETE FROM scheduled_reminders WHERE id = ?1")
            .store()?
            .execute([id])
            .store()?;
    }
    for reminder in &planned {
        connection
            .prepare_cached(
                "INSERT INTO scheduled_reminders (id, user_id, task_id, spec, fire_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')
                 ON CONFLICT (id) DO UPDATE SET state = 'pending'
                 WHERE state = 'cancelled'",
            )
            .store()?
            .execute(params![
                reminder.id,
                task.owner.as_uuid(),
                task_id,
                reminder.spec,
                micros(reminder.fire_at),
            ])
            .store()?;
    }
    Ok(())
}

/// Removes a deleted task's reminders.
pub(crate) fn remove(connection: &Connection, task: TaskId) -> Result<(), StoreError> {
    connection
        .prepare_cached("DELETE FROM scheduled_reminders WHERE task_id = ?1")
        .store()?
        .execute([task.as_uuid()])
        .store()?;
    Ok(())
}

/// Returns how long until the earliest pending reminder is due, in microseconds (zero or
/// less: due now).
pub(crate) fn next_due_in(connection: &Connection) -> Result<Option<i64>, StoreError> {
    let sql = format!(
        "SELECT min(fire_at) - {DATABASE_NOW} FROM scheduled_reminders WHERE state = 'pending'"
    );
    connection
        .prepare_cached(&sql)
        .store()?
        .query_row([], |row| row.get(0))
        .store()
}

/// Fires due reminders and appends their events, inside the writer's transaction.
pub(crate) fn fire(
    connection: &Connection,
    firing: &ReminderFiring,
) -> Result<Vec<FiredReminder>, StoreError> {
    let limit = firing
        .limit
        .clamp(1, tickler_store::reminders::MAX_FIRING_BATCH);
    let horizon_micros = i64::try_from(firing.missed_after.as_micros()).unwrap_or(i64::MAX);
    let now: i64 = connection
        .prepare_cached(&format!("SELECT {DATABASE_NOW}"))
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    let sql = format!(
        "UPDATE scheduled_reminders SET
             state = CASE WHEN ?1 - fire_at > ?2 THEN 'missed' ELSE 'fired' END,
             fired_at = ?1,
             lateness_ms = (?1 - fire_at) / 1000
         WHERE id IN (
             SELECT id FROM scheduled_reminders
             WHERE state = 'pending' AND fire_at <= ?1
             ORDER BY fire_at, id LIMIT ?3)
         RETURNING {REMINDER_COLUMNS}"
    );
    let fired: Vec<ScheduledReminder> = {
        let mut statement = connection.prepare_cached(&sql).store()?;
        let mut rows = statement
            .query(params![now, horizon_micros, i64::from(limit)])
            .store()?;
        let mut fired = Vec::new();
        while let Some(row) = rows.next().store()? {
            fired.push(reminder_from_row(row)?);
        }
        fired
    };
    let mut fired = fired;
    // RETURNING gives no order; events go out earliest first.
    fired.sort_by_key(|reminder| (reminder.fire_at, reminder.id));
    let mut out = Vec::with_capacity(fired.len());
    for reminder in fired {
        let task: Option<(String, Option<i64>)> = connection
            .prepare_cached("SELECT title, due_at FROM tasks WHERE id = ?1")
            .store()?
            .query_row([reminder.task_id.as_uuid()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .store()?;
        let Some((task_title, due_at)) = task else {
            // Its task is gone (reminders are removed in the transaction that deletes the
            // task, so this does not happen); nothing to remind of.
            continue;
        };
        let fired = FiredReminder {
            reminder,
            task_title,
            due_at: due_at.map(instant).transpose()?,
        };
        let event = (firing.build_event)(&fired)?;
        crate::outbox::append_event(connection, &event)?;
        out.push(fired);
    }
    Ok(out)
}

/// Lists a user's reminders.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    query: &ReminderQuery,
) -> Result<Vec<ScheduledReminder>, StoreError> {
    let sql = if query.upcoming_only {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders
             WHERE user_id = ?1 AND state = 'pending' ORDER BY fire_at, id LIMIT ?2"
        )
    } else {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders
             WHERE user_id = ?1 ORDER BY fire_at DESC, id DESC LIMIT ?2"
        )
    };
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![owner.as_uuid(), i64::from(query.page_size())])
        .store()?;
    let mut reminders = Vec::new();
    while let Some(row) = rows.next().store()? {
        reminders.push(reminder_from_row(row)?);
    }
    Ok(reminders)
}

pub(crate) fn get(
    connection: &Connection,
    owner: UserId,
    id: Uuid,
) -> Result<Option<ScheduledReminder>, StoreError> {
    let sql = format!(
        "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders WHERE id = ?1 AND user_id = ?2"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query(params![id, owner.as_uuid()]).store()?;
    match rows.next().store()? {
        Some(row) => Ok(Some(reminder_from_row(row)?)),
        None => Ok(None),
    }
}

/// Snoozes one of a user's reminders, inside the writer's transaction.
pub(crate) fn snooze(
    connection: &Connection,
    snooze: &ReminderSnooze,
) -> Result<ScheduledReminder, StoreError> {
    let reminder = get(connection, snooze.owner, snooze.id)?.ok_or(StoreError::NotFound)?;
    let status: Option<String> = connection
        .prepare_cached("SELECT status FROM tasks WHERE id = ?1")
        .store()?
        .query_row([reminder.task_id.as_uuid()], |row| row.get(0))
        .optional()
        .store()?;
    let open = status.is_some_and(|status| status != TaskStatus::Done.as_str());
    if !open || reminder.state == ReminderState::Cancelled {
        return Err(StoreError::Conflict(Conflict::ReminderClosed));
    }
    let id = if reminder.state == ReminderState::Pending {
        connection
            .prepare_cached(
                "UPDATE scheduled_reminders SET fire_at = ?2, snoozed = 1 WHERE id = ?1",
            )
            .store()?
            .execute(params![reminder.id, micros(snooze.until)])
            .store()?;
        reminder.id
    } else {
        connection
            .prepare_cached(
                "INSERT INTO scheduled_reminders
                     (id, user_id, task_id, spec, fire_at, state, snoozed)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 1)",
            )
            .store()?
            .execute(params![
                snooze.new_id,
                snooze.owner.as_uuid(),
                reminder.task_id.as_uuid(),
                SNOOZE_SPEC,
                micros(snooze.until),
            ])
            .store()?;
        connection
            .prepare_cached("UPDATE scheduled_reminders SET snoozed_into = ?2 WHERE id = ?1")
            .store()?
            .execute(params![reminder.id, snooze.new_id])
            .store()?;
        snooze.new_id
    };
    get(connection, snooze.owner, id)?.ok_or(StoreError::NotFound)
}

#[async_trait]
impl ReminderStore for SqliteStore {
    async fn next_reminder_due_in(&self) -> Result<Option<std::time::Duration>, StoreError> {
        let micros = self.readers.read_now(next_due_in).await?;
        Ok(micros.map(|micros| std::time::Duration::from_micros(micros.max(0).unsigned_abs())))
    }

    async fn fire_due_reminders(
        &self,
        firing: &ReminderFiring,
    ) -> Result<Vec<FiredReminder>, StoreError> {
        // An idle queue is a read; only a firing that can succeed takes the writer.
        match self.next_reminder_due_in().await? {
            Some(wait) if wait.is_zero() => {}
            _ => return Ok(Vec::new()),
        }
        let firing = firing.clone();
        self.writer
            .write(move |connection| fire(connection, &firing))
            .await
    }

    async fn list_reminders(
        &self,
        owner: UserId,
        query: &ReminderQuery,
    ) -> Result<Vec<ScheduledReminder>, StoreError> {
        let query = *query;
        self.readers
            .read(move |connection| list(connection, owner, &query))
            .await
    }

    async fn get_reminder(
        &self,
        owner: UserId,
        id: uuid::Uuid,
    ) -> Result<Option<ScheduledReminder>, StoreError> {
        self.readers
            .read(move |connection| get(connection, owner, id))
            .await
    }

    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
    ) -> Result<ScheduledReminder, StoreError> {
        let snooze = snooze.clone();
        self.writer
            .write(move |connection| self::snooze(connection, &snooze))
            .await
    }
}
