//! `next_after` and `first_match_at_or_after`.

use super::{at, rule, show, zone};

#[test]
fn next_after_returns_the_first_instance_strictly_after_the_given_instant() {
    let utc = zone("UTC");
    let daily = rule("FREQ=DAILY");
    let start = at(utc, "2026-01-01 09:00");
    let next = |after: &str| {
        daily
            .next_after(start, utc, at(utc, after))
            .map(|t| show(utc, t))
    };
    assert_eq!(
        next("2026-01-05 09:00").as_deref(),
        Some("2026-01-06 09:00 +00:00")
    );
    assert_eq!(
        next("2026-01-05 08:59").as_deref(),
        Some("2026-01-05 09:00 +00:00")
    );
    assert_eq!(
        next("2025-06-01 00:00").as_deref(),
        Some("2026-01-01 09:00 +00:00")
    );
}

#[test]
fn next_after_is_none_once_count_or_until_has_ended_the_series() {
    let utc = zone("UTC");
    let start = at(utc, "2026-01-01 09:00");
    let counted = rule("FREQ=DAILY;COUNT=3");
    assert_eq!(
        counted.next_after(start, utc, at(utc, "2026-01-02 09:00")),
        Some(at(utc, "2026-01-03 09:00"))
    );
    assert_eq!(
        counted.next_after(start, utc, at(utc, "2026-01-03 09:00")),
        None
    );
    let until = rule("FREQ=WEEKLY;UNTIL=20260115T090000Z");
    assert_eq!(
        until.next_after(start, utc, at(utc, "2026-01-15 09:00")),
        None
    );
}

/// `(rule, seed, from, expected)` in Europe/Berlin; the seed carries the time of day.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
);

#[test]
fn first_match_finds_the_first_instant_matching_the_pattern_at_or_after_from() {
    let berlin = zone("Europe/Berlin");
    let cases: &[Case] = &[
        // "every tuesday at 9am" said on Wednesday 3 June 2026 at 10:00.
        (
            "FREQ=WEEKLY;BYDAY=TU",
            "2026-06-03 09:00",
            "2026-06-03 10:00",
            Some("2026-06-09 09:00 +02:00"),
        ),
        // Said on a Tuesday before 09:00 it is today, after 09:00 next week.
        (
            "FREQ=WEEKLY;BYDAY=TU",
            "2026-06-09 09:00",
            "2026-06-09 08:00",
            Some("2026-06-09 09:00 +02:00"),
        ),
        (
            "FREQ=WEEKLY;BYDAY=TU",
            "2026-06-09 09:00",
            "2026-06-09 09:30",
            Some("2026-06-16 09:00 +02:00"),
        ),
        // INTERVAL counts from the seed's week: the Thursday of this week comes first.
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
            "2026-06-03 09:00",
            "2026-06-03 09:00",
            Some("2026-06-04 09:00 +02:00"),
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=27",
            "2026-06-28 00:00",
            "2026-06-28 00:00",
            Some("2026-07-27 00:00 +02:00"),
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            "2026-06-03 17:00",
            "2026-06-03 12:00",
            Some("2026-06-26 17:00 +02:00"),
        ),
        // All-day rules use local midnight as the seed.
        (
            "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=27",
            "2026-06-03 00:00",
            "2026-06-03 00:00",
            Some("2027-01-27 00:00 +01:00"),
        ),
        // Rules without BYxxx take their day from the seed, which then matches itself.
        (
            "FREQ=WEEKLY",
            "2026-06-03 00:00",
            "2026-06-03 00:00",
            Some("2026-06-03 00:00 +02:00"),
        ),
        (
            "FREQ=HOURLY;INTERVAL=2",
            "2026-06-03 10:17",
            "2026-06-03 10:17",
            Some("2026-06-03 10:17 +02:00"),
        ),
        // A gap time is not a match; the next existing day is.
        (
            "FREQ=DAILY",
            "2026-03-28 02:30",
            "2026-03-28 03:00",
            Some("2026-03-30 02:30 +02:00"),
        ),
        // COUNT does not stop the search (it counts from the instant returned)...
        (
            "FREQ=WEEKLY;BYDAY=MO;COUNT=1",
            "2026-06-03 09:00",
            "2026-07-01 00:00",
            Some("2026-07-06 09:00 +02:00"),
        ),
        // ...but UNTIL does, and so does a rule that never matches.
        (
            "FREQ=DAILY;UNTIL=20260605T000000Z",
            "2026-06-03 09:00",
            "2026-06-05 00:00",
            None,
        ),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "2026-06-03 09:00",
            "2026-06-03 09:00",
            None,
        ),
    ];
    for (body, seed, from, expected) in cases {
        let found = rule(body)
            .first_match_at_or_after(at(berlin, seed), berlin, at(berlin, from))
            .map(|t| show(berlin, t));
        assert_eq!(
            found.as_deref(),
            *expected,
            "{body} seed {seed} from {from}"
        );
    }
}
