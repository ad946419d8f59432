use chrono::{TimeZone as _, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::{SeriesPosition, UserId};
use crate::task::TaskInput;
use crate::time::TimeZone;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn recurring(due_at: &str, rule: &str, mode: RecurrenceMode, zone: &str) -> Task {
    let fields = TaskInput {
        title: "Water the plants".into(),
        description: "the ferns too".into(),
        priority: crate::task::Priority::High,
        due_at: Some(due_at.into()),
        timezone: Some(zone.into()),
        tags: vec!["home".into()],
        recurrence: Some(rule.into()),
        recurrence_mode: mode,
        reminders: vec!["-PT30M".into()],
        ..TaskInput::default()
    }
    .validate(TimeZone::UTC)
    .unwrap();
    Task::create(
        TaskId::from_uuid(Uuid::from_u128(1)),
        UserId::from_uuid(Uuid::from_u128(2)),
        fields,
        at(due_at) - chrono::TimeDelta::days(1),
    )
    .task
}

fn completed(task: &Task, when: &str) -> Task {
    task.complete(at(when)).unwrap().task
}

#[test]
fn a_task_the_user_creates_starts_its_own_series() {
    let task = recurring(
        "2026-11-23T09:00:00Z",
        "FREQ=WEEKLY",
        RecurrenceMode::FromDue,
        "UTC",
    );
    assert_eq!(task.series, SeriesPosition::first(task.id));
}

#[test]
fn the_next_instance_keeps_the_fields_and_takes_the_next_sequence_number() {
    let task = recurring(
        "2026-11-23T09:00:00Z",
        "FREQ=WEEKLY",
        RecurrenceMode::FromDue,
        "UTC",
    );
    let done = completed(&task, "2026-11-23T10:00:00Z");
    let next_id = TaskId::from_uuid(Uuid::from_u128(3));
    let change = done
        .next_instance(next_id, at("2026-11-23T10:00:00Z"))
        .unwrap();
    assert_eq!(change.kind, crate::task::TaskChangeKind::Created);
    let next = change.task;
    assert_eq!(next.id, next_id);
    assert_eq!(next.owner, task.owner);
    assert_eq!(
        next.series,
        SeriesPosition {
            id: task.id,
            sequence: 2
        }
    );
    assert_eq!(next.fields.status, TaskStatus::Todo);
    assert_eq!(next.completed_at, None);
    assert_eq!(next.fields.due.unwrap().at, at("2026-11-30T09:00:00Z"));
    let expected = TaskFields {
        status: TaskStatus::Todo,
        due: next.fields.due,
        ..task.fields.clone()
    };
    assert_eq!(next.fields, expected);
}

#[test]
fn from_due_skips_occurrences_already_past_and_creates_the_first_after_now() {
    let task = recurring(
        "2026-11-02T09:00:00Z",
        "FREQ=DAILY",
        RecurrenceMode::FromDue,
        "UTC",
    );
    // Completed three weeks late: one next instance, tomorrow's, not a backlog.
    let done = completed(&task, "2026-11-23T12:00:00Z");
    let due = next_due(&done, at("2026-11-23T12:00:00Z")).unwrap();
    assert_eq!(due.at, at("2026-11-24T09:00:00Z"));
    // Completed early: the occurrence after the due date, even though it is days away.
    let early = completed(&task, "2026-10-30T12:00:00Z");
    let due = next_due(&early, at("2026-10-30T12:00:00Z")).unwrap();
    assert_eq!(due.at, at("2026-11-03T09:00:00Z"));
}

#[test]
fn from_due_keeps_the_wall_clock_time_across_a_dst_change() {
    // New York leaves daylight saving time on 1 November 2026: 09:00 EDT is 13:00Z, 09:00
    // EST 14:00Z.
    let task = recurring(
        "2026-10-31T13:00:00Z",
        "FREQ=DAILY",
        RecurrenceMode::FromDue,
        "America/New_York",
    );
    let done = completed(&task, "2026-10-31T13:30:00Z");
    let due = next_due(&done, at("2026-10-31T13:30:00Z")).unwrap();
    assert_eq!(due.at, at("2026-11-01T14:00:00Z"));
}

#[test]
fn from_completion_counts_the_interval_from_the_completion_time() {
    let task = recurring(
        "2026-11-20T09:00:00Z",
        "FREQ=DAILY;INTERVAL=3",
        RecurrenceMode::FromCompletion,
        "UTC",
    );
    let done = completed(&task, "2026-11-23T18:00:00Z");
    // Three days after the completion's date, at the due date's time of day.
    let due = next_due(&done, at("2026-11-23T18:00:01Z")).unwrap();
    assert_eq!(due.at, at("2026-11-26T09:00:00Z"));
}

#[test]
fn count_ends_the_series_at_the_instance_whose_sequence_equals_it() {
    let task = recurring(
        "2026-11-23T09:00:00Z",
        "FREQ=DAILY;COUNT=3",
        RecurrenceMode::FromDue,
        "UTC",
    );
    let mut instance = completed(&task, "2026-11-23T10:00:00Z");
    let mut sequences = vec![instance.series.sequence];
    let mut now = at("2026-11-23T10:00:00Z");
    while let Some(change) = instance.next_instance(
        TaskId::from_uuid(Uuid::from_u128(u128::from(instance.series.sequence) + 100)),
        now,
    ) {
        now = change.task.fields.due.unwrap().at;
        instance = change.task.complete(now).unwrap().task;
        sequences.push(instance.series.sequence);
    }
    assert_eq!(sequences, [1, 2, 3]);
}

#[test]
fn until_ends_the_series_and_a_task_without_rule_has_no_next_instance() {
    let task = recurring(
        "2026-11-23T09:00:00Z",
        "FREQ=WEEKLY;UNTIL=20261201T000000Z",
        RecurrenceMode::FromDue,
        "UTC",
    );
    let done = completed(&task, "2026-11-23T10:00:00Z");
    let second = done
        .next_instance(
            TaskId::from_uuid(Uuid::from_u128(5)),
            at("2026-11-23T10:00:00Z"),
        )
        .unwrap()
        .task;
    assert_eq!(second.fields.due.unwrap().at, at("2026-11-30T09:00:00Z"));
    let second_done = completed(&second, "2026-11-30T10:00:00Z");
    assert_eq!(next_due(&second_done, at("2026-11-30T10:00:00Z")), None);

    let mut plain = task.clone();
    plain.fields.recurrence = None;
    assert_eq!(next_due(&plain, at("2026-11-23T10:00:00Z")), None);
}

#[test]
fn an_all_day_task_stays_all_day_at_local_midnight() {
    let fields = TaskInput {
        title: "Bins out".into(),
        due_at: Some("2026-11-23".into()),
        all_day: true,
        timezone: Some("Asia/Karachi".into()),
        recurrence: Some("FREQ=WEEKLY".into()),
        ..TaskInput::default()
    }
    .validate(TimeZone::UTC)
    .unwrap();
    let task = Task::create(
        TaskId::from_uuid(Uuid::from_u128(1)),
        UserId::from_uuid(Uuid::from_u128(2)),
        fields,
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap(),
    )
    .task;
    let done = completed(&task, "2026-11-23T10:00:00Z");
    let due = next_due(&done, at("2026-11-23T10:00:00Z")).unwrap();
    assert!(due.all_day);
    // 00:00 in Karachi (UTC+5) on 30 November.
    assert_eq!(due.at, at("2026-11-29T19:00:00Z"));
}

mod properties {
    use chrono::TimeZone as _;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;
    use crate::recurrence::Recurrence;

    const ZONES: [&str; 4] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
    ];
    const RULES: [&str; 6] = [
        "FREQ=DAILY",
        "FREQ=DAILY;INTERVAL=3",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=HOURLY;INTERVAL=7",
    ];

    proptest! {
        /// The `from_due` next instance is the first occurrence of the series expanded from
        /// the completed instance's due date that lies after both that due date and `now`:
        /// never a missed occurrence, never one skipped over.
        #[test]
        fn from_due_is_the_first_occurrence_after_the_due_date_and_now(
            zone in select(&ZONES[..]),
            rule in select(&RULES[..]),
            due_offset in 0i64..(400 * 24 * 3600),
            now_offset in -(40 * 24 * 3600i64)..(200 * 24 * 3600),
        ) {
            let due_at = Utc.with_ymd_and_hms(2026, 1, 1, 9, 30, 0).unwrap()
                + chrono::TimeDelta::seconds(due_offset - due_offset % 60);
            let now = due_at + chrono::TimeDelta::seconds(now_offset);
            let task = recurring(
                &crate::task::format_instant(due_at),
                rule,
                RecurrenceMode::FromDue,
                zone,
            );
            let next = next_due(&task, now).unwrap().at;
            let floor = due_at.max(now);
            prop_assert!(next > floor);
            let recurrence = Recurrence::parse(rule).unwrap();
            let zone = TimeZone::parse(zone).unwrap();
            let expected = recurrence
                .occurrences(due_at, zone)
                .find(|instant| *instant > floor)
                .unwrap();
            prop_assert_eq!(next, expected);
        }
    }
}
