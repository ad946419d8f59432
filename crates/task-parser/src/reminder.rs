//! Reminder clauses: "remind me 20 minutes before", "remind me 5 minutes and 2 hours before",
//! "remind me 3 days before at 8am", "remind me at 7am", Urdu "10 minute pehle yaad dilana".

use chrono::{DateTime, Utc};
use tickler_domain::{Offset, ReminderSpec};

use crate::calendar;
use crate::lexicon::{self, Unit};
use crate::scanner::{Clock, Scanner};
use crate::when::{self, PartOfDay, TimeSpec, When};

/// One reminder as written, before the due date is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReminderItem {
    /// Seconds relative to the due date (negative is before).
    Offset(i64),
    /// A time of day some days before the due date ("3 days before at 8am").
    DaysBeforeAt {
        days: i64,
        time: Option<TimeSpec>,
        part: Option<PartOfDay>,
    },
    /// A date and/or time of its own ("at 7am" is on the due date).
    At(When),
}

impl Scanner<'_> {
    /// Matches a reminder clause starting at `i` (with a leading "and" or comma before it).
    /// Returns the reminders and the clause's start and end.
    pub fn reminder_at(&self, i: usize) -> Option<(Vec<ReminderItem>, usize, usize)> {
        if let Some((items, end)) = self.urdu_reminder(i) {
            return Some((items, i, end));
        }
        let mut j = self
            .phrase(i, "remind|alert|notify|ping me|us?")
            .or_else(|| self.phrase(i, "with|set|add|and a|an reminder|alert"))
            .or_else(|| self.phrase(i, "reminder|reminders"))?;
        if self.is(j, &["to", "that"]) {
            return None;
        }
        if self.phrase(j, "about|of it").is_some() {
            j = self.phrase(j, "about|of it")?;
        }
        if self.punct(j, ':') {
            j += 1;
        }
        if self.is(j, &["for"]) {
            j += 1;
        }
        let (mut items, mut end) = self.reminder_item(j)?;
        while let Some((mut more, next)) = self.listed(end, |s, k| s.reminder_item(k)) {
            items.append(&mut more);
            end = next;
        }
        if items.is_empty() {
            return None;
        }
        let mut start = i;
        if start > 0 && self.is(start - 1, &["and"]) {
            start -= 1;
        }
        if start > 0 && self.punct(start - 1, ',') {
            start -= 1;
        }
        Some((items, start, end))
    }

    /// One item of a reminder clause: offsets "before", "the day before", or a date-time.
    fn reminder_item(&self, i: usize) -> Option<(Vec<ReminderItem>, usize)> {
        if let Some((offsets, end)) = self.offsets_before(i) {
            // "3 days before at 8am": a time of day on the day that many days earlier.
            if let [(seconds, true)] = offsets.as_slice()
                && let Some((when, after)) = self.when_at(end)
                && when.date.is_none()
                && when.after.is_none()
            {
                let item = ReminderItem::DaysBeforeAt {
                    days: seconds / 86_400,
                    time: when.time,
                    part: when.part,
                };
                return Some((vec![item], after));
            }
            let items = offsets
                .into_iter()
                .map(|(seconds, _)| ReminderItem::Offset(-seconds))
                .collect();
            return Some((items, end));
        }
        if let Some(j) = self.phrase(i, "the|a day|night|evening|morning before") {
            let part = self.word(j - 2).and_then(PartOfDay::from_word);
            let mut end = j;
            let mut time = None;
            if let Some((when, after)) = self.when_at(j)
                && when.date.is_none()
                && when.after.is_none()
            {
                time = when.time;
                end = after;
            }
            let item = match (part, time) {
                (None, None) => ReminderItem::Offset(-86_400),
                (part, time) => ReminderItem::DaysBeforeAt {
                    days: 1,
                    time,
                    part,
                },
            };
            return Some((vec![item], end));
        }
        let j = self.phrase(i, "on the same? day").unwrap_or(i);
        let (mut when, mut end) = self.when_at(j)?;
        // "tomorrow at 8am", "at 8am tomorrow": a date and a time make one reminder.
        if let Some((more, after)) = self.when_at(end) {
            let fits = when.after.is_none()
                && more.after.is_none()
                && (when.date.is_none() != more.date.is_none())
                && (when.time.is_none() || more.time.is_none());
            if fits {
                when.date = when.date.or(more.date);
                when.time = when.time.or(more.time);
                when.part = when.part.or(more.part);
                end = after;
            }
        }
        Some((vec![ReminderItem::At(when)], end))
    }

    /// "20 minutes before", "5 minutes and 2 hours before", "an hour earlier", "1h before":
    /// each offset in seconds with whether it is a whole number of days.
    fn offsets_before(&self, i: usize) -> Option<(Vec<(i64, bool)>, usize)> {
        let (first, mut end) = self.duration(i)?;
        let mut offsets = vec![first];
        while let Some((offset, next)) = self.listed(end, |s, k| s.duration(k)) {
            offsets.push(offset);
            end = next;
        }
        let end = self
            .phrase(end, "before|earlier|prior|ahead|beforehand")
            .or_else(|| self.phrase(end, "in advance"))?;
        let end = self
            .phrase(end, "it|that")
            .or_else(|| self.phrase(end, "the deadline|due"))
            .unwrap_or(end);
        Some((offsets, end))
    }

    /// A duration at `i` ("20 minutes", "half an hour", "2h"): seconds and whether it is a
    /// whole number of days.
    fn duration(&self, i: usize) -> Option<((i64, bool), usize)> {
        if let Some(end) = self.phrase(i, "half an hour") {
            return Some(((1_800, false), end));
        }
        let (count, j) = self.count(i).or_else(|| self.urdu_number(i))?;
        let (unit, per, end) = match self.word(j).and_then(lexicon::unit) {
            Some((unit, per)) => (unit, per, j + 1),
            None => {
                let unit = self
                    .word(j)
                    .filter(|_| self.glued(j))
                    .and_then(lexicon::glued_unit)?;
                (unit, 1, j + 1)
            }
        };
        let seconds: i64 = match unit {
            Unit::Minute => 60,
            Unit::Hour => 3_600,
            Unit::Day => 86_400,
            Unit::Week => 7 * 86_400,
            Unit::Month | Unit::Year => return None,
        };
        let total = seconds.checked_mul(i64::from(count.checked_mul(per)?))?;
        Some(((total, matches!(unit, Unit::Day | Unit::Week)), end))
    }

    fn urdu_number(&self, i: usize) -> Option<(u32, usize)> {
        self.number(i).map(|n| (n, i + 1))
    }

    /// "10 minute pehle yaad dilana", "ایک گھنٹہ پہلے یاد دلانا".
    fn urdu_reminder(&self, i: usize) -> Option<(Vec<ReminderItem>, usize)> {
        let ((seconds, _), j) = self.duration(i)?;
        let end = self.phrase(j, "pehle|pahle|پہلے yaad|یاد")?;
        let end = self.phrase(
            end,
            "dilana|dilaana|dilao|dila|karana|karwana|دلانا|دلاؤ|دلا|کرانا",
        )?;
        let end = self.phrase(end, "dena|do|دینا|دو").unwrap_or(end);
        Some((vec![ReminderItem::Offset(-seconds)], end))
    }
}

