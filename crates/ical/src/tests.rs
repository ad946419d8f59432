use chrono::{DateTime, Utc};
use proptest::prelude::*;
use tickler_domain::{Task, TaskId, TaskInput, TimeZone, UserId};
use uuid::Uuid;

use super::*;
use crate::content::{MAX_LINE_OCTETS, split_list, unescape_text, unfold};

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn task(input: TaskInput) -> Task {
    let fields = input.validate(TimeZone::UTC).unwrap();
    let now = instant("2026-11-01T08:00:00Z");
    Task::create(
        TaskId::from_uuid(Uuid::from_u128(7)),
        UserId::from_uuid(Uuid::from_u128(1)),
        fields,
        now,
    )
    .task
}

fn base(title: &str, due: &str, zone: &str) -> TaskInput {
    TaskInput {
        title: title.to_owned(),
        due_at: Some(due.to_owned()),
        timezone: Some(zone.to_owned()),
        ..TaskInput::default()
    }
}

/// The unfolded content lines of a calendar.
fn lines(calendar: &str) -> Vec<String> {
    unfold(calendar)
}

/// The lines between `BEGIN:<name>` and its `END`, for the first such component.
fn component(calendar: &str, name: &str) -> Vec<String> {
    let all = lines(calendar);
    let begin = all
        .iter()
        .position(|l| *l == format!("BEGIN:{name}"))
        .unwrap();
    let end = all
        .iter()
        .position(|l| *l == format!("END:{name}"))
        .unwrap();
    all[begin..=end].to_vec()
}

fn has(lines: &[String], line: &str) -> bool {
    lines.iter().any(|l| l == line)
}

#[test]
fn an_all_day_task_is_due_on_a_date() {
    let input = TaskInput {
        all_day: true,
        ..base("Pay rent", "2026-12-01", "Asia/Karachi")
    };
    let calendar = write_calendar(&[task(input)], &CalendarOptions::default());
    let todo = component(&calendar, "VTODO");
    assert!(has(&todo, "DUE;VALUE=DATE:20261201"), "{todo:?}");
    // A DATE takes no TZID: the zone is named by tickler's own property.
    assert!(has(&todo, "X-TICKLER-TZ:Asia/Karachi"), "{todo:?}");
    assert!(!calendar.contains("BEGIN:VTIMEZONE"));
    assert!(has(&todo, "STATUS:NEEDS-ACTION"));
    assert!(has(&todo, "PRIORITY:0"));
}

#[test]
fn a_timed_task_is_due_at_local_time_with_its_zone_described() {
    let input = TaskInput {
        priority: Priority::Urgent,
        tags: vec!["work".into(), "q4".into()],
        reminders: vec!["-PT30M".into(), "2026-11-21T08:00:00Z".into()],
        description: "line one\nline two; with, commas".into(),
        ..base("Call Anna", "2026-11-21T16:00:00Z", "Europe/Berlin")
    };
    let calendar = write_calendar(
        &[task(input)],
        &CalendarOptions {
            name: Some("Work, mostly".into()),
            refresh_minutes: Some(60),
            undated: false,
        },
    );
    let todo = component(&calendar, "VTODO");
    assert!(
        has(&todo, "DUE;TZID=Europe/Berlin:20261121T170000"),
        "{todo:?}"
    );
    // The TZID names the zone: no second name.
    assert!(
        !todo.iter().any(|l| l.starts_with("X-TICKLER-TZ")),
        "{todo:?}"
    );
    assert!(has(&todo, "PRIORITY:1"));
    assert!(has(&todo, "CATEGORIES:work,q4") || has(&todo, "CATEGORIES:q4,work"));
    assert!(has(
        &todo,
        "DESCRIPTION:line one\\nline two\\; with\\, commas"
    ));
    assert!(has(&todo, "TRIGGER;RELATED=END:-PT30M"));
    assert!(has(&todo, "TRIGGER;VALUE=DATE-TIME:20261121T080000Z"));
    assert!(has(&lines(&calendar), "X-WR-CALNAME:Work\\, mostly"));
    let zone = component(&calendar, "VTIMEZONE");
    assert!(has(&zone, "TZID:Europe/Berlin"));
    assert!(
        has(&zone, "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU"),
        "{zone:?}"
    );
    assert!(
        has(&zone, "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU"),
        "{zone:?}"
    );
    assert!(has(&zone, "TZOFFSETTO:+0200"));
    assert!(has(&zone, "TZNAME:CEST"));
}

