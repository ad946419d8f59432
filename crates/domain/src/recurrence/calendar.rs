//! Calendar arithmetic on local dates: month and year lengths, week numbers under a chosen
//! week start, and the position of a weekday within a month or year.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};

/// The years the engine works in, as python-dateutil and most calendars do. Outside them a
/// series is only its DTSTART; keeping well inside chrono's range also means converting an
/// instant to local time can never overflow.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Returns whether `instant` lies within [`YEARS`] (in UTC).
pub(crate) fn is_supported(instant: DateTime<Utc>) -> bool {
    YEARS.contains(&instant.year())
}

/// Returns the number of days in `month` of `year`, or 0 for a month chrono cannot represent.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    let Some(first) = NaiveDate::from_ymd_opt(year, month, 1) else {
        return 0;
    };
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.map_or(31, |next| days_between(first, next) as u32)
}

/// Returns the number of days in `year`.
pub(crate) fn days_in_year(year: i32) -> u32 {
    if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    }
}

/// Returns `later - earlier` in days.
pub(crate) fn days_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    (later - earlier).num_days()
}

/// Returns the number of days from `week_start` forward to `weekday` (0 to 6).
pub(crate) fn days_after_week_start(weekday: Weekday, week_start: Weekday) -> u32 {
    (weekday.num_days_from_monday() + 7 - week_start.num_days_from_monday()) % 7
}

/// Returns the first day of the week (starting on `week_start`) that contains `date`.
pub(crate) fn start_of_week(date: NaiveDate, week_start: Weekday) -> Option<NaiveDate> {
    date.checked_sub_days(Days::new(u64::from(days_after_week_start(
        date.weekday(),
        week_start,
    ))))
}

/// Returns the first day of week 1 of `year`: as in ISO 8601, week 1 is the first week
/// (starting on `week_start`) with at least four days in the year (RFC 5545, BYWEEKNO).
fn first_day_of_week_one(year: i32, week_start: Weekday) -> Option<NaiveDate> {
    let january_first = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let week_of_january_first = start_of_week(january_first, week_start)?;
    // The week holding 1 January has 7 - offset days in the new year.
    let offset = days_between(week_of_january_first, january_first);
    if offset <= 3 {
        Some(week_of_january_first)
    } else {
        week_of_january_first.checked_add_days(Days::new(7))
    }
}

/// A date's week under a given week start: the week-numbering year it belongs to, its number
/// counted from the start (1-based) and from the end (-1 is that year's last week).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WeekNumber {
    pub(crate) from_start: i32,
    pub(crate) from_end: i32,
}

/// Returns the week number of `date` when weeks start on `week_start`. Late-December days may
/// belong to week 1 of the next year, early-January days to the last week of the previous one.
pub(crate) fn week_number(date: NaiveDate, week_start: Weekday) -> Option<WeekNumber> {
    let year = date.year();
    let this = first_day_of_week_one(year, week_start)?;
    let next = first_day_of_week_one(year + 1, week_start)?;
    let (start, end) = if date < this {
        (first_day_of_week_one(year - 1, week_start)?, this)
    } else if date >= next {
        (next, first_day_of_week_one(year + 2, week_start)?)
    } else {
        (this, next)
    };
    let weeks_in_year = (days_between(start, end) / 7) as i32;
    let from_start = (days_between(start, date) / 7) as i32 + 1;
    Some(WeekNumber {
        from_start,
        from_end: from_start - weeks_in_year - 1,
    })
}

/// Where a weekday falls within a span of days (a month or a year): 1 for the first such
/// weekday, -1 for the last.
pub(crate) fn weekday_position(date: NaiveDate, first: NaiveDate, last: NaiveDate) -> (i64, i64) {
    let from_start = days_between(first, date) / 7 + 1;
    let from_end = -(days_between(date, last) / 7 + 1);
    (from_start, from_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn month_lengths_follow_the_gregorian_calendar() {
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(2028, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(days_in_month(2026, 12), 31);
        assert_eq!(days_in_year(2028), 366);
        assert_eq!(days_in_year(2026), 365);
    }

    #[test]
    fn monday_week_numbers_agree_with_iso_8601() {
        for (day, (iso_year, iso_week)) in [
            (date(2024, 12, 30), (2025, 1)),
            (date(2021, 1, 3), (2020, 53)),
            (date(2026, 6, 15), (2026, 25)),
            (date(2027, 1, 1), (2026, 53)),
        ] {
            let iso = day.iso_week();
            assert_eq!((iso.year(), iso.week()), (iso_year, iso_week));
            let computed = week_number(day, Weekday::Mon).unwrap();
            assert_eq!(computed.from_start, iso_week as i32, "{day}");
        }
        // 2026 has 53 ISO weeks, so its last week is both 53 and -1.
        assert_eq!(
            week_number(date(2026, 12, 31), Weekday::Mon)
                .unwrap()
                .from_end,
            -1
        );
        assert_eq!(
            week_number(date(2026, 1, 1), Weekday::Mon)
                .unwrap()
                .from_end,
            -53
        );
    }

    #[test]
    fn a_sunday_week_start_moves_the_week_boundaries() {
        // Saturday 2026-01-03: with Monday weeks its week has four days of 2026 (week 1);
        // with Sunday weeks only three, so it closes 2025's 53rd week.
        assert_eq!(
            week_number(date(2026, 1, 3), Weekday::Mon)
                .unwrap()
                .from_start,
            1
        );
        assert_eq!(
            week_number(date(2026, 1, 3), Weekday::Sun)
                .unwrap()
                .from_start,
            53
        );
        assert_eq!(
            week_number(date(2026, 1, 4), Weekday::Sun)
                .unwrap()
                .from_start,
            1
        );
    }

    #[test]
    fn weekday_positions_count_from_both_ends_of_the_span() {
        let (first, last) = (date(2026, 3, 1), date(2026, 3, 31));
        assert_eq!(weekday_position(date(2026, 3, 2), first, last), (1, -5));
        assert_eq!(weekday_position(date(2026, 3, 30), first, last), (5, -1));
        assert_eq!(weekday_position(date(2026, 3, 25), first, last), (4, -1));
    }
}
