//! A rule combined with its anchor (the local wall-clock DTSTART): the defaults RFC 5545 takes
//! from DTSTART are filled in and the BYxxx lists become bit sets, so testing a day is cheap.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};

use super::calendar::{days_in_month, days_in_year, week_number, weekday_position};
use super::rule::{Frequency, Rule, WeekdayRule};

/// A set of small non-negative numbers (up to 383): months, days, hours, week numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BitSet([u64; 6]);

impl BitSet {
    fn from_values(values: impl IntoIterator<Item = u32>) -> Self {
        let mut set = Self::default();
        for value in values {
            if let Some(word) = set.0.get_mut((value / 64) as usize) {
                *word |= 1 << (value % 64);
            }
        }
        set
    }

    pub(crate) fn contains(&self, value: u32) -> bool {
        self.0
            .get((value / 64) as usize)
            .is_some_and(|word| word & (1 << (value % 64)) != 0)
    }
}

/// Signed positions such as BYMONTHDAY=-1 or BYYEARDAY=100: the positive ones counted from
/// the start, the negative ones (stored as magnitudes) from the end. Empty means "any".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Positions {
    from_start: BitSet,
    from_end: BitSet,
    any: bool,
}

impl Positions {
    fn new<T: Copy + Into<i32>>(values: &[T]) -> Self {
        let signed = || values.iter().map(|value| (*value).into());
        Self {
            from_start: BitSet::from_values(signed().filter(|v| *v > 0).map(i32::unsigned_abs)),
            from_end: BitSet::from_values(signed().filter(|v| *v < 0).map(i32::unsigned_abs)),
            any: values.is_empty(),
        }
    }

    /// Whether 1-based `position` in a span of `length` is selected.
    fn matches(&self, position: u32, length: u32) -> bool {
        self.any
            || self.from_start.contains(position)
            || (position <= length && self.from_end.contains(length - position + 1))
    }
}

/// The rule's matching logic for one anchor.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    pub(crate) frequency: Frequency,
    pub(crate) interval: u32,
    pub(crate) week_start: Weekday,
    /// Months allowed (bit 1 = January); `None` allows every month.
    months: Option<BitSet>,
    month_days: Positions,
    year_days: Positions,
    week_numbers: Positions,
    /// Plain BYDAY weekdays (bit 0 = Monday) and BYDAY entries with an ordinal.
    weekdays: Option<BitSet>,
    weekday_ordinals: Vec<WeekdayRule>,
    /// Whether BYDAY ordinals count within the month (else within the year).
    ordinals_within_month: bool,
    /// Expanded times of day, ascending (for HOURLY only minutes and seconds are used).
    pub(crate) hours: Vec<u32>,
    pub(crate) minutes: Vec<u32>,
    pub(crate) seconds: Vec<u32>,
    /// Whether HOURLY periods expand by BYMINUTE or BYSECOND (else each step is one instant).
    pub(crate) expands_within_hour: bool,
    /// BYHOUR as a filter, for HOURLY rules.
    pub(crate) hour_filter: Option<BitSet>,
    pub(crate) set_positions: Vec<i16>,
}

impl Pattern {
    /// Combines `rule` with the local wall-clock time of its anchor.
    pub(crate) fn new(rule: &Rule, anchor: NaiveDateTime) -> Self {
        let mut months = rule
            .by_month
            .iter()
            .map(|m| u32::from(*m))
            .collect::<Vec<_>>();
        let mut month_days = rule.by_month_day.clone();
        let mut weekdays: Vec<WeekdayRule> = rule.by_day.clone();
        // RFC 5545 section 3.3.10: parts that are not given are taken from DTSTART.
        let day_given = !(rule.by_week_no.is_empty()
            && rule.by_year_day.is_empty()
            && rule.by_month_day.is_empty()
            && rule.by_day.is_empty());
        if !day_given {
            match rule.frequency {
                Frequency::Yearly => {
                    if months.is_empty() {
                        months.push(anchor.month());
                    }
                    month_days.push(anchor.day() as i8);
                }
                Frequency::Monthly => month_days.push(anchor.day() as i8),
                Frequency::Weekly => weekdays.push(WeekdayRule {
                    ordinal: None,
                    weekday: anchor.weekday(),
                }),
                Frequency::Daily | Frequency::Hourly => {}
            }
        }
        let (ordinals, plain): (Vec<WeekdayRule>, Vec<WeekdayRule>) =
            weekdays.iter().partition(|day| day.ordinal.is_some());
        let sorted_or = |values: &[u8], default: u32| {
            let mut values: Vec<u32> = values.iter().map(|v| u32::from(*v)).collect();
            if values.is_empty() {
                values.push(default);
            }
            values.sort_unstable();
            values
        };
        Self {
            frequency: rule.frequency,
            interval: rule.interval,
            week_start: rule.week_start,
            months: (!months.is_empty()).then(|| BitSet::from_values(months)),
            month_days: Positions::new(&month_days),
            year_days: Positions::new(&rule.by_year_day),
            week_numbers: Positions::new(&rule.by_week_no),
            weekdays: (!weekdays.is_empty()).then(|| {
                BitSet::from_values(plain.iter().map(|d| d.weekday.num_days_from_monday()))
            }),
            weekday_ordinals: ordinals,
            ordinals_within_month: rule.frequency == Frequency::Monthly
                || !rule.by_month.is_empty(),
            hours: sorted_or(&rule.by_hour, anchor.hour()),
            minutes: sorted_or(&rule.by_minute, anchor.minute()),
            seconds: sorted_or(&rule.by_second, anchor.second()),
            expands_within_hour: !(rule.by_minute.is_empty() && rule.by_second.is_empty()),
            hour_filter: (!rule.by_hour.is_empty())
                .then(|| BitSet::from_values(rule.by_hour.iter().map(|h| u32::from(*h)))),
            set_positions: rule.by_set_pos.clone(),
        }
    }

