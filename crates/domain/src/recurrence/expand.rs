//! Expansion of a rule into instants, period by period (RFC 5545 section 3.3.10).
//!
//! DAILY and longer rules are expanded on the local wall clock: each period (a day, a week
//! starting on WKST, a month, a year) yields local date-times, BYSETPOS picks among them, and
//! each is then resolved in the zone (a time skipped by spring-forward is dropped, a repeated
//! time means its first occurrence). HOURLY rules step through real elapsed hours instead and
//! read their filters on the local clock of each instant. See `design.md`.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

use super::calendar::{YEARS, days_in_month, is_supported, start_of_week};
use super::pattern::Pattern;
use super::rule::Frequency;
use crate::time::TimeZone;

/// Calendar span after which a rule that has stopped matching is given up on. The Gregorian
/// calendar, weekdays included, repeats every 400 years, so a rule that finds nothing in a
/// whole cycle never will (a large INTERVAL aside, which then fails the same way).
const GIVE_UP_AFTER_DAYS: i64 = 146_097;

/// Periods examined without a single instant before giving up, whatever the calendar says.
/// This caps the work of one `next()` call (about 100 ms in the worst case, an HOURLY rule
/// whose hour filter can never line up with its INTERVAL).
const GIVE_UP_AFTER_PERIODS: u32 = 500_000;

/// The candidates of one period, produced lazily in ascending order.
#[derive(Debug, Default)]
struct Period {
    /// Matching local days; their times of day come from the pattern (DAILY and longer).
    days: Vec<NaiveDate>,
    /// HOURLY periods hold their instants directly.
    instants: Vec<DateTime<Utc>>,
    /// Indices BYSETPOS kept, or `None` for all of them.
    selected: Option<Vec<usize>>,
    total: usize,
    cursor: usize,
}

impl Period {
    fn next_index(&mut self) -> Option<usize> {
        let index = match &self.selected {
            Some(selected) => *selected.get(self.cursor)?,
            None => (self.cursor < self.total).then_some(self.cursor)?,
        };
        self.cursor += 1;
        Some(index)
    }
}

/// The rule's instants from an anchor on, strictly increasing and each strictly after the
/// lower bound given at construction; ignores COUNT and UNTIL.
#[derive(Debug)]
pub(crate) struct Expansion {
    pattern: Pattern,
    zone: TimeZone,
    anchor: NaiveDateTime,
    anchor_instant: DateTime<Utc>,
    next_period: u64,
    period: Period,
    /// Only instants after this one are produced; moves forward with each instant.
    after: Option<DateTime<Utc>>,
    /// First local day of the current period.
    period_first_day: NaiveDate,
    /// First local day of the last period that yielded an instant (or the anchor's date).
    last_productive_day: NaiveDate,
    finished: bool,
}

impl Expansion {
    /// Starts expanding `pattern` from `anchor_instant`, whose local time in `zone` is the
    /// anchor. Only instants strictly after `after` are produced.
    pub(crate) fn new(
        pattern: Pattern,
        zone: TimeZone,
        anchor_instant: DateTime<Utc>,
        after: Option<DateTime<Utc>>,
    ) -> Self {
        // Generated instances are whole seconds, like DTSTART values in iCalendar.
        let anchor_instant = anchor_instant.with_nanosecond(0).unwrap_or(anchor_instant);
        let anchor = zone.local_datetime(anchor_instant);
        Self {
            pattern,
            zone,
            anchor,
            anchor_instant,
            next_period: 0,
            period: Period::default(),
            after,
            period_first_day: anchor.date(),
            last_productive_day: anchor.date(),
            finished: false,
        }
    }

    /// Takes the next candidate of the current period that exists on the local clock.
    fn take_from_period(&mut self) -> Option<DateTime<Utc>> {
        while let Some(index) = self.period.next_index() {
            let instant = if self.pattern.frequency == Frequency::Hourly {
                self.period.instants.get(index).copied()
            } else {
                let per_day = self.pattern.times_per_day();
                let day = self.period.days.get(index / per_day);
                let time = self.pattern.time_of_day(index % per_day);
                day.zip(time)
                    .and_then(|(day, time)| self.zone.resolve_strict(day.and_time(time)))
            };
            if let Some(instant) = instant
                && self.after.is_none_or(|after| instant > after)
            {
                return Some(instant);
            }
        }
        None
    }

    /// Builds the period `self.next_period` and steps past it. Returns the period's first
    /// local day with its candidates, or `None` when the calendar runs out.
    fn build_period(&mut self) -> Option<(NaiveDate, Period)> {
        let index = self.next_period;
        self.next_period = index.checked_add(1)?;
        let steps = index.checked_mul(u64::from(self.pattern.interval))?;
        let anchor_day = self.anchor.date();
        let days: Vec<NaiveDate> = match self.pattern.frequency {
            Frequency::Hourly => return self.build_hour(steps),
            Frequency::Daily => vec![anchor_day.checked_add_days(Days::new(steps))?],
            Frequency::Weekly => {
                let week = start_of_week(anchor_day, self.pattern.week_start)?
                    .checked_add_days(Days::new(steps.checked_mul(7)?))?;
                (0..7)
                    .filter_map(|offset| week.checked_add_days(Days::new(offset)))
                    .collect()
            }
            Frequency::Monthly => {
                let month_index = i64::from(anchor_day.year()) * 12
                    + i64::from(anchor_day.month0())
                    + i64::try_from(steps).ok()?;
                let year = i32::try_from(month_index.div_euclid(12)).ok()?;
                let month = u32::try_from(month_index.rem_euclid(12)).ok()? + 1;
                month_days(year, month)?
            }
            Frequency::Yearly => {
                let year = anchor_day.year().checked_add(i32::try_from(steps).ok()?)?;
                let mut days = Vec::new();
                for month in (1..=12).filter(|month| self.pattern.allows_month(*month)) {
                    days.extend(month_days(year, month)?);
                }
                days
            }
        };
        let first_day = *days.first()?;
        if first_day.year() > *YEARS.end() {
            return None;
        }
        let days: Vec<NaiveDate> = days
            .into_iter()
            .filter(|day| self.pattern.matches_day(*day))
            .collect();
        let total = days.len() * self.pattern.times_per_day();
        Some((
            first_day,
            Period {
                selected: self.pattern.select_positions(total),
                total,
                days,
                ..Period::default()
            },
        ))
    }

