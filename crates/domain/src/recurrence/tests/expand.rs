//! Rule parts on a zone without DST, so only the calendar is under test.

use super::{check, local_series};

#[test]
fn frequency_and_interval_step_through_the_calendar() {
    check(&[
        (
            "FREQ=DAILY",
            "2026-01-30 09:00",
            &["2026-01-30 09:00", "2026-01-31 09:00", "2026-02-01 09:00"],
        ),
        (
            "FREQ=DAILY;INTERVAL=10",
            "2026-05-05 07:00",
            &[
                "2026-05-05 07:00",
                "2026-05-15 07:00",
                "2026-05-25 07:00",
                "2026-06-04 07:00",
            ],
        ),
        (
            "FREQ=WEEKLY",
            "2026-06-03 18:30",
            &["2026-06-03 18:30", "2026-06-10 18:30", "2026-06-17 18:30"],
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2",
            "2026-12-23 08:00",
            &["2026-12-23 08:00", "2027-01-06 08:00", "2027-01-20 08:00"],
        ),
        (
            "FREQ=MONTHLY",
            "2026-11-15 12:00",
            &["2026-11-15 12:00", "2026-12-15 12:00", "2027-01-15 12:00"],
        ),
        (
            "FREQ=MONTHLY;INTERVAL=5",
            "2026-11-15 12:00",
            &["2026-11-15 12:00", "2027-04-15 12:00", "2027-09-15 12:00"],
        ),
        (
            "FREQ=YEARLY",
            "2026-03-08 10:00",
            &["2026-03-08 10:00", "2027-03-08 10:00", "2028-03-08 10:00"],
        ),
        (
            "FREQ=HOURLY;INTERVAL=4",
            "2026-01-01 22:00",
            &["2026-01-01 22:00", "2026-01-02 02:00", "2026-01-02 06:00"],
        ),
        (
            "FREQ=HOURLY;INTERVAL=1000",
            "2026-01-01 00:00",
            &["2026-01-01 00:00", "2026-02-11 16:00"],
        ),
    ]);
}

