//! Times of day: `5pm`, `6:15 pm`, `17:00`, `noon`, `midnight`, a bare hour after "at", and
//! Urdu `shaam saadhe 6 baje`; parts of the day such as "in the evening".

use super::{Intro, PartOfDay, TimeKind, TimeSpec, When};
use crate::scanner::Scanner;
use crate::token::Kind;

impl Scanner<'_> {
    /// Matches a time of day at `i`. A bare hour needs "at" (or "@") before it, or an Urdu
    /// `baje` or an `o'clock` after it.
    pub(super) fn time_of_day(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        if let Some(found) = self.urdu_time(i) {
            return Some(found);
        }
        match self.word(i) {
            Some("noon" | "midday") => {
                return Some((When::time(spec(12, 0, TimeKind::Noon)), i + 1));
            }
            Some("midnight") => {
                return Some((When::time(spec(0, 0, TimeKind::Midnight)), i + 1));
            }
            _ => {}
        }
        let hour = self.number(i)?;
        let hour_token = &self.tokens[i];
        // "take the 5:30 train": a time after an article names something.
        let after_article = i > 0
            && self.tokens[i - 1]
                .word()
                .is_some_and(|w| matches!(w, "the" | "a" | "an"));
        if after_article {
            return None;
        }
        if hour_token.digits > 2 {
            return None;
        }
        let mut end = i + 1;
        let mut minute = None;
        let separator = self.punct(end, ':') || self.punct(end, '.');
        if separator && self.glued(end) {
            let minute_token = self
                .free(end + 1)
                .filter(|t| t.glued && t.kind == Kind::Number);
            if let Some(token) = minute_token.filter(|t| t.digits == 2) {
                let is_colon = self.punct(end, ':');
                let value = token.value.filter(|m| *m < 60)?;
                // "5.30" is a time only with am/pm after it; alone it reads as a decimal.
                if is_colon || self.meridiem(end + 2).is_some() {
                    minute = Some(value);
                    end += 2;
                }
            }
        }
        let written_minute = minute.unwrap_or(0);
        if self.is(end, &["noon"]) && hour == 12 && minute.is_none() {
            return Some((When::time(spec(12, 0, TimeKind::Noon)), end + 1));
        }
        let (time, end) = if let Some((pm, after)) = self.meridiem(end) {
            if !(1..=12).contains(&hour) {
                return None;
            }
            let hour = match (pm, hour) {
                (false, 12) => 0,
                (false, h) => h,
                (true, 12) => 12,
                (true, h) => h + 12,
            };
            (spec(hour, written_minute, TimeKind::Exact), after)
        } else if minute.is_some() {
            if hour > 23 {
                return None;
            }
            // "at 3:15" follows the bare-hour rule like "at 3"; "05:30" and "17:00" are
            // read on the 24-hour clock.
            let kind = if hour >= 12 || hour_token.digits == 2 {
                TimeKind::Exact
            } else if intro == Intro::At {
                TimeKind::Bare
            } else {
                TimeKind::Literal
            };
            (spec(hour, written_minute, kind), end)
        } else if let Some(after) = self.phrase(end, "o'clock|oclock") {
            if !(1..=12).contains(&hour) {
                return None;
            }
            (spec(hour, 0, TimeKind::Bare), after)
        } else if self.is(end, &["baje", "bje", "bajay", "بجے"]) {
            if hour > 24 {
                return None;
            }
            (spec(hour % 24, 0, TimeKind::Bare), end + 1)
        } else if intro == Intro::At && hour <= 23 && self.phrase_boundary(end) {
            (spec(hour, 0, TimeKind::Bare), end)
        } else {
            return None;
        };
        self.word_ends(end).then_some((When::time(time), end))
    }

    /// Matches `am`, `pm`, `a.m.`, `p.m.` at `i`: whether it is pm, and the index after it.
    fn meridiem(&self, i: usize) -> Option<(bool, usize)> {
        match self.word(i)? {
            "am" => Some((false, i + 1)),
            "pm" => Some((true, i + 1)),
            letter @ ("a" | "p") if self.punct(i + 1, '.') && self.is(i + 2, &["m"]) => {
                let end = if self.punct(i + 3, '.') && self.glued(i + 3) {
                    i + 4
                } else {
                    i + 3
                };
                Some((letter == "p", end))
            }
            _ => None,
        }
    }

    /// Urdu times: `subah 9 baje`, `shaam saadhe 6`, `saadhe 4 baje`, `dedh baje`,
    /// `رات ۱۰ بجے`.
    fn urdu_time(&self, i: usize) -> Option<(When, usize)> {
        let part = self
            .word(i)
            .filter(|w| !matches!(*w, "morning" | "afternoon" | "evening" | "night"))
            .and_then(PartOfDay::from_word);
        let mut j = if part.is_some() { i + 1 } else { i };
        let fraction = match self.word(j) {
            Some("saadhe" | "sadhe" | "saade" | "sarhe" | "sade" | "ساڑھے") => Some(30),
            Some("sawa" | "سوا") => Some(15),
            Some("paune" | "pone" | "پونے") => Some(-15),
            Some("dedh" | "ڈیڑھ") => {
                return self.urdu_fixed(j, part, 1, 30);
            }
            Some("dhai" | "ڈھائی") => {
                return self.urdu_fixed(j, part, 2, 30);
            }
            _ => None,
        };
        if fraction.is_some() {
            j += 1;
        }
        let hour = self.number(j).filter(|h| (1..=12).contains(h))?;
        if self.tokens[j].digits > 2 || !self.word_ends(j + 1) {
            return None;
        }
        let mut end = j + 1;
        let has_baje = self.is(end, &["baje", "bje", "bajay", "بجے"]);
        if has_baje {
            end += 1;
        }
        if part.is_none() && fraction.is_none() {
            return None;
        }
        if part.is_none() && !has_baje && !self.urdu {
            return None;
        }
        let (hour, minute) = match fraction {
            Some(-15) => (if hour == 1 { 12 } else { hour - 1 }, 45),
            Some(m) => (hour, u32::try_from(m).unwrap_or(0)),
            None => (hour, 0),
        };
        let mut when = When::time(spec(hour, minute, TimeKind::Bare));
        when.part = part;
        Some((when, end))
    }

    /// A fixed Urdu fraction time ("dedh baje" is 1:30) that needs its `baje`.
    fn urdu_fixed(
        &self,
        j: usize,
        part: Option<PartOfDay>,
        hour: u32,
        minute: u32,
    ) -> Option<(When, usize)> {
        if !self.is(j + 1, &["baje", "bje", "bajay", "بجے"]) {
            return None;
        }
        let mut when = When::time(spec(hour, minute, TimeKind::Bare));
        when.part = part;
        Some((when, j + 2))
    }

    /// "in the morning", "at night", "this evening" is a date phrase; Urdu "shaam ko".
    pub(super) fn part_phrase(&self, i: usize, intro: Intro) -> Option<(When, usize)> {
        let (part, end) = match intro {
            Intro::In => {
                let end = self.phrase(i, "the morning|afternoon|evening|night")?;
                (PartOfDay::from_word(self.word(end - 1)?)?, end)
            }
            Intro::At => (
                self.word(i)
                    .filter(|w| *w == "night")
                    .and(Some(PartOfDay::Night))?,
                i + 1,
            ),
            _ => {
                let word = self.word(i)?;
                if matches!(word, "morning" | "afternoon" | "evening" | "night") {
                    return None;
                }
                (PartOfDay::from_word(word)?, i + 1)
            }
        };
        Some((When::part(part), end))
    }
}

fn spec(hour: u32, minute: u32, kind: TimeKind) -> TimeSpec {
    TimeSpec { hour, minute, kind }
}
