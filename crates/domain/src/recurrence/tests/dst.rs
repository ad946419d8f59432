//! Daylight-saving changes. Transition dates of 2026 from the tz database: Europe/Berlin
//! 29 March 02:00→03:00 and 25 October 03:00→02:00; America/New_York 8 March and 1 November;
//! America/Santiago 4/5 April 24:00→23:00 and 6 September 00:00→01:00; Australia/Sydney
//! 5 April 03:00→02:00 and 4 October 02:00→03:00; Europe/London 29 March 01:00→02:00.

use super::{at, rule, show, zone, zoned_series};

#[test]
fn a_daily_rule_keeps_its_local_time_across_both_berlin_transitions() {
    let spring = zoned_series("FREQ=DAILY", "Europe/Berlin", "2026-03-27 09:00", 4);
    assert_eq!(
        spring,
        [
            "2026-03-27 09:00 +01:00",
            "2026-03-28 09:00 +01:00",
            "2026-03-29 09:00 +02:00",
            "2026-03-30 09:00 +02:00",
        ]
    );
    let autumn = zoned_series("FREQ=DAILY", "Europe/Berlin", "2026-10-24 09:00", 3);
    assert_eq!(
        autumn,
        [
            "2026-10-24 09:00 +02:00",
            "2026-10-25 09:00 +01:00",
            "2026-10-26 09:00 +01:00"
        ]
    );
    // The UTC instants move by the offset change.
    let berlin = zone("Europe/Berlin");
    let instants: Vec<String> = rule("FREQ=DAILY")
        .occurrences(at(berlin, "2026-03-28 09:00"), berlin)
        .take(2)
        .map(|t| t.to_rfc3339())
        .collect();
    assert_eq!(
        instants,
        ["2026-03-28T08:00:00+00:00", "2026-03-29T07:00:00+00:00"]
    );
}

#[test]
fn a_weekly_rule_keeps_its_local_time_in_new_york() {
    let series = zoned_series(
        "FREQ=WEEKLY;BYDAY=SU,MO",
        "America/New_York",
        "2026-03-01 09:00",
        4,
    );
    assert_eq!(
        series,
        [
            "2026-03-01 09:00 -05:00",
            "2026-03-02 09:00 -05:00",
            "2026-03-08 09:00 -04:00",
            "2026-03-09 09:00 -04:00",
        ]
    );
    let autumn = zoned_series(
        "FREQ=DAILY;BYHOUR=1;BYMINUTE=30",
        "America/New_York",
        "2026-10-31 01:30",
        3,
    );
    assert_eq!(
        autumn,
        [
            "2026-10-31 01:30 -04:00",
            "2026-11-01 01:30 -04:00",
            "2026-11-02 01:30 -05:00"
        ]
    );
}

#[test]
fn a_time_skipped_by_spring_forward_is_dropped_and_not_counted() {
    let berlin = zoned_series(
        "FREQ=DAILY;COUNT=3",
        "Europe/Berlin",
        "2026-03-28 02:30",
        10,
    );
    assert_eq!(
        berlin,
        [
            "2026-03-28 02:30 +01:00",
            "2026-03-30 02:30 +02:00",
            "2026-03-31 02:30 +02:00"
        ]
    );
    // Sydney's spring-forward is a Sunday in October.
    let sydney = zoned_series(
        "FREQ=WEEKLY;BYDAY=SU",
        "Australia/Sydney",
        "2026-09-27 02:30",
        3,
    );
    assert_eq!(
        sydney,
        [
            "2026-09-27 02:30 +10:00",
            "2026-10-11 02:30 +11:00",
            "2026-10-18 02:30 +11:00"
        ]
    );
    // BYMINUTE times inside the gap go, the ones outside stay.
    let expanded = zoned_series(
        "FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=30",
        "Europe/Berlin",
        "2026-03-29 01:30",
        3,
    );
    assert_eq!(
        expanded,
        [
            "2026-03-29 01:30 +01:00",
            "2026-03-29 03:30 +02:00",
            "2026-03-30 01:30 +02:00"
        ]
    );
}

#[test]
fn a_repeated_fall_back_time_means_its_first_occurrence() {
    let berlin = zoned_series("FREQ=DAILY", "Europe/Berlin", "2026-10-24 02:30", 3);
    assert_eq!(
        berlin,
        [
            "2026-10-24 02:30 +02:00",
            "2026-10-25 02:30 +02:00",
            "2026-10-26 02:30 +01:00"
        ]
    );
}

#[test]
fn santiagos_midnight_changes_skip_and_repeat_local_times() {
    // 00:30 does not exist on 6 September 2026.
    let gap = zoned_series(
        "FREQ=DAILY;COUNT=3",
        "America/Santiago",
        "2026-09-04 00:30",
        10,
    );
    assert_eq!(
        gap,
        [
            "2026-09-04 00:30 -04:00",
            "2026-09-05 00:30 -04:00",
            "2026-09-07 00:30 -03:00"
        ]
    );
    // 23:30 happens twice on 4 April 2026; the first (summer time, -03:00) is meant.
    let repeated = zoned_series("FREQ=DAILY", "America/Santiago", "2026-04-03 23:30", 3);
    assert_eq!(
        repeated,
        [
            "2026-04-03 23:30 -03:00",
            "2026-04-04 23:30 -03:00",
            "2026-04-05 23:30 -04:00"
        ]
    );
    // A monthly rule on the 6th at 09:00 is unaffected by the midnight change.
    let monthly = zoned_series("FREQ=MONTHLY", "America/Santiago", "2026-08-06 09:00", 2);
    assert_eq!(
        monthly,
        ["2026-08-06 09:00 -04:00", "2026-09-06 09:00 -03:00"]
    );
}

