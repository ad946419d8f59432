//! Scheduled reminders: which reminders of a task are waiting to fire, and their ids.
//!
//! A task's reminder specs ([`crate::ReminderSpec`]) become one scheduled reminder each while
//! the task is open. Their ids are derived from what they are (task, spec, fire time), so
//! computing the schedule again after an unrelated edit yields the same ids and a store can
//! replace a task's pending reminders by "keep the same ids, drop the others, add the new",
//! without ever re-arming one that already fired. What a task write does to the stored rows
//! is [`plan_reminders`]; what the scheduler does to a due one is [`firing`].

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::ids::TaskId;
use crate::reminder::ReminderSpec;
use crate::task::{Task, TaskStatus};

mod plan;

pub use plan::{ReminderPlan, StoredReminder, plan_reminders};

/// The `spec` of a reminder created by snoozing one that already fired.
pub const SNOOZE_SPEC: &str = "snooze";

/// Where a scheduled reminder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderState {
    /// Waiting for its fire time.
    Pending,
    /// Fired: its `tickler.reminder.due` event is in the outbox.
    Fired,
    /// Fell due while tickler was down for longer than the catch-up horizon: recorded, not
    /// sent.
    Missed,
    /// Its task was completed before it fired.
    Cancelled,
}

impl ReminderState {
    /// Returns the stored and wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReminderState::Pending => "pending",
            ReminderState::Fired => "fired",
            ReminderState::Missed => "missed",
            ReminderState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(ReminderState::Pending),
            "fired" => Some(ReminderState::Fired),
            "missed" => Some(ReminderState::Missed),
            "cancelled" => Some(ReminderState::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for ReminderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reminder of a task that is due to fire, as the schedule computes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedReminder {
    /// Its id: a UUIDv7 whose timestamp is the fire time and whose other bits are a hash of
    /// task, spec and fire time (see [`reminder_id`]).
    pub id: Uuid,
    /// The spec as written on the task (canonical form).
    pub spec: String,
    /// When it fires.
    pub fire_at: DateTime<Utc>,
}

/// Returns the reminders of `task` that should be pending after a change made at `as_of`:
/// none for a done task; otherwise one per spec whose fire time is after `as_of` (a reminder
/// whose time has passed when the task is written has nothing left to say), without
/// duplicates, ordered by fire time.
pub fn planned_reminders(task: &Task, as_of: DateTime<Utc>) -> Vec<PlannedReminder> {
    if task.fields.status == TaskStatus::Done {
        return Vec::new();
    }
    let due_at = task.fields.due.map(|due| due.at);
    let mut planned: Vec<PlannedReminder> = task
        .fields
        .reminders
        .iter()
        .filter_map(|spec| {
            let fire_at = spec.fire_at(due_at)?;
            (fire_at > as_of).then(|| PlannedReminder {
                id: reminder_id(task.id, spec, fire_at),
                spec: spec.to_string(),
                fire_at,
            })
        })
        .collect();
    planned.sort_by_key(|reminder| (reminder.fire_at, reminder.id));
    planned.dedup_by(|a, b| a.id == b.id);
    planned
}

/// Returns the ids of every reminder the task specifies, whether its time has passed or not
/// (none for a done task). A pending reminder outside this set no longer belongs to the task
/// (its spec or the due date changed); one inside it stays, even when overdue, so a reminder
/// that fell due while the scheduler was down still fires after an unrelated edit.
pub fn specified_reminder_ids(task: &Task) -> Vec<Uuid> {
    if task.fields.status == TaskStatus::Done {
        return Vec::new();
    }
    let due_at = task.fields.due.map(|due| due.at);
    task.fields
        .reminders
        .iter()
        .filter_map(|spec| Some(reminder_id(task.id, spec, spec.fire_at(due_at)?)))
        .collect()
}

/// Returns the id of the reminder `spec` of `task` firing at `fire_at`: a UUIDv7 with the fire
/// time as its timestamp, the rest a stable hash of the three (the same inputs always give
/// the same id, in every process and version).
pub fn reminder_id(task: TaskId, spec: &ReminderSpec, fire_at: DateTime<Utc>) -> Uuid {
    let mut input = Vec::with_capacity(64);
    input.extend_from_slice(task.as_uuid().as_bytes());
    input.extend_from_slice(spec.to_string().as_bytes());
    input.push(0);
    input.extend_from_slice(&fire_at.timestamp_micros().to_be_bytes());
    let high = mix(fnv1a(&input, 0xcbf2_9ce4_8422_2325));
    let low = mix(fnv1a(&input, 0x6c62_272e_07bb_0142));
    let mut bits = [0u8; 10];
    bits[..8].copy_from_slice(&high.to_be_bytes());
    bits[8..].copy_from_slice(&low.to_be_bytes()[..2]);
    let millis = u64::try_from(fire_at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid()
}

/// FNV-1a over `bytes` from `basis`.
fn fnv1a(bytes: &[u8], basis: u64) -> u64 {
    bytes.iter().fold(basis, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The splitmix64 finaliser: spreads FNV's weak low bits over the whole word.
fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

/// Decides what a reminder found due at `now` becomes: fired when it is at most `horizon`
/// late, missed beyond.
pub fn fired_or_missed(
    fire_at: DateTime<Utc>,
    now: DateTime<Utc>,
    horizon: chrono::TimeDelta,
) -> ReminderState {
    if now - fire_at > horizon {
        ReminderState::Missed
    } else {
        ReminderState::Fired
    }
}

/// What the scheduler writes on a due reminder it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Firing {
    /// Fired or missed ([`fired_or_missed`]).
    pub state: ReminderState,
    /// How late it was taken, in whole milliseconds.
    pub lateness_ms: i64,
}

/// Returns what a reminder due at `fire_at` becomes when the scheduler takes it at `now` (the
/// database's clock, read in the firing transaction) with the catch-up horizon `horizon`.
pub fn firing(fire_at: DateTime<Utc>, now: DateTime<Utc>, horizon: chrono::TimeDelta) -> Firing {
    Firing {
        state: fired_or_missed(fire_at, now, horizon),
        lateness_ms: (now - fire_at).num_milliseconds(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;
    use crate::task::{Due, TaskFields, Title};
    use crate::{Priority, RecurrenceMode, Tags, TimeZone, UserId};

    /// A task due at `due` with the reminder specs `reminders`, written 2026-11-01.
    pub(super) fn task(due: Option<DateTime<Utc>>, reminders: &[&str], status: TaskStatus) -> Task {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        Task {
            id: TaskId::from_uuid(Uuid::from_u128(7)),
            owner: UserId::from_uuid(Uuid::from_u128(1)),
            fields: TaskFields {
                title: Title::parse("Pay rent").unwrap(),
                description: String::new(),
                status,
                priority: Priority::None,
                due: due.map(|at| Due { at, all_day: false }),
                timezone: TimeZone::default(),
                tags: Tags::default(),
                recurrence: None,
                recurrence_mode: RecurrenceMode::FromDue,
                reminders: reminders
                    .iter()
                    .map(|text| ReminderSpec::parse(text).unwrap())
                    .collect(),
            },
            created_at: at,
            updated_at: at,
            completed_at: None,
            version: 1,
            series: crate::SeriesPosition::first(TaskId::from_uuid(Uuid::from_u128(7))),
        }
    }

    #[test]
    fn offsets_and_instants_of_an_open_task_are_planned_in_fire_order() {
        let due = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let planned = planned_reminders(
            &task(
                Some(due),
                &["-PT30M", "2026-11-20T12:00:00Z", "-P1D"],
                TaskStatus::Todo,
            ),
            now,
        );
        let times: Vec<String> = planned.iter().map(|p| p.fire_at.to_rfc3339()).collect();
        assert_eq!(
            times,
            [
                "2026-11-20T09:00:00+00:00",
                "2026-11-20T12:00:00+00:00",
                "2026-11-21T08:30:00+00:00"
            ]
        );
        assert_eq!(planned[0].spec, "-P1D");
    }

    #[test]
    fn past_reminders_done_tasks_and_offsets_without_due_date_are_not_planned() {
        let due = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 8, 45, 0).unwrap();
        let open = task(Some(due), &["-PT30M", "-PT10M"], TaskStatus::Todo);
        assert_eq!(planned_reminders(&open, now).len(), 1);
        assert_eq!(specified_reminder_ids(&open).len(), 2);
        let done = task(Some(due), &["-PT10M"], TaskStatus::Done);
        assert!(planned_reminders(&done, now).is_empty());
        let undated = task(None, &["-PT10M"], TaskStatus::Todo);
        assert!(planned_reminders(&undated, now).is_empty());
    }

    #[test]
    fn ids_are_stable_version_7_and_differ_by_fire_time() {
        let spec = ReminderSpec::parse("-PT30M").unwrap();
        let task = TaskId::from_uuid(Uuid::from_u128(7));
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let id = reminder_id(task, &spec, at);
        assert_eq!(id, reminder_id(task, &spec, at));
        assert_eq!(id.get_version_num(), 7);
        assert_ne!(
            id,
            reminder_id(task, &spec, at + chrono::TimeDelta::seconds(1))
        );
        // Pinned: ids are stored, so the hash must never change.
        assert_eq!(id.to_string(), reminder_id(task, &spec, at).to_string());
        assert_eq!(id.to_string(), "01a1fd55-7a80-79c6-8dc3-ca036d337c31");
    }

    #[test]
    fn reminders_later_than_the_horizon_are_missed() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let horizon = chrono::TimeDelta::hours(24);
        assert_eq!(
            fired_or_missed(at, at + chrono::TimeDelta::hours(2), horizon),
            ReminderState::Fired
        );
        assert_eq!(
            fired_or_missed(at, at + chrono::TimeDelta::hours(25), horizon),
            ReminderState::Missed
        );
    }

    #[test]
    fn a_reminder_exactly_at_the_horizon_fires_and_lateness_counts_whole_milliseconds() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let horizon = chrono::TimeDelta::hours(24);
        assert_eq!(
            firing(at, at + horizon, horizon),
            Firing {
                state: ReminderState::Fired,
                lateness_ms: 24 * 3600 * 1000
            }
        );
        let just_beyond = at + horizon + chrono::TimeDelta::microseconds(1);
        assert_eq!(
            firing(at, just_beyond, horizon).state,
            ReminderState::Missed
        );
        let on_time = firing(at, at + chrono::TimeDelta::microseconds(1_999), horizon);
        assert_eq!(
            on_time,
            Firing {
                state: ReminderState::Fired,
                lateness_ms: 1
            }
        );
        assert_eq!(firing(at, at, horizon).lateness_ms, 0);
    }
}
