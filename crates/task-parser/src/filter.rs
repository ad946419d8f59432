//! The conditions of a list request: priority, tags, status, due ranges (half-open, local
//! midnights) and free text. Only what the sentence states is set.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use tickler_domain::Tag;

use crate::calendar::{self, add_days};
use crate::marker;
use crate::parsed::{Field, Filter, StatusFilter};
use crate::scanner::Scanner;
use crate::token::Kind;
use crate::when::{self, When};

/// Words a list request may hold without stating a condition ("show me all my tasks").
pub(crate) fn is_filler(word: &str) -> bool {
    matches!(
        word,
        "show"
            | "list"
            | "display"
            | "view"
            | "see"
            | "get"
            | "give"
            | "fetch"
            | "find"
            | "search"
            | "lookup"
            | "look"
            | "me"
            | "us"
            | "my"
            | "all"
            | "the"
            | "a"
            | "an"
            | "any"
            | "every"
            | "tasks"
            | "task"
            | "todos"
            | "todo"
            | "to-dos"
            | "items"
            | "things"
            | "stuff"
            | "everything"
            | "anything"
            | "what"
            | "what's"
            | "whats"
            | "which"
            | "is"
            | "are"
            | "do"
            | "does"
            | "i"
            | "i've"
            | "we"
            | "did"
            | "have"
            | "has"
            | "got"
            | "due"
            | "that"
            | "there"
            | "for"
            | "of"
            | "on"
            | "in"
            | "to"
            | "up"
            | "need"
            | "should"
            | "please"
            | "list's"
            | "plate"
            | "agenda"
            | "schedule"
            | "left"
            | "with"
            | "ones"
            | "kaam"
            | "ke"
            | "ka"
            | "ki"
            | "mere"
            | "mera"
            | "meri"
            | "sab"
            | "saare"
            | "sare"
            | "کے"
            | "کام"
            | "میرے"
            | "سارے"
            | "سب"
    )
}

/// Words that end a free-text condition ("about taxes due friday").
fn ends_text(word: &str) -> bool {
    matches!(
        word,
        "due"
            | "tagged"
            | "labelled"
            | "labeled"
            | "with"
            | "that"
            | "which"
            | "and"
            | "this"
            | "next"
            | "today"
            | "tomorrow"
            | "tonight"
            | "overdue"
            | "before"
            | "after"
            | "by"
            | "from"
            | "for"
            | "on"
            | "in"
            | "please"
    )
}

