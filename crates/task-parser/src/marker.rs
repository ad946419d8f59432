//! Priority markers (`p1`-`p4`, `!!!`, `urgent`, `high priority`, `priority high:`,
//! `important` used as a marker) and `#tag` / `@tag` tokens.

use tickler_domain::Priority;

use crate::scanner::Scanner;
use crate::token::Kind;

impl Scanner<'_> {
    /// Matches a priority marker at `i`; returns the priority and the index after it.
    pub fn priority_at(&self, i: usize) -> Option<(Priority, usize)> {
        let token = self.free(i)?;
        if token.is_punct('!') {
            let mut end = i;
            while self.punct(end, '!') && (end == i || self.glued(end)) {
                end += 1;
            }
            return (end - i >= 3 && self.word_ends(end)).then_some((Priority::Urgent, end));
        }
        let word = token.word()?;
        let opened =
            !self.glued(i) || (i > 0 && matches!(self.tokens[i - 1].norm.as_str(), "(" | "["));
        if word == "p" && opened {
            let level = self
                .free(i + 1)
                .filter(|t| t.glued && t.kind == Kind::Number && t.digits == 1)
                .and_then(|t| t.value)
                .and_then(level)?;
            return self.word_ends(i + 2).then_some((level, i + 2));
        }
        if let Some(end) = self
            .phrase(i, "not|non urgent|important")
            .or_else(|| self.phrase(i, "no rush"))
        {
            return Some((Priority::Low, end));
        }
        if let Some(end) = self.phrase(i, "very|really|super|extremely|highly urgent") {
            return Some((Priority::Urgent, end));
        }
        if let Some(end) = self
            .phrase(i, "very|really|super|extremely|highly important")
            .filter(|&end| self.marker_position(end - 1))
        {
            return Some((Priority::High, end));
        }
        if let Some(end) = self.phrase(i, "urgent|urgently") {
            let end = self.phrase(end, "priority|prio").unwrap_or(end);
            return Some((Priority::Urgent, end));
        }
        if let Some(end) = self.phrase(i, "top|highest priority|prio") {
            return Some((Priority::Urgent, end));
        }
        if let Some(level) = named_level(word) {
            let after = if self.punct(i + 1, '-') && self.glued(i + 1) {
                i + 2
            } else {
                i + 1
            };
            if let Some(end) = self.phrase(after, "priority|prio|pri") {
                return Some((level, end));
            }
        }
        if let Some(mut j) = self.phrase(i, "priority|prio") {
            if self.punct(j, ':') || self.punct(j, '=') || self.is(j, &["is", "of"]) {
                j += 1;
            }
            if let Some(level) = self.word(j).and_then(named_level) {
                let end = if self.punct(j + 1, ':') { j + 2 } else { j + 1 };
                return Some((level, end));
            }
            if let Some(level) = self.number(j).and_then(level) {
                return Some((level, j + 1));
            }
            return None;
        }
        if word == "important" && self.marker_position(i) {
            return Some((Priority::High, i + 1));
        }
        None
    }

    /// Returns whether a word at `i` stands alone as a marker rather than describing the noun
    /// after it: "call the bank, important" and "important: call the bank" but not
    /// "prepare important documents".
    fn marker_position(&self, i: usize) -> bool {
        match self.tokens.get(i + 1) {
            None => true,
            Some(next) => {
                self.claimed[i + 1].is_some()
                    || matches!(next.kind, Kind::Punct | Kind::Tag)
                    || (self.tokens.get(i + 2).is_none() && next.word() == Some("too"))
            }
        }
    }
}

/// Returns the priority of `p1`-`p4` or `priority 1`-`4` (1 is the highest).
fn level(number: u32) -> Option<Priority> {
    match number {
        1 => Some(Priority::Urgent),
        2 => Some(Priority::High),
        3 => Some(Priority::Medium),
        4 => Some(Priority::Low),
        _ => None,
    }
}

/// Returns the priority a level word names.
fn named_level(word: &str) -> Option<Priority> {
    match word {
        "urgent" | "highest" | "top" => Some(Priority::Urgent),
        "high" | "hi" | "important" => Some(Priority::High),
        "medium" | "med" | "normal" | "moderate" => Some(Priority::Medium),
        "low" | "lo" | "lowest" => Some(Priority::Low),
        _ => None,
    }
}

/// Returns the priority a word names in a list filter ("urgent tasks", "high priority").
pub(crate) fn filter_level(word: &str) -> Option<Priority> {
    match word {
        "important" => Some(Priority::High),
        other => named_level(other),
    }
}
