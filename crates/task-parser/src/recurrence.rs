//! Recurrence phrases ("every other thursday", "every 27th", "daily", "every! 4 days",
//! "after 10 days", Urdu "har juma", "rozana") and the RRULE bodies they become.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

use crate::lexicon::{self, Unit};
use crate::scanner::Scanner;
use crate::token::Kind;
use crate::when::{DatePattern, Intro, PartOfDay};
use tickler_domain::Recurrence;
use tickler_domain::recurrence::Frequency;

/// A recurrence as the sentence describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecurrenceSpec {
    pub frequency: Frequency,
    pub interval: u32,
    /// Weekdays with an optional ordinal (0 = every such day).
    pub by_day: Vec<(i32, Weekday)>,
    pub by_month_day: Vec<i32>,
    pub by_month: Vec<u32>,
    pub count: Option<u32>,
    /// "every morning": the time of day of each occurrence.
    pub part: Option<PartOfDay>,
    /// "every 15 minutes": an hourly rule whose minutes are spread this far apart, starting
    /// from the minute of the first occurrence (set with [`RecurrenceSpec::start_minutes`]).
    pub minute_step: Option<u32>,
    pub by_minute: Vec<u32>,
    /// Todoist's `every!`: the next date is counted from completion.
    pub from_completion: bool,
}

impl RecurrenceSpec {
    fn new(frequency: Frequency, interval: u32) -> Self {
        Self {
            frequency,
            interval: interval.max(1),
            by_day: Vec::new(),
            by_month_day: Vec::new(),
            by_month: Vec::new(),
            count: None,
            part: None,
            minute_step: None,
            by_minute: Vec::new(),
            from_completion: false,
        }
    }

    fn weekly_on(days: Vec<Weekday>, interval: u32) -> Self {
        let mut spec = Self::new(Frequency::Weekly, interval);
        spec.by_day = days.into_iter().map(|d| (0, d)).collect();
        spec
    }

    /// Folds a date phrase of the same sentence into the rule ("every week" + "on thursday",
    /// "every month" + "on the 15th", "every year" + "on Mar 8"). Returns false when the
    /// date does not refine the rule and so is its start date instead.
    pub fn absorb(&mut self, pattern: &DatePattern) -> bool {
        let fresh = self.by_day.is_empty() && self.by_month_day.is_empty();
        match (self.frequency, pattern) {
            (Frequency::Weekly, DatePattern::Weekdays(days)) if fresh => {
                self.by_day = days.iter().map(|&d| (0, d)).collect();
            }
            (Frequency::Monthly, DatePattern::MonthDays(days)) if fresh => {
                self.by_month_day.clone_from(days);
            }
            (Frequency::Monthly, DatePattern::NthWeekday { nth, weekday }) if fresh => {
                self.by_day = vec![(*nth, *weekday)];
            }
            (Frequency::Yearly, DatePattern::MonthDay { month, day }) if fresh => {
                self.by_month = vec![*month];
                self.by_month_day = vec![i32::try_from(*day).unwrap_or(1)];
            }
            _ => return false,
        }
        true
    }

    /// Returns the rule with the days it leaves to DTSTART written out for a series starting
    /// on `first_day` ("every week" from a Sunday repeats on Sundays), so that finding its
    /// first occurrence does not depend on which day the search is seeded on.
    pub fn pinned_to(&self, first_day: NaiveDate) -> Self {
        let mut pinned = self.clone();
        let open_days = self.by_day.is_empty() && self.by_month_day.is_empty();
        match self.frequency {
            Frequency::Weekly if open_days => pinned.by_day = vec![(0, first_day.weekday())],
            Frequency::Monthly if open_days => {
                pinned.by_month_day = vec![i32::try_from(first_day.day()).unwrap_or(1)];
            }
            Frequency::Yearly if self.by_month.is_empty() && open_days => {
                pinned.by_month = vec![first_day.month()];
                pinned.by_month_day = vec![i32::try_from(first_day.day()).unwrap_or(1)];
            }
            _ => {}
        }
        pinned
    }

