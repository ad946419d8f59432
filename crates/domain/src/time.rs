//! Time zones and wall-clock helpers shared by due dates, recurrence and reminders.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An IANA time zone (`Europe/Berlin`, `Asia/Karachi`, `UTC`), from the full tz database with
/// its historical rules.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(Tz);

/// The string does not name an IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {0:?}; use an IANA name such as \"Europe/Berlin\"")]
pub struct UnknownTimeZone(pub String);

impl TimeZone {
    /// Coordinated Universal Time.
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// Returns the name of every zone [`TimeZone::parse`] knows (it also takes them in any
    /// letter case), in the tz database's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name())
    }

    /// Parses an IANA name, ignoring ASCII case (`europe/berlin` is `Europe/Berlin`).
    pub fn parse(name: &str) -> Result<Self, UnknownTimeZone> {
        Tz::from_str(name)
            .or_else(|_| Tz::from_str_insensitive(name))
            .map(Self)
            .map_err(|_| UnknownTimeZone(name.to_owned()))
    }

    /// Returns the chrono-tz zone.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// Returns the canonical IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// Returns the local calendar date of `instant` in this zone.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.0).date_naive()
    }

    /// Returns the local wall-clock time of `instant` in this zone.
    pub fn local_datetime(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.0).naive_local()
    }

    /// Resolves a wall-clock time the way RFC 5545 reads DTSTART: an ambiguous time (the
    /// repeated fall-back hour) means its first occurrence; a time skipped by a spring-forward
    /// change is `None`.
    pub fn resolve_strict(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.0.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
            LocalResult::None => None,
        }
    }

    /// Resolves a wall-clock time, moving a time skipped by a spring-forward change forward by
    /// the length of the gap (02:30 on a day that jumps from 02:00 to 03:00 becomes 03:30).
    pub fn resolve_lenient(&self, local: NaiveDateTime) -> DateTime<Utc> {
        if let Some(instant) = self.resolve_strict(local) {
            return instant;
        }
        // Read the time with the offset in force before the gap, as RFC 5545 section 3.3.5
        // prescribes for non-existent local times.
        let before = local - TimeDelta::hours(24);
        let offset = self
            .resolve_strict(before)
            .map(|instant| instant.with_timezone(&self.0).naive_local() - instant.naive_utc())
            .unwrap_or_default();
        DateTime::from_naive_utc_and_offset(local - offset, Utc)
    }

    /// Returns the instant of 00:00 local on `date` (or the first instant of that date when
    /// midnight itself was skipped by a DST change).
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.resolve_lenient(date.and_time(chrono::NaiveTime::MIN))
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl fmt::Debug for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for TimeZone {
    type Error = UnknownTimeZone;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        TimeZone::parse(&value)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> Self {
        zone.name().to_owned()
    }
}

impl From<Tz> for TimeZone {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

/// Truncates an instant to whole microseconds, the precision every storage backend keeps, so
/// that a value read back compares equal to the value written.
pub fn truncate_to_micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    let micros = instant.timestamp_micros();
    DateTime::from_timestamp_micros(micros).unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str) -> TimeZone {
        TimeZone::parse(name).unwrap()
    }

    #[test]
    fn time_zone_names_are_matched_ignoring_case_and_canonicalised() {
        assert_eq!(zone("europe/berlin").name(), "Europe/Berlin");
        assert_eq!(zone("UTC").name(), "UTC");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("").is_err());
    }

    #[test]
    fn skipped_local_times_are_none_when_strict_and_shifted_when_lenient() {
        let berlin = zone("Europe/Berlin");
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(berlin.resolve_strict(gap), None);
        assert_eq!(
            berlin.resolve_lenient(gap).to_rfc3339(),
            "2026-03-29T01:30:00+00:00"
        );
    }

    #[test]
    fn repeated_local_times_resolve_to_their_first_occurrence() {
        let berlin = zone("Europe/Berlin");
        let repeated = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(
            berlin.resolve_strict(repeated).unwrap().to_rfc3339(),
            "2026-10-25T00:30:00+00:00"
        );
    }

    #[test]
    fn start_of_day_uses_the_first_instant_when_midnight_does_not_exist() {
        // Santiago moved its clocks from 00:00 to 01:00 on 2026-09-06.
        let santiago = zone("America/Santiago");
        let date = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap();
        let start = santiago.start_of_day(date);
        assert_eq!(santiago.local_date(start), date);
        assert_eq!(
            santiago.local_datetime(start).time().to_string(),
            "01:00:00"
        );
    }
}
