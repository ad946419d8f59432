use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::task::Due;

fn at(hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap() + TimeDelta::hours(i64::from(hour))
}

/// A task due at `due`, written at `written`, with reminder specs `specs`.
fn task_with(
    due: Option<DateTime<Utc>>,
    specs: &[&str],
    status: TaskStatus,
    written: DateTime<Utc>,
) -> Task {
    let mut task = crate::schedule::tests::task(due, specs, status);
    task.updated_at = written;
    task
}

fn row(id: Uuid, state: ReminderState, snoozed: bool) -> StoredReminder {
    StoredReminder { id, state, snoozed }
}

/// The rows a store holds after writing `task` with no rows before.
fn rows_of(task: &Task) -> Vec<StoredReminder> {
    plan_reminders(task, &[])
        .insert
        .iter()
        .map(|reminder| row(reminder.id, ReminderState::Pending, false))
        .collect()
}

fn ids(planned: &[PlannedReminder]) -> Vec<Uuid> {
    planned.iter().map(|reminder| reminder.id).collect()
}

#[test]
fn a_new_task_inserts_its_planned_reminders_in_fire_order() {
    let task = task_with(Some(at(48)), &["-PT30M", "-P1D"], TaskStatus::Todo, at(0));
    let plan = plan_reminders(&task, &[]);
    assert_eq!(ids(&plan.insert), ids(&planned_reminders(&task, at(0))));
    let times: Vec<_> = plan.insert.iter().map(|r| r.fire_at).collect();
    assert_eq!(times, [at(24), at(47) + TimeDelta::minutes(30)]);
    assert!(plan.delete.is_empty() && plan.cancel.is_empty() && plan.rearm.is_empty());
}

#[test]
fn an_edit_that_changes_nothing_relevant_changes_no_row() {
    let before = task_with(Some(at(48)), &["-PT30M", "-P1D"], TaskStatus::Todo, at(0));
    let rows = rows_of(&before);
    let mut after = before.clone();
    after.fields.description = "with a note".to_owned();
    after.updated_at = at(1);
    let plan = plan_reminders(&after, &rows);
    assert!(plan.is_empty(), "{plan:?}");
}

#[test]
fn moving_the_due_date_replaces_the_relative_reminders_but_not_the_absolute_one() {
    let before = task_with(
        Some(at(48)),
        &["-PT30M", "2026-11-21T06:00:00Z"],
        TaskStatus::Todo,
        at(0),
    );
    let rows = rows_of(&before);
    let mut after = before.clone();
    after.fields.due = Some(Due {
        at: at(72),
        all_day: false,
    });
    after.updated_at = at(1);
    let plan = plan_reminders(&after, &rows);
    let old_relative = planned_reminders(&before, at(0))
        .into_iter()
        .find(|reminder| reminder.spec == "-PT30M")
        .unwrap();
    assert_eq!(plan.delete, [old_relative.id]);
    assert_eq!(plan.insert.len(), 1);
    assert_eq!(plan.insert[0].fire_at, at(71) + TimeDelta::minutes(30));
    assert!(plan.cancel.is_empty() && plan.rearm.is_empty());
}

#[test]
fn an_overdue_reminder_the_task_still_specifies_stays_to_fire() {
    let before = task_with(Some(at(10)), &["-PT1H"], TaskStatus::Todo, at(0));
    let rows = rows_of(&before);
    // Written after the reminder's time (the scheduler was down): it is not planned again,
    // and not deleted either.
    let mut after = before.clone();
    after.fields.description = "later".to_owned();
    after.updated_at = at(9) + TimeDelta::minutes(30);
    assert!(planned_reminders(&after, after.updated_at).is_empty());
    assert!(plan_reminders(&after, &rows).is_empty());
}

#[test]
fn a_snoozed_reminder_survives_edits_and_is_cancelled_with_the_task() {
    let before = task_with(Some(at(10)), &["-PT1H"], TaskStatus::Todo, at(0));
    let snoozed = row(Uuid::from_u128(99), ReminderState::Pending, true);
    let mut after = before.clone();
    after.fields.reminders.clear();
    after.updated_at = at(1);
    let plan = plan_reminders(&after, &[snoozed]);
    assert!(plan.is_empty(), "{plan:?}");

    let mut done = after.clone();
    done.fields.status = TaskStatus::Done;
    let plan = plan_reminders(&done, &[snoozed]);
    assert_eq!(plan.cancel, [snoozed.id]);
}

