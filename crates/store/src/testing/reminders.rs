//! Conformance cases of scheduled reminders: task writes schedule, reschedule, cancel and
//! remove them; firing marks each due one once (fired, or missed beyond the horizon) with its
//! event; snoozing moves or re-arms one.
//!
//! Due-ness is decided by the database's clock, so these cases place fire times around the
//! real current time (read here, in test code only) rather than the fixtures' fixed instants.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tickler_domain::{Due, ReminderSpec, ReminderState, Task, TaskStatus};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::{
    account_row, audit_types, event, futures_join_all, new_task, outbox_eventually,
    outbox_eventually_where, register,
};
use crate::{
    AuditOf, AuditRecord, ChangeSet, Conflict, FiredReminder, ReminderFiring, ReminderQuery,
    ReminderSnooze, ScheduledReminder, Store, StoreError, TaskWrite,
};

#[allow(clippy::disallowed_methods)] // due-ness is judged by the database's real clock
fn now() -> DateTime<Utc> {
    tickler_domain::time::truncate_to_micros(Utc::now())
}

/// A task due at `due`, written at `written`, with these reminder specs.
fn task_with_reminders(
    owner: tickler_domain::UserId,
    due: DateTime<Utc>,
    written: DateTime<Utc>,
    specs: &[&str],
) -> Task {
    let mut task = new_task(owner, "Pay rent");
    task.fields.due = Some(Due {
        at: due,
        all_day: false,
    });
    task.fields.reminders = specs
        .iter()
        .map(|text| ReminderSpec::parse(text).unwrap())
        .collect();
    task.created_at = written;
    task.updated_at = written;
    task
}

fn firing(limit: u32, missed_after: Duration) -> ReminderFiring {
    ReminderFiring {
        limit,
        missed_after,
        build_event: Arc::new(|fired: &FiredReminder| {
            let kind = match fired.reminder.state {
                ReminderState::Missed => "tickler.reminder.missed",
                _ => "tickler.reminder.due",
            };
            let mut message = event(
                fired.reminder.owner,
                &fired.reminder.task_id.to_string(),
                kind,
            );
            message.payload = format!("{{\"reminder_id\":\"{}\"}}", fired.reminder.id);
            Ok(message)
        }),
    }
}

async fn upcoming(store: &dyn Store, owner: tickler_domain::UserId) -> Vec<ScheduledReminder> {
    store
        .list_reminders(
            owner,
            &ReminderQuery {
                upcoming_only: true,
                limit: 100,
            },
        )
        .await
        .unwrap()
}

async fn all(store: &dyn Store, owner: tickler_domain::UserId) -> Vec<ScheduledReminder> {
    store
        .list_reminders(
            owner,
            &ReminderQuery {
                upcoming_only: false,
                limit: 500,
            },
        )
        .await
        .unwrap()
}

