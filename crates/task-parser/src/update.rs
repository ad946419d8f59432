//! Update commands: reschedule ("move X to friday", "push X back to next week", "change the
//! due date of X to May 3"), reprioritise ("set the priority of X to high", "make X urgent"),
//! rename ("rename X to Y") and repeat ("make X repeat every monday").

use tickler_domain::Priority;

use crate::extract::Slots;
use crate::intent::{Classified, Plan, Update};
use crate::parsed::Field;
use crate::scanner::Scanner;
use crate::token::Kind;

const RESCHEDULE: &str = "move|reschedule|postpone|push|delay|bump|shift|defer|change|set|update";

impl Scanner<'_> {
    /// Recognises an update command in `p..end`.
    pub fn update_command(&self, p: usize, end: usize) -> Option<Classified> {
        self.rename_command(p, end)
            .or_else(|| self.priority_command(p, end))
            .or_else(|| self.repeat_command(p, end))
            .or_else(|| self.reschedule_command(p, end))
    }

    fn rename_command(&self, p: usize, end: usize) -> Option<Classified> {
        let split = |v: usize| {
            let k = (v + 1..end).find(|&k| self.is(k, &["to", "as"]))?;
            Some((v, k, k))
        };
        let (v, target_end, k) = if let Some(v) = self
            .phrase(p, "rename|retitle")
            .or_else(|| self.phrase(p, "change|set|update|edit the? title|name of|for"))
        {
            split(v)?
        } else {
            // "change X's title to Y"
            let v = self.phrase(p, "change|set|update|edit")?;
            let t = (v + 1..end)
                .find(|&t| self.is(t, &["title", "name"]) && self.is(t + 1, &["to", "as"]))?;
            (v, t, t + 1)
        };
        (v < target_end && k + 1 < end).then(|| {
            let update = Update::Rename { title: k + 1..end };
            let plan = Plan::Update {
                target: v..target_end,
                update,
            };
            Classified::new_update(plan, vec![(p, v), (target_end, k + 1)])
        })
    }

    fn priority_command(&self, p: usize, end: usize) -> Option<Classified> {
        if let Some(v) = self.phrase(p, "prioritize|prioritise") {
            let plan = Plan::Update {
                target: v..end,
                update: Update::Priority(Priority::High),
            };
            return (v < end).then(|| Classified::new_update(plan, vec![(p, v)]));
        }
        if let Some(v) = self.phrase(p, "deprioritize|deprioritise") {
            let plan = Plan::Update {
                target: v..end,
                update: Update::Priority(Priority::Low),
            };
            return (v < end).then(|| Classified::new_update(plan, vec![(p, v)]));
        }
        let of = "change|set|update|make|raise|lower the? priority|prio of|for|on";
        let verb = "change|set|update|make|mark|raise|lower";
        let (v, stated) = match self.phrase(p, of) {
            Some(v) => (v, true),
            None => (self.phrase(p, verb)?, false),
        };
        for k in v + 1..end {
            let value = if stated {
                self.is(k, &["to", "as"])
                    .then(|| self.priority_value(k + 1, end))
                    .flatten()
            } else if self.is(k, &["priority", "prio"]) && self.is(k + 1, &["to", "as"]) {
                self.priority_value(k + 2, end)
            } else {
                let at = if self.is(k, &["as", "to"]) { k + 1 } else { k };
                self.priority_value(at, end).filter(|_| k > v)
            };
            if let Some(priority) = value {
                let plan = Plan::Update {
                    target: v..k,
                    update: Update::Priority(priority),
                };
                return Some(Classified::new_update(plan, vec![(p, v), (k, end)]));
            }
        }
        None
    }

    /// Returns the priority that `from..end` names exactly ("high", "p1", "urgent",
    /// "high priority").
    fn priority_value(&self, from: usize, end: usize) -> Option<Priority> {
        if from >= end {
            return None;
        }
        if let Some((priority, e)) = self.priority_at(from)
            && e == end
        {
            return Some(priority);
        }
        let level = crate::marker::filter_level(self.word(from)?)?;
        let after = self.phrase(from + 1, "priority|prio").unwrap_or(from + 1);
        (after == end).then_some(level)
    }

    fn repeat_command(&self, p: usize, end: usize) -> Option<Classified> {
        let repeat = [
            "repeat",
            "recur",
            "repeats",
            "recurs",
            "repeating",
            "recurring",
        ];
        if let Some(v) = self.phrase(p, "repeat") {
            // "repeat X every monday"
            let k = (v + 1..end).find(|&k| self.recurs_to_end(k, end))?;
            let plan = Plan::Update {
                target: v..k,
                update: Update::Repeat { from: k },
            };
            return Some(Classified::new_update(plan, vec![(p, v)]));
        }
        let verb = self.phrase(p, "make|set|have|change|update");
        let v = verb.unwrap_or(p);
        if let Some(r) = (v + 1..end).find(|&r| self.is(r, &repeat)) {
            // Without a command word only "X should repeat ..." is an update; "water plants
            // repeating every 3 days" describes a new task.
            if verb.is_none() && !self.is(r - 1, &["should", "will"]) {
                return None;
            }
            if !self.recurs_to_end(r + 1, end) {
                return None;
            }
            let mut target_end = r;
            while target_end > v && self.is(target_end - 1, &["to", "should", "will", "it"]) {
                target_end -= 1;
            }
            let plan = Plan::Update {
                target: v..target_end,
                update: Update::Repeat { from: r + 1 },
            };
            return (v < target_end)
                .then(|| Classified::new_update(plan, vec![(p, v), (target_end, r + 1)]));
        }
        // "make X daily" is left out on purpose: "make dinner every sunday" is a new task.
        None
    }

    /// Returns whether `from..end` is a recurrence phrase and nothing else.
    fn recurs_to_end(&self, from: usize, end: usize) -> bool {
        self.trial(from, end)
            .is_some_and(|slots| slots.recurrence.is_some())
    }

    fn reschedule_command(&self, p: usize, end: usize) -> Option<Classified> {
        let verb = self.phrase(p, RESCHEDULE)?;
        let verb = self.phrase(verb, "back|out|forward").unwrap_or(verb);
        let date_form = self
            .phrase(verb, "the? due date of|for")
            .or_else(|| self.phrase(verb, "the? deadline|date|due of|for"));
        let v = date_form.unwrap_or(verb);
        // Only verbs that always mean rescheduling may go without "to": "change oil on friday"
        // and "move the couch on saturday" are new tasks.
        let strict =
            self.is(p, &["reschedule", "postpone", "delay", "defer"]) || date_form.is_some();
        for k in (v + 1..end).rev() {
            let Some(word) = self.word(k) else { continue };
            let from = match word {
                "to" | "into" | "till" | "til" | "until" => k + 1,
                "for" | "on" | "by" | "due" if strict => k,
                _ => continue,
            };
            if self.schedules_to_end(from, end) {
                let mut target_end = k;
                while target_end > v + 1 && self.is(target_end - 1, &["back", "out", "forward"]) {
                    target_end -= 1;
                }
                let plan = Plan::Update {
                    target: v..target_end,
                    update: Update::Schedule { from },
                };
                return Some(Classified::new_update(
                    plan,
                    vec![(p, v), (target_end, from)],
                ));
            }
        }
        if !strict || date_form.is_some() {
            return None;
        }
        // "reschedule the dentist tomorrow at 5"
        let k = (v + 1..end).find(|&k| self.schedules_to_end(k, end))?;
        let plan = Plan::Update {
            target: v..k,
            update: Update::Schedule { from: k },
        };
        Some(Classified::new_update(plan, vec![(p, v)]))
    }

    /// Returns whether `from..end` is a date-time phrase and nothing else.
    fn schedules_to_end(&self, from: usize, end: usize) -> bool {
        self.trial(from, end).is_some_and(|slots| {
            slots.date.is_some()
                || slots.time.is_some()
                || slots.after.is_some()
                || slots.part.is_some()
        })
    }

    /// Extracts from `from` on a copy, with everything before `from` set aside; returns what
    /// was found when it claims every content token up to `end`.
    fn trial(&self, from: usize, end: usize) -> Option<Slots> {
        if from >= end {
            return None;
        }
        let mut trial = self.clone();
        trial.claim(0, from, Field::Target);
        let slots = trial.extract(from);
        (from..end)
            .all(|i| trial.claimed[i].is_some() || trial.tokens[i].kind == Kind::Punct)
            .then_some(slots)
    }
}

impl Classified {
    fn new_update(plan: Plan, command: Vec<(usize, usize)>) -> Self {
        Self { plan, command }
    }
}