/// Turns written reminders into specs once the due date is known. Items that need a due date
/// and have none are dropped.
pub(crate) fn resolve(
    items: &[ReminderItem],
    due: Option<DateTime<Utc>>,
    clock: &Clock,
) -> Vec<ReminderSpec> {
    let zone = clock.zone;
    let due_date = due.map(|d| zone.local_date(d));
    items
        .iter()
        .filter_map(|item| match item {
            ReminderItem::Offset(seconds) => Offset::from_seconds(*seconds)
                .ok()
                .map(ReminderSpec::Offset),
            ReminderItem::DaysBeforeAt { days, time, part } => {
                let date = calendar::add_days(due_date?, -days)?;
                let (clock_time, extra) = when::clock_time(*time, *part)?;
                let date = calendar::add_days(date, extra)?;
                Some(ReminderSpec::At(
                    zone.resolve_lenient(date.and_time(clock_time)),
                ))
            }
            ReminderItem::At(when) => {
                if let Some(after) = when.after {
                    return clock.now.checked_add_signed(after).map(ReminderSpec::At);
                }
                let (clock_time, extra) =
                    when::clock_time(when.time, when.part).unwrap_or((chrono::NaiveTime::MIN, 0));
                let date = match (&when.date, due_date) {
                    (Some(spec), _) => spec.date,
                    (None, Some(date)) => date,
                    (None, None) => {
                        let today = clock.today.and_time(clock_time);
                        let instant = zone.resolve_lenient(today);
                        if instant > clock.now {
                            clock.today
                        } else {
                            calendar::add_days(clock.today, 1)?
                        }
                    }
                };
                let date = calendar::add_days(date, extra)?;
                Some(ReminderSpec::At(
                    zone.resolve_lenient(date.and_time(clock_time)),
                ))
            }
        })
        .collect()
}
