//! Recurring series: the next instance of a recurring task, deleting one instance or the whole
//! series, and listing a series.
//!
//! The next instance is made in two places, always with the same writes (see
//! [`next_instance_writes`]): the `recurring` role's consumer, when a recurring task is
//! completed ([`next_after_completion`]), and `DELETE ?scope=this`, in the deletion's own
//! transaction. Either way the change set carries a [`SeriesWrite::Advance`] that the store
//! refuses ([`Conflict::SeriesClosed`]) once the series made that instance or ended, and the
//! task insert, whose `(series, sequence)` key is unique: whichever comes second creates
//! nothing.

use chrono::{DateTime, Utc};
use tickler_domain::{
    DomainEvent, SeriesPosition, Task, TaskChange, TaskId, TaskInput, TaskStatus, TimeZone, UserId,
};
use tickler_protocol::event::TaskEventData;
use tickler_protocol::task::{DeleteScope, TaskBody};
use tickler_store::{ChangeSet, Conflict, SeriesWrite, StoreError, TaskWrite};

use crate::error::{AppError, AppResult};
use crate::events::{EventSettings, system_event};
use crate::{Actor, App};

/// How often a deletion is retried when a concurrent change to the same task wins the race.
const MAX_ATTEMPTS: u32 = 16;

/// Returns the next instance of `previous` (id `id`, made at `now`) with the series write that
/// must commit with it, or `None` when the series ends with `previous`.
pub fn next_instance_writes(
    previous: &Task,
    id: TaskId,
    now: DateTime<Utc>,
) -> Option<(TaskChange, SeriesWrite)> {
    let change = previous.next_instance(id, now)?;
    let advance = SeriesWrite::Advance {
        owner: change.task.owner,
        series: change.task.series.id,
        sequence: change.task.series.sequence,
    };
    Some((change, advance))
}

/// Returns the change set that creates the next instance after `completed` (a snapshot of a
/// completed recurring task, from its `tickler.task.completed` event), made by tickler itself
/// at `now`: the series advance, the task and its `tickler.task.created` event (origin
/// `system`). `None` when the task does not recur or its series ends with it.
pub fn next_after_completion(
    settings: &EventSettings,
    completed: &Task,
    now: DateTime<Utc>,
) -> AppResult<Option<(Task, ChangeSet)>> {
    let id = TaskId::from_uuid(uuid::Uuid::now_v7());
    let Some((change, advance)) = next_instance_writes(completed, id, now) else {
        return Ok(None);
    };
    let task = change.task.clone();
    let event = system_event(
        settings,
        DomainEvent::Task(change.clone()).type_name(),
        &task.id.to_string(),
        task.owner,
        "task.v1.json",
        now,
        TaskEventData {
            task: TaskBody::from(&task),
            changed_fields: Vec::new(),
        },
    )?;
    let changes = ChangeSet {
        series: vec![advance],
        tasks: vec![TaskWrite::Insert(task.clone())],
        events: vec![event],
        ..ChangeSet::default()
    };
    Ok(Some((task, changes)))
}

/// Rebuilds a task from the snapshot an event carries, validating every field again. Events
/// written before series existed carry no series: the task is then the first instance of its
/// own.
pub fn task_from_snapshot(snapshot: &TaskBody, owner: UserId) -> AppResult<Task> {
    let input = TaskInput {
        title: snapshot.title.clone(),
        description: snapshot.description.clone(),
        status: snapshot.status,
        priority: snapshot.priority,
        due_at: snapshot.due_at.map(tickler_domain::task::format_instant),
        all_day: snapshot.all_day,
        timezone: Some(snapshot.timezone.clone()),
        tags: snapshot.tags.clone(),
        recurrence: snapshot.recurrence.clone(),
        recurrence_mode: snapshot.recurrence_mode,
        reminders: snapshot.reminders.clone(),
    };
    let fields = input.validate(TimeZone::UTC)?;
    Ok(Task {
        id: snapshot.id,
        owner,
        fields,
        created_at: snapshot.created_at,
        updated_at: snapshot.updated_at,
        completed_at: snapshot.completed_at,
        version: snapshot.version,
        series: SeriesPosition {
            id: snapshot.series_id.unwrap_or(snapshot.id),
            sequence: snapshot.sequence.unwrap_or(1),
        },
    })
}

