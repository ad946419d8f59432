//! Natural-language task capture for tickler: turns one sentence ("call mom tomorrow at 5
//! p1 #family", "move the dentist to next friday", "aaj ke kaam dikhao") into a task
//! operation, without any AI service.
//!
//! The entry point is [`parse`]; its result, [`Parsed`], serialises to the JSON object that
//! `tickler parse` prints and `POST /api/v1/parse` returns:
//!
//! ```json
//! {"intent": "create_task", "title": "call mom", "description": null,
//!  "due_at": "2026-11-21T22:00:00Z", "all_day": false,
//!  "recurrence": null, "recurrence_mode": null, "priority": "urgent",
//!  "tags": ["family"], "reminders": ["-PT20M"], "target": null,
//!  "changes": null, "filter": null,
//!  "spans": [{"field": "title", "start": 0, "end": 8}, ...]}
//! ```
//!
//! How it works (see `design.md` beside this crate for the full picture): the text is split
//! into tokens that remember their character offsets; the conversational wrapper around the
//! task ("please add ...", "remind me at 6pm to ...", "I need to ...", "... to my list,
//! thanks", Urdu "... add kar do", "... karna hai") is set aside, so it is never part of the
//! title or target, and "remind me" with a timed due date adds a reminder at the due time
//! (`PT0S`); the intent is chosen from command words; then one left-to-right pass lets hand-written rules claim reminder clauses, tags,
//! priority markers, recurrence phrases and date-time phrases (each with the small word that
//! introduces it). What nobody claimed becomes the title, so words a rule does not fully
//! understand ("lesson 7", "the 5th Wave", "at the library") stay in it. Finally the claimed
//! phrases are resolved against `now` on the wall clock of the given zone.
//!
//! The crate is pure: no IO and no clock reads (`now` and the zone are parameters). It
//! depends on `tickler-domain` for the value types (priority, tags, reminders, time zones
//! and the recurrence engine that dates the first occurrence of a rule) and on nothing that
//! does IO.

mod calendar;
mod extract;
mod filter;
mod intent;
mod lexicon;
mod marker;
mod parsed;
mod recurrence;
mod reminder;
mod resolve;
mod scanner;
mod title;
mod token;
mod update;
mod when;
mod wrapper;

use chrono::{DateTime, Utc};
use tickler_domain::{Offset, ReminderSpec, TimeZone};

pub use parsed::{Changes, Field, Filter, Intent, Parsed, Span, StatusFilter};

use intent::{Classified, Plan, Update};
use scanner::{Clock, Scanner};

/// Parses one sentence read at `now` in `zone`.
///
/// Every calendar word is read on the wall clock of `now` in `zone`. Never fails: a sentence
/// the rules do not understand becomes a task titled with its text, and text that is not
/// about tasks at all gives [`Intent::Unknown`].
pub fn parse(text: &str, now: DateTime<Utc>, zone: TimeZone) -> Parsed {
    let clock = Clock::new(now, zone);
    let tokens = token::tokenize(text);
    let mut scanner = Scanner::new(text, &tokens, clock);
    let mut parsed = Parsed::default();

    // Text after the first line break is the description, kept as written.
    let first_line_end = text.find('\n').unwrap_or(text.len());
    if let Some(first) = tokens.iter().position(|t| t.byte_start > first_line_end) {
        scanner.claim(first, tokens.len(), Field::Description);
        parsed.description = text
            .get(first_line_end..)
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
    }

    let chatter = scanner.chit_chat(0, scanner.content_end());
    let wrapping = if chatter {
        wrapper::Wrapping::default()
    } else {
        scanner.wrappers()
    };
    let start = wrapping.start;
    let classified = if wrapping.create {
        Classified::create()
    } else {
        let classified = scanner.classify(start);
        let acts_on_a_task = matches!(
            classified.plan,
            Plan::Complete { .. } | Plan::Delete { .. } | Plan::Update { .. }
        );
        if wrapping.obligation && acts_on_a_task {
            Classified::create()
        } else {
            classified
        }
    };
    for &(command_start, command_end) in &classified.command {
        scanner.claim(command_start, command_end, Field::Intent);
    }
    let mut title_spans = false;
    match classified.plan {
        Plan::Unknown => parsed.intent = Intent::Unknown,
        Plan::Create => {
            parsed.intent = Intent::CreateTask;
            let slots = scanner.extract(start);
            // Wrappers that only show once the dates are taken: "buy milk tomorrow for me".
            scanner.trailing_wrappers(start + 1);
            scanner.urdu_have_to(start);
            let mut schedule = resolve::schedule(&slots, &clock);
            // "remind me at 6pm to feed the cat": a reminder at the (timed) due time, unless
            // the sentence states its own reminders.
            if wrapping.remind
                && slots.reminders.is_empty()
                && schedule.due_at.is_some()
                && !schedule.all_day
                && let Ok(zero) = Offset::from_seconds(0)
            {
                schedule.reminders.push(ReminderSpec::Offset(zero));
            }
            parsed.title = title::build(&scanner, text, start..tokens.len());
            parsed.due_at = schedule.due_at;
            parsed.all_day = schedule.all_day;
            parsed.recurrence = schedule.recurrence;
            parsed.recurrence_mode = schedule.recurrence_mode;
            parsed.reminders = schedule.reminders;
            parsed.priority = slots.priority.unwrap_or_default();
            parsed.tags = slots.tags;
            title_spans = true;
        }
        Plan::Complete { ref target } | Plan::Delete { ref target } => {
            let target = target.clone();
            parsed.intent = if matches!(classified.plan, Plan::Complete { .. }) {
                Intent::CompleteTask
            } else {
                Intent::DeleteTask
            };
            parsed.target = title::clean_phrase(&scanner, target.clone());
            scanner.claim(target.start, target.end, Field::Target);
        }
        Plan::Update { target, update } => {
            parsed.intent = Intent::UpdateTask;
            parsed.target = title::clean_phrase(&scanner, target.clone());
            scanner.claim(target.start, target.end, Field::Target);
            apply_update(&mut scanner, &mut parsed, update);
        }
        Plan::List => {
            parsed.intent = Intent::ListTasks;
            parsed.filter = Some(scanner.list_filter(start));
            scanner.claim_fillers();
        }
    }
    parsed.spans = title::spans(&scanner, title_spans);
    parsed
}

