//! Relative date phrases: today/tomorrow, this/next, weekdays, weekends, elapsed times and
//! month ends, in English and Urdu (absolute dates live in `absolute`).

use chrono::{Datelike, NaiveDate, TimeDelta, Weekday};

use super::{DatePattern, DateSpec, Intro, PartOfDay, TimeKind, TimeSpec, When};
use crate::calendar::{self, add_days};
use crate::lexicon::{self, Unit};
use crate::scanner::Scanner;

impl Scanner<'_> {
    /// Matches any date phrase at `i`.
    pub(crate) fn date_phrase(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        self.relative_day(i)
            .or_else(|| self.this_or_next(i))
            .or_else(|| self.end_of(i))
            .or_else(|| self.counted_from_today(i))
            .or_else(|| self.month_name_date(i))
            .or_else(|| self.numeric_date(i))
            .or_else(|| self.nth_weekday(i))
            .or_else(|| self.day_of_month(i, intro))
            .or_else(|| self.weekday_phrase(i, intro))
            .or_else(|| self.weekend(i, intro))
    }

    /// today, tonight, tomorrow, the day after tomorrow; Urdu aaj, kal, parson.
    fn relative_day(&self, i: usize) -> Option<(When, usize)> {
        let start = if self.is(i, &["later"]) && self.is(i + 1, &["today", "tonight"]) {
            i + 1
        } else {
            i
        };
        let word = self.word(start)?;
        let (days, part, end) = match word {
            "today" | "aaj" | "آج" => (0, None, start + 1),
            "tonight" | "tonite" => (0, Some(PartOfDay::Night), start + 1),
            "tomorrow" | "tmrw" | "tmr" | "tmw" | "tomorow" | "tommorow" | "tommorrow" | "کل" => {
                (1, None, start + 1)
            }
            "kal" if self.urdu => (1, None, start + 1),
            "aj" if self.urdu => (0, None, start + 1),
            "parson" | "parsoon" | "parso" if self.urdu => (2, None, start + 1),
            "پرسوں" | "overmorrow" => (2, None, start + 1),
            _ => (2, None, self.phrase(start, "the? day after tomorrow")?),
        };
        let mut when = When::date(DateSpec::plain(add_days(self.clock.today, days)?));
        when.part = part;
        if part.is_some() {
            // "tonight 11": an hour straight after "tonight" needs no "at".
            if let Some(hour) = self.number(end).filter(|h| (1..=12).contains(h))
                && self.word_ends(end + 1)
                && self.phrase_boundary(end + 1)
            {
                when.time = Some(TimeSpec {
                    hour,
                    minute: 0,
                    kind: TimeKind::Bare,
                });
                return Some((when, end + 1));
            }
        }
        Some(self.with_part(when, end))
    }

    /// this/next/coming + weekday, week, weekend, month, year; Urdu agle + day, hafte, mahine.
    fn this_or_next(&self, i: usize) -> Option<(When, usize)> {
        let today = self.clock.today;
        let word = self.word(i)?;
        let (when, end) = match word {
            "this" => {
                let (j, coming) = if self.is(i + 1, &["coming"]) {
                    (i + 2, true)
                } else {
                    (i + 1, false)
                };
                let next = self.word(j)?;
                if let Some(day) = english_day(next) {
                    let date = if coming {
                        calendar::weekday_after(today, day)?
                    } else {
                        calendar::weekday_on_or_after(today, day)?
                    };
                    (weekdays(date, vec![day]), j + 1)
                } else if next == "weekend" {
                    let date = calendar::weekday_on_or_after(today, Weekday::Sat)?;
                    (When::date(DateSpec::plain(date)), j + 1)
                } else if matches!(next, "morning" | "afternoon" | "evening") && !coming {
                    let mut when = When::date(DateSpec::plain(today));
                    when.part = PartOfDay::from_word(next);
                    return Some((when, j + 1));
                } else {
                    return None;
                }
            }
            "coming" => {
                let day = english_day(self.word(i + 1)?)?;
                (
                    weekdays(calendar::weekday_after(today, day)?, vec![day]),
                    i + 2,
                )
            }
            "next" | "agle" | "agla" | "agli" | "aglay" | "اگلے" | "اگلا" | "اگلی" => {
                let next = self.word(i + 1)?;
                let urdu = word != "next";
                if let Some(day) = lexicon::day_name(next).filter(|d| !d.plural) {
                    if day.roman_urdu && !urdu {
                        return None;
                    }
                    let date = calendar::weekday_of_next_week(today, day.weekday)?;
                    (weekdays(date, vec![day.weekday]), i + 2)
                } else if next == "weekend" {
                    let date = calendar::weekday_of_next_week(today, Weekday::Sat)?;
                    (When::date(DateSpec::plain(date)), i + 2)
                } else {
                    let (unit, 1) = lexicon::unit(next)? else {
                        return None;
                    };
                    let date = match unit {
                        Unit::Week => {
                            // "next week friday" is the Friday of next week.
                            let after = if self.is(i + 2, &["on"]) {
                                i + 3
                            } else {
                                i + 2
                            };
                            if let Some(day) = self.word(after).and_then(english_day) {
                                let date = calendar::weekday_of_next_week(today, day)?;
                                return Some(self.with_part(weekdays(date, vec![day]), after + 1));
                            }
                            calendar::add_days(calendar::monday_of(today)?, 7)?
                        }
                        Unit::Month => {
                            calendar::add_months_clamped(calendar::first_of_month(today)?, 1)?
                        }
                        Unit::Year => NaiveDate::from_ymd_opt(today.year().checked_add(1)?, 1, 1)?,
                        Unit::Minute | Unit::Hour | Unit::Day => return None,
                    };
                    (When::date(DateSpec::plain(date)), i + 2)
                }
            }
            _ => return None,
        };
        Some(self.with_part(when, end))
    }

    /// end of the month / week / year; Urdu "mahine ke aakhir mein".
    pub(super) fn end_of(&self, i: usize) -> Option<(When, usize)> {
        let today = self.clock.today;
        let month_end = |date: NaiveDate| calendar::end_of_month(date);
        let (date, end) = if let Some(end) = self
            .phrase(i, "the? end of the|this? month")
            .or_else(|| self.phrase(i, "eom"))
            .or_else(|| self.phrase(i, "month end"))
            .or_else(|| {
                self.phrase(
                    i,
                    "is? mahine|mahinay|mahina ke|kay|ki aakhir|akhir|aakhri|akhri|end mein|main|tak?",
                )
            })
            .or_else(|| self.phrase(i, "اس? مہینے کے آخر میں|تک?"))
        {
            (month_end(today)?, end)
        } else if let Some(end) = self.phrase(i, "the? end of next month") {
            (month_end(calendar::add_months_clamped(calendar::first_of_month(today)?, 1)?)?, end)
        } else if let Some(end) = self.phrase(i, "the? end of the|this? week") {
            (calendar::weekday_on_or_after(today, Weekday::Sun)?, end)
        } else if let Some(end) = self.phrase(i, "the? end of the|this? year") {
            (NaiveDate::from_ymd_opt(today.year(), 12, 31)?, end)
        } else {
            return None;
        };
        Some((When::date(DateSpec::plain(date)), end))
    }

    /// "N days from now", "a week from tomorrow"; Urdu "3 din baad", "۲ ہفتے بعد".
    fn counted_from_today(&self, i: usize) -> Option<(When, usize)> {
        if let Some((count, j)) = self.count(i).or_else(|| self.urdu_count(i)) {
            let (unit, per) = lexicon::unit(self.word(j)?)?;
            let count = count.checked_mul(per)?;
            if let Some(end) = self.phrase(j + 1, "from now|today") {
                return offset(self.clock.today, count, unit).map(|w| (w, end));
            }
            if let Some(end) = self.phrase(j + 1, "from tomorrow") {
                let base = add_days(self.clock.today, 1)?;
                return offset(base, count, unit).map(|w| (w, end));
            }
            if let Some(end) = self.phrase(j + 1, "ke|kay|کے? baad|bad|بعد") {
                return offset(self.clock.today, count, unit).map(|w| (w, end));
            }
        }
        None
    }

    /// After "in": "3 days", "2 hours", "half an hour", "2h".
    pub(super) fn elapsed(&self, i: usize) -> Option<(When, usize)> {
        if let Some(end) = self.phrase(i, "half an hour") {
            let when = offset(self.clock.today, 30, Unit::Minute)?;
            return Some((when, end));
        }
        let (count, j) = self.count(i)?;
        let (unit, per, end) = if let Some((unit, per)) = self.word(j).and_then(lexicon::unit) {
            (unit, per, j + 1)
        } else {
            let unit = self
                .word(j)
                .filter(|_| self.glued(j))
                .and_then(lexicon::glued_unit)?;
            (unit, 1, j + 1)
        };
        if self.is(end, &["of"]) || !self.word_ends(end) {
            return None;
        }
        let when = offset(self.clock.today, count.checked_mul(per)?, unit)?;
        Some((when, end))
    }

    /// Matches a list continuation at `i` (", x", "and x", ", and x", "& x") whose item `item`
    /// reads; returns the item and the index after it.
    pub(crate) fn listed<T>(
        &self,
        i: usize,
        item: impl Fn(&Self, usize) -> Option<(T, usize)>,
    ) -> Option<(T, usize)> {
        let mut j = i;
        if self.punct(j, ',') || self.punct(j, '&') || self.punct(j, '/') {
            j += 1;
        }
        if self.is(j, &["and", "or", "aur", "اور"]) {
            j += 1;
        }
        if j == i {
            return None;
        }
        item(self, j)
    }

    /// friday, on friday, monday and wednesday, friday next week; Urdu juma, جمعہ.
    fn weekday_phrase(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        let day = lexicon::day_name(self.word(i)?)?;
        if day.roman_urdu && !self.urdu {
            return None;
        }
        if day.ambiguous
            && !(day.roman_urdu && self.urdu)
            && !(intro.introduces() && self.phrase_boundary(i + 1))
        {
            // "sat" and "sun" are words too: "on sat at 5" but not "put on sun cream".
            return None;
        }
        // "Sunday, December 6" and "monday the 5th": the date says more than the weekday.
        let comma = usize::from(self.punct(i + 1, ','));
        if let Some(found) = self
            .month_name_date(i + 1 + comma)
            .or_else(|| self.numeric_date(i + 1 + comma))
            .or_else(|| {
                self.is(i + 1 + comma, &["the"])
                    .then(|| self.day_of_month(i + 1 + comma, Intro::By))
                    .flatten()
            })
        {
            return Some(found);
        }
        let mut days = vec![day.weekday];
        let mut end = i + 1;
        while let Some((weekday, next)) = self.listed(end, |s, k| {
            let name = lexicon::day_name(s.word(k)?)?;
            (!name.roman_urdu || s.urdu).then_some((name.weekday, k + 1))
        }) {
            days.push(weekday);
            end = next;
        }
        let today = self.clock.today;
        let date = if let Some(tail) = self.phrase(end, "of? next week") {
            end = tail;
            calendar::weekday_of_next_week(today, days[0])?
        } else if let Some(tail) = self.phrase(end, "of? this week") {
            end = tail;
            calendar::weekday_on_or_after(today, days[0])?
        } else {
            days.iter()
                .filter_map(|&d| calendar::weekday_after(today, d))
                .min()?
        };
        Some(self.with_part(weekdays(date, days), end))
    }

    /// the weekend, on the weekend, over the weekend.
    fn weekend(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        let end = self.phrase(i, "the? weekend")?;
        if !(intro.introduces() || end > i + 1) {
            return None;
        }
        let date = calendar::weekday_on_or_after(self.clock.today, Weekday::Sat)?;
        Some((When::date(DateSpec::plain(date)), end))
    }

    /// A count written with Urdu number words ("do hafte baad", "تین دن بعد").
    fn urdu_count(&self, i: usize) -> Option<(u32, usize)> {
        let value = match self.word(i)? {
            "ek" | "ایک" => 1,
            "do" | "دو" => 2,
            "teen" | "تین" => 3,
            "chaar" | "char" | "چار" => 4,
            "paanch" | "panch" | "پانچ" => 5,
            "chhe" | "chay" | "چھ" => 6,
            "saat" | "سات" => 7,
            "aath" | "آٹھ" => 8,
            "nau" | "نو" => 9,
            "das" | "دس" => 10,
            _ => return None,
        };
        // Only before a time unit, so that English "do" stays a verb.
        self.word(i + 1).and_then(lexicon::unit)?;
        Some((value, i + 1))
    }
}