    /// Returns whether the month of `month` (1 to 12) can hold matches at all.
    pub(crate) fn allows_month(&self, month: u32) -> bool {
        self.months.is_none_or(|months| months.contains(month))
    }

    /// Returns whether `date` passes every day-level part (BYMONTH, BYWEEKNO, BYYEARDAY,
    /// BYMONTHDAY, BYDAY). With several parts a day must pass all of them.
    pub(crate) fn matches_day(&self, date: NaiveDate) -> bool {
        let year = date.year();
        self.allows_month(date.month())
            && self
                .month_days
                .matches(date.day(), days_in_month(year, date.month()))
            && self.year_days.matches(date.ordinal(), days_in_year(year))
            && self.matches_weekday(date)
            // Last: the week number is the dearest test.
            && self.matches_week_number(date)
    }

    fn matches_week_number(&self, date: NaiveDate) -> bool {
        if self.week_numbers.any {
            return true;
        }
        week_number(date, self.week_start).is_some_and(|week| {
            self.week_numbers
                .from_start
                .contains(week.from_start.unsigned_abs())
                || self
                    .week_numbers
                    .from_end
                    .contains(week.from_end.unsigned_abs())
        })
    }

    fn matches_weekday(&self, date: NaiveDate) -> bool {
        let Some(plain) = self.weekdays else {
            return true;
        };
        if plain.contains(date.weekday().num_days_from_monday()) {
            return true;
        }
        let Some((first, last)) = self.ordinal_span(date) else {
            return false;
        };
        let (from_start, from_end) = weekday_position(date, first, last);
        self.weekday_ordinals.iter().any(|rule| {
            rule.weekday == date.weekday()
                && rule.ordinal.is_some_and(|ordinal| {
                    let ordinal = i64::from(ordinal);
                    ordinal == from_start || ordinal == from_end
                })
        })
    }

    /// The month or year that BYDAY ordinals count within, for the span holding `date`.
    fn ordinal_span(&self, date: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let year = date.year();
        if self.ordinals_within_month {
            let month = date.month();
            Some((
                NaiveDate::from_ymd_opt(year, month, 1)?,
                NaiveDate::from_ymd_opt(year, month, days_in_month(year, month))?,
            ))
        } else {
            Some((
                NaiveDate::from_ymd_opt(year, 1, 1)?,
                NaiveDate::from_ymd_opt(year, 12, 31)?,
            ))
        }
    }

    /// Number of times of day each matching day expands to.
    pub(crate) fn times_per_day(&self) -> usize {
        self.hours.len() * self.minutes.len() * self.seconds.len()
    }

    /// Returns the `index`-th time of day (ascending) of a day's expansion.
    pub(crate) fn time_of_day(&self, index: usize) -> Option<NaiveTime> {
        let (minutes, seconds) = (self.minutes.len(), self.seconds.len());
        NaiveTime::from_hms_opt(
            *self.hours.get(index / (minutes * seconds))?,
            *self.minutes.get(index / seconds % minutes)?,
            *self.seconds.get(index % seconds)?,
        )
    }

    /// Returns the indices BYSETPOS keeps out of `total` candidates (ascending, no repeats),
    /// or `None` when every candidate is kept.
    pub(crate) fn select_positions(&self, total: usize) -> Option<Vec<usize>> {
        if self.set_positions.is_empty() {
            return None;
        }
        let mut kept: Vec<usize> = self
            .set_positions
            .iter()
            .filter_map(|position| {
                let magnitude = usize::from(position.unsigned_abs());
                if *position > 0 {
                    (magnitude <= total).then(|| magnitude - 1)
                } else {
                    total.checked_sub(magnitude)
                }
            })
            .collect();
        kept.sort_unstable();
        kept.dedup();
        Some(kept)
    }
}
