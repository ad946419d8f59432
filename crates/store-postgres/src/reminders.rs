//! Scheduled reminders (`migrations/0007`): kept in step with task writes inside the change's
//! transaction, fired by replicas that claim due rows with `FOR UPDATE SKIP LOCKED` and mark
//! them in the same statement, so each reminder fires in exactly one transaction. "Now" is the
//! server's clock (`now()`, the transaction's start), never a replica's.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::schedule::{self, SNOOZE_SPEC, StoredReminder, plan_reminders};
use tickler_domain::{ReminderState, Task, TaskId, TaskStatus, UserId};
use tickler_store::{
    AuditOf, Conflict, FiredReminder, ReminderFiring, ReminderQuery, ReminderSnooze, ReminderStore,
    ScheduledReminder, StoreError,
};
use uuid::Uuid;

use crate::audit::commit_audited;
use crate::error::ResultExt;
use crate::store::PostgresStore;

/// The columns every reminder query selects, in the order [`reminder`] reads them.
const REMINDER_COLUMNS: &str = "r.id, r.user_id, r.task_id, r.spec, r.fire_at, r.state, \
     r.snoozed, r.fired_at, r.lateness_ms, r.snoozed_into";

/// Reads a stored reminder state.
fn state(text: &str) -> Result<ReminderState, StoreError> {
    ReminderState::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("stored reminder state {text:?}")))
}

fn reminder(row: &PgRow) -> Result<ScheduledReminder, StoreError> {
    Ok(ScheduledReminder {
        id: row.try_get(0).store()?,
        owner: UserId::from_uuid(row.try_get(1).store()?),
        task_id: TaskId::from_uuid(row.try_get(2).store()?),
        spec: row.try_get(3).store()?,
        fire_at: row.try_get(4).store()?,
        state: state(row.try_get(5).store()?)?,
        snoozed: row.try_get(6).store()?,
        fired_at: row.try_get(7).store()?,
        lateness_ms: row.try_get(8).store()?,
        snoozed_into: row.try_get(9).store()?,
    })
}

