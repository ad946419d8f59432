use chrono::{DateTime, TimeZone as _, Utc};
use uuid::Uuid;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn input(title: &str) -> TaskInput {
    TaskInput {
        title: title.to_owned(),
        ..TaskInput::default()
    }
}

fn karachi() -> TimeZone {
    TimeZone::parse("Asia/Karachi").unwrap()
}

fn codes(error: &ValidationErrors) -> Vec<(String, &'static str)> {
    error
        .errors()
        .iter()
        .map(|e| (e.field.clone(), e.code))
        .collect()
}

fn new_task(fields: TaskFields) -> Task {
    Task::create(
        TaskId::from_uuid(Uuid::from_u128(1)),
        UserId::from_uuid(Uuid::from_u128(2)),
        fields,
        now(),
    )
    .task
}

#[test]
fn a_minimal_task_takes_the_owners_zone_and_defaults() {
    let fields = input("  pay rent ").validate(karachi()).unwrap();
    assert_eq!(fields.title.as_str(), "pay rent");
    assert_eq!(fields.timezone, karachi());
    assert_eq!(fields.priority, Priority::None);
    assert_eq!(fields.status, TaskStatus::Todo);
    assert_eq!(fields.due, None);
}

#[test]
fn every_invalid_field_is_reported_at_once() {
    let error = TaskInput {
        title: "x".repeat(501),
        description: "d".repeat(20_001),
        timezone: Some("Mars/Base".into()),
        tags: vec!["ok".into(), "not ok".into()],
        recurrence: Some("FREQ=NEVER".into()),
        reminders: vec!["soon".into()],
        due_at: Some("tomorrow".into()),
        ..TaskInput::default()
    }
    .validate(TimeZone::UTC)
    .unwrap_err();
    let fields: Vec<String> = codes(&error).into_iter().map(|(f, _)| f).collect();
    for expected in [
        "title",
        "description",
        "timezone",
        "due_at",
        "tags[1]",
        "reminders[0]",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} missing from {fields:?}"
        );
    }
}

#[test]
fn blank_titles_and_titles_with_line_breaks_are_refused() {
    assert_eq!(
        codes(&input("   ").validate(TimeZone::UTC).unwrap_err()),
        [("title".to_owned(), "required")]
    );
    assert_eq!(
        codes(&input("a\nb").validate(TimeZone::UTC).unwrap_err()),
        [("title".to_owned(), "invalid_character")]
    );
    assert!(input(&"é".repeat(500)).validate(TimeZone::UTC).is_ok());
}

#[test]
fn an_all_day_due_date_is_local_midnight_of_that_date() {
    let fields = TaskInput {
        due_at: Some("2026-11-25".into()),
        all_day: true,
        ..input("t")
    }
    .validate(karachi())
    .unwrap();
    let due = fields.due.unwrap();
    assert!(due.all_day);
    assert_eq!(format_instant(due.at), "2026-11-24T19:00:00Z");

    // An instant is reduced to its local date.
    let fields = TaskInput {
        due_at: Some("2026-11-25T21:30:00Z".into()),
        all_day: true,
        ..input("t")
    }
    .validate(karachi())
    .unwrap();
    assert_eq!(
        format_instant(fields.due.unwrap().at),
        "2026-11-25T19:00:00Z"
    );
}

#[test]
fn a_date_without_a_time_needs_all_day() {
    let error = TaskInput {
        due_at: Some("2026-11-25".into()),
        ..input("t")
    }
    .validate(TimeZone::UTC)
    .unwrap_err();
    assert_eq!(codes(&error), [("due_at".to_owned(), "missing_time")]);
    let error = TaskInput {
        all_day: true,
        ..input("t")
    }
    .validate(TimeZone::UTC)
    .unwrap_err();
    assert_eq!(codes(&error), [("all_day".to_owned(), "requires_due_at")]);
}

#[test]
fn recurrence_and_relative_reminders_need_a_due_date() {
    let error = TaskInput {
        recurrence: Some("FREQ=DAILY".into()),
        reminders: vec!["-PT30M".into(), "2026-11-22T08:00:00Z".into()],
        ..input("t")
    }
    .validate(TimeZone::UTC)
    .unwrap_err();
    assert_eq!(
        codes(&error),
        [
            ("recurrence".to_owned(), "requires_due_at"),
            ("reminders[0]".to_owned(), "requires_due_at")
        ]
    );
}

#[test]
fn changing_the_zone_of_an_all_day_task_keeps_its_calendar_day() {
    let task = new_task(
        TaskInput {
            due_at: Some("2026-11-25".into()),
            all_day: true,
            ..input("t")
        }
        .validate(karachi())
        .unwrap(),
    );
    let mut edited = TaskInput::from(&task.fields);
    edited.timezone = Some("America/New_York".into());
    let fields = edited.validate(karachi()).unwrap();
    let change = task.edit(fields, now()).unwrap();
    assert_eq!(
        format_instant(change.task.fields.due.unwrap().at),
        "2026-11-25T05:00:00Z"
    );
    assert_eq!(change.changed_fields, ["due_at", "timezone"]);
}

#[test]
fn completing_sets_completed_at_and_is_a_no_op_the_second_time() {
    let task = new_task(input("t").validate(TimeZone::UTC).unwrap());
    let later = now() + chrono::TimeDelta::hours(1);
    let change = task.complete(later).unwrap();
    assert_eq!(change.kind, TaskChangeKind::Completed);
    assert_eq!(change.task.completed_at, Some(later));
    assert_eq!(change.task.version, 2);
    assert_eq!(change.changed_fields, ["status", "completed_at"]);
    assert!(change.task.complete(later).is_none());

    let reopened = change.task.reopen(later).unwrap();
    assert_eq!(reopened.kind, TaskChangeKind::Reopened);
    assert_eq!(reopened.task.completed_at, None);
    assert_eq!(reopened.task.fields.status, TaskStatus::Todo);
    assert!(reopened.task.reopen(later).is_none());
}

#[test]
fn an_edit_that_changes_nothing_is_not_a_change() {
    let task = new_task(input("t").validate(TimeZone::UTC).unwrap());
    let same = TaskInput::from(&task.fields)
        .validate(TimeZone::UTC)
        .unwrap();
    assert!(task.edit(same, now()).is_none());
}

#[test]
fn overdue_means_open_and_past_due() {
    let task = new_task(
        TaskInput {
            due_at: Some("2026-11-21T11:00:00Z".into()),
            ..input("t")
        }
        .validate(TimeZone::UTC)
        .unwrap(),
    );
    assert!(task.is_overdue(now()));
    assert!(!task.complete(now()).unwrap().task.is_overdue(now()));
}

#[test]
fn priorities_order_from_none_to_urgent() {
    assert!(Priority::Urgent > Priority::High && Priority::Low > Priority::None);
    for priority in Priority::ALL {
        assert_eq!(Priority::from_rank(priority.rank()), Some(priority));
        assert_eq!(Priority::parse(priority.as_str()), Some(priority));
    }
}
