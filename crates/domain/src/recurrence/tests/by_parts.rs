//! BYxxx parts that select positions, weeks, year days, months and times of day (UTC, so
//! only the calendar is under test).

use super::{at, check, local_series, rule, zone};

#[test]
fn set_positions_pick_from_each_periods_candidates() {
    check(&[
        // The last weekday of the month.
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "2026-01-01 18:00",
            &[
                "2026-01-01 18:00",
                "2026-01-30 18:00",
                "2026-02-27 18:00",
                "2026-03-31 18:00",
                "2026-04-30 18:00",
                "2026-05-29 18:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYDAY=FR;BYSETPOS=3",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-01-16 09:00", "2026-02-20 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1,-1",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-05 09:00",
                "2026-01-26 09:00",
                "2026-02-02 09:00",
                "2026-02-23 09:00",
            ],
        ),
        // RFC 5545: the third instance of Tuesday, Wednesday or Thursday, for 3 months.
        (
            "FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3",
            "1997-09-04 09:00",
            &["1997-09-04 09:00", "1997-10-07 09:00", "1997-11-06 09:00"],
        ),
        // A WEEKLY period is the whole week (from WKST), also the one holding DTSTART: the
        // first of Tuesday and Saturday in DTSTART's week is the Tuesday before it.
        (
            "FREQ=WEEKLY;BYDAY=TU,SA;BYSETPOS=1",
            "2026-02-04 09:00",
            &["2026-02-04 09:00", "2026-02-10 09:00", "2026-02-17 09:00"],
        ),
        // Positions count times of day too.
        (
            "FREQ=DAILY;BYHOUR=9,12,18;BYSETPOS=-1",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-01-01 18:00", "2026-01-02 18:00"],
        ),
    ]);
}

#[test]
fn year_days_and_week_numbers_count_within_the_year() {
    check(&[
        (
            "FREQ=YEARLY;BYYEARDAY=1,100,-1",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-04-10 09:00",
                "2026-12-31 09:00",
                "2027-01-01 09:00",
            ],
        ),
        (
            "FREQ=YEARLY;BYYEARDAY=366",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2028-12-31 09:00", "2032-12-31 09:00"],
        ),
        (
            "FREQ=YEARLY;BYYEARDAY=-366",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2028-01-01 09:00"],
        ),
        (
            "FREQ=HOURLY;INTERVAL=12;BYYEARDAY=60",
            "2027-01-01 00:00",
            &[
                "2027-01-01 00:00",
                "2027-03-01 00:00",
                "2027-03-01 12:00",
                "2028-02-29 00:00",
            ],
        ),
        // ISO week 20 (weeks start on Monday by default).
        (
            "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-05-11 09:00", "2027-05-17 09:00"],
        ),
        // Week 1 can start in the previous December.
        (
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            "2024-01-01 09:00",
            &[
                "2024-01-01 09:00",
                "2024-12-30 09:00",
                "2025-12-29 09:00",
                "2027-01-04 09:00",
            ],
        ),
        // The last week of the year; 2026 has 53 ISO weeks, its last Monday is 28 December.
        (
            "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=MO",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-12-28 09:00", "2027-12-27 09:00"],
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
            "2024-01-01 09:00",
            &["2024-01-01 09:00", "2026-12-28 09:00", "2032-12-27 09:00"],
        ),
        // Early-January days can close the previous year's last week (ISO: 2039-01-01 is in
        // 2038-W52, and 2038 has no week 53).
        (
            "FREQ=YEARLY;BYWEEKNO=52;BYDAY=SA",
            "2038-01-01 09:00",
            &["2038-01-01 09:00", "2039-01-01 09:00", "2039-12-31 09:00"],
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=53",
            "2038-01-04 09:00",
            &["2038-01-04 09:00", "2043-12-28 09:00"],
        ),
        // With Thursday weeks, 2028's first week (its 53rd from the end) starts on
        // 30 December 2027.
        (
            "FREQ=YEARLY;BYWEEKNO=-53;BYDAY=MO,SA,TH;WKST=TH",
            "2027-01-01 09:00",
            &[
                "2027-01-01 09:00",
                "2027-12-30 09:00",
                "2028-01-01 09:00",
                "2028-01-03 09:00",
            ],
        ),
        // A week number alone selects all seven days of that week.
        (
            "FREQ=YEARLY;BYWEEKNO=2",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-05 09:00",
                "2026-01-06 09:00",
                "2026-01-07 09:00",
            ],
        ),
    ]);
}

#[test]
fn months_and_times_of_day_expand_or_limit_by_frequency() {
    check(&[
        (
            "FREQ=YEARLY;BYMONTH=1,7",
            "2026-01-15 09:00",
            &["2026-01-15 09:00", "2026-07-15 09:00", "2027-01-15 09:00"],
        ),
        (
            "FREQ=DAILY;BYMONTH=12",
            "2026-11-30 09:00",
            &["2026-11-30 09:00", "2026-12-01 09:00", "2026-12-02 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYMONTH=3,9;BYMONTHDAY=1",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-03-01 09:00",
                "2026-09-01 09:00",
                "2027-03-01 09:00",
            ],
        ),
        (
            "FREQ=DAILY;BYHOUR=9,17;BYMINUTE=0,30",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-01 09:30",
                "2026-01-01 17:00",
                "2026-01-01 17:30",
                "2026-01-02 09:00",
            ],
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;BYHOUR=8,20",
            "2026-06-01 08:00",
            &["2026-06-01 08:00", "2026-06-01 20:00", "2026-06-08 08:00"],
        ),
        // HOURLY: BYHOUR limits, BYMINUTE expands.
        (
            "FREQ=HOURLY;BYHOUR=9,10;BYMINUTE=0,30",
            "2026-01-01 08:00",
            &[
                "2026-01-01 08:00",
                "2026-01-01 09:00",
                "2026-01-01 09:30",
                "2026-01-01 10:00",
                "2026-01-01 10:30",
                "2026-01-02 09:00",
            ],
        ),
        (
            "FREQ=HOURLY;INTERVAL=3;BYDAY=SA",
            "2026-06-05 21:00",
            &["2026-06-05 21:00", "2026-06-06 00:00", "2026-06-06 03:00"],
        ),
    ]);
    let with_seconds = local_series("FREQ=DAILY;BYSECOND=0,30", "UTC", "2026-01-01 09:00:00", 3);
    assert_eq!(with_seconds.len(), 3);
    let utc = zone("UTC");
    let instants: Vec<_> = rule("FREQ=DAILY;BYSECOND=0,30")
        .occurrences(at(utc, "2026-01-01 09:00"), utc)
        .take(3)
        .map(|t| t.format("%H:%M:%S").to_string())
        .collect();
    assert_eq!(instants, ["09:00:00", "09:00:30", "09:00:00"]);
}

#[test]
fn week_start_changes_which_weeks_a_biweekly_rule_lands_in() {
    // RFC 5545 section 3.8.5.3: the same rule with WKST=MO and WKST=SU.
    check(&[
        (
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO",
            "1997-08-05 09:00",
            &[
                "1997-08-05 09:00",
                "1997-08-10 09:00",
                "1997-08-19 09:00",
                "1997-08-24 09:00",
            ],
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU",
            "1997-08-05 09:00",
            &[
                "1997-08-05 09:00",
                "1997-08-17 09:00",
                "1997-08-19 09:00",
                "1997-08-31 09:00",
            ],
        ),
    ]);
}