#[test]
fn completing_cancels_only_pending_rows_and_plans_nothing() {
    let open = task_with(Some(at(48)), &["-PT30M", "-P1D"], TaskStatus::Todo, at(0));
    let mut rows = rows_of(&open);
    rows[0].state = ReminderState::Fired;
    let missed = row(Uuid::from_u128(3), ReminderState::Missed, false);
    let cancelled = row(Uuid::from_u128(4), ReminderState::Cancelled, false);
    rows.extend([missed, cancelled]);
    let mut done = open.clone();
    done.fields.status = TaskStatus::Done;
    done.updated_at = at(1);
    let plan = plan_reminders(&done, &rows);
    assert_eq!(
        plan,
        ReminderPlan {
            cancel: vec![rows[1].id],
            ..ReminderPlan::default()
        }
    );
}

#[test]
fn reopening_rearms_the_cancelled_reminders_still_ahead_and_leaves_the_rest() {
    let open = task_with(Some(at(48)), &["-PT30M", "-P1D"], TaskStatus::Todo, at(0));
    let cancelled: Vec<StoredReminder> = rows_of(&open)
        .into_iter()
        .map(|stored| row(stored.id, ReminderState::Cancelled, false))
        .collect();
    // Reopened after the first reminder's time: only the second is still ahead.
    let mut reopened = open.clone();
    reopened.updated_at = at(30);
    let plan = plan_reminders(&reopened, &cancelled);
    assert_eq!(plan.rearm, [cancelled[1].id]);
    assert!(plan.insert.is_empty() && plan.delete.is_empty() && plan.cancel.is_empty());
}

#[test]
fn a_reminder_that_fired_is_never_armed_again() {
    let open = task_with(Some(at(48)), &["-PT30M"], TaskStatus::Todo, at(0));
    let fired: Vec<StoredReminder> = rows_of(&open)
        .into_iter()
        .map(|stored| row(stored.id, ReminderState::Fired, false))
        .collect();
    let mut edited = open.clone();
    edited.updated_at = at(1);
    assert!(plan_reminders(&edited, &fired).is_empty());
}

/// Applies a plan to rows the way a store does, each write guarded by the state the plan
/// expects.
fn apply(rows: &[StoredReminder], plan: &ReminderPlan) -> BTreeMap<Uuid, StoredReminder> {
    let mut table: BTreeMap<Uuid, StoredReminder> =
        rows.iter().map(|stored| (stored.id, *stored)).collect();
    for id in &plan.delete {
        table.remove(id);
    }
    for id in &plan.cancel {
        if let Some(stored) = table.get_mut(id) {
            stored.state = ReminderState::Cancelled;
        }
    }
    for id in &plan.rearm {
        if let Some(stored) = table.get_mut(id) {
            stored.state = ReminderState::Pending;
        }
    }
    for reminder in &plan.insert {
        table.insert(reminder.id, row(reminder.id, ReminderState::Pending, false));
    }
    table
}

const SPECS: [&str; 5] = ["-PT30M", "-P1D", "-PT2H", "2026-11-21T06:00:00Z", "PT0S"];
const STATES: [ReminderState; 4] = [
    ReminderState::Pending,
    ReminderState::Fired,
    ReminderState::Missed,
    ReminderState::Cancelled,
];

