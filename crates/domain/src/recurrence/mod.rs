//! Recurrence rules (RFC 5545 RRULE bodies such as `FREQ=WEEKLY;BYDAY=MO`) and their expansion
//! on the wall clock of a time zone.
//!
//! [`Recurrence::parse`] validates a body; [`Recurrence::occurrences`] expands a series from its
//! DTSTART (a task's due date) in the task's zone. The conventions, all from RFC 5545:
//!
//! * DTSTART is always the first instance and counts towards COUNT, even when it does not
//!   match the rule; UNTIL is inclusive and compared as an instant.
//! * Rules are expanded on the local wall clock, so a 09:00 rule stays at 09:00 local across
//!   DST changes. Dates that do not exist are skipped, never moved (the 31st of a 30-day
//!   month, 29 February). A local time skipped by a spring-forward change is skipped and not
//!   counted; a local time that occurs twice means its first (daylight) occurrence.
//! * HOURLY rules step through real elapsed hours; BYHOUR and BYMINUTE are read on the local
//!   clock.
//!
//! The engine is our own rather than the `rrule` crate; `design.md` beside this file says why
//! and how the expansion works.

mod calendar;
mod completion;
mod expand;
mod parse;
mod pattern;
mod rule;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};

use crate::time::TimeZone;
use expand::Expansion;
use pattern::Pattern;
use rule::{Rule, Until};

pub use rule::Frequency;

/// A validated RRULE body, kept in canonical text form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Recurrence {
    body: String,
    // Boxed so a task (which embeds an optional rule) stays small.
    rule: Box<Rule>,
}

/// Why a string is not a usable recurrence rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid recurrence rule: {message}")]
pub struct RecurrenceError {
    message: String,
}