    /// Builds the HOURLY period `steps` elapsed hours after the anchor: that instant, or with
    /// BYMINUTE/BYSECOND those times in the local clock hour holding it, filtered on the local
    /// clock.
    fn build_hour(&mut self, steps: u64) -> Option<(NaiveDate, Period)> {
        let hours = i64::try_from(steps).ok()?;
        let instant = self
            .anchor_instant
            .checked_add_signed(TimeDelta::try_hours(hours)?)?;
        if !is_supported(instant) {
            return None;
        }
        let local = self.zone.local_datetime(instant);
        let day = local.date();
        if !self.pattern.matches_day(day) {
            // Nothing on this local date can match: jump to the first step on the next one
            // instead of walking through its hours one by one.
            self.skip_to_day(day.succ_opt()?)?;
            return Some((day, Period::default()));
        }
        let candidates: Vec<DateTime<Utc>> = if self.pattern.expands_within_hour {
            self.within_hour(instant, local)
        } else {
            // Without BYMINUTE or BYSECOND the step itself is the candidate: DTSTART plus
            // whole elapsed hours, whatever the offset did meanwhile.
            vec![instant]
        };
        let instants: Vec<DateTime<Utc>> = candidates
            .into_iter()
            .filter(|candidate| {
                let local = self.zone.local_datetime(*candidate);
                self.pattern
                    .hour_filter
                    .is_none_or(|hours| hours.contains(local.hour()))
                    && self.pattern.matches_day(local.date())
            })
            .collect();
        let total = instants.len();
        Some((
            day,
            Period {
                selected: self.pattern.select_positions(total),
                total,
                instants,
                ..Period::default()
            },
        ))
    }

    /// Expands BYMINUTE and BYSECOND within the local clock hour holding `instant`.
    fn within_hour(&self, instant: DateTime<Utc>, local: NaiveDateTime) -> Vec<DateTime<Utc>> {
        let into_hour = TimeDelta::seconds(i64::from(local.minute() * 60 + local.second()));
        let Some(hour_start) = instant.checked_sub_signed(into_hour) else {
            return Vec::new();
        };
        let mut candidates = Vec::new();
        for minute in &self.pattern.minutes {
            for second in &self.pattern.seconds {
                let offset = TimeDelta::seconds(i64::from(minute * 60 + second));
                let Some(candidate) = hour_start.checked_add_signed(offset) else {
                    continue;
                };
                // Where the offset moves by half an hour (Lord Howe Island), the local clock
                // may not show the minute asked for during the changing hour: no match then.
                let shown = self.zone.local_datetime(candidate);
                if shown.minute() == *minute && shown.second() == *second {
                    candidates.push(candidate);
                }
            }
        }
        candidates
    }

    /// Moves `next_period` to the first HOURLY step that falls on or after local `day`.
    fn skip_to_day(&mut self, day: NaiveDate) -> Option<()> {
        let start = self.zone.start_of_day(day);
        let step_seconds = i64::from(self.pattern.interval) * 3600;
        let elapsed = (start - self.anchor_instant).num_seconds();
        let steps = u64::try_from((elapsed + step_seconds - 1).div_euclid(step_seconds)).ok()?;
        self.next_period = self.next_period.max(steps);
        Some(())
    }
}

/// Returns every day of `month` in `year`.
fn month_days(year: i32, month: u32) -> Option<Vec<NaiveDate>> {
    (1..=days_in_month(year, month))
        .map(|day| NaiveDate::from_ymd_opt(year, month, day))
        .collect()
}

impl Iterator for Expansion {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        if self.finished {
            return None;
        }
        let mut periods_examined = 0_u32;
        loop {
            if let Some(instant) = self.take_from_period() {
                self.after = Some(instant);
                self.last_productive_day = self.period_first_day;
                return Some(instant);
            }
            periods_examined += 1;
            // A period counts as productive only once it yields an instant, so a rule whose
            // candidates always fall into a DST gap is given up on like one that never matches.
            match self.build_period() {
                Some((first_day, period))
                    if (first_day - self.last_productive_day).num_days() <= GIVE_UP_AFTER_DAYS
                        && periods_examined <= GIVE_UP_AFTER_PERIODS =>
                {
                    self.period = period;
                    self.period_first_day = first_day;
                }
                _ => {
                    self.finished = true;
                    self.period = Period::default();
                    return None;
                }
            }
        }
    }
}