    /// Spreads the minutes of a sub-hourly rule from `minute`, the minute of its first
    /// occurrence ("every 20 minutes" from 12:07 is BYMINUTE=7,27,47).
    pub fn start_minutes(&mut self, minute: u32) {
        if let Some(step) = self.minute_step.filter(|s| *s > 0) {
            self.by_minute = (0..60 / step).map(|k| (minute % step) + k * step).collect();
        }
    }

    /// Returns the RRULE body, optionally without INTERVAL, COUNT and UNTIL (the bare
    /// pattern, used to find the first occurrence on or after a date).
    pub fn rule(&self, until: Option<DateTime<Utc>>, pattern_only: bool) -> String {
        let mut rule = format!("FREQ={}", self.frequency);
        if self.interval > 1 && !pattern_only {
            let _ = write!(rule, ";INTERVAL={}", self.interval);
        }
        if !self.by_month.is_empty() {
            rule.push_str(";BYMONTH=");
            push_joined(&mut rule, self.by_month.iter().map(u32::to_string));
        }
        if !self.by_month_day.is_empty() {
            rule.push_str(";BYMONTHDAY=");
            push_joined(&mut rule, self.by_month_day.iter().map(i32::to_string));
        }
        if !self.by_minute.is_empty() {
            rule.push_str(";BYMINUTE=");
            push_joined(&mut rule, self.by_minute.iter().map(u32::to_string));
        }
        if !self.by_day.is_empty() {
            rule.push_str(";BYDAY=");
            push_joined(
                &mut rule,
                self.by_day.iter().map(|&(nth, day)| {
                    let code = weekday_code(day);
                    if nth == 0 {
                        code.to_owned()
                    } else {
                        format!("{nth}{code}")
                    }
                }),
            );
        }
        if pattern_only {
            return rule;
        }
        if let Some(count) = self.count {
            let _ = write!(rule, ";COUNT={count}");
        }
        if let Some(until) = until {
            let _ = write!(rule, ";UNTIL={}", until.format("%Y%m%dT%H%M%SZ"));
        }
        rule
    }
}

fn push_joined(rule: &mut String, items: impl Iterator<Item = String>) {
    for (index, item) in items.enumerate() {
        if index > 0 {
            rule.push(',');
        }
        rule.push_str(&item);
    }
}

fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

/// Returns the rule "every `interval` `unit`s": whole hours of minutes become hours, minute
/// steps that divide an hour become an hourly rule with several minutes, others are not
/// supported (`None`).
fn unit_rule(unit: Unit, interval: u32) -> Option<RecurrenceSpec> {
    let frequency = match unit {
        Unit::Minute if interval.is_multiple_of(60) => {
            return Some(RecurrenceSpec::new(Frequency::Hourly, interval / 60));
        }
        Unit::Minute if interval > 0 && 60 % interval == 0 => {
            let mut spec = RecurrenceSpec::new(Frequency::Hourly, 1);
            spec.minute_step = Some(interval);
            return Some(spec);
        }
        Unit::Minute => return None,
        Unit::Hour => Frequency::Hourly,
        Unit::Day => Frequency::Daily,
        Unit::Week => Frequency::Weekly,
        Unit::Month => Frequency::Monthly,
        Unit::Year => Frequency::Yearly,
    };
    Some(RecurrenceSpec::new(frequency, interval))
}

const WORKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

