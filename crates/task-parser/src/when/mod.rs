//! Date and time phrases: "tomorrow at 5pm", "next thursday", "in 3 hours", "Feb 14th",
//! "the 15th", Urdu "kal subah 9 baje". A phrase may start with a small introducing word
//! ("at", "on", "by", "due", "in", "starting", "until") that goes with it.

mod absolute;
mod date;
mod time;

use chrono::{NaiveDate, NaiveTime, TimeDelta, Weekday};

use crate::calendar;
use crate::scanner::Scanner;

/// What a date phrase contributes beyond a single date, used to merge it into a recurrence
/// ("every week" + "on thursday").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DatePattern {
    /// A single date ("tomorrow", "in 3 days", "2026-03-01").
    Plain,
    /// One or more weekdays ("friday", "mon and wed").
    Weekdays(Vec<Weekday>),
    /// Days of the month ("the 15th"; -1 is the last day).
    MonthDays(Vec<i32>),
    /// A day of a month without a year ("Feb 14").
    MonthDay { month: u32, day: u32 },
    /// The nth weekday of a month ("the first monday"; -1 is the last).
    NthWeekday { nth: i32, weekday: Weekday },
}

/// A date phrase: the date it means for a one-off task and its pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DateSpec {
    pub date: NaiveDate,
    pub pattern: DatePattern,
}

impl DateSpec {
    pub fn plain(date: NaiveDate) -> Self {
        Self {
            date,
            pattern: DatePattern::Plain,
        }
    }
}

/// A named part of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
    /// "tonight", "tomorrow night", Urdu "raat": 20:00.
    Night,
    /// "every night": 22:00, as Todoist reads it.
    LateNight,
}

impl PartOfDay {
    /// Returns the hour the part means when no time is given.
    fn default_hour(self) -> u32 {
        match self {
            PartOfDay::Morning => 9,
            PartOfDay::Afternoon => 15,
            PartOfDay::Evening => 19,
            PartOfDay::Night => 20,
            PartOfDay::LateNight => 22,
        }
    }

    /// Reads a part-of-day word (English or Urdu).
    pub fn from_word(word: &str) -> Option<Self> {
        match word {
            "morning" | "subah" | "subha" | "subh" | "صبح" => Some(PartOfDay::Morning),
            "afternoon" | "dopahar" | "dopehar" | "dophar" | "dupehar" | "دوپہر" => {
                Some(PartOfDay::Afternoon)
            }
            "evening" | "shaam" | "sham" | "شام" => Some(PartOfDay::Evening),
            "night" | "raat" | "رات" => Some(PartOfDay::Night),
            _ => None,
        }
    }
}

/// How a written time may be adjusted by a part of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeKind {
    /// Written with am/pm or unambiguously on the 24-hour clock.
    Exact,
    /// `H:MM` below 12 without am/pm: literal unless a part of the day says otherwise.
    Literal,
    /// A bare hour ("at 5", "5 baje"): the bare-hour rule unless a part of the day says.
    Bare,
    Noon,
    /// 00:00 at the end of the day.
    Midnight,
}

/// A time of day as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeSpec {
    pub hour: u32,
    pub minute: u32,
    pub kind: TimeKind,
}

/// What a date-time phrase is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Due,
    /// "starting may 5", Urdu "se": the first date of a recurrence.
    Start,
    /// "until june 30", Urdu "tak": the last date of a recurrence.
    Until,
}

/// One recognised phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct When {
    pub date: Option<DateSpec>,
    pub part: Option<PartOfDay>,
    pub time: Option<TimeSpec>,
    /// An exact elapsed time from now ("in 2 hours").
    pub after: Option<TimeDelta>,
    pub role: Role,
}

impl When {
    fn empty() -> Self {
        Self {
            date: None,
            part: None,
            time: None,
            after: None,
            role: Role::Due,
        }
    }

    fn date(date: DateSpec) -> Self {
        Self {
            date: Some(date),
            ..Self::empty()
        }
    }

    fn time(time: TimeSpec) -> Self {
        Self {
            time: Some(time),
            ..Self::empty()
        }
    }

    fn part(part: PartOfDay) -> Self {
        Self {
            part: Some(part),
            ..Self::empty()
        }
    }
}

/// The introducing word before a phrase, which limits what may follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intro {
    None,
    /// "at", "@": times.
    At,
    /// "on": dates.
    On,
    /// "in": elapsed times and "in the morning".
    In,
    /// "for": dates only ("for 2 hours" is not a date).
    For,
    /// "by", "due", "before", "starting", "until" ...: dates and times.
    By,
}

impl Intro {
    /// Returns whether a bare weekday that is also an ordinary word ("sat") may follow.
    pub fn introduces(self) -> bool {
        self != Intro::None
    }
}

