//! Reminder specifications on a task: an offset relative to the due date (ISO 8601 duration
//! such as `-PT30M`) or an absolute instant.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Most reminders on one task.
pub const MAX_REMINDERS_PER_TASK: usize = 20;
/// Largest offset from the due date, either way (one leap year).
pub const MAX_REMINDER_OFFSET_SECONDS: i64 = 366 * 86_400;

/// When to remind, as given on the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ReminderSpec {
    /// Relative to the task's due date; negative is before.
    Offset(Offset),
    /// An absolute instant.
    At(DateTime<Utc>),
}

/// A signed whole-second offset. A day is 86 400 seconds; years and months are refused
/// because their length depends on the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset {
    seconds: i64,
}

/// Why a string is not a reminder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReminderError {
    /// Neither an ISO 8601 duration nor an RFC 3339 instant.
    #[error(
        "expected an ISO 8601 duration relative to the due date such as \"-PT30M\" or an RFC 3339 instant"
    )]
    Malformed,
    /// Uses years or months, whose length is not fixed.
    #[error("durations in years or months are not supported; use weeks, days, hours or minutes")]
    CalendarUnit,
    /// Too far from the due date.
    #[error("a reminder offset must be within 366 days of the due date")]
    OutOfRange,
}

impl ReminderError {
    /// Returns a stable snake_case code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            ReminderError::Malformed => "invalid_format",
            ReminderError::CalendarUnit => "unsupported_unit",
            ReminderError::OutOfRange => "out_of_range",
        }
    }
}

impl Offset {
    /// Builds an offset of `seconds` (negative is before the due date).
    pub fn from_seconds(seconds: i64) -> Result<Self, ReminderError> {
        if seconds.abs() > MAX_REMINDER_OFFSET_SECONDS {
            return Err(ReminderError::OutOfRange);
        }
        Ok(Self { seconds })
    }

    /// Returns the offset in seconds.
    pub fn seconds(&self) -> i64 {
        self.seconds
    }

    /// Parses an ISO 8601 duration: an optional sign, then `P[nW][nD][T[nH][nM][nS]]`.
    pub fn parse_iso8601(text: &str) -> Result<Self, ReminderError> {
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'-') => (-1, &text[1..]),
            Some(b'+') => (1, &text[1..]),
            _ => (1, text),
        };
        let rest = rest
            .strip_prefix('P')
            .or_else(|| rest.strip_prefix('p'))
            .ok_or(ReminderError::Malformed)?;
        let mut seconds: i64 = 0;
        let mut in_time = false;
        let mut number = String::new();
        let mut saw_component = false;
        for c in rest.chars() {
            match c.to_ascii_uppercase() {
                d @ '0'..='9' => number.push(d),
                'T' if !in_time && number.is_empty() => in_time = true,
                unit => {
                    let value: i64 = number.parse().map_err(|_| ReminderError::Malformed)?;
                    number.clear();
                    let unit_seconds = match (in_time, unit) {
                        (false, 'Y') | (false, 'M') => return Err(ReminderError::CalendarUnit),
                        (false, 'W') => 7 * 86_400,
                        (false, 'D') => 86_400,
                        (true, 'H') => 3_600,
                        (true, 'M') => 60,
                        (true, 'S') => 1,
                        _ => return Err(ReminderError::Malformed),
                    };
                    seconds = value
                        .checked_mul(unit_seconds)
                        .and_then(|part| seconds.checked_add(part))
                        .ok_or(ReminderError::OutOfRange)?;
                    saw_component = true;
                }
            }
        }
        if !number.is_empty() || !saw_component {
            return Err(ReminderError::Malformed);
        }
        Offset::from_seconds(sign * seconds)
    }

    /// Returns the offset as a time delta.
    pub fn as_delta(&self) -> TimeDelta {
        TimeDelta::seconds(self.seconds)
    }
}