/// Returns an English weekday name (not plural, not Roman Urdu).
pub(super) fn english_day(word: &str) -> Option<Weekday> {
    lexicon::day_name(word)
        .filter(|d| !d.plural && !d.roman_urdu)
        .map(|d| d.weekday)
}

fn weekdays(date: NaiveDate, days: Vec<Weekday>) -> When {
    When::date(DateSpec {
        date,
        pattern: DatePattern::Weekdays(days),
    })
}

/// Returns the phrase `count` `unit`s after `base`: an exact elapsed time for minutes and
/// hours, a date for days and longer (months clamp to the month's last day).
fn offset(base: NaiveDate, count: u32, unit: Unit) -> Option<When> {
    let count64 = i64::from(count);
    let date = match unit {
        Unit::Minute | Unit::Hour => {
            let minutes = if unit == Unit::Hour {
                count64.checked_mul(60)?
            } else {
                count64
            };
            let mut when = When::empty();
            when.after = Some(TimeDelta::try_minutes(minutes)?);
            return Some(when);
        }
        Unit::Day => add_days(base, count64)?,
        Unit::Week => add_days(base, count64.checked_mul(7)?)?,
        Unit::Month => calendar::add_months_clamped(base, count)?,
        Unit::Year => calendar::add_months_clamped(base, count.checked_mul(12)?)?,
    };
    Some(When::date(DateSpec::plain(date)))
}