async fn update(store: &dyn Store, before: &Task, change: impl FnOnce(&mut Task)) -> Task {
    let mut after = before.clone();
    change(&mut after);
    after.version = before.version + 1;
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Update {
                task: after.clone(),
                expected_version: before.version,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    after
}

async fn insert_one(store: &dyn Store, task: &Task) {
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}

/// Task writes keep the pending reminders in step: planned on insert, moved with the due
/// date (unchanged ids when nothing relevant changed), cancelled on completion, re-armed on
/// reopening, removed with the task.
pub async fn task_writes_schedule_reschedule_and_cancel_reminders(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let now = now();
    let due = now + TimeDelta::hours(2);
    let task = task_with_reminders(ada.id, due, now, &["-PT30M", "-PT1H", "-PT3H"]);
    insert_one(&*store, &task).await;
    let planned = upcoming(&*store, ada.id).await;
    // The -PT3H reminder was already past when the task was written.
    let times: Vec<_> = planned.iter().map(|r| r.fire_at).collect();
    assert_eq!(
        times,
        [due - TimeDelta::hours(1), due - TimeDelta::minutes(30)]
    );
    assert!(
        planned
            .iter()
            .all(|r| r.state == ReminderState::Pending && !r.snoozed)
    );
    assert_eq!(planned[0].spec, "-PT1H");

    let renamed = update(&*store, &task, |t| {
        t.fields.title = tickler_domain::Title::parse("Pay the rent").unwrap();
        t.updated_at = now + TimeDelta::seconds(1);
    })
    .await;
    assert_eq!(upcoming(&*store, ada.id).await, planned, "ids are stable");

    let later = due + TimeDelta::days(1);
    let moved = update(&*store, &renamed, |t| {
        t.fields.due = Some(Due {
            at: later,
            all_day: false,
        });
        t.updated_at = now + TimeDelta::seconds(2);
    })
    .await;
    let rescheduled = upcoming(&*store, ada.id).await;
    let times: Vec<_> = rescheduled.iter().map(|r| r.fire_at).collect();
    assert_eq!(
        times,
        [
            later - TimeDelta::hours(3),
            later - TimeDelta::hours(1),
            later - TimeDelta::minutes(30)
        ]
    );
    assert!(
        rescheduled
            .iter()
            .all(|r| !planned.iter().any(|p| p.id == r.id)),
        "the old reminders are gone"
    );
    assert_eq!(all(&*store, ada.id).await.len(), 3);

    let done = update(&*store, &moved, |t| {
        t.fields.status = TaskStatus::Done;
        t.completed_at = Some(now);
        t.updated_at = now + TimeDelta::seconds(3);
    })
    .await;
    assert!(upcoming(&*store, ada.id).await.is_empty());
    assert!(
        all(&*store, ada.id)
            .await
            .iter()
            .all(|r| r.state == ReminderState::Cancelled)
    );

    let reopened = update(&*store, &done, |t| {
        t.fields.status = TaskStatus::Todo;
        t.completed_at = None;
        t.updated_at = now + TimeDelta::seconds(4);
    })
    .await;
    assert_eq!(upcoming(&*store, ada.id).await, rescheduled);

    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: ada.id,
                id: reopened.id,
                expected_version: reopened.version,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert!(all(&*store, ada.id).await.is_empty());
}

/// Due reminders fire once, earliest first, each with its event in the outbox; reminders
/// later than the horizon are missed; reminders not yet due stay pending.
pub async fn due_reminders_fire_once_with_their_events(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let now = now();
    let written = now - TimeDelta::hours(3);
    let due = now + TimeDelta::hours(1);
    // Fire times: now - 2 h (missed beyond a 1 h horizon), now - 1 s, now + 1 h (not due).
    let spec_missed = (now - TimeDelta::hours(2)).to_rfc3339();
    let spec_due = (now - TimeDelta::seconds(1)).to_rfc3339();
    let task = task_with_reminders(ada.id, due, written, &[&spec_missed, &spec_due, "PT0S"]);
    insert_one(&*store, &task).await;
    let other = task_with_reminders(grace.id, due, written, &["-PT1H30M"]);
    insert_one(&*store, &other).await;
    // An unrelated edit while they wait (the scheduler is down) keeps overdue reminders.
    let task = update(&*store, &task, |t| {
        t.fields.description = "by transfer".into();
        t.updated_at = now;
    })
    .await;
    assert_eq!(
        store.next_reminder_due_in().await.unwrap(),
        Some(Duration::ZERO)
    );

    let fired = store
        .fire_due_reminders(&firing(100, Duration::from_secs(3600)))
        .await
        .unwrap();
    let states: Vec<_> = fired.iter().map(|f| f.reminder.state).collect();
    assert_eq!(
        states,
        [
            ReminderState::Missed,
            ReminderState::Fired,
            ReminderState::Fired
        ]
    );
    assert_eq!(fired[1].reminder.owner, grace.id);
    for fired in &fired {
        let lateness = fired.reminder.lateness_ms.unwrap();
        let fired_at = fired.reminder.fired_at.unwrap();
        assert!(fired_at >= fired.reminder.fire_at, "never early");
        assert!(
            (lateness - (fired_at - fired.reminder.fire_at).num_milliseconds()).abs() <= 1,
            "{lateness}"
        );
        assert_eq!(fired.due_at, Some(due));
        assert_eq!(fired.task_title, "Pay rent");
    }
    assert!(fired[0].reminder.lateness_ms.unwrap() >= 2 * 3600 * 1000);
    assert!(fired[2].reminder.lateness_ms.unwrap() < 60_000);

    let again = store
        .fire_due_reminders(&firing(100, Duration::from_secs(3600)))
        .await
        .unwrap();
    assert!(again.is_empty(), "a reminder fires once");
    let wait = store.next_reminder_due_in().await.unwrap().unwrap();
    assert!(wait > Duration::from_secs(3000) && wait <= Duration::from_secs(3600));

    let events: Vec<(String, String)> =
        outbox_eventually_where(&*store, Default::default(), 3, |r| {
            r.message.event_type.starts_with("tickler.reminder.")
        })
        .await
        .into_iter()
        .map(|r| (r.message.event_type, r.message.payload))
        .collect();
    assert_eq!(events[0].0, "tickler.reminder.missed");
    assert!(events[1].1.contains(&fired[1].reminder.id.to_string()));
    let listed = all(&*store, ada.id).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(upcoming(&*store, ada.id).await.len(), 1);

    // Editing the task afterwards neither re-arms what fired nor touches it.
    update(&*store, &task, |t| {
        t.fields.title = tickler_domain::Title::parse("Pay rent today").unwrap();
        t.updated_at = now - TimeDelta::hours(2) - TimeDelta::minutes(1);
    })
    .await;
    assert!(
        store
            .fire_due_reminders(&firing(100, Duration::from_secs(3600)))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(all(&*store, ada.id).await, listed);
}

/// Concurrent firings (scheduler replicas) hand each due reminder to exactly one of them.
pub async fn racing_firings_fire_each_reminder_once(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let now = now();
    let written = now - TimeDelta::hours(1);
    let mut tasks = Vec::new();
    for n in 0..60 {
        let specs = [
            (now - TimeDelta::seconds(n + 1)).to_rfc3339(),
            (now - TimeDelta::seconds(n + 100)).to_rfc3339(),
            (now - TimeDelta::seconds(n + 200)).to_rfc3339(),
        ];
        let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
        tasks.push(task_with_reminders(
            ada.id,
            now + TimeDelta::hours(1),
            written,
            &specs,
        ));
    }
    crate::testing::fixtures::insert(&*store, &tasks).await;
    let firings = (0..4).map(|_| {
        let store = store.clone();
        async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .fire_due_reminders(&firing(7, Duration::from_secs(3600)))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.into_iter().map(|f| f.reminder.id));
            }
        }
    });
    let results = futures_join_all(firings).await;
    let mut seen = HashSet::new();
    for id in results.iter().flatten() {
        assert!(seen.insert(*id), "reminder {id} fired twice");
    }
    assert_eq!(seen.len(), 180);
    // One event per reminder (and nothing else in this database's outbox).
    outbox_eventually(&*store, Default::default(), 180).await;
}

