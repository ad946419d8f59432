//! The parser's result and its JSON form (the object `tickler parse` prints and
//! `POST /api/v1/parse` returns).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use tickler_domain::{Priority, RecurrenceMode, ReminderSpec, Tag};

/// What the sentence asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// Add a new task ("call mom tomorrow at 5").
    #[default]
    CreateTask,
    /// Change an existing task ("move the dentist to friday").
    UpdateTask,
    /// Mark an existing task done ("mark taxes as done").
    CompleteTask,
    /// Remove an existing task ("delete buy milk").
    DeleteTask,
    /// Show tasks matching a filter ("what's due this week?").
    ListTasks,
    /// Not about tasks (greetings, thanks, other questions).
    Unknown,
}

impl Intent {
    /// Returns the wire name (`create_task`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Intent::CreateTask => "create_task",
            Intent::UpdateTask => "update_task",
            Intent::CompleteTask => "complete_task",
            Intent::DeleteTask => "delete_task",
            Intent::ListTasks => "list_tasks",
            Intent::Unknown => "unknown",
        }
    }
}

/// Whether a task is still to do or finished, as a list filter states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Not done yet ("open", "pending", "overdue").
    Open,
    /// Completed ("done", "finished").
    Done,
}

impl StatusFilter {
    /// Returns the wire name (`open` or `done`).
    pub fn as_str(&self) -> &'static str {
        match self {
            StatusFilter::Open => "open",
            StatusFilter::Done => "done",
        }
    }
}

/// The conditions of a `list_tasks` sentence; only the keys the sentence states are present.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Filter {
    /// Tasks with this priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Tasks carrying all of these tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Open or done tasks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// Tasks due strictly before this instant.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_instant"
    )]
    pub due_before: Option<DateTime<Utc>>,
    /// Tasks due at or after this instant.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_instant"
    )]
    pub due_after: Option<DateTime<Utc>>,
    /// Tasks whose text contains these words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Filter {
    /// Returns whether the sentence stated no condition at all ("show my tasks").
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }
}

/// The fields an `update_task` sentence sets; only those present are changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Changes {
    /// The new title ("rename X to Y").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The new due instant; `all_day` says how to read it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_instant"
    )]
    pub due_at: Option<DateTime<Utc>>,
    /// Present together with `due_at`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_day: Option<bool>,
    /// The new priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The new recurrence rule (RRULE body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    /// Present together with `recurrence`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence_mode: Option<RecurrenceMode>,
}

/// The part of the result a stretch of the input produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Command words that chose the intent ("mark ... as done", "please", "remind me to").
    Intent,
    /// Words that became the title.
    Title,
    /// Text that became the description.
    Description,
    /// A date, time or relative-time phrase.
    DueAt,
    /// A recurrence phrase, including its start and end dates.
    Recurrence,
    /// A priority marker.
    Priority,
    /// A `#tag` or `@tag`.
    Tags,
    /// A reminder clause.
    Reminders,
    /// The words naming the task an update, completion or deletion is about.
    Target,
    /// The conditions of a list request.
    Filter,
}

impl Field {
    /// Returns the wire name (`title`, `due_at`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Field::Intent => "intent",
            Field::Title => "title",
            Field::Description => "description",
            Field::DueAt => "due_at",
            Field::Recurrence => "recurrence",
            Field::Priority => "priority",
            Field::Tags => "tags",
            Field::Reminders => "reminders",
            Field::Target => "target",
            Field::Filter => "filter",
        }
    }
}

/// A stretch of the input, in characters (not bytes), end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    /// Which field these characters produced.
    pub field: Field,
    /// Offset of the first character.
    pub start: usize,
    /// Offset just past the last character.
    pub end: usize,
}

/// Everything the parser read from one sentence. Serialises to the JSON object described in
/// the crate documentation; every key is always present.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Parsed {
    /// What the sentence asks for.
    pub intent: Intent,
    /// The task's title (create), or its new title (rename); `None` otherwise.
    pub title: Option<String>,
    /// Text after the first line break.
    pub description: Option<String>,
    /// When the task is due; local midnight of the date when `all_day`.
    #[serde(serialize_with = "serialize_instant")]
    pub due_at: Option<DateTime<Utc>>,
    /// The due date has no time of day.
    pub all_day: bool,
    /// RRULE body without `RRULE:` and without DTSTART.
    pub recurrence: Option<String>,
    /// How the next occurrence is dated; set exactly when `recurrence` is.
    pub recurrence_mode: Option<RecurrenceMode>,
    /// `none` when the sentence says nothing about priority.
    pub priority: Priority,
    /// Lower-case tags without their sigil.
    pub tags: Vec<Tag>,
    /// ISO 8601 offsets from `due_at` (negative is before) or absolute instants.
    pub reminders: Vec<ReminderSpec>,
    /// The words naming the task (update, complete, delete).
    pub target: Option<String>,
    /// The fields to set (update only).
    pub changes: Option<Changes>,
    /// The conditions (list only).
    pub filter: Option<Filter>,
    /// Which characters of the input produced which field, for highlighting.
    pub spans: Vec<Span>,
}

/// Writes an instant in RFC 3339 with the `Z` suffix, keeping fractions only when present.
fn serialize_instant<S: Serializer>(
    instant: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match instant {
        Some(instant) => {
            serializer.serialize_str(&instant.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        }
        None => serializer.serialize_none(),
    }
}