/// Reads the new values of an update and sets them both at the top level and in `changes`.
fn apply_update(scanner: &mut Scanner, parsed: &mut Parsed, update: Update) {
    let clock = scanner.clock;
    let mut changes = Changes::default();
    match update {
        Update::Priority(priority) => {
            parsed.priority = priority;
            changes.priority = Some(priority);
        }
        Update::Rename { title } => {
            let new_title = title::build_plain(scanner, title.clone());
            scanner.claim(title.start, title.end, Field::Title);
            parsed.title.clone_from(&new_title);
            changes.title = new_title;
        }
        Update::Schedule { from } | Update::Repeat { from } => {
            let slots = scanner.extract(from);
            let schedule = resolve::schedule(&slots, &clock);
            parsed.due_at = schedule.due_at;
            parsed.all_day = schedule.all_day;
            if schedule.due_at.is_some() {
                changes.due_at = schedule.due_at;
                changes.all_day = Some(schedule.all_day);
            }
            parsed.recurrence.clone_from(&schedule.recurrence);
            parsed.recurrence_mode = schedule.recurrence_mode;
            changes.recurrence = schedule.recurrence;
            changes.recurrence_mode = schedule.recurrence_mode;
            if let Some(priority) = slots.priority {
                parsed.priority = priority;
                changes.priority = Some(priority);
            }
        }
    }
    parsed.changes = Some(changes);
}

impl Scanner<'_> {
    /// Claims the words of a list request that state no condition ("show me all my").
    fn claim_fillers(&mut self) {
        for i in 0..self.tokens.len() {
            if self.word(i).is_some_and(filter::is_filler) {
                self.claim(i, i + 1, Field::Intent);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::json;

    use super::*;

    fn at(instant: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(instant)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn new_york() -> TimeZone {
        TimeZone::parse("America/New_York").unwrap()
    }

    #[test]
    fn a_new_task_serialises_to_the_documented_object_with_every_key() {
        let parsed = parse(
            "call mom tomorrow at 5pm p1 #family remind me 20 minutes before",
            at("2026-11-21T12:00:00Z"),
            new_york(),
        );
        let value = serde_json::to_value(&parsed).unwrap();
        assert_eq!(
            value,
            json!({
                "intent": "create_task", "title": "call mom", "description": null,
                "due_at": "2026-11-22T22:00:00Z", "all_day": false,
                "recurrence": null, "recurrence_mode": null, "priority": "urgent",
                "tags": ["family"], "reminders": ["-PT20M"], "target": null,
                "changes": null, "filter": null,
                "spans": [
                    {"field": "title", "start": 0, "end": 8},
                    {"field": "due_at", "start": 9, "end": 24},
                    {"field": "priority", "start": 25, "end": 27},
                    {"field": "tags", "start": 28, "end": 35},
                    {"field": "reminders", "start": 36, "end": 63},
                ],
            })
        );
    }

    #[test]
    fn an_update_sets_its_fields_at_the_top_level_and_in_changes() {
        let parsed = parse(
            "move the dentist to friday",
            at("2026-11-21T12:00:00Z"),
            TimeZone::UTC,
        );
        assert_eq!(parsed.intent, Intent::UpdateTask);
        assert_eq!(parsed.target.as_deref(), Some("dentist"));
        let friday = at("2026-11-27T00:00:00Z");
        assert_eq!(parsed.due_at, Some(friday));
        assert!(parsed.all_day);
        let changes = parsed.changes.unwrap();
        assert_eq!(
            (changes.due_at, changes.all_day),
            (Some(friday), Some(true))
        );
        assert_eq!(changes.priority, None);
    }

    #[test]
    fn a_list_filter_holds_only_the_keys_the_sentence_states() {
        let parsed = parse(
            "show overdue tasks",
            at("2026-11-21T12:00:00Z"),
            TimeZone::UTC,
        );
        let filter = serde_json::to_value(parsed.filter.unwrap()).unwrap();
        assert_eq!(
            filter,
            json!({"status": "open", "due_before": "2026-11-21T12:00:00Z"})
        );
    }

    #[test]
    fn spans_count_characters_in_urdu_script() {
        let text = "کل صبح ۹ بجے ڈاکٹر کے پاس جانا";
        let parsed = parse(text, at("2026-11-21T07:00:00Z"), TimeZone::UTC);
        let chars: Vec<char> = text.chars().collect();
        let due: String = parsed
            .spans
            .iter()
            .filter(|s| s.field == Field::DueAt)
            .map(|s| chars[s.start..s.end].iter().collect::<String>())
            .collect::<Vec<_>>()
            .join("|");
        assert_eq!(due, "کل صبح ۹ بجے");
    }

    #[test]
    fn quoted_text_is_kept_as_written() {
        let parsed = parse(
            "\"call mom at 5\"",
            at("2026-11-21T12:00:00Z"),
            TimeZone::UTC,
        );
        assert_eq!(parsed.title.as_deref(), Some("call mom at 5"));
        assert_eq!(parsed.due_at, None);
    }
}
