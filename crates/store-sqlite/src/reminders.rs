//! Scheduled reminders: kept in step with task writes (inside the writer's transaction), fired
//! by a writer command, read by the readers.
//!
//! "Now" is SQLite's clock (`julianday('now')`, millisecond precision), read inside the
//! statement that decides what is due.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::schedule::{self, SNOOZE_SPEC, StoredReminder, plan_reminders};
use tickler_domain::{ReminderState, Task, TaskId, TaskStatus, UserId};
use tickler_store::{
    AuditOf, Conflict, FiredReminder, ReminderFiring, ReminderQuery, ReminderSnooze, ReminderStore,
    ScheduledReminder, StoreError,
};
use uuid::Uuid;

use crate::codec::{instant, micros};
use crate::error::ResultExt;
use crate::store::SqliteStore;

/// SQLite's current time in microseconds since the epoch.
const DATABASE_NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";

/// The columns every reminder query selects, in the order [`reminder_from_row`] reads them.
const REMINDER_COLUMNS: &str = "r.id, r.user_id, r.task_id, r.spec, r.fire_at, r.state, \
     r.snoozed, r.fired_at, r.lateness_ms, r.snoozed_into";

/// Reads a stored reminder state.
fn state(text: &str) -> Result<ReminderState, StoreError> {
    ReminderState::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("stored reminder state {text:?}")))
}

fn reminder_from_row(row: &Row<'_>) -> Result<ScheduledReminder, StoreError> {
    Ok(ScheduledReminder {
        id: row.get(0).store()?,
        owner: UserId::from_uuid(row.get(1).store()?),
        task_id: TaskId::from_uuid(row.get(2).store()?),
        spec: row.get(3).store()?,
        fire_at: instant(row.get(4).store()?)?,
        state: state(&row.get::<_, String>(5).store()?)?,
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

/// Brings the task's reminder rows in step with the task as written: reads them and writes
/// [`plan_reminders`] of the task (the re-plan policy lives in the domain). Each write is
/// guarded by the state the plan expects, as on PostgreSQL. A task `inserted` in this
/// transaction has no rows yet (its id is new): they are not read.
pub(crate) fn plan(connection: &Connection, task: &Task, inserted: bool) -> Result<(), StoreError> {
    let task_id = task.id.as_uuid();
    let existing: Vec<StoredReminder> = if inserted {
        Vec::new()
    } else {
        let mut statement = connection
            .prepare_cached("SELECT id, state, snoozed FROM scheduled_reminders WHERE task_id = ?1")
            .store()?;
        let mut rows = statement.query([task_id]).store()?;
        let mut existing = Vec::new();
        while let Some(row) = rows.next().store()? {
            existing.push(StoredReminder {
                id: row.get(0).store()?,
                state: state(&row.get::<_, String>(1).store()?)?,
                snoozed: row.get(2).store()?,
            });
        }
        existing
    };
    let plan = plan_reminders(task, &existing);
    let guarded = [
        (
            &plan.delete,
            "DELETE FROM scheduled_reminders
             WHERE id = ?1 AND state = 'pending' AND NOT snoozed",
        ),
        (
            &plan.cancel,
            "UPDATE scheduled_reminders SET state = 'cancelled'
             WHERE id = ?1 AND state = 'pending'",
        ),
        (
            &plan.rearm,
            "UPDATE scheduled_reminders SET state = 'pending'
             WHERE id = ?1 AND state = 'cancelled'",
        ),
    ];
    for (ids, sql) in guarded {
        for id in ids {
            connection
                .prepare_cached(sql)
                .store()?
                .execute([id])
                .store()?;
        }
    }
    for reminder in &plan.insert {
        connection
            .prepare_cached(
                "INSERT INTO scheduled_reminders (id, user_id, task_id, spec, fire_at, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')
                 ON CONFLICT (id) DO NOTHING",
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

/// Fires due reminders and appends their events, inside the writer's transaction: reads the
/// due rows with their tasks and writes what [`schedule::firing`] (in the domain) makes of each.
pub(crate) fn fire(
    connection: &Connection,
    firing: &ReminderFiring,
) -> Result<Vec<FiredReminder>, StoreError> {
    let limit = firing
        .limit
        .clamp(1, tickler_store::reminders::MAX_FIRING_BATCH);
    let horizon =
        chrono::TimeDelta::from_std(firing.missed_after).unwrap_or(chrono::TimeDelta::MAX);
    let now_micros: i64 = connection
        .prepare_cached(&format!("SELECT {DATABASE_NOW}"))
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    let now = instant(now_micros)?;
    // Reminders go with their task (foreign key, on delete cascade), so the join loses none.
    let sql = format!(
        "SELECT {REMINDER_COLUMNS}, t.title, t.due_at
         FROM scheduled_reminders r JOIN tasks t ON t.id = r.task_id
         WHERE r.state = 'pending' AND r.fire_at <= ?1
         ORDER BY r.fire_at, r.id LIMIT ?2"
    );
    let due: Vec<FiredReminder> = {
        let mut statement = connection.prepare_cached(&sql).store()?;
        let mut rows = statement
            .query(params![now_micros, i64::from(limit)])
            .store()?;
        let mut due = Vec::new();
        while let Some(row) = rows.next().store()? {
            due.push(FiredReminder {
                reminder: reminder_from_row(row)?,
                task_title: row.get(10).store()?,
                due_at: row
                    .get::<_, Option<i64>>(11)
                    .store()?
                    .map(instant)
                    .transpose()?,
            });
        }
        due
    };
    let mut fired = Vec::with_capacity(due.len());
    for mut taken in due {
        let outcome = schedule::firing(taken.reminder.fire_at, now, horizon);
        connection
            .prepare_cached(
                "UPDATE scheduled_reminders SET state = ?2, fired_at = ?3, lateness_ms = ?4
                 WHERE id = ?1",
            )
            .store()?
            .execute(params![
                taken.reminder.id,
                outcome.state.as_str(),
                now_micros,
                outcome.lateness_ms,
            ])
            .store()?;
        taken.reminder.state = outcome.state;
        taken.reminder.fired_at = Some(now);
        taken.reminder.lateness_ms = Some(outcome.lateness_ms);
        let event = (firing.build_event)(&taken)?;
        crate::outbox::append_event(connection, &event)?;
        fired.push(taken);
    }
    Ok(fired)
}

/// Lists a user's reminders.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    query: &ReminderQuery,
) -> Result<Vec<ScheduledReminder>, StoreError> {
    let sql = if query.upcoming_only {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r
             WHERE r.user_id = ?1 AND r.state = 'pending' ORDER BY r.fire_at, r.id LIMIT ?2"
        )
    } else {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r
             WHERE r.user_id = ?1 ORDER BY r.fire_at DESC, r.id DESC LIMIT ?2"
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
        "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r WHERE r.id = ?1 AND r.user_id = ?2"
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
        audit: AuditOf<ScheduledReminder>,
    ) -> Result<ScheduledReminder, StoreError> {
        let snooze = snooze.clone();
        self.write_audited(
            move |connection| self::snooze(connection, &snooze),
            move |snoozed| audit(snoozed),
        )
        .await
    }
}
