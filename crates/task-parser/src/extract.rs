//! One left-to-right pass over the unclaimed tokens that picks out reminder clauses, tags,
//! priority markers, recurrence phrases and date-time phrases, in that order of precedence,
//! and collects what they mean into [`Slots`].

use chrono::TimeDelta;
use tickler_domain::{Priority, Tag};

use crate::parsed::Field;
use crate::recurrence::RecurrenceSpec;
use crate::reminder::ReminderItem;
use crate::scanner::Scanner;
use crate::token::Kind;
use crate::when::{DateSpec, PartOfDay, Role, TimeSpec, When};

/// Everything a sentence said about a task, before it is resolved against the clock.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    pub date: Option<DateSpec>,
    pub part: Option<PartOfDay>,
    pub time: Option<TimeSpec>,
    pub after: Option<TimeDelta>,
    pub start: Option<DateSpec>,
    pub until: Option<DateSpec>,
    pub recurrence: Option<RecurrenceSpec>,
    pub priority: Option<Priority>,
    pub tags: Vec<Tag>,
    pub reminders: Vec<ReminderItem>,
}

impl Slots {
    /// Returns whether any date, time or recurrence was found.
    pub fn has_schedule(&self) -> bool {
        self.date.is_some()
            || self.time.is_some()
            || self.part.is_some()
            || self.after.is_some()
            || self.start.is_some()
            || self.until.is_some()
            || self.recurrence.is_some()
    }

    /// Takes in a phrase unless it clashes with one already taken (a second date stays in
    /// the title). Returns whether it was taken.
    fn take(&mut self, mut when: When) -> bool {
        // "starting at 9am": a start or end without a date is just a time.
        if when.date.is_none() {
            when.role = Role::Due;
        }
        let timed = self.time.is_some() || self.after.is_some();
        let clash = match when.role {
            Role::Due => {
                (when.date.is_some() && (self.date.is_some() || self.after.is_some()))
                    || (when.time.is_some() && timed)
                    || (when.part.is_some() && (self.part.is_some() || self.after.is_some()))
                    || (when.after.is_some()
                        && (timed || self.date.is_some() || self.part.is_some()))
            }
            Role::Start => {
                when.date.is_none()
                    || self.start.is_some()
                    || (when.time.is_some() && timed)
                    || (when.part.is_some() && self.part.is_some())
            }
            Role::Until => when.date.is_none() || self.until.is_some(),
        };
        let empty = when.date.is_none()
            && when.time.is_none()
            && when.part.is_none()
            && when.after.is_none();
        if clash || empty {
            return false;
        }
        match when.role {
            Role::Due => self.date = when.date.or(self.date.take()),
            Role::Start => self.start = when.date,
            Role::Until => self.until = when.date,
        }
        if when.role != Role::Until {
            self.time = when.time.or(self.time);
            self.part = when.part.or(self.part);
            self.after = when.after.or(self.after);
        }
        true
    }
}

impl Scanner<'_> {
    /// Reads every unclaimed token from `from` to the end and returns what they say.
    pub fn extract(&mut self, from: usize) -> Slots {
        let mut slots = Slots::default();
        let mut i = from;
        while i < self.tokens.len() {
            if self.claimed[i].is_some() {
                i += 1;
                continue;
            }
            if let Some((items, start, end)) = self.reminder_at(i) {
                self.claim(start, end, Field::Reminders);
                slots.reminders.extend(items);
                i = end;
                continue;
            }
            if self.tokens[i].kind == Kind::Tag {
                if let Ok(tag) = Tag::parse(&self.tokens[i].norm) {
                    if !slots.tags.contains(&tag) {
                        slots.tags.push(tag);
                    }
                    self.claim(i, i + 1, Field::Tags);
                }
                i += 1;
                continue;
            }
            if slots.priority.is_none()
                && let Some((priority, end)) = self.priority_at(i)
            {
                slots.priority = Some(priority);
                self.claim(i, end, Field::Priority);
                i = end;
                continue;
            }
            if slots.recurrence.is_none() {
                // "repeating weekly", "recurring every monday"
                let lead = usize::from(self.is(
                    i,
                    &[
                        "repeat",
                        "repeats",
                        "repeating",
                        "recurring",
                        "recur",
                        "recurs",
                    ],
                ));
                if let Some((spec, end)) = self.recurrence_at(i + lead) {
                    slots.recurrence = Some(spec);
                    self.claim(i, end, Field::Recurrence);
                    i = end;
                    continue;
                }
            }
            if let Some((when, end)) = self.when_at(i) {
                let field = if when.role == Role::Due {
                    Field::DueAt
                } else {
                    Field::Recurrence
                };
                if slots.take(when) {
                    self.claim(i, end, field);
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        slots
    }
}
