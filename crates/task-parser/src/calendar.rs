//! Calendar arithmetic on local dates: weekdays, month ends, month-days that roll to the next
//! year. Everything is checked, so absurd inputs ("in 99999 years") give `None`, not a panic.

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, Weekday};

/// Returns `date` plus `days` (which may be negative).
pub(crate) fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

/// Returns the Monday that starts the week of `date`.
pub(crate) fn monday_of(date: NaiveDate) -> Option<NaiveDate> {
    add_days(date, -i64::from(date.weekday().num_days_from_monday()))
}

/// Returns the first `weekday` strictly after `today` (a week later when today is that day).
pub(crate) fn weekday_after(today: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (weekday.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
    add_days(today, if ahead == 0 { 7 } else { i64::from(ahead) })
}

/// Returns the first `weekday` on or after `today`.
pub(crate) fn weekday_on_or_after(today: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    let ahead = (weekday.num_days_from_monday() + 7 - today.weekday().num_days_from_monday()) % 7;
    add_days(today, i64::from(ahead))
}

/// Returns `weekday` in the Monday-start week after the one holding `today`.
pub(crate) fn weekday_of_next_week(today: NaiveDate, weekday: Weekday) -> Option<NaiveDate> {
    add_days(
        monday_of(today)?,
        7 + i64::from(weekday.num_days_from_monday()),
    )
}

/// Returns the last day of the month holding `date`.
pub(crate) fn end_of_month(date: NaiveDate) -> Option<NaiveDate> {
    first_of_month(date)?
        .checked_add_months(Months::new(1))?
        .pred_opt()
}

/// Returns the first day of the month holding `date`.
pub(crate) fn first_of_month(date: NaiveDate) -> Option<NaiveDate> {
    date.with_day(1)
}

/// Returns the same day `months` months later, clamped to the end of a shorter month
/// (31 January + 1 month is the last day of February).
pub(crate) fn add_months_clamped(date: NaiveDate, months: u32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(months))
}

/// Returns the next `month`-`day` on or after `today`, rolling into later years (a 29 February
/// waits for the next leap year).
pub(crate) fn month_day_on_or_after(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    (0..9).find_map(|ahead| {
        NaiveDate::from_ymd_opt(today.year().checked_add(ahead)?, month, day)
            .filter(|date| *date >= today)
    })
}

/// Returns the next date on or after `today` whose day of month is `day`, skipping months that
/// are too short.
pub(crate) fn month_day_number_on_or_after(today: NaiveDate, day: u32) -> Option<NaiveDate> {
    let first = first_of_month(today)?;
    (0..13).find_map(|ahead| {
        let month = first.checked_add_months(Months::new(ahead))?;
        month.with_day(day).filter(|date| *date >= today)
    })
}

/// Returns the `nth` `weekday` of the month holding `date` (`nth` -1 is the last one).
pub(crate) fn nth_weekday_of_month(
    date: NaiveDate,
    nth: i32,
    weekday: Weekday,
) -> Option<NaiveDate> {
    if nth > 0 {
        let first = weekday_on_or_after(first_of_month(date)?, weekday)?;
        let candidate = add_days(first, 7 * i64::from(nth - 1))?;
        (candidate.month() == date.month()).then_some(candidate)
    } else {
        let last = end_of_month(date)?;
        let back = (last.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
        let candidate = add_days(last, -i64::from(back) - 7 * i64::from(-nth - 1))?;
        (candidate.month() == date.month()).then_some(candidate)
    }
}

/// Returns a wall-clock time, or `None` outside 00:00-23:59.
pub(crate) fn time(hour: u32, minute: u32) -> Option<NaiveTime> {
    NaiveTime::from_hms_opt(hour, minute, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn next_week_weekdays_count_from_the_following_monday() {
        // 2026-11-24 is a Tuesday.
        assert_eq!(
            weekday_of_next_week(date(2026, 11, 24), Weekday::Thu),
            Some(date(2026, 12, 3))
        );
        // 2026-11-28 is a Saturday.
        assert_eq!(
            weekday_of_next_week(date(2026, 11, 28), Weekday::Thu),
            Some(date(2026, 12, 3))
        );
    }

    #[test]
    fn month_ends_clamp_and_leap_days_wait_for_a_leap_year() {
        assert_eq!(
            add_months_clamped(date(2027, 1, 31), 1),
            Some(date(2027, 2, 28))
        );
        assert_eq!(
            month_day_on_or_after(date(2026, 3, 1), 2, 29),
            Some(date(2028, 2, 29))
        );
        assert_eq!(
            month_day_number_on_or_after(date(2026, 11, 5), 31),
            Some(date(2026, 12, 31))
        );
    }

    #[test]
    fn nth_weekdays_count_from_either_end_of_the_month() {
        assert_eq!(
            nth_weekday_of_month(date(2026, 11, 1), 2, Weekday::Tue),
            Some(date(2026, 11, 10))
        );
        assert_eq!(
            nth_weekday_of_month(date(2026, 11, 1), -1, Weekday::Mon),
            Some(date(2026, 11, 30))
        );
        assert_eq!(
            nth_weekday_of_month(date(2026, 11, 1), 5, Weekday::Tue),
            None
        );
    }
}