impl App {
    /// Lists the instances of the series a task of the caller belongs to, by sequence number
    /// (done instances stay as history). Another user's task is not found.
    pub async fn list_series(&self, actor: &Actor, id: TaskId) -> AppResult<Vec<Task>> {
        let task = self.store.get_task(actor.user.id, id).await?;
        Ok(self
            .store
            .list_series(actor.user.id, task.series.id)
            .await?)
    }

    /// Deletes a task. For a recurring task, `scope` says what else happens in the same
    /// transaction: [`DeleteScope::This`] skips the occurrence (the next instance is made
    /// now, unless the series already made it), [`DeleteScope::Series`] ends the series (its
    /// other open instances are deleted too; done ones stay as history, and the series makes
    /// nothing more). For a task that does not recur, `scope` changes nothing.
    pub(crate) async fn delete_in_scope(
        &self,
        actor: &Actor,
        id: TaskId,
        if_match: Option<i64>,
        scope: DeleteScope,
    ) -> AppResult<()> {
        // Set once the series turns out to have made the next instance already.
        let mut next_made = false;
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                crate::tasks::backoff(attempt).await;
            }
            let task = self.read_for_change(actor, id, if_match).await?;
            let now = self.now();
            let mut changes = ChangeSet::default();
            self.push_deletion(actor, &task, now, &mut changes)?;
            if task.fields.recurrence.is_some() {
                match scope {
                    DeleteScope::This if !next_made => {
                        let next_id = TaskId::from_uuid(self.new_uuid());
                        if let Some((change, advance)) = next_instance_writes(&task, next_id, now) {
                            changes.series.push(advance);
                            changes.tasks.push(TaskWrite::Insert(change.task.clone()));
                            changes.events.push(self.outbox_message(
                                actor,
                                &DomainEvent::Task(change),
                                now,
                            )?);
                        }
                    }
                    DeleteScope::This => {}
                    DeleteScope::Series => {
                        changes.series.push(SeriesWrite::End {
                            owner: task.owner,
                            series: task.series.id,
                            at: now,
                        });
                        let instances = self.store.list_series(task.owner, task.series.id).await?;
                        for open in instances.iter().filter(|instance| {
                            instance.id != task.id && instance.fields.status != TaskStatus::Done
                        }) {
                            self.push_deletion(actor, open, now, &mut changes)?;
                        }
                    }
                }
            }
            match self.commit(changes).await {
                Ok(()) => {
                    tracing::debug!(task_id = %id, scope = scope.as_str(), "task deleted");
                    return Ok(());
                }
                Err(StoreError::Conflict(Conflict::VersionMismatch)) => continue,
                // The consumer (or a racing request) made the next instance first.
                Err(StoreError::Conflict(Conflict::SeriesClosed | Conflict::AlreadyExists)) => {
                    next_made = true;
                    continue;
                }
                // Another instance deleted meanwhile: read the series again.
                Err(StoreError::NotFound) if scope == DeleteScope::Series => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(AppError::ConcurrentModification)
    }

    fn push_deletion(
        &self,
        actor: &Actor,
        task: &Task,
        now: DateTime<Utc>,
        changes: &mut ChangeSet,
    ) -> AppResult<()> {
        changes.tasks.push(TaskWrite::Delete {
            owner: task.owner,
            id: task.id,
            expected_version: task.version,
        });
        changes.events.push(self.outbox_message(
            actor,
            &DomainEvent::Task(task.delete(now)),
            now,
        )?);
        Ok(())
    }
}
