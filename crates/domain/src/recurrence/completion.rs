//! The next due date of a `from_completion` task: INTERVAL × FREQ counted from when the
//! previous instance was completed (see [`super::Recurrence::next_from_completion`]).

use chrono::{DateTime, Days, Months, TimeDelta, Utc};

use super::rule::{Frequency, Rule};
use crate::time::TimeZone;

/// Returns the next due date, before UNTIL is applied; `None` only past the calendar's end.
pub(crate) fn next_due(
    rule: &Rule,
    previous_due: DateTime<Utc>,
    all_day: bool,
    zone: TimeZone,
    completed_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let interval = rule.interval;
    let completed_on = zone.local_date(completed_at);
    let next_date = match rule.frequency {
        // Elapsed hours: a completion just before a DST change still waits the full interval.
        Frequency::Hourly => {
            return completed_at.checked_add_signed(TimeDelta::try_hours(i64::from(interval))?);
        }
        Frequency::Daily => completed_on.checked_add_days(Days::new(u64::from(interval))),
        Frequency::Weekly => completed_on.checked_add_days(Days::new(u64::from(interval) * 7)),
        // chrono clamps to the month's last day (31 January + 1 month = end of February).
        Frequency::Monthly => completed_on.checked_add_months(Months::new(interval)),
        Frequency::Yearly => completed_on.checked_add_months(Months::new(interval * 12)),
    }?;
    if all_day {
        return Some(zone.start_of_day(next_date));
    }
    let time_of_day = zone.local_datetime(previous_due).time();
    // Unlike a series instance, this due date must exist: a time in a spring-forward gap is
    // moved forward rather than dropped.
    Some(zone.resolve_lenient(next_date.and_time(time_of_day)))
}