impl RecurrenceError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// Returns a stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        "invalid_rrule"
    }

    /// Returns what is wrong with the rule, without the "invalid recurrence rule" lead-in.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Recurrence {
    /// Parses and validates an RRULE body such as `FREQ=MONTHLY;BYDAY=-1FR`.
    ///
    /// Case and surrounding spaces do not matter, an `RRULE:` prefix is accepted and dropped,
    /// and a DTSTART inside the text is refused (the task's due date is the start). Supported:
    /// FREQ (HOURLY, DAILY, WEEKLY, MONTHLY, YEARLY; MINUTELY and SECONDLY are refused),
    /// INTERVAL (1 to 1000), COUNT, UNTIL (a date, a UTC date-time ending in `Z`, or a
    /// floating date-time read on the task's clock), BYSECOND, BYMINUTE, BYHOUR, BYDAY (with
    /// or without ordinals), BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYMONTH, BYSETPOS and WKST,
    /// combined as RFC 5545 allows.
    pub fn parse(body: &str) -> Result<Self, RecurrenceError> {
        let (rule, body) = parse::parse(body)?;
        Ok(Self {
            body,
            rule: Box::new(rule),
        })
    }

    /// Returns the canonical RRULE body: upper case, parts in the order given, no prefix.
    pub fn as_str(&self) -> &str {
        &self.body
    }

    /// Returns the rule's FREQ.
    pub fn frequency(&self) -> Frequency {
        self.rule.frequency
    }

    /// Returns the rule's INTERVAL (1 when not given).
    pub fn interval(&self) -> u32 {
        self.rule.interval
    }

    /// Returns whether the rule repeats more often than daily (FREQ=HOURLY).
    pub fn is_sub_daily(&self) -> bool {
        self.rule.frequency.is_sub_daily()
    }

    /// Returns the rule's COUNT, if given: how many instances the series has.
    pub fn count(&self) -> Option<u32> {
        self.rule.count
    }

    /// Returns the first instance of the rule started at `dtstart` strictly after `after`,
    /// ignoring COUNT (UNTIL still ends the series), or `None` when the series ends first.
    ///
    /// A recurring task counts its instances by their sequence numbers rather than by
    /// expanding from the first instance, so the caller applies COUNT; `dtstart` is then the
    /// due date of the instance the next one follows.
    pub fn next_after_ignoring_count(
        &self,
        dtstart: DateTime<Utc>,
        zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let occurrences = Occurrences {
            remaining: None,
            ..self.occurrences(dtstart, zone)
        };
        let mut occurrences = occurrences;
        occurrences.find(|t| *t > after)
    }

    /// Returns whether the series can go on forever (neither COUNT nor UNTIL is given).
    pub fn is_unbounded(&self) -> bool {
        self.rule.count.is_none() && self.rule.until.is_none()
    }

    /// Returns the series' instants in order, the first being `dtstart` (RFC 5545: DTSTART
    /// is always the first instance and counts towards COUNT); UNTIL and COUNT end it.
    ///
    /// The rule is read on `zone`'s wall clock at `dtstart`'s local time of day. Instants are
    /// strictly increasing. The iterator also ends when the rule stops matching for a whole
    /// 400-year calendar cycle (for example `FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`) or for
    /// 500,000 periods in a row, so a rule that never matches again cannot loop forever. The engine works in the years 1 to
    /// 9999: a series ends with 9999, and one whose DTSTART lies outside is only its DTSTART.
    pub fn occurrences(&self, dtstart: DateTime<Utc>, zone: TimeZone) -> Occurrences {
        Occurrences {
            first: Some(dtstart),
            rest: self.expansion(dtstart, zone, dtstart),
            remaining: self.rule.count,
            until: self.rule.until,
            zone,
            finished: false,
        }
    }

    /// Returns the first instance of the series started at `dtstart` strictly after `after`,
    /// or `None` when the series ends first (how the next instance of a `from_due` task is
    /// dated).
    pub fn next_after(
        &self,
        dtstart: DateTime<Utc>,
        zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.occurrences(dtstart, zone).find(|t| *t > after)
    }

    /// Returns the first instant at or after `from` that matches the rule's pattern, using
    /// `seed`'s wall-clock time of day (and its date as the series anchor for INTERVAL); unlike
    /// [`Recurrence::occurrences`], `seed` itself counts only if it matches the rule. Used to
    /// date the first occurrence of a newly described rule ("every tuesday at 9").
    ///
    /// Parts the rule leaves open come from `seed` as they would from a DTSTART (FREQ=WEEKLY
    /// alone repeats on `seed`'s weekday). UNTIL applies; COUNT does not, because the instant
    /// returned becomes the DTSTART that COUNT is counted from. For an all-day rule pass local
    /// midnight as `seed`. `None` when nothing matches before UNTIL or the rule never matches.
    pub fn first_match_at_or_after(
        &self,
        seed: DateTime<Utc>,
        zone: TimeZone,
        from: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        // Candidates are whole seconds; everything from the seed's second on is eligible.
        let floor = seed.timestamp().checked_sub(1)?;
        let after = DateTime::from_timestamp(floor, 0)?;
        let until = self.rule.until;
        self.expansion(seed, zone, after)?
            .take_while(|instant| until_allows(until, zone, *instant))
            .find(|instant| *instant >= from)
    }

    /// Returns the due date of the next instance when the interval is counted from the
    /// completion time (`from_completion`, Todoist's "every!"). `previous_due` supplies the
    /// wall-clock time of day to keep (an all-day task stays at local midnight).
    ///
    /// The step is INTERVAL × FREQ; the BYxxx parts and COUNT are not used (the engine does
    /// not know how many instances were completed), UNTIL is: `None` once the next due date
    /// would fall after it.
    ///
    /// * DAILY, WEEKLY, MONTHLY, YEARLY: the local date of `completed_at` plus the interval
    ///   (months and years that lack the day clamp to their last day: 31 January + 1 month is
    ///   28 or 29 February), at `previous_due`'s local time of day. If that time falls in a
    ///   spring-forward gap it moves forward by the gap's length, so the task is never lost;
    ///   a repeated time means its first occurrence.
    /// * HOURLY: `completed_at` plus INTERVAL elapsed hours.
    pub fn next_from_completion(
        &self,
        previous_due: DateTime<Utc>,
        all_day: bool,
        zone: TimeZone,
        completed_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if !(calendar::is_supported(previous_due) && calendar::is_supported(completed_at)) {
            return None;
        }
        let next = completion::next_due(&self.rule, previous_due, all_day, zone, completed_at)?;
        until_allows(self.rule.until, zone, next).then_some(next)
    }

    /// The rule's instants strictly after `after`, anchored at `anchor`'s local time; `None`
    /// when `anchor` lies outside the years the engine works in.
    fn expansion(
        &self,
        anchor: DateTime<Utc>,
        zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<Expansion> {
        if !calendar::is_supported(anchor) {
            return None;
        }
        let pattern = Pattern::new(&self.rule, zone.local_datetime(anchor));
        Some(Expansion::new(pattern, zone, anchor, Some(after)))
    }
}

/// The instants of a recurring series, in order; see [`Recurrence::occurrences`].
#[derive(Debug)]
pub struct Occurrences {
    first: Option<DateTime<Utc>>,
    rest: Option<Expansion>,
    remaining: Option<u32>,
    until: Option<Until>,
    zone: TimeZone,
    finished: bool,
}

impl Iterator for Occurrences {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        if self.finished || self.remaining == Some(0) {
            return None;
        }
        // DTSTART is the first instance even past UNTIL: the task exists and is due then.
        let next = match self.first.take() {
            Some(first) => first,
            None => match self.rest.as_mut().and_then(Iterator::next) {
                Some(instant) if until_allows(self.until, self.zone, instant) => instant,
                _ => {
                    self.finished = true;
                    return None;
                }
            },
        };
        if let Some(remaining) = &mut self.remaining {
            *remaining -= 1;
        }
        Some(next)
    }
}

/// Returns whether `instant` is on or before UNTIL (always, without UNTIL).
fn until_allows(until: Option<Until>, zone: TimeZone, instant: DateTime<Utc>) -> bool {
    match until {
        None => true,
        Some(Until::Instant(until)) => instant <= until,
        Some(Until::Local(until)) => zone.local_datetime(instant) <= until,
        Some(Until::Date(until)) => zone.local_date(instant) <= until,
    }
}
