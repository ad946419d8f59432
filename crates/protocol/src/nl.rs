//! Natural-language bodies: `POST /api/v1/parse` (what the parser reads in a sentence) and
//! `POST /api/v1/tasks/quick` (create the task a sentence describes).
//!
//! [`ParseResponse`] is the parser's result as JSON, key for key the object `tickler parse`
//! prints (`tickler_task_parser::Parsed`); a test keeps the two identical.

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tickler_domain::{Priority, RecurrenceMode};
use tickler_task_parser::{Changes, Filter, Parsed, Span};
use utoipa::ToSchema;

/// The body of `POST /api/v1/parse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseRequest {
    /// The sentence, e.g. "call mom tomorrow at 5pm p1 #family" (not blank, at most 2,000
    /// characters).
    #[schema(max_length = 2000, pattern = "\\S")]
    pub text: String,
    /// The RFC 3339 instant calendar words are read at; defaults to the current time.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub now: Option<String>,
    /// The IANA time zone calendar words are read in; defaults to the user's zone.
    #[serde(default)]
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub tz: Option<String>,
}

/// The body of `POST /api/v1/tasks/quick`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickAddRequest {
    /// A sentence describing a new task, e.g. "pay rent every month on the 1st at 9am #home"
    /// (not blank, at most 2,000 characters). Dates are read in the user's time zone.
    #[schema(max_length = 2000, pattern = "\\S")]
    pub text: String,
}

/// What the parser read in a sentence. Every key is always present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ParseResponse {
    /// `create_task`, `update_task`, `complete_task`, `delete_task`, `list_tasks` or `unknown`.
    pub intent: String,
    /// The new task's title (create), or the new title (rename).
    pub title: Option<String>,
    /// Text after the first line break.
    pub description: Option<String>,
    /// RFC 3339 instant the task is due; local midnight of the date when `all_day`.
    pub due_at: Option<String>,
    /// The due date has no time of day.
    pub all_day: bool,
    /// RRULE body without `RRULE:`.
    pub recurrence: Option<String>,
    /// How the next occurrence is dated; set exactly when `recurrence` is.
    pub recurrence_mode: Option<RecurrenceMode>,
    /// `none` when the sentence says nothing about priority.
    pub priority: Priority,
    /// Lower-case tags without their sigil.
    pub tags: Vec<String>,
    /// ISO 8601 offsets from `due_at` (negative is before) or RFC 3339 instants.
    pub reminders: Vec<String>,
    /// The words naming the task an update, completion or deletion is about.
    pub target: Option<String>,
    /// The fields an update sets (update only).
    pub changes: Option<ParseChanges>,
    /// The conditions of a list request (list only).
    pub filter: Option<ParseFilter>,
    /// Which characters of the input produced which field.
    pub spans: Vec<ParseSpan>,
}

/// The fields an `update_task` sentence sets; only those present change.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ParseChanges {
    /// The new title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new due instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    /// Present together with `due_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_day: Option<bool>,
    /// The new priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The new RRULE body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Present together with `recurrence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence_mode: Option<RecurrenceMode>,
}

/// The conditions of a `list_tasks` sentence; only the keys the sentence states are present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ParseFilter {
    /// Tasks with this priority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Tasks carrying all of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `open` or `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tasks due strictly before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_before: Option<String>,
    /// Tasks due at or after this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_after: Option<String>,
    /// Tasks whose text contains these words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// A stretch of the input, in characters (not bytes), end exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParseSpan {
    /// The field these characters produced (`title`, `due_at`, `recurrence`, ...).
    pub field: String,
    /// Offset of the first character.
    pub start: usize,
    /// Offset just past the last character.
    pub end: usize,
}

/// Writes an instant as the parser does: RFC 3339, `Z`, fractions only when present.
fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl From<&Parsed> for ParseResponse {
    fn from(parsed: &Parsed) -> Self {
        Self {
            intent: parsed.intent.as_str().to_owned(),
            title: parsed.title.clone(),
            description: parsed.description.clone(),
            due_at: parsed.due_at.map(instant),
            all_day: parsed.all_day,
            recurrence: parsed.recurrence.clone(),
            recurrence_mode: parsed.recurrence_mode,
            priority: parsed.priority,
            tags: parsed.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            reminders: parsed.reminders.iter().map(ToString::to_string).collect(),
            target: parsed.target.clone(),
            changes: parsed.changes.as_ref().map(ParseChanges::from),
            filter: parsed.filter.as_ref().map(ParseFilter::from),
            spans: parsed.spans.iter().map(ParseSpan::from).collect(),
        }
    }
}

impl From<&Changes> for ParseChanges {
    fn from(changes: &Changes) -> Self {
        Self {
            title: changes.title.clone(),
            due_at: changes.due_at.map(instant),
            all_day: changes.all_day,
            priority: changes.priority,
            recurrence: changes.recurrence.clone(),
            recurrence_mode: changes.recurrence_mode,
        }
    }
}

impl From<&Filter> for ParseFilter {
    fn from(filter: &Filter) -> Self {
        Self {
            priority: filter.priority,
            tags: filter.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            status: filter.status.map(|s| s.as_str().to_owned()),
            due_before: filter.due_before.map(instant),
            due_after: filter.due_after.map(instant),
            text: filter.text.clone(),
        }
    }
}

impl From<&Span> for ParseSpan {
    fn from(span: &Span) -> Self {
        Self {
            field: span.field.as_str().to_owned(),
            start: span.start,
            end: span.end,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use tickler_domain::TimeZone;

    use super::*;

    #[test]
    fn the_response_serialises_exactly_as_the_parser_result_does() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let zone = TimeZone::parse("Asia/Karachi").unwrap();
        for sentence in [
            "call mom tomorrow at 5pm p1 #family remind me 20 minutes before",
            "pay rent every month on the 1st at 9am until june 30\nthe landlord's account",
            "every! 4 days water plants",
            "move the dentist to next friday and make it high priority",
            "rename buy milk to buy oat milk",
            "what's due this week tagged #work about report?",
            "show completed tasks",
            "mark the dentist task as done",
            "کل صبح ۹ بجے ڈاکٹر کے پاس جانا",
            "aaj ke kaam dikhao",
            "thanks!",
        ] {
            let parsed = tickler_task_parser::parse(sentence, now, zone);
            assert_eq!(
                serde_json::to_value(ParseResponse::from(&parsed)).unwrap(),
                serde_json::to_value(&parsed).unwrap(),
                "{sentence}"
            );
        }
    }
}
