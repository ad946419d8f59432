//! `next_from_completion`: INTERVAL × FREQ counted from the completion time.

use super::{at, rule, show, zone};

/// `(rule, all_day, previous due, completed at, expected next due)`, local times in `zone`.
type Case = (&'static str, bool, &'static str, &'static str, &'static str);

fn check(zone_name: &str, cases: &[Case]) {
    let zone = zone(zone_name);
    for (body, all_day, due, completed, expected) in cases {
        let next = rule(body)
            .next_from_completion(at(zone, due), *all_day, zone, at(zone, completed))
            .map(|t| show(zone, t));
        assert_eq!(
            next.as_deref(),
            Some(*expected),
            "{body} completed {completed}"
        );
    }
}

#[test]
fn calendar_frequencies_count_from_the_local_completion_date_at_the_due_time_of_day() {
    check(
        "Europe/Berlin",
        &[
            (
                "FREQ=DAILY;INTERVAL=3",
                false,
                "2026-01-10 09:00",
                "2026-01-12 22:00",
                "2026-01-15 09:00 +01:00",
            ),
            // 23:30 in Berlin is already the next day in UTC; the local date counts.
            (
                "FREQ=DAILY",
                false,
                "2026-01-10 09:00",
                "2026-01-12 23:30",
                "2026-01-13 09:00 +01:00",
            ),
            // Completing early counts from the completion too.
            (
                "FREQ=WEEKLY;INTERVAL=2",
                false,
                "2026-06-10 18:00",
                "2026-06-08 07:00",
                "2026-06-22 18:00 +02:00",
            ),
            // BYxxx parts do not move the date.
            (
                "FREQ=WEEKLY;BYDAY=MO",
                false,
                "2026-06-08 08:00",
                "2026-06-10 12:00",
                "2026-06-17 08:00 +02:00",
            ),
            (
                "FREQ=MONTHLY",
                false,
                "2026-01-31 09:00",
                "2026-01-31 10:00",
                "2026-02-28 09:00 +01:00",
            ),
            (
                "FREQ=MONTHLY",
                false,
                "2028-01-31 09:00",
                "2028-01-31 10:00",
                "2028-02-29 09:00 +01:00",
            ),
            (
                "FREQ=MONTHLY;INTERVAL=3",
                false,
                "2026-11-30 09:00",
                "2026-11-30 09:30",
                "2027-02-28 09:00 +01:00",
            ),
            (
                "FREQ=YEARLY",
                false,
                "2028-02-29 09:00",
                "2028-02-29 11:00",
                "2029-02-28 09:00 +01:00",
            ),
            // The local time of day survives a DST change.
            (
                "FREQ=DAILY",
                false,
                "2026-03-28 09:00",
                "2026-03-28 12:00",
                "2026-03-29 09:00 +02:00",
            ),
        ],
    );
}

#[test]
fn all_day_tasks_stay_at_local_midnight() {
    check(
        "Europe/Berlin",
        &[
            (
                "FREQ=DAILY",
                true,
                "2026-03-28 00:00",
                "2026-03-28 15:00",
                "2026-03-29 00:00 +01:00",
            ),
            (
                "FREQ=WEEKLY",
                true,
                "2026-10-20 00:00",
                "2026-10-21 23:59",
                "2026-10-28 00:00 +01:00",
            ),
        ],
    );
    // Midnight does not exist in Santiago on 6 September 2026: the day starts at 01:00.
    check(
        "America/Santiago",
        &[(
            "FREQ=DAILY",
            true,
            "2026-09-05 00:00",
            "2026-09-05 08:00",
            "2026-09-06 01:00 -03:00",
        )],
    );
}

#[test]
fn a_due_time_in_a_spring_forward_gap_moves_forward_instead_of_disappearing() {
    check(
        "Europe/Berlin",
        &[(
            "FREQ=DAILY",
            false,
            "2026-03-27 02:30",
            "2026-03-28 08:00",
            "2026-03-29 03:30 +02:00",
        )],
    );
}

#[test]
fn hourly_rules_add_elapsed_hours_to_the_completion_instant() {
    check(
        "Europe/Berlin",
        &[
            (
                "FREQ=HOURLY;INTERVAL=2",
                false,
                "2026-03-28 20:00",
                "2026-03-29 00:30",
                "2026-03-29 03:30 +02:00",
            ),
            (
                "FREQ=HOURLY",
                false,
                "2026-01-01 08:00",
                "2026-01-01 08:17",
                "2026-01-01 09:17 +01:00",
            ),
        ],
    );
}

#[test]
fn the_series_ends_once_the_next_due_date_passes_until() {
    let berlin = zone("Europe/Berlin");
    let until = rule("FREQ=DAILY;UNTIL=20260110T230000Z");
    let due = at(berlin, "2026-01-09 09:00");
    let inside = until.next_from_completion(due, false, berlin, at(berlin, "2026-01-09 10:00"));
    assert_eq!(
        inside.map(|t| show(berlin, t)).as_deref(),
        Some("2026-01-10 09:00 +01:00")
    );
    let after = until.next_from_completion(due, false, berlin, at(berlin, "2026-01-10 10:00"));
    assert_eq!(after, None);
}