#[test]
fn an_undated_task_is_a_vtodo_without_due_only_when_asked_for() {
    let undated = TaskInput {
        title: "Someday".to_owned(),
        reminders: vec!["2026-11-21T08:00:00Z".into()],
        tags: vec!["later".into()],
        ..TaskInput::default()
    };
    let tasks = [task(undated)];
    let feed = write_calendar(&tasks, &CalendarOptions::default());
    assert!(!has(&lines(&feed), "BEGIN:VTODO"), "{feed}");
    let export = write_calendar(
        &tasks,
        &CalendarOptions {
            undated: true,
            ..CalendarOptions::default()
        },
    );
    let todo = component(&export, "VTODO");
    assert!(has(&todo, "SUMMARY:Someday"), "{todo:?}");
    assert!(has(&todo, "CATEGORIES:later"));
    assert!(has(&todo, "TRIGGER;VALUE=DATE-TIME:20261121T080000Z"));
    assert!(
        !todo
            .iter()
            .any(|l| l.starts_with("DUE") || l.starts_with("DTSTART") || l.starts_with("RRULE")),
        "{todo:?}"
    );
    assert!(!has(&lines(&export), "BEGIN:VTIMEZONE"));
}

#[test]
fn new_york_changes_on_the_second_sunday_of_march_and_the_first_of_november() {
    let calendar = write_calendar(
        &[task(base("x", "2026-07-01T12:00:00Z", "America/New_York"))],
        &CalendarOptions::default(),
    );
    let zone = component(&calendar, "VTIMEZONE");
    assert!(
        has(&zone, "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU"),
        "{zone:?}"
    );
    assert!(
        has(&zone, "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU"),
        "{zone:?}"
    );
    assert!(has(&zone, "TZOFFSETFROM:-0500"));
}

#[test]
fn a_zone_without_daylight_saving_has_one_standard_observance() {
    let calendar = write_calendar(
        &[task(base("x", "2026-07-01T12:00:00Z", "Asia/Karachi"))],
        &CalendarOptions::default(),
    );
    let zone = component(&calendar, "VTIMEZONE");
    assert_eq!(
        zone.iter().filter(|l| *l == "BEGIN:STANDARD").count(),
        1,
        "{zone:?}"
    );
    assert!(!zone.iter().any(|l| l == "BEGIN:DAYLIGHT"));
    assert!(has(&zone, "TZOFFSETTO:+0500"));
}

#[test]
fn utc_tasks_and_the_repeated_hour_are_written_in_utc() {
    let utc = task(base("x", "2026-07-01T12:00:00Z", "UTC"));
    // 01:30 EST on 2026-11-01 is the second pass of New York's repeated hour.
    let repeated = task(base("y", "2026-11-01T06:30:00Z", "America/New_York"));
    let first_pass = task(base("z", "2026-11-01T05:30:00Z", "America/New_York"));
    let mut out = String::new();
    todo_lines(&mut out, &utc);
    todo_lines(&mut out, &repeated);
    todo_lines(&mut out, &first_pass);
    let all = lines(&out);
    assert!(has(&all, "DUE:20260701T120000Z"));
    assert!(has(&all, "DUE:20261101T063000Z"));
    assert!(has(&all, "DUE;TZID=America/New_York:20261101T013000"));
}