/// Reads an introducing word: its kind and the role it gives the phrase.
fn introducer(word: &str) -> Option<(Intro, Option<Role>)> {
    let intro = match word {
        "at" | "@" => (Intro::At, None),
        "on" => (Intro::On, None),
        "in" | "within" => (Intro::In, None),
        "for" => (Intro::For, None),
        "by" | "before" | "due" => (Intro::By, None),
        "starting" | "beginning" | "from" | "start" | "starts" => (Intro::By, Some(Role::Start)),
        "until" | "till" | "til" | "through" | "thru" | "ending" | "ends" => {
            (Intro::By, Some(Role::Until))
        }
        _ => return None,
    };
    Some(intro)
}

impl Scanner<'_> {
    /// Matches a date-time phrase starting at `i`, with its introducing words and a trailing
    /// Urdu postposition. Returns the phrase and the index after it.
    pub fn when_at(&self, i: usize) -> Option<(When, usize)> {
        let mut chain: Vec<(usize, Intro, Role)> = vec![(i, Intro::None, Role::Due)];
        let mut j = i;
        let mut role = Role::Due;
        while chain.len() < 4 {
            let word = match self.word(j) {
                Some(w) => w,
                None if self.punct(j, '@') => "@",
                None => break,
            };
            let Some((intro, given)) = introducer(word) else {
                break;
            };
            if let Some(given) = given {
                role = given;
            }
            j += 1;
            chain.push((j, intro, role));
        }
        let (mut when, mut end) = chain.iter().rev().find_map(|&(start, intro, role)| {
            self.when_core(start, intro).map(|(mut when, end)| {
                when.role = role;
                (when, end)
            })
        })?;
        // Urdu postpositions belong to the phrase they follow: "juma ko", "30 june tak".
        match self.word(end) {
            Some("ko" | "کو") => end += 1,
            Some("tak" | "تک") => {
                when.role = Role::Until;
                end += 1;
            }
            Some("se" | "سے") if when.date.is_some() => {
                when.role = Role::Start;
                end += 1;
            }
            _ => {}
        }
        Some((when, end))
    }

    /// Matches the phrase itself, after any introducer.
    fn when_core(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        match intro {
            Intro::In => self.elapsed(i).or_else(|| self.part_phrase(i, intro)),
            Intro::At => self
                .time_of_day(i, intro)
                .or_else(|| self.part_phrase(i, intro))
                .or_else(|| self.end_of(i)),
            _ => self
                .date_phrase(i, intro)
                .or_else(|| match intro {
                    Intro::On => None,
                    _ => self.time_of_day(i, intro),
                })
                .or_else(|| self.part_phrase(i, intro)),
        }
    }

    /// Adds a following part of the day to a date phrase ("tomorrow morning", "kal subah").
    fn with_part(&self, mut when: When, end: usize) -> (When, usize) {
        if when.part.is_none()
            && when.time.is_none()
            && let Some(part) = self.word(end).and_then(PartOfDay::from_word)
        {
            when.part = Some(part);
            return (when, end + 1);
        }
        (when, end)
    }
}

/// Returns the wall-clock time a phrase means and how many days after its date it falls
/// (midnight is the end of the day; "tonight at 1" is early next morning).
pub(crate) fn clock_time(
    time: Option<TimeSpec>,
    part: Option<PartOfDay>,
) -> Option<(NaiveTime, i64)> {
    let Some(time) = time else {
        return part.and_then(|p| calendar::time(p.default_hour(), 0).map(|t| (t, 0)));
    };
    let (hour, minute) = (time.hour, time.minute);
    let (hour, days) = match time.kind {
        TimeKind::Midnight => (0, 1),
        TimeKind::Noon => (12, 0),
        TimeKind::Exact => (hour, 0),
        TimeKind::Literal | TimeKind::Bare => match part {
            Some(PartOfDay::Morning) => (if hour == 12 { 0 } else { hour }, 0),
            Some(PartOfDay::Afternoon) => (
                if (1..=7).contains(&hour) {
                    hour + 12
                } else {
                    hour
                },
                0,
            ),
            Some(PartOfDay::Evening) => (if hour < 12 { hour + 12 } else { hour }, 0),
            Some(PartOfDay::Night | PartOfDay::LateNight) => match hour {
                6..=11 => (hour + 12, 0),
                12 => (0, 1),
                0..=5 => (hour, 1),
                _ => (hour, 0),
            },
            None if time.kind == TimeKind::Bare => (bare_hour(hour), 0),
            None => (hour, 0),
        },
    };
    calendar::time(hour, minute).map(|t| (t, days))
}

/// The bare-hour rule: 1-7 mean the afternoon or evening, 8-12 the morning or noon.
fn bare_hour(hour: u32) -> u32 {
    if (1..=7).contains(&hour) {
        hour + 12
    } else {
        hour
    }
}