/// A task of a few specs, due dates and write times around its reminders, and the rows a
/// store could hold for it: rows of the same task as planned under other due dates and specs
/// (an earlier version), and snoozes with ids of their own, in any state.
fn task_and_rows() -> impl Strategy<Value = (Task, Vec<StoredReminder>)> {
    let written = (
        prop::option::of(0u32..96),
        prop::sample::subsequence(SPECS.to_vec(), 0..=SPECS.len()),
        any::<bool>(),
        0u32..96,
    );
    let earlier = (
        prop::option::of(0u32..96),
        prop::sample::subsequence(SPECS.to_vec(), 0..=SPECS.len()),
    );
    let states = prop::collection::vec((0..STATES.len(), any::<bool>()), 0..12);
    let snoozes = prop::collection::vec((any::<u128>(), 0..STATES.len()), 0..3);
    (written, earlier, states, snoozes).prop_map(
        |((due, specs, done, written), (earlier_due, earlier_specs), states, snoozes)| {
            let status = if done {
                TaskStatus::Done
            } else {
                TaskStatus::Todo
            };
            let task = task_with(due.map(at), &specs, status, at(written));
            let mut candidates: Vec<Uuid> = specified_reminder_ids(&task);
            let earlier = task_with(earlier_due.map(at), &earlier_specs, TaskStatus::Todo, at(0));
            candidates.extend(specified_reminder_ids(&earlier));
            let mut seen = HashSet::new();
            let mut rows: Vec<StoredReminder> = candidates
                .into_iter()
                .filter(|id| seen.insert(*id))
                .zip(states)
                .map(|(id, (state, snoozed))| row(id, STATES[state], snoozed))
                .collect();
            rows.extend(
                snoozes
                    .into_iter()
                    .filter(|(id, _)| seen.insert(Uuid::from_u128(*id)))
                    .map(|(id, state)| row(Uuid::from_u128(id), STATES[state], true)),
            );
            (task, rows)
        },
    )
}

proptest! {
    #[test]
    fn a_plan_leaves_the_rows_the_policy_describes((task, rows) in task_and_rows()) {
        let plan = plan_reminders(&task, &rows);
        let before: BTreeMap<Uuid, StoredReminder> =
            rows.iter().map(|stored| (stored.id, *stored)).collect();
        // Each list names rows in the state it expects, and every id appears once.
        let mut named = HashSet::new();
        for id in plan.delete.iter().chain(&plan.cancel).chain(&plan.rearm) {
            prop_assert!(named.insert(*id), "{id} named twice");
        }
        for reminder in &plan.insert {
            prop_assert!(!before.contains_key(&reminder.id));
            prop_assert!(named.insert(reminder.id));
        }
        for id in &plan.delete {
            prop_assert_eq!(before[id].state, ReminderState::Pending);
            prop_assert!(!before[id].snoozed);
        }
        for id in &plan.cancel {
            prop_assert_eq!(before[id].state, ReminderState::Pending);
        }
        for id in &plan.rearm {
            prop_assert_eq!(before[id].state, ReminderState::Cancelled);
        }

        let after = apply(&rows, &plan);
        let specified: HashSet<Uuid> = specified_reminder_ids(&task).into_iter().collect();
        for (id, old) in &before {
            // Fired and missed rows are history: never changed, never removed.
            if matches!(old.state, ReminderState::Fired | ReminderState::Missed) {
                prop_assert_eq!(after.get(id), Some(old));
            }
            // Snoozed rows are removed by no edit.
            if old.snoozed {
                prop_assert!(after.contains_key(id));
            }
        }
        let pending: Vec<&StoredReminder> = after
            .values()
            .filter(|stored| stored.state == ReminderState::Pending)
            .collect();
        if task.fields.status == TaskStatus::Done {
            prop_assert!(pending.is_empty());
            prop_assert!(plan.insert.is_empty() && plan.delete.is_empty() && plan.rearm.is_empty());
        } else {
            // What is pending is what the task specifies, or a snooze.
            for stored in &pending {
                prop_assert!(stored.snoozed || specified.contains(&stored.id));
            }
            // Every reminder still ahead has a row, pending unless it already fired.
            for reminder in planned_reminders(&task, task.updated_at) {
                let state = after.get(&reminder.id).map(|stored| stored.state);
                prop_assert!(matches!(
                    state,
                    Some(ReminderState::Pending | ReminderState::Fired | ReminderState::Missed)
                ));
            }
        }
        // Writing the task again changes nothing more.
        let settled: Vec<StoredReminder> = after.into_values().collect();
        let again = plan_reminders(&task, &settled);
        prop_assert!(again.is_empty(), "{:?}", again);
    }
}