#[test]
fn days_that_do_not_exist_are_skipped_not_moved() {
    check(&[
        // The 31st only exists in seven months.
        (
            "FREQ=MONTHLY",
            "2026-01-31 09:00",
            &[
                "2026-01-31 09:00",
                "2026-03-31 09:00",
                "2026-05-31 09:00",
                "2026-07-31 09:00",
                "2026-08-31 09:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=30",
            "2026-01-30 09:00",
            &["2026-01-30 09:00", "2026-03-30 09:00", "2026-04-30 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=29,30,31",
            "2026-01-29 09:00",
            &[
                "2026-01-29 09:00",
                "2026-01-30 09:00",
                "2026-01-31 09:00",
                "2026-03-29 09:00",
            ],
        ),
        // 29 February only in leap years (2100 is not one).
        (
            "FREQ=YEARLY",
            "2024-02-29 09:00",
            &["2024-02-29 09:00", "2028-02-29 09:00", "2032-02-29 09:00"],
        ),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "2096-03-01 09:00",
            &["2096-03-01 09:00", "2104-02-29 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=29",
            "2027-01-29 09:00",
            &["2027-01-29 09:00", "2027-03-29 09:00"],
        ),
    ]);
}

#[test]
fn negative_month_days_count_back_from_the_end_of_the_month() {
    check(&[
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "2026-01-31 17:00",
            &[
                "2026-01-31 17:00",
                "2026-02-28 17:00",
                "2026-03-31 17:00",
                "2026-04-30 17:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1",
            "2028-01-31 17:00",
            &["2028-01-31 17:00", "2028-02-29 17:00"],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-2",
            "2026-01-01 08:00",
            &[
                "2026-01-01 08:00",
                "2026-01-30 08:00",
                "2026-02-27 08:00",
                "2026-03-30 08:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,-1",
            "2026-02-01 08:00",
            &[
                "2026-02-01 08:00",
                "2026-02-28 08:00",
                "2026-03-01 08:00",
                "2026-03-31 08:00",
            ],
        ),
    ]);
}

#[test]
fn weekdays_with_and_without_ordinals_select_the_right_days() {
    check(&[
        // 2026-06-01 is a Monday.
        (
            "FREQ=WEEKLY;BYDAY=TU,TH",
            "2026-06-01 09:00",
            &[
                "2026-06-01 09:00",
                "2026-06-02 09:00",
                "2026-06-04 09:00",
                "2026-06-09 09:00",
            ],
        ),
        (
            "FREQ=DAILY;BYDAY=SA,SU",
            "2026-06-01 09:00",
            &[
                "2026-06-01 09:00",
                "2026-06-06 09:00",
                "2026-06-07 09:00",
                "2026-06-13 09:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYDAY=2TU",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-13 09:00",
                "2026-02-10 09:00",
                "2026-03-10 09:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYDAY=+1MO",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-01-05 09:00", "2026-02-02 09:00"],
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1FR",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-30 09:00",
                "2026-02-27 09:00",
                "2026-03-27 09:00",
                "2026-04-24 09:00",
            ],
        ),
        (
            "FREQ=MONTHLY;BYDAY=5FR",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-01-30 09:00", "2026-05-29 09:00"],
        ),
        // Plain and ordinal weekdays together: every Tuesday and the last Monday.
        (
            "FREQ=MONTHLY;BYDAY=-1MO,TU",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-01-06 09:00",
                "2026-01-13 09:00",
                "2026-01-20 09:00",
                "2026-01-26 09:00",
                "2026-01-27 09:00",
                "2026-02-03 09:00",
            ],
        ),
        // The 20th Monday of the year, counted over the whole year.
        (
            "FREQ=YEARLY;BYDAY=20MO",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-05-18 09:00", "2027-05-17 09:00"],
        ),
        (
            "FREQ=YEARLY;BYDAY=-1SU",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-12-27 09:00", "2027-12-26 09:00"],
        ),
        // With BYMONTH the ordinal counts within the month: Thanksgiving.
        (
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
            "2026-01-01 09:00",
            &["2026-01-01 09:00", "2026-11-26 09:00", "2027-11-25 09:00"],
        ),
        // RFC 5545: every Friday the 13th.
        (
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            "2026-01-01 09:00",
            &[
                "2026-01-01 09:00",
                "2026-02-13 09:00",
                "2026-03-13 09:00",
                "2026-11-13 09:00",
            ],
        ),
    ]);
}

#[test]
fn count_and_until_end_the_series_and_dtstart_always_comes_first() {
    for (body, start, expected) in [
        (
            "FREQ=DAILY;COUNT=3",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00"],
        ),
        (
            "FREQ=DAILY;COUNT=1",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00"],
        ),
        // A DTSTART that does not match still counts as the first instance.
        (
            "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
            "2026-06-03 09:00",
            vec!["2026-06-03 09:00", "2026-06-08 09:00", "2026-06-15 09:00"],
        ),
        // UNTIL is inclusive...
        (
            "FREQ=DAILY;UNTIL=20260103T090000Z",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00"],
        ),
        (
            "FREQ=DAILY;UNTIL=20260103T085959Z",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00", "2026-01-02 09:00"],
        ),
        // ...a bare date includes that whole local date...
        (
            "FREQ=DAILY;UNTIL=20260103",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00"],
        ),
        // ...and DTSTART stays even when UNTIL is before it.
        (
            "FREQ=DAILY;UNTIL=20251231T000000Z",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00"],
        ),
        // Rules that can never match again end instead of searching forever.
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00"],
        ),
        (
            "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
            "2026-01-01 09:00",
            vec!["2026-01-01 09:00"],
        ),
        (
            "FREQ=HOURLY;INTERVAL=2;BYHOUR=9",
            "2026-01-01 08:00",
            vec!["2026-01-01 08:00"],
        ),
        (
            "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
            "2026-01-01 08:00",
            vec!["2026-01-01 08:00"],
        ),
        (
            "FREQ=DAILY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=-31",
            "2026-01-01 08:00",
            vec!["2026-01-01 08:00"],
        ),
    ] {
        assert_eq!(local_series(body, "UTC", start, 50), expected, "{body}");
    }
}

#[test]
fn a_floating_until_is_read_on_the_local_clock() {
    let series = local_series(
        "FREQ=DAILY;UNTIL=20260103T090000",
        "Asia/Karachi",
        "2026-01-01 09:00",
        10,
    );
    assert_eq!(
        series,
        ["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00"]
    );
}

#[test]
fn a_utc_until_is_compared_as_an_instant_not_as_local_time() {
    // 09:00 in Karachi is 04:00Z, so an UNTIL of 05:00Z on the third still includes it and
    // one of 03:59:59Z does not.
    let included = local_series(
        "FREQ=DAILY;UNTIL=20260103T050000Z",
        "Asia/Karachi",
        "2026-01-01 09:00",
        10,
    );
    assert_eq!(included.len(), 3);
    let excluded = local_series(
        "FREQ=DAILY;UNTIL=20260103T035959Z",
        "Asia/Karachi",
        "2026-01-01 09:00",
        10,
    );
    assert_eq!(excluded.len(), 2);
}