#[test]
fn hourly_rules_step_through_elapsed_hours_across_spring_forward() {
    // The `rrule` crate yields 01:00Z twice here; every elapsed hour must appear once.
    let london = zone("Europe/London");
    let instants: Vec<String> = rule("FREQ=HOURLY;COUNT=4")
        .occurrences(at(london, "2026-03-28 23:00"), london)
        .map(|t| t.to_rfc3339())
        .collect();
    assert_eq!(
        instants,
        [
            "2026-03-28T23:00:00+00:00",
            "2026-03-29T00:00:00+00:00",
            "2026-03-29T01:00:00+00:00",
            "2026-03-29T02:00:00+00:00",
        ]
    );
    let new_york = zoned_series(
        "FREQ=HOURLY;INTERVAL=3",
        "America/New_York",
        "2026-03-08 00:00",
        3,
    );
    assert_eq!(
        new_york,
        [
            "2026-03-08 00:00 -05:00",
            "2026-03-08 04:00 -04:00",
            "2026-03-08 07:00 -04:00"
        ]
    );
}

#[test]
fn hourly_rules_visit_the_repeated_hour_twice_across_fall_back() {
    let berlin = zoned_series(
        "FREQ=HOURLY;COUNT=4",
        "Europe/Berlin",
        "2026-10-25 01:00",
        10,
    );
    assert_eq!(
        berlin,
        [
            "2026-10-25 01:00 +02:00",
            "2026-10-25 02:00 +02:00",
            "2026-10-25 02:00 +01:00",
            "2026-10-25 03:00 +01:00",
        ]
    );
}

#[test]
fn hourly_filters_are_read_on_the_local_clock() {
    let daily_at_nine = zoned_series(
        "FREQ=HOURLY;BYHOUR=9",
        "Europe/Berlin",
        "2026-03-28 09:00",
        3,
    );
    assert_eq!(
        daily_at_nine,
        [
            "2026-03-28 09:00 +01:00",
            "2026-03-29 09:00 +02:00",
            "2026-03-30 09:00 +02:00"
        ]
    );
    // Kolkata is UTC+05:30, so local minute 15 is UTC minute 45.
    let kolkata = zone("Asia/Kolkata");
    let series: Vec<String> = rule("FREQ=HOURLY;BYMINUTE=15,45;COUNT=4")
        .occurrences(at(kolkata, "2026-01-01 10:15"), kolkata)
        .map(|t| show(kolkata, t))
        .collect();
    assert_eq!(
        series,
        [
            "2026-01-01 10:15 +05:30",
            "2026-01-01 10:45 +05:30",
            "2026-01-01 11:15 +05:30",
            "2026-01-01 11:45 +05:30",
        ]
    );
}

#[test]
fn rules_whose_every_candidate_falls_into_a_gap_yield_nothing_and_end() {
    // Berlin's last Sunday of March at 02:30 never exists. chrono-tz computes transitions up
    // to 2099 only (afterwards the zone keeps standard time), so the rule matches again from
    // 2100; until then the engine must skip every year without hanging.
    let series = zoned_series(
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU;BYHOUR=2;BYMINUTE=30",
        "Europe/Berlin",
        "2026-01-01 02:30",
        2,
    );
    assert_eq!(
        series,
        ["2026-01-01 02:30 +01:00", "2100-03-28 02:30 +01:00"]
    );
}

#[test]
fn historical_offsets_come_from_the_tz_database() {
    // Berlin kept summer time in 1945 until 18 November (UTC+02:00 on 1 November).
    let series = zoned_series(
        "FREQ=WEEKLY;COUNT=3",
        "Europe/Berlin",
        "1945-11-01 12:00",
        3,
    );
    assert_eq!(
        series,
        [
            "1945-11-01 12:00 +02:00",
            "1945-11-08 12:00 +02:00",
            "1945-11-15 12:00 +02:00"
        ]
    );
}

#[test]
fn hourly_steps_stay_whole_elapsed_hours_across_a_half_hour_change() {
    // Lord Howe Island moves from +10:30 to +11:00 at 02:00 local on 4 October 2026.
    let series = zoned_series(
        "FREQ=HOURLY;COUNT=4",
        "Australia/Lord_Howe",
        "2026-10-04 00:00",
        4,
    );
    assert_eq!(
        series,
        [
            "2026-10-04 00:00 +10:30",
            "2026-10-04 01:00 +10:30",
            "2026-10-04 02:30 +11:00",
            "2026-10-04 03:30 +11:00",
        ]
    );
    // An explicit minute is read on the local clock, so the changing hour has no match.
    let on_the_hour = zoned_series(
        "FREQ=HOURLY;BYMINUTE=0;COUNT=4",
        "Australia/Lord_Howe",
        "2026-10-04 00:00",
        4,
    );
    assert_eq!(
        on_the_hour,
        [
            "2026-10-04 00:00 +10:30",
            "2026-10-04 01:00 +10:30",
            "2026-10-04 03:00 +11:00",
            "2026-10-04 04:00 +11:00",
        ]
    );
}
