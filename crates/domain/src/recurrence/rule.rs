//! The parsed form of an RRULE body: one field per rule part, validated but not yet combined
//! with a DTSTART (see `pattern.rs` for that).

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc, Weekday};

/// How often a rule repeats: its FREQ part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Frequency {
    /// `FREQ=HOURLY`: every INTERVAL elapsed hours.
    Hourly,
    /// `FREQ=DAILY`: every INTERVAL days on the local calendar.
    Daily,
    /// `FREQ=WEEKLY`: every INTERVAL weeks (weeks start on WKST).
    Weekly,
    /// `FREQ=MONTHLY`: every INTERVAL months.
    Monthly,
    /// `FREQ=YEARLY`: every INTERVAL years.
    Yearly,
}

impl Frequency {
    /// Returns the RRULE spelling (`DAILY`, `WEEKLY`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Frequency::Hourly => "HOURLY",
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
            Frequency::Monthly => "MONTHLY",
            Frequency::Yearly => "YEARLY",
        }
    }

    /// Returns whether the rule repeats more often than once a day.
    pub fn is_sub_daily(&self) -> bool {
        matches!(self, Frequency::Hourly)
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The UNTIL part in the form it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Until {
    /// `20261231T235959Z`: an instant, compared as UTC.
    Instant(DateTime<Utc>),
    /// `20261231T235959`: a floating wall-clock time, compared on the task's local clock.
    Local(NaiveDateTime),
    /// `20261231`: the whole local date is included.
    Date(NaiveDate),
}

impl Until {
    pub(crate) fn render(&self) -> String {
        match self {
            Until::Instant(instant) => instant.format("%Y%m%dT%H%M%SZ").to_string(),
            Until::Local(local) => local.format("%Y%m%dT%H%M%S").to_string(),
            Until::Date(date) => date.format("%Y%m%d").to_string(),
        }
    }
}

/// One BYDAY entry: a weekday, optionally with an ordinal (`-1FR` is the last Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct WeekdayRule {
    pub(crate) ordinal: Option<i8>,
    pub(crate) weekday: Weekday,
}

/// A validated rule. Lists keep the order they were written in, without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Rule {
    pub(crate) frequency: Frequency,
    pub(crate) interval: u32,
    pub(crate) count: Option<u32>,
    pub(crate) until: Option<Until>,
    pub(crate) by_second: Vec<u8>,
    pub(crate) by_minute: Vec<u8>,
    pub(crate) by_hour: Vec<u8>,
    pub(crate) by_day: Vec<WeekdayRule>,
    pub(crate) by_month_day: Vec<i8>,
    pub(crate) by_year_day: Vec<i16>,
    pub(crate) by_week_no: Vec<i8>,
    pub(crate) by_month: Vec<u8>,
    pub(crate) by_set_pos: Vec<i16>,
    pub(crate) week_start: Weekday,
}

impl Rule {
    /// A rule with only FREQ set; the parser fills in the rest.
    pub(crate) fn new(frequency: Frequency) -> Self {
        Self {
            frequency,
            interval: 1,
            count: None,
            until: None,
            by_second: Vec::new(),
            by_minute: Vec::new(),
            by_hour: Vec::new(),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_year_day: Vec::new(),
            by_week_no: Vec::new(),
            by_month: Vec::new(),
            by_set_pos: Vec::new(),
            week_start: Weekday::Mon,
        }
    }

    /// Returns whether any BYxxx part other than BYSETPOS is present.
    pub(crate) fn has_by_part(&self) -> bool {
        !(self.by_second.is_empty()
            && self.by_minute.is_empty()
            && self.by_hour.is_empty()
            && self.by_day.is_empty()
            && self.by_month_day.is_empty()
            && self.by_year_day.is_empty()
            && self.by_week_no.is_empty()
            && self.by_month.is_empty())
    }
}

/// Returns the two-letter RRULE code of a weekday.
pub(crate) fn weekday_code(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Parses a two-letter RRULE weekday code (already upper-case).
pub(crate) fn parse_weekday_code(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

impl fmt::Display for WeekdayRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ordinal) = self.ordinal {
            write!(f, "{ordinal}")?;
        }
        f.write_str(weekday_code(self.weekday))
    }
}