impl Scanner<'_> {
    /// Reads list conditions from `from` to the end, claiming their words.
    pub fn list_filter(&mut self, from: usize) -> Filter {
        let mut filter = Filter::default();
        let search = (from..self.tokens.len())
            .find(|&k| {
                self.word(k)
                    .is_some_and(|w| !matches!(w, "please" | "can" | "you"))
            })
            .is_some_and(|k| self.is(k, &["find", "search", "lookup"]));
        let mut i = from;
        while i < self.tokens.len() {
            if self.claimed[i].is_some() {
                i += 1;
                continue;
            }
            match self.filter_term(i, &mut filter) {
                Some(end) => {
                    self.claim(i, end.max(i + 1), Field::Filter);
                    i = end.max(i + 1);
                }
                None => i += 1,
            }
        }
        if search && filter.text.is_none() {
            let words: Vec<usize> = (from..self.tokens.len())
                .filter(|&k| {
                    self.free(k).is_some_and(|t| {
                        t.kind == Kind::Quoted
                            || t.word()
                                .is_some_and(|w| !is_filler(w) && !matches!(w, "for" | "about"))
                    })
                })
                .collect();
            if let (Some(&first), Some(&last)) = (words.first(), words.last()) {
                filter.text = self.text_between(first, last + 1);
                self.claim(first, last + 1, Field::Filter);
            }
        }
        filter
    }

    /// Reads one condition at `i` into `filter`; returns the index after it.
    fn filter_term(&self, i: usize, filter: &mut Filter) -> Option<usize> {
        let clock = self.clock;
        let token = self.free(i)?;
        if token.kind == Kind::Tag {
            push_tag(filter, &token.norm);
            return Some(i + 1);
        }
        if let Some(j) = self
            .phrase(i, "tagged|labelled|labeled with? the? tag|label?")
            .or_else(|| self.phrase(i, "with the? tag|label"))
        {
            let tag = self
                .free(j)
                .filter(|t| matches!(t.kind, Kind::Word | Kind::Tag))?;
            push_tag(filter, &tag.norm);
            return Some(j + 1);
        }
        if let Some(end) = self
            .phrase(i, "overdue|late")
            .or_else(|| self.phrase(i, "past due"))
        {
            filter.due_before = Some(clock.now);
            filter.status = Some(StatusFilter::Open);
            return Some(end);
        }
        if let Some(end) = self
            .phrase(i, "completed|done|finished|closed|complete|mukammal|مکمل")
            .or_else(|| self.phrase(i, "ho gaye|gaye"))
        {
            if self.is(i.wrapping_sub(1), &["not"]) {
                filter.status = Some(StatusFilter::Open);
                return Some(end);
            }
            filter.status = Some(StatusFilter::Done);
            return Some(end);
        }
        if let Some(end) = self.phrase(
            i,
            "open|pending|unfinished|incomplete|remaining|outstanding|active|undone|uncompleted|baqi|baaki|باقی",
        ) {
            filter.status = Some(StatusFilter::Open);
            return Some(end);
        }
        if let Some(end) = self.phrase(i, "not done|completed|finished") {
            filter.status = Some(StatusFilter::Open);
            return Some(end);
        }
        if let Some((priority, end)) = self.priority_at(i) {
            filter.priority = Some(priority);
            return Some(end);
        }
        if let Some(level) = self.word(i).and_then(marker::filter_level) {
            let after = if self.punct(i + 1, '-') { i + 2 } else { i + 1 };
            filter.priority = Some(level);
            return Some(self.phrase(after, "priority|prio").unwrap_or(i + 1));
        }
        if let Some(j) = self
            .phrase(
                i,
                "about|containing|matching|mentioning|regarding|called|named",
            )
            .or_else(|| self.phrase(i, "related to"))
            .or_else(|| self.phrase(i, "with the word|text"))
        {
            let mut end = j;
            while let Some(t) = self.free(end) {
                let stop = match t.kind {
                    Kind::Word => end > j && ends_text(&t.norm),
                    Kind::Quoted | Kind::Number => false,
                    Kind::Punct => !matches!(t.norm.as_str(), "-" | "'" | "/" | "&"),
                    Kind::Tag => true,
                };
                if stop {
                    break;
                }
                end += 1;
            }
            if end > j {
                filter.text = self.text_between(j, end);
                return Some(end);
            }
            return None;
        }
        let ranged = self.range_phrase(i).or_else(|| {
            self.is(i, &["due"])
                .then(|| self.range_phrase(i + 1))
                .flatten()
        });
        if let Some((range, end)) = ranged {
            filter.due_after = Some(range.0);
            filter.due_before = Some(range.1);
            return Some(end);
        }
        self.bounded_date(i, filter)
    }

    /// "this week", "next month", "this weekend", "the next 3 days", "today's", Urdu
    /// "is hafte": a half-open range of local midnights.
    fn range_phrase(&self, i: usize) -> Option<(Interval, usize)> {
        let today = self.clock.today;
        let monday = calendar::monday_of(today)?;
        let first = calendar::first_of_month(today)?;
        let (from, to, end) = if let Some(end) = self
            .phrase(i, "this|current week")
            .or_else(|| self.phrase(i, "is|iss hafte|haftay"))
            .or_else(|| self.phrase(i, "اس ہفتے"))
        {
            (monday, add_days(monday, 7)?, end)
        } else if let Some(end) = self
            .phrase(i, "next week")
            .or_else(|| self.phrase(i, "agle|aglay hafte|haftay"))
            .or_else(|| self.phrase(i, "اگلے ہفتے"))
        {
            (add_days(monday, 7)?, add_days(monday, 14)?, end)
        } else if let Some(end) = self
            .phrase(i, "this month")
            .or_else(|| self.phrase(i, "is|iss mahine"))
        {
            (first, calendar::add_months_clamped(first, 1)?, end)
        } else if let Some(end) = self
            .phrase(i, "next month")
            .or_else(|| self.phrase(i, "agle|aglay mahine"))
        {
            let next = calendar::add_months_clamped(first, 1)?;
            (next, calendar::add_months_clamped(first, 2)?, end)
        } else if let Some(end) = self.phrase(i, "this|the weekend") {
            let saturday = calendar::weekday_on_or_after(today, Weekday::Sat)?;
            let saturday = if today.weekday() == Weekday::Sun {
                add_days(today, -1)?
            } else {
                saturday
            };
            (saturday, add_days(saturday, 2)?, end)
        } else if let Some(end) = self.phrase(i, "next weekend") {
            let saturday = calendar::weekday_of_next_week(today, Weekday::Sat)?;
            (saturday, add_days(saturday, 2)?, end)
        } else if let Some(j) = self.phrase(i, "in|within|over? the next|coming") {
            let (count, k) = self.count(j)?;
            let (unit, per) = crate::lexicon::unit(self.word(k)?)?;
            let days = match unit {
                crate::lexicon::Unit::Day => i64::from(count * per),
                crate::lexicon::Unit::Week => 7 * i64::from(count * per),
                _ => return None,
            };
            (today, add_days(today, days)?, k + 1)
        } else if self.is(i, &["today's", "todays"]) {
            (today, add_days(today, 1)?, i + 1)
        } else if self.is(i, &["tomorrow's", "tomorrows"]) {
            (add_days(today, 1)?, add_days(today, 2)?, i + 1)
        } else {
            return None;
        };
        Some(((self.midnight(from), self.midnight(to)), end))
    }

    /// "due before friday", "after tomorrow", "by the 15th", "since monday", or a plain date
    /// ("today", "on friday"), which means that whole day.
    fn bounded_date(&self, i: usize, filter: &mut Filter) -> Option<usize> {
        let bound = [
            ("due? before", Bound::Before),
            ("earlier than", Bound::Before),
            ("due? after", Bound::After),
            ("later than", Bound::After),
            ("due? by|until|till|til", Bound::By),
            ("due? from|since|starting", Bound::Since),
        ]
        .into_iter()
        .find_map(|(pattern, bound)| self.phrase(i, pattern).map(|j| (j, bound)));
        let (j, bound) = bound.unwrap_or((i, Bound::On));
        let (when, end) = self.when_at(j)?;
        let (start, day_end) = self.when_bounds(&when)?;
        match bound {
            Bound::Before => filter.due_before = Some(start),
            Bound::After => filter.due_after = Some(day_end),
            Bound::By => filter.due_before = Some(day_end),
            Bound::Since => filter.due_after = Some(start),
            Bound::On => {
                filter.due_after = Some(start);
                filter.due_before = Some(day_end);
            }
        }
        Some(end)
    }

    /// Returns the instants a phrase spans: a whole local day for a date, a single instant
    /// for a time.
    fn when_bounds(&self, when: &When) -> Option<Interval> {
        let clock = &self.clock;
        if let Some(after) = when.after {
            let instant = clock.now.checked_add_signed(after)?;
            return Some((instant, instant));
        }
        match (&when.date, when.time) {
            (Some(date), None) => Some((
                self.midnight(date.date),
                self.midnight(add_days(date.date, 1)?),
            )),
            (date, Some(_)) => {
                let (time, extra) = when::clock_time(when.time, when.part)?;
                let day = date.as_ref().map_or(clock.today, |d| d.date);
                let mut instant = clock
                    .zone
                    .resolve_lenient(add_days(day, extra)?.and_time(time));
                if date.is_none() && instant <= clock.now {
                    instant = clock
                        .zone
                        .resolve_lenient(add_days(day, extra + 1)?.and_time(time));
                }
                Some((instant, instant))
            }
            (None, None) => None,
        }
    }

    fn midnight(&self, date: NaiveDate) -> DateTime<Utc> {
        self.clock.zone.start_of_day(date)
    }

    /// Returns the original text of tokens `start..end` without quotes and without a leading
    /// article.
    pub fn text_between(&self, start: usize, end: usize) -> Option<String> {
        crate::title::clean_phrase(self, start..end)
    }
}

/// A half-open span of instants: (from, before).
type Interval = (DateTime<Utc>, DateTime<Utc>);

#[derive(Debug, Clone, Copy)]
enum Bound {
    Before,
    After,
    By,
    Since,
    On,
}

fn push_tag(filter: &mut Filter, raw: &str) {
    if let Ok(tag) = Tag::parse(raw)
        && !filter.tags.contains(&tag)
    {
        filter.tags.push(tag);
    }
}