impl fmt::Display for Offset {
    /// Writes the canonical ISO 8601 form: `-P1DT2H30M`, `PT0S`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.seconds < 0 {
            f.write_str("-")?;
        }
        let mut rest = self.seconds.unsigned_abs();
        f.write_str("P")?;
        let days = rest / 86_400;
        rest %= 86_400;
        if days > 0 {
            write!(f, "{days}D")?;
        }
        if rest > 0 || days == 0 {
            f.write_str("T")?;
            let (hours, minutes, seconds) = (rest / 3_600, rest % 3_600 / 60, rest % 60);
            if hours > 0 {
                write!(f, "{hours}H")?;
            }
            if minutes > 0 {
                write!(f, "{minutes}M")?;
            }
            if seconds > 0 || rest == 0 {
                write!(f, "{seconds}S")?;
            }
        }
        Ok(())
    }
}

impl ReminderSpec {
    /// Parses an ISO 8601 duration or an RFC 3339 instant.
    pub fn parse(text: &str) -> Result<Self, ReminderError> {
        let trimmed = text.trim();
        if let Ok(instant) = DateTime::parse_from_rfc3339(trimmed) {
            return Ok(ReminderSpec::At(crate::time::truncate_to_micros(
                instant.with_timezone(&Utc),
            )));
        }
        Offset::parse_iso8601(trimmed).map(ReminderSpec::Offset)
    }

    /// Returns when this reminder fires for a task due at `due_at`; `None` for an offset when
    /// the task has no due date.
    pub fn fire_at(&self, due_at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        match self {
            ReminderSpec::Offset(offset) => due_at.map(|due| due + offset.as_delta()),
            ReminderSpec::At(instant) => Some(*instant),
        }
    }

    /// Returns whether this reminder is relative to the due date.
    pub fn is_relative(&self) -> bool {
        matches!(self, ReminderSpec::Offset(_))
    }
}

impl fmt::Display for ReminderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReminderSpec::Offset(offset) => offset.fmt(f),
            ReminderSpec::At(instant) => {
                f.write_str(&instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
            }
        }
    }
}

impl TryFrom<String> for ReminderSpec {
    type Error = ReminderError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        ReminderSpec::parse(&value)
    }
}

impl From<ReminderSpec> for String {
    fn from(spec: ReminderSpec) -> Self {
        spec.to_string()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn iso_durations_parse_to_signed_seconds() {
        let cases = [
            ("-PT30M", -1_800),
            ("PT0S", 0),
            ("-P1D", -86_400),
            ("-P1DT2H", -93_600),
            ("P1W", 604_800),
            ("+PT1H30M15S", 5_415),
            ("-pt5m", -300),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                Offset::parse_iso8601(text).unwrap().seconds(),
                seconds,
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_and_calendar_durations_are_refused() {
        for text in [
            "", "P", "-PT", "30M", "PT30", "P1H", "PT1D", "P1.5D", "--PT1M",
        ] {
            assert_eq!(
                Offset::parse_iso8601(text),
                Err(ReminderError::Malformed),
                "{text}"
            );
        }
        assert_eq!(
            Offset::parse_iso8601("-P1M"),
            Err(ReminderError::CalendarUnit)
        );
        assert_eq!(
            Offset::parse_iso8601("P400D"),
            Err(ReminderError::OutOfRange)
        );
        assert_eq!(
            Offset::parse_iso8601("P99999999999999999D"),
            Err(ReminderError::OutOfRange)
        );
    }

    #[test]
    fn instants_and_offsets_are_told_apart() {
        assert_eq!(
            ReminderSpec::parse("2026-11-21T08:00:00+05:00")
                .unwrap()
                .to_string(),
            "2026-11-21T03:00:00Z"
        );
        assert_eq!(
            ReminderSpec::parse("-PT90M").unwrap().to_string(),
            "-PT1H30M"
        );
    }

    proptest! {
        #[test]
        fn canonical_offsets_round_trip(seconds in -MAX_REMINDER_OFFSET_SECONDS..=MAX_REMINDER_OFFSET_SECONDS) {
            let offset = Offset::from_seconds(seconds).unwrap();
            let reparsed = Offset::parse_iso8601(&offset.to_string()).unwrap();
            prop_assert_eq!(reparsed, offset);
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = ReminderSpec::parse(&text);
        }
    }
}