#[test]
fn a_recurring_task_starts_its_rule_at_its_due_date() {
    let input = TaskInput {
        recurrence: Some("FREQ=WEEKLY;BYDAY=MO,WE".into()),
        status: TaskStatus::InProgress,
        ..base("Standup", "2026-11-02T08:30:00Z", "Europe/London")
    };
    let calendar = write_calendar(&[task(input)], &CalendarOptions::default());
    let todo = component(&calendar, "VTODO");
    assert!(has(&todo, "DTSTART;TZID=Europe/London:20261102T083000"));
    assert!(has(&todo, "DUE;TZID=Europe/London:20261102T083000"));
    assert!(has(&todo, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE"));
    assert!(has(&todo, "STATUS:IN-PROCESS"));
}

#[test]
fn until_is_written_in_utc_beside_a_local_start_and_as_a_date_for_all_day_tasks() {
    let berlin = TimeZone::parse("Europe/Berlin").unwrap();
    let rule = "FREQ=DAILY;UNTIL=20261130T090000;BYHOUR=9";
    assert_eq!(
        rrule_body(rule, berlin, false),
        "FREQ=DAILY;UNTIL=20261130T080000Z;BYHOUR=9"
    );
    assert_eq!(
        rrule_body("FREQ=DAILY;UNTIL=20260701", berlin, false),
        "FREQ=DAILY;UNTIL=20260701T215959Z"
    );
    assert_eq!(
        rrule_body("FREQ=DAILY;UNTIL=20260701T215959Z", berlin, false),
        "FREQ=DAILY;UNTIL=20260701T215959Z"
    );
    assert_eq!(
        rrule_body("FREQ=DAILY;UNTIL=20260701T215959Z", berlin, true),
        "FREQ=DAILY;UNTIL=20260701"
    );
    assert_eq!(
        rrule_body("FREQ=DAILY;UNTIL=20260701T120000", berlin, true),
        "FREQ=DAILY;UNTIL=20260701"
    );
    assert_eq!(
        rrule_body("FREQ=WEEKLY;UNTIL=20260701;COUNT=3", berlin, true),
        "FREQ=WEEKLY;UNTIL=20260701;COUNT=3"
    );
}

#[test]
fn tasks_without_a_due_date_are_left_out() {
    let input = TaskInput {
        title: "Someday".into(),
        ..TaskInput::default()
    };
    let calendar = write_calendar(&[task(input)], &CalendarOptions::default());
    assert!(!calendar.contains("BEGIN:VTODO"));
    assert!(calendar.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
    assert!(calendar.ends_with("END:VCALENDAR\r\n"));
}

#[test]
fn durations_use_weeks_days_and_time_parts() {
    assert_eq!(format_duration(-1800), "-PT30M");
    assert_eq!(format_duration(86_400), "P1D");
    assert_eq!(format_duration(-7 * 86_400), "-P1W");
    assert_eq!(format_duration(90_061), "P1DT1H1M1S");
    assert_eq!(format_duration(0), "PT0S");
}

#[test]
fn priorities_follow_rfc_5545_order() {
    let values: Vec<u8> = Priority::ALL.into_iter().map(priority_value).collect();
    assert_eq!(values, [0, 9, 5, 3, 1]);
}

fn property(calendar: &str, name: &str) -> String {
    lines(calendar)
        .into_iter()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_owned))
        .unwrap()
}

proptest! {
    #[test]
    fn any_title_description_and_tags_round_trip_within_75_octet_lines(
        title in "[^\\p{Cc}]{0,120}[^\\p{Cc}\\s]",
        description in "([^\\p{Cc}]|\n|\t){0,300}",
        tags in proptest::collection::btree_set("[\\p{L}\\p{N}_-]{1,20}", 0..5),
    ) {
        let input = TaskInput {
            title: title.clone(),
            description: description.clone(),
            tags: tags.iter().cloned().collect(),
            reminders: vec!["-PT5M".into()],
            ..base("placeholder", "2026-03-29T00:30:00Z", "Europe/Paris")
        };
        let Ok(fields) = input.validate(TimeZone::UTC) else {
            // Inputs the domain refuses (for example a title of only spaces) have no feed.
            return Ok(());
        };
        let task = Task::create(
            TaskId::from_uuid(Uuid::from_u128(9)),
            UserId::from_uuid(Uuid::from_u128(1)),
            fields.clone(),
            instant("2026-01-01T00:00:00Z"),
        ).task;
        let calendar = write_calendar(&[task], &CalendarOptions { name: Some(title.clone()), refresh_minutes: None, undated: false });
        for physical in calendar.split("\r\n") {
            prop_assert!(physical.len() <= MAX_LINE_OCTETS, "{physical:?}");
            prop_assert!(!physical.contains('\n') && !physical.contains('\r'));
        }
        prop_assert_eq!(unescape_text(&property(&calendar, "SUMMARY")), fields.title.as_str());
        prop_assert_eq!(unescape_text(&property(&calendar, "X-WR-CALNAME")), title);
        if !fields.description.is_empty() {
            prop_assert_eq!(unescape_text(&property(&calendar, "DESCRIPTION")), fields.description);
        }
        if !fields.tags.is_empty() {
            let expected: Vec<String> = fields.tags.iter().map(|t| t.as_str().to_owned()).collect();
            prop_assert_eq!(split_list(&property(&calendar, "CATEGORIES")), expected);
        }
    }
}