/// Snoozing moves a pending reminder (same id) or re-arms a fired one under a new id (which
/// the fired one names); another user's reminder is not found; a done task's reminder cannot
/// be snoozed.
pub async fn snoozing_moves_or_rearms_a_reminder(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let now = now();
    let written = now - TimeDelta::hours(1);
    let spec_due = (now - TimeDelta::seconds(5)).to_rfc3339();
    let task = task_with_reminders(
        ada.id,
        now + TimeDelta::hours(2),
        written,
        &[&spec_due, "-PT1H"],
    );
    insert_one(&*store, &task).await;
    let fired = store
        .fire_due_reminders(&firing(10, Duration::from_secs(3600)))
        .await
        .unwrap();
    assert_eq!(fired.len(), 1);
    let fired_id = fired[0].reminder.id;
    let pending = upcoming(&*store, ada.id).await;
    assert_eq!(pending.len(), 1);

    // Each snooze writes the row built from the reminder that will fire.
    let snoozed_row: AuditOf<ScheduledReminder> = Arc::new(|snoozed: &ScheduledReminder| {
        vec![AuditRecord {
            task_id: Some(snoozed.task_id),
            data: format!("{{\"fires_as\":\"{}\"}}", snoozed.id),
            ..account_row(snoozed.owner, "reminder_snoozed")
        }]
    });
    let until = now + TimeDelta::minutes(10);
    let moved = store
        .snooze_reminder(
            &ReminderSnooze {
                owner: ada.id,
                id: pending[0].id,
                until,
                new_id: Uuid::now_v7(),
            },
            snoozed_row.clone(),
        )
        .await
        .unwrap();
    assert_eq!(moved.id, pending[0].id);
    assert_eq!(moved.fire_at, until);
    assert!(moved.snoozed && moved.state == ReminderState::Pending);
    // A row that cannot be written (its event id is taken) undoes the snooze with it.
    let taken = account_row(ada.id, "taken");
    store
        .commit(ChangeSet {
            audit: vec![taken.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let clash: AuditOf<ScheduledReminder> =
        Arc::new(move |_: &ScheduledReminder| vec![taken.clone()]);
    let refused = store
        .snooze_reminder(
            &ReminderSnooze {
                owner: ada.id,
                id: moved.id,
                until: until + TimeDelta::minutes(5),
                new_id: Uuid::now_v7(),
            },
            clash,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(Conflict::AlreadyExists))),
        "{refused:?}"
    );
    let unchanged = store.get_reminder(ada.id, moved.id).await.unwrap().unwrap();
    assert_eq!(unchanged.fire_at, until);

    let new_id = Uuid::now_v7();
    let rearmed = store
        .snooze_reminder(
            &ReminderSnooze {
                owner: ada.id,
                id: fired_id,
                until: until + TimeDelta::minutes(1),
                new_id,
            },
            snoozed_row.clone(),
        )
        .await
        .unwrap();
    assert_eq!(rearmed.id, new_id);
    assert_eq!(rearmed.spec, tickler_domain::schedule::SNOOZE_SPEC);
    assert_eq!(rearmed.task_id, task.id);
    assert_eq!(upcoming(&*store, ada.id).await.len(), 2);
    // The fired reminder names the one replacing it; the moved one replaces nothing.
    let original = store.get_reminder(ada.id, fired_id).await.unwrap().unwrap();
    assert_eq!(original.state, ReminderState::Fired);
    assert_eq!(original.snoozed_into, Some(new_id));
    assert_eq!(rearmed.snoozed_into, None);
    assert_eq!(moved.snoozed_into, None);
    assert_eq!(store.get_reminder(grace.id, fired_id).await.unwrap(), None);

    // An unrelated edit keeps snoozed reminders as they are.
    let edited = update(&*store, &task, |t| {
        t.fields.description = "from the savings account".into();
        t.updated_at = now;
    })
    .await;
    let after_edit = upcoming(&*store, ada.id).await;
    assert_eq!(after_edit.len(), 2);
    assert!(after_edit.iter().all(|r| r.snoozed));

    let not_yours = store
        .snooze_reminder(
            &ReminderSnooze {
                owner: grace.id,
                id: fired_id,
                until,
                new_id: Uuid::now_v7(),
            },
            snoozed_row.clone(),
        )
        .await;
    assert!(matches!(not_yours, Err(StoreError::NotFound)));
    assert!(upcoming(&*store, grace.id).await.is_empty());

    update(&*store, &edited, |t| {
        t.fields.status = TaskStatus::Done;
        t.completed_at = Some(now);
        t.updated_at = now;
    })
    .await;
    assert!(
        upcoming(&*store, ada.id).await.is_empty(),
        "snoozes cancelled too"
    );
    let closed = store
        .snooze_reminder(
            &ReminderSnooze {
                owner: ada.id,
                id: fired_id,
                until,
                new_id: Uuid::now_v7(),
            },
            snoozed_row.clone(),
        )
        .await;
    assert!(matches!(
        closed,
        Err(StoreError::Conflict(Conflict::ReminderClosed))
    ));
    // The two snoozes that happened wrote their rows; the refused ones none.
    let rows: Vec<(String, Option<tickler_domain::TaskId>)> = store
        .audit_chain(ada.id, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|link| link.record.event_type == "reminder_snoozed")
        .map(|link| (link.record.data, link.record.task_id))
        .collect();
    assert_eq!(
        rows,
        [
            (format!("{{\"fires_as\":\"{}\"}}", moved.id), Some(task.id)),
            (format!("{{\"fires_as\":\"{new_id}\"}}"), Some(task.id)),
        ]
    );
    assert!(audit_types(&*store, grace.id).await.is_empty());
}