impl Scanner<'_> {
    /// Matches a recurrence phrase at `i`, with any "after completion" or "N times" tail.
    pub fn recurrence_at(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        let (mut spec, mut end) = self
            .every(i)
            .or_else(|| self.adverb(i))
            .or_else(|| self.plural_days(i))
            .or_else(|| self.after_interval(i))
            .or_else(|| self.of_every_month(i))
            .or_else(|| self.urdu_recurrence(i))?;
        if let Some(tail) = self
            .phrase(end, "after|from completion|completing|finishing|done")
            .or_else(|| self.phrase(end, "after it's|it|its is? done|completed|finished"))
        {
            spec.from_completion = true;
            end = tail;
        }
        let times = if self.is(end, &["for"]) { end + 1 } else { end };
        if let Some((count, after)) = self.count(times).filter(|(n, _)| *n > 0)
            && self.is(after, &["times"])
        {
            spec.count = Some(count);
            end = after + 1;
        }
        if self.is(end, &["ko", "کو"]) {
            end += 1;
        }
        // A phrase whose rule the engine would refuse ("every 5000 weeks") is not read as one.
        Recurrence::parse(&spec.rule(None, false)).ok()?;
        Some((spec, end))
    }

    /// every / each [!] [other | N | Nth] <unit | weekdays | part of day | day of month | date>.
    fn every(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        if !self.is(i, &["every", "each", "evry", "everyday"]) {
            return None;
        }
        if self.is(i, &["everyday"]) {
            return Some((RecurrenceSpec::new(Frequency::Daily, 1), i + 1));
        }
        let mut j = i + 1;
        let bang = self.punct(j, '!') && self.glued(j);
        if bang {
            j += 1;
        }
        let (mut spec, end) = self.every_body(j)?;
        spec.from_completion = bang;
        Some((spec, end))
    }

    fn every_body(&self, j: usize) -> Option<(RecurrenceSpec, usize)> {
        if let Some(found) = self.every_month_day(j) {
            return Some(found);
        }
        if let Some((nth, k)) = self.nth(j) {
            if let Some((days, end)) = self.day_list(k) {
                // "every 2nd tuesday", "every last friday of the month"
                let mut spec = RecurrenceSpec::new(Frequency::Monthly, 1);
                spec.by_day = days.into_iter().map(|d| (nth, d)).collect();
                let end = self.phrase(end, "of the|every|each? month").unwrap_or(end);
                return Some(self.with_recurring_part(spec, end));
            }
            if let Some((unit, per)) = self.word(k).and_then(lexicon::unit) {
                // "every second week", "every third day"
                let interval = u32::try_from(nth).ok()?.checked_mul(per)?;
                return Some((unit_rule(unit, interval)?, k + 1));
            }
        }
        if let Some(found) = self.every_date(j) {
            return Some(found);
        }
        let (interval, k) = if self.is(j, &["other", "alternate"]) {
            (2, j + 1)
        } else if let Some((n, k)) = self.count(j).filter(|(n, _)| *n > 0) {
            (n, k)
        } else {
            (1, j)
        };
        let word = self.word(k)?;
        if let Some((unit, per)) = lexicon::unit(word) {
            return Some((unit_rule(unit, interval.checked_mul(per)?)?, k + 1));
        }
        if let Some(end) = self
            .phrase(k, "weekday|weekdays|workday|workdays|businessday")
            .or_else(|| self.phrase(k, "work|working|business day|days"))
        {
            let spec = RecurrenceSpec::weekly_on(WORKDAYS.to_vec(), interval);
            return Some(self.with_recurring_part(spec, end));
        }
        if let Some(end) = self.phrase(k, "weekend|weekends") {
            return Some((RecurrenceSpec::weekly_on(vec![Weekday::Sat], interval), end));
        }
        if let Some((days, end)) = self.day_list(k) {
            let spec = RecurrenceSpec::weekly_on(days, interval);
            return Some(self.with_recurring_part(spec, end));
        }
        let part = PartOfDay::from_word(word).filter(|_| k == j)?;
        let mut spec = RecurrenceSpec::new(Frequency::Daily, 1);
        spec.part = Some(if part == PartOfDay::Night {
            PartOfDay::LateNight
        } else {
            part
        });
        Some((spec, k + 1))
    }

    /// Adds a part of the day that follows ("every monday morning").
    fn with_recurring_part(&self, mut spec: RecurrenceSpec, end: usize) -> (RecurrenceSpec, usize) {
        match self.word(end).and_then(PartOfDay::from_word) {
            Some(part) => {
                spec.part = Some(part);
                (spec, end + 1)
            }
            None => (spec, end),
        }
    }

    /// "every jan 27", "every 27th", "every 1st and 15th": yearly and monthly dates.
    fn every_date(&self, j: usize) -> Option<(RecurrenceSpec, usize)> {
        let (when, end) = self.date_phrase(j, Intro::By)?;
        let date = when
            .date
            .filter(|_| when.time.is_none() && when.after.is_none())?;
        let mut spec = match date.pattern {
            DatePattern::MonthDay { .. } => RecurrenceSpec::new(Frequency::Yearly, 1),
            DatePattern::MonthDays(_) => RecurrenceSpec::new(Frequency::Monthly, 1),
            _ => return None,
        };
        spec.absorb(&date.pattern);
        spec.part = when.part;
        Some((spec, end))
    }

    /// "last day of the month", "first day of every month", "1st and 15th": monthly days.
    fn every_month_day(&self, j: usize) -> Option<(RecurrenceSpec, usize)> {
        let (day, k) = match self.word(j) {
            Some("last") => (-1, j + 1),
            Some(w) => (i32::try_from(lexicon::ordinal_word(w)?).ok()?, j + 1),
            None => return None,
        };
        let end = self
            .phrase(k, "day of the|every|each? month")
            .or_else(|| (day == -1).then(|| self.phrase(k, "day")).flatten())?;
        let mut spec = RecurrenceSpec::new(Frequency::Monthly, 1);
        spec.by_month_day = vec![day];
        Some((spec, end))
    }

    /// A list of weekday names at `k` ("tue and fri", "monday, tuesday and thursday").
    fn day_list(&self, k: usize) -> Option<(Vec<Weekday>, usize)> {
        let day_at = |s: &Self, at: usize| {
            let day = lexicon::day_name(s.word(at)?)?;
            (!day.roman_urdu || s.urdu).then_some((day.weekday, at + 1))
        };
        let (first, mut end) = day_at(self, k)?;
        let mut days = vec![first];
        while let Some((day, next)) = self.listed(end, day_at) {
            if !days.contains(&day) {
                days.push(day);
            }
            end = next;
        }
        Some((days, end))
    }

    /// daily, weekly, biweekly, monthly, quarterly, yearly, annually, hourly: only where they
    /// do not describe a following noun ("weekly report" is a title).
    fn adverb(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        let (frequency, interval) = match self.word(i)? {
            "daily" => (Frequency::Daily, 1),
            "weekly" => (Frequency::Weekly, 1),
            "biweekly" | "fortnightly" => (Frequency::Weekly, 2),
            "monthly" => (Frequency::Monthly, 1),
            "quarterly" => (Frequency::Monthly, 3),
            "yearly" | "annually" => (Frequency::Yearly, 1),
            "hourly" => (Frequency::Hourly, 1),
            _ => return None,
        };
        // "water plants weekly" and "daily standup" repeat; "write weekly report" does not.
        let first_word =
            (0..i).all(|k| self.claimed[k].is_some() || self.tokens[k].kind == Kind::Punct);
        if !first_word && !self.phrase_boundary(i + 1) {
            return None;
        }
        Some((RecurrenceSpec::new(frequency, interval), i + 1))
    }

    /// "on mondays", "mondays and thursdays", "on weekdays".
    fn plural_days(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        let j = if self.is(i, &["on"]) { i + 1 } else { i };
        if let Some(end) = self.phrase(j, "weekdays|workdays") {
            return Some((RecurrenceSpec::weekly_on(WORKDAYS.to_vec(), 1), end));
        }
        lexicon::day_name(self.word(j)?).filter(|d| d.plural)?;
        let (days, end) = self.day_list(j)?;
        Some((RecurrenceSpec::weekly_on(days, 1), end))
    }

    /// "after 10 days": the interval counted from completion.
    fn after_interval(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        if !self.is(i, &["after"]) {
            return None;
        }
        let (count, j) = self.count(i + 1).filter(|(n, _)| *n > 0)?;
        let (unit, per) = lexicon::unit(self.word(j)?)?;
        let mut spec = unit_rule(unit, count.checked_mul(per)?)?;
        spec.from_completion = true;
        Some((spec, j + 1))
    }

    /// "(on) the first monday of every month", "the 15th of each month".
    fn of_every_month(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        let mut j = if self.is(i, &["on"]) { i + 1 } else { i };
        if self.is(j, &["the"]) {
            j += 1;
        }
        let mut spec = RecurrenceSpec::new(Frequency::Monthly, 1);
        let nth_form = self.nth(j).and_then(|(nth, k)| {
            if let Some(day) = self.word(k).and_then(lexicon::day_name) {
                Some((vec![(nth, day.weekday)], Vec::new(), k + 1))
            } else {
                self.phrase(k, "day")
                    .map(|end| (Vec::new(), vec![nth], end))
            }
        });
        let k = if let Some((by_day, by_month_day, k)) = nth_form {
            spec.by_day = by_day;
            spec.by_month_day = by_month_day;
            k
        } else {
            let (day, k) = self.day_number(j, true)?;
            spec.by_month_day = vec![i32::try_from(day).ok()?];
            k
        };
        let end = self.phrase(k, "of every|each month")?;
        Some((spec, end))
    }

    /// rozana, har roz, har juma, har hafte, har mahine ki 5 tareekh, har saal; Urdu script.
    fn urdu_recurrence(&self, i: usize) -> Option<(RecurrenceSpec, usize)> {
        if self.is(i, &["rozana", "rozaana", "roznana", "روزانہ"]) {
            return Some((RecurrenceSpec::new(Frequency::Daily, 1), i + 1));
        }
        if !self.is(i, &["har", "ہر"]) {
            return None;
        }
        let j = i + 1;
        if self.is(j, &["roz", "din", "روز", "دن"]) {
            return Some((RecurrenceSpec::new(Frequency::Daily, 1), j + 1));
        }
        if let Some((days, end)) = self.day_list(j) {
            return Some((RecurrenceSpec::weekly_on(days, 1), end));
        }
        if let Some((n, k)) = self.number(j).map(|n| (n, j + 1)) {
            let (unit, per) = lexicon::unit(self.word(k)?)?;
            let spec = unit_rule(unit, n.max(1).checked_mul(per)?)?;
            return Some((spec, k + 1));
        }
        if self.is(j, &["doosre", "dusre", "دوسرے"]) {
            let (unit, per) = lexicon::unit(self.word(j + 1)?)?;
            return Some((unit_rule(unit, 2 * per)?, j + 2));
        }
        let (unit, per) = lexicon::unit(self.word(j)?)?;
        let mut spec = unit_rule(unit, per)?;
        let mut end = j + 1;
        if unit == Unit::Month {
            // "har mahine ki 5 tareekh", "har mahine ki pehli", "ہر مہینے کی ۵ تاریخ"
            let k = if self.is(end, &["ki", "ke", "کی", "کے"]) {
                end + 1
            } else {
                end
            };
            let day = self
                .number(k)
                .filter(|d| (1..=31).contains(d))
                .or_else(|| self.word(k).and_then(lexicon::ordinal_word));
            if let Some(day) = day {
                let mut after = k + 1;
                if self.is(after, &["tareekh", "tarikh", "tareek", "tarekh", "تاریخ"]) {
                    after += 1;
                }
                spec.by_month_day = vec![i32::try_from(day).ok()?];
                end = after;
            }
        }
        Some((spec, end))
    }
}