/// Brings the task's reminder rows in step with the task as written: reads them and writes
/// [`plan_reminders`] of the task (the re-plan policy lives in the domain).
///
/// The rows are read without a lock: the task's row, written just before in this
/// transaction, holds off other writes of the task and snoozes of its reminders until the
/// commit. Only the scheduler may still fire a pending row meanwhile; each write is guarded
/// by the state the plan expects, so a row fired in between is left alone.
///
/// A task inserted in this transaction has no rows yet (its id is new), so `inserted` skips
/// the read: one round trip less per create.
pub(crate) async fn plan(
    connection: &mut PgConnection,
    task: &Task,
    inserted: bool,
) -> Result<(), StoreError> {
    let task_id = *task.id.as_uuid();
    if inserted {
        return apply_plan(connection, task, &[]).await;
    }
    let rows = sqlx::query("SELECT id, state, snoozed FROM scheduled_reminders WHERE task_id = $1")
        .bind(task_id)
        .fetch_all(&mut *connection)
        .await
        .store()?;
    let existing = rows
        .iter()
        .map(|row| {
            Ok(StoredReminder {
                id: row.try_get(0).store()?,
                state: state(row.try_get(1).store()?)?,
                snoozed: row.try_get(2).store()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    apply_plan(connection, task, &existing).await
}

/// Writes [`plan_reminders`] of the task against its `existing` rows.
async fn apply_plan(
    connection: &mut PgConnection,
    task: &Task,
    existing: &[StoredReminder],
) -> Result<(), StoreError> {
    let task_id = *task.id.as_uuid();
    let plan = plan_reminders(task, existing);
    let guarded = [
        (
            &plan.delete,
            "DELETE FROM scheduled_reminders
             WHERE id = ANY($1) AND state = 'pending' AND NOT snoozed",
        ),
        (
            &plan.cancel,
            "UPDATE scheduled_reminders SET state = 'cancelled'
             WHERE id = ANY($1) AND state = 'pending'",
        ),
        (
            &plan.rearm,
            "UPDATE scheduled_reminders SET state = 'pending'
             WHERE id = ANY($1) AND state = 'cancelled'",
        ),
    ];
    for (ids, sql) in guarded {
        if ids.is_empty() {
            continue;
        }
        sqlx::query(sql)
            .bind(ids)
            .execute(&mut *connection)
            .await
            .store()?;
    }
    if plan.insert.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = plan.insert.iter().map(|r| r.id).collect();
    let specs: Vec<String> = plan.insert.iter().map(|r| r.spec.clone()).collect();
    let fire_times: Vec<chrono::DateTime<chrono::Utc>> =
        plan.insert.iter().map(|r| r.fire_at).collect();
    sqlx::query(
        "INSERT INTO scheduled_reminders (id, user_id, task_id, spec, fire_at, state)
         SELECT id, $2, $3, spec, fire_at, 'pending'
         FROM unnest($1::uuid[], $4::text[], $5::timestamptz[]) AS p (id, spec, fire_at)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(ids)
    .bind(*task.owner.as_uuid())
    .bind(task_id)
    .bind(specs)
    .bind(fire_times)
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}

/// Returns how long until the earliest pending reminder is due, in microseconds (zero or
/// less: due now).
pub(crate) async fn next_due_in(pool: &PgPool) -> Result<Option<i64>, StoreError> {
    sqlx::query_scalar(
        "SELECT (extract(epoch FROM min(fire_at) - clock_timestamp()) * 1000000)::bigint
         FROM scheduled_reminders WHERE state = 'pending'",
    )
    .fetch_one(pool)
    .await
    .store()
}

/// Fires due reminders and appends their events, in one transaction: claims the due rows
/// with their tasks and writes what [`schedule::firing`] (in the domain) makes of each, by
/// the server's clock.
pub(crate) async fn fire(
    pool: &PgPool,
    firing: &ReminderFiring,
) -> Result<Vec<FiredReminder>, StoreError> {
    let limit = firing
        .limit
        .clamp(1, tickler_store::reminders::MAX_FIRING_BATCH);
    let horizon =
        chrono::TimeDelta::from_std(firing.missed_after).unwrap_or(chrono::TimeDelta::MAX);
    let mut transaction = pool.begin().await.store()?;
    // `now()` is the transaction's start: the same instant on every row, written below as
    // their `fired_at`. Reminders go with their task (foreign key, on delete
    // cascade), so the join loses none.
    let sql = format!(
        "SELECT {REMINDER_COLUMNS}, t.title, t.due_at, now()
         FROM scheduled_reminders r JOIN tasks t ON t.id = r.task_id
         WHERE r.state = 'pending' AND r.fire_at <= now()
         ORDER BY r.fire_at, r.id LIMIT $1
         FOR UPDATE OF r SKIP LOCKED"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(i64::from(limit))
        .fetch_all(&mut *transaction)
        .await
        .store()?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let now: chrono::DateTime<chrono::Utc> = first.try_get(12).store()?;
    let mut fired = Vec::with_capacity(rows.len());
    let mut lateness = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut reminder = reminder(row)?;
        let outcome = schedule::firing(reminder.fire_at, now, horizon);
        lateness.push(outcome.lateness_ms);
        reminder.state = outcome.state;
        reminder.fired_at = Some(now);
        reminder.lateness_ms = Some(outcome.lateness_ms);
        fired.push(FiredReminder {
            reminder,
            task_title: row.try_get(10).store()?,
            due_at: row.try_get(11).store()?,
        });
    }
    let ids: Vec<Uuid> = fired.iter().map(|taken| taken.reminder.id).collect();
    let states: Vec<&str> = fired
        .iter()
        .map(|taken| taken.reminder.state.as_str())
        .collect();
    sqlx::query(
        "UPDATE scheduled_reminders r
         SET state = p.state, fired_at = $3, lateness_ms = p.lateness_ms
         FROM unnest($1::uuid[], $2::text[], $4::bigint[]) AS p (id, state, lateness_ms)
         WHERE r.id = p.id",
    )
    .bind(ids)
    .bind(states)
    .bind(now)
    .bind(lateness)
    .execute(&mut *transaction)
    .await
    .store()?;
    let events = fired
        .iter()
        .map(|taken| (firing.build_event)(taken))
        .collect::<Result<Vec<_>, _>>()?;
    crate::outbox::append_events(&mut transaction, &events).await?;
    transaction.commit().await.store()?;
    Ok(fired)
}

/// Lists a user's reminders.
pub(crate) async fn list(
    pool: &PgPool,
    owner: UserId,
    query: &ReminderQuery,
) -> Result<Vec<ScheduledReminder>, StoreError> {
    let sql = if query.upcoming_only {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r
             WHERE r.user_id = $1 AND r.state = 'pending' ORDER BY r.fire_at, r.id LIMIT $2"
        )
    } else {
        format!(
            "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r
             WHERE r.user_id = $1 ORDER BY r.fire_at DESC, r.id DESC LIMIT $2"
        )
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*owner.as_uuid())
        .bind(i64::from(query.page_size()))
        .fetch_all(pool)
        .await
        .store()?;
    rows.iter().map(reminder).collect()
}

async fn get(
    connection: &mut PgConnection,
    owner: UserId,
    id: Uuid,
    lock: bool,
) -> Result<Option<ScheduledReminder>, StoreError> {
    let sql = format!(
        "SELECT {REMINDER_COLUMNS} FROM scheduled_reminders r
         WHERE r.id = $1 AND r.user_id = $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(*owner.as_uuid())
        .fetch_optional(&mut *connection)
        .await
        .store()?;
    row.as_ref().map(reminder).transpose()
}

/// Reads one of a user's reminders.
pub(crate) async fn find(
    pool: &PgPool,
    owner: UserId,
    id: Uuid,
) -> Result<Option<ScheduledReminder>, StoreError> {
    let mut connection = pool.acquire().await.store()?;
    get(&mut connection, owner, id, false).await
}

/// Snoozes one of a user's reminders, in the caller's transaction.
pub(crate) async fn snooze(
    transaction: &mut PgConnection,
    snooze: &ReminderSnooze,
) -> Result<ScheduledReminder, StoreError> {
    let reminder = get(&mut *transaction, snooze.owner, snooze.id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    // Locks the task too, so a completion cannot slip between the check and the write.
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1 FOR SHARE")
            .bind(*reminder.task_id.as_uuid())
            .fetch_optional(&mut *transaction)
            .await
            .store()?;
    let open = status.is_some_and(|status| status != TaskStatus::Done.as_str());
    if !open || reminder.state == ReminderState::Cancelled {
        return Err(StoreError::Conflict(Conflict::ReminderClosed));
    }
    let id = if reminder.state == ReminderState::Pending {
        sqlx::query("UPDATE scheduled_reminders SET fire_at = $2, snoozed = true WHERE id = $1")
            .bind(reminder.id)
            .bind(snooze.until)
            .execute(&mut *transaction)
            .await
            .store()?;
        reminder.id
    } else {
        sqlx::query(
            "INSERT INTO scheduled_reminders (id, user_id, task_id, spec, fire_at, state, snoozed)
             VALUES ($1, $2, $3, $4, $5, 'pending', true)",
        )
        .bind(snooze.new_id)
        .bind(*snooze.owner.as_uuid())
        .bind(*reminder.task_id.as_uuid())
        .bind(SNOOZE_SPEC)
        .bind(snooze.until)
        .execute(&mut *transaction)
        .await
        .store()?;
        sqlx::query("UPDATE scheduled_reminders SET snoozed_into = $2 WHERE id = $1")
            .bind(reminder.id)
            .bind(snooze.new_id)
            .execute(&mut *transaction)
            .await
            .store()?;
        snooze.new_id
    };
    get(transaction, snooze.owner, id, false)
        .await?
        .ok_or(StoreError::NotFound)
}

#[async_trait]
impl ReminderStore for PostgresStore {
    async fn next_reminder_due_in(&self) -> Result<Option<std::time::Duration>, StoreError> {
        let micros = next_due_in(&self.pool).await?;
        Ok(micros.map(|micros| std::time::Duration::from_micros(micros.max(0).unsigned_abs())))
    }

    async fn fire_due_reminders(
        &self,
        firing: &ReminderFiring,
    ) -> Result<Vec<FiredReminder>, StoreError> {
        fire(&self.pool, firing).await
    }

    async fn list_reminders(
        &self,
        owner: UserId,
        query: &ReminderQuery,
    ) -> Result<Vec<ScheduledReminder>, StoreError> {
        list(&self.pool, owner, query).await
    }

    async fn get_reminder(
        &self,
        owner: UserId,
        id: uuid::Uuid,
    ) -> Result<Option<ScheduledReminder>, StoreError> {
        find(&self.pool, owner, id).await
    }

    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
        audit: AuditOf<ScheduledReminder>,
    ) -> Result<ScheduledReminder, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let snoozed = self::snooze(&mut transaction, snooze).await?;
        commit_audited(transaction, &audit(&snoozed)).await?;
        Ok(snoozed)
    }
}
