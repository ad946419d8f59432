//! Absolute date phrases: month names ("Feb 14", "the 14th of February", "Aug 3, 2026"),
//! numeric dates ("2026-03-01", "23/04", "11/30"), days of the month ("the 15th") and nth
//! weekdays ("the first monday of next month").

use chrono::{Datelike, NaiveDate};

use super::date::english_day;
use super::{DatePattern, DateSpec, Intro, When};
use crate::calendar;
use crate::lexicon;
use crate::scanner::Scanner;
use crate::token::Kind;

impl Scanner<'_> {
    /// Feb 14, 14 Feb, February 14th, the 14th of February, Aug 3, 2026.
    pub(super) fn month_name_date(&self, i: usize) -> Option<(When, usize)> {
        if let Some(month) = self.word(i).and_then(lexicon::month) {
            let mut j = i + 1;
            if self.punct(j, '.') && self.glued(j) {
                j += 1;
            }
            if self.is(j, &["the"]) {
                j += 1;
            }
            let (day, end) = self.day_number(j, false)?;
            return self.month_day(month, day, end);
        }
        let j = if self.is(i, &["the"]) { i + 1 } else { i };
        let (day, mut k) = self.day_number(j, false).or_else(|| {
            let day = self.word(j).and_then(lexicon::ordinal_word)?;
            self.is(j + 1, &["of"]).then_some((day, j + 1))
        })?;
        if self.is(k, &["of"]) {
            k += 1;
        }
        let month = self.word(k).and_then(lexicon::month)?;
        let mut end = k + 1;
        if self.punct(end, '.') && self.glued(end) {
            end += 1;
        }
        self.month_day(month, day, end)
    }

    /// Completes a month-and-day with an optional year that follows at `end`.
    fn month_day(&self, month: u32, day: u32, end: usize) -> Option<(When, usize)> {
        let comma = usize::from(self.punct(end, ','));
        if let Some(year) = self
            .number(end + comma)
            .filter(|_| self.tokens[end + comma].digits == 4 && self.word_ends(end + comma + 1))
        {
            let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
            return Some((When::date(DateSpec::plain(date)), end + comma + 1));
        }
        NaiveDate::from_ymd_opt(2000, month, day)?;
        let date = calendar::month_day_on_or_after(self.clock.today, month, day)?;
        let spec = DateSpec {
            date,
            pattern: DatePattern::MonthDay { month, day },
        };
        Some(self.with_part(When::date(spec), end))
    }

    /// A day number 1-31 at `i` with an optional (or, when `suffix` is set, required) ordinal
    /// suffix: `14`, `14th`. Returns the day and the index after it.
    pub(crate) fn day_number(&self, i: usize, suffix: bool) -> Option<(u32, usize)> {
        let day = self.number(i).filter(|d| (1..=31).contains(d))?;
        if self.tokens[i].digits > 2 {
            return None;
        }
        let mut end = i + 1;
        if self.glued(end) && self.word(end).is_some_and(lexicon::is_ordinal_suffix) {
            end += 1;
        } else if suffix {
            return None;
        }
        self.word_ends(end).then_some((day, end))
    }

    /// 2026-03-01, 23/04, 11/30, 23/04/2026, 1.2.2027.
    pub(super) fn numeric_date(&self, i: usize) -> Option<(When, usize)> {
        let first = self.number(i)?;
        let first_digits = self.tokens[i].digits;
        let separator = self
            .free(i + 1)
            .filter(|t| t.glued && t.kind == Kind::Punct)?;
        let separator = separator.norm.chars().next()?;
        if !matches!(separator, '-' | '/' | '.') {
            return None;
        }
        let second = self.glued_number(i + 2)?;
        let third = if self.punct(i + 3, separator) && self.glued(i + 3) {
            self.glued_number(i + 4)
        } else {
            None
        };
        let end = if third.is_some() { i + 5 } else { i + 3 };
        if !self.word_ends(end) {
            return None;
        }
        // "The 9/11 Report": a number after an article names something.
        if i > 0
            && self.tokens[i - 1]
                .word()
                .is_some_and(|w| matches!(w, "the" | "a" | "an"))
        {
            return None;
        }
        let date = match (first_digits, third) {
            (4, Some((day, _))) => {
                NaiveDate::from_ymd_opt(i32::try_from(first).ok()?, second.0, day)?
            }
            (1 | 2, Some((year, digits))) if separator != '-' && matches!(digits, 2 | 4) => {
                let year = i32::try_from(if digits == 2 { 2000 + year } else { year }).ok()?;
                NaiveDate::from_ymd_opt(year, second.0, first)
                    .or_else(|| NaiveDate::from_ymd_opt(year, first, second.0))?
            }
            (1 | 2, None) if separator == '/' && second.1 <= 2 => {
                let (month, day) = if NaiveDate::from_ymd_opt(2000, second.0, first).is_some() {
                    (second.0, first)
                } else {
                    NaiveDate::from_ymd_opt(2000, first, second.0)?;
                    (first, second.0)
                };
                let date = calendar::month_day_on_or_after(self.clock.today, month, day)?;
                let spec = DateSpec {
                    date,
                    pattern: DatePattern::MonthDay { month, day },
                };
                return Some(self.with_part(When::date(spec), end));
            }
            _ => return None,
        };
        Some(self.with_part(When::date(DateSpec::plain(date)), end))
    }

    /// A number glued to the token before it, with its digit count.
    fn glued_number(&self, i: usize) -> Option<(u32, usize)> {
        let token = self.free(i).filter(|t| t.glued && t.kind == Kind::Number)?;
        Some((token.value?, token.digits))
    }

    /// the first monday of the month / of next month / of March.
    pub(super) fn nth_weekday(&self, i: usize) -> Option<(When, usize)> {
        let j = if self.is(i, &["the"]) { i + 1 } else { i };
        let (nth, k) = self.nth(j)?;
        let weekday = self.word(k).and_then(english_day)?;
        let today = self.clock.today;
        let this_month = calendar::first_of_month(today)?;
        let next_month = calendar::add_months_clamped(this_month, 1)?;
        let (date, end) = if let Some(end) = self.phrase(k + 1, "of the|this? month") {
            let date = calendar::nth_weekday_of_month(this_month, nth, weekday)
                .filter(|d| *d >= today)
                .or_else(|| calendar::nth_weekday_of_month(next_month, nth, weekday))?;
            (date, end)
        } else if let Some(end) = self.phrase(k + 1, "of next month") {
            (
                calendar::nth_weekday_of_month(next_month, nth, weekday)?,
                end,
            )
        } else if self.is(k + 1, &["of"]) {
            let month = self.word(k + 2).and_then(lexicon::month)?;
            let date = (0..3).find_map(|ahead| {
                let first = NaiveDate::from_ymd_opt(today.year() + ahead, month, 1)?;
                calendar::nth_weekday_of_month(first, nth, weekday).filter(|d| *d >= today)
            })?;
            (date, k + 3)
        } else {
            return None;
        };
        let spec = DateSpec {
            date,
            pattern: DatePattern::NthWeekday { nth, weekday },
        };
        Some(self.with_part(When::date(spec), end))
    }

    /// An ordinal 1-5 or "last" (-1) at `i`: "first", "2nd", "last".
    pub(crate) fn nth(&self, i: usize) -> Option<(i32, usize)> {
        if self.is(i, &["last"]) {
            return Some((-1, i + 1));
        }
        let (n, end) = match self.word(i).and_then(lexicon::ordinal_word) {
            Some(n) => (n, i + 1),
            None => self.day_number(i, true)?,
        };
        (1..=5)
            .contains(&n)
            .then(|| (i32::try_from(n).unwrap_or(1), end))
    }

    /// the 15th, on the 1st and 15th, the last day of the month, the 3rd of next month.
    pub(super) fn day_of_month(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        let today = self.clock.today;
        let j = if self.is(i, &["the"]) { i + 1 } else { i };
        if let Some(end) = self.phrase(j, "last day of the|this? month") {
            let spec = DateSpec {
                date: calendar::end_of_month(today)?,
                pattern: DatePattern::MonthDays(vec![-1]),
            };
            return Some((When::date(spec), end));
        }
        let (first, mut end) = self.day_number(j, true).or_else(|| {
            let day = self.word(j).and_then(lexicon::ordinal_word)?;
            self.is(j + 1, &["of"]).then_some((day, j + 1))
        })?;
        if let Some(tail) = self.phrase(end, "of next month") {
            let month = calendar::add_months_clamped(calendar::first_of_month(today)?, 1)?;
            let date = month.with_day(first)?;
            return Some(self.with_part(When::date(DateSpec::plain(date)), tail));
        }
        let mut days = vec![first];
        if let Some(tail) = self.phrase(end, "of the|this|every|each? month") {
            end = tail;
        } else {
            while let Some((day, next)) = self.listed(end, |s, k| {
                let k = if s.is(k, &["the"]) { k + 1 } else { k };
                s.day_number(k, true)
            }) {
                days.push(day);
                end = next;
            }
            let introduced = intro.introduces() || j > i;
            if !(introduced && self.phrase_boundary(end)) {
                return None;
            }
        }
        let date = days
            .iter()
            .filter_map(|&d| calendar::month_day_number_on_or_after(today, d))
            .min()?;
        let days = days
            .into_iter()
            .map(|d| i32::try_from(d).unwrap_or(1))
            .collect();
        let spec = DateSpec {
            date,
            pattern: DatePattern::MonthDays(days),
        };
        Some(self.with_part(When::date(spec), end))
    }
}
