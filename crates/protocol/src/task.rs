//! Task bodies: what `GET /api/v1/tasks/{id}` returns and what `POST`/`PATCH` accept.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tickler_domain::{Priority, RecurrenceMode, Task, TaskId, TaskInput, TaskStatus};
use utoipa::ToSchema;

/// A task as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskBody {
    /// UUIDv7.
    pub id: TaskId,
    /// 1 to 500 characters.
    pub title: String,
    /// Up to 20,000 characters; empty when none.
    pub description: String,
    /// `todo`, `in_progress` or `done`.
    pub status: TaskStatus,
    /// `none`, `low`, `medium`, `high` or `urgent`.
    pub priority: Priority,
    /// When the task is due (for an all-day task, 00:00 local of that date), or null.
    #[serde(serialize_with = "crate::instant::serialize_option")]
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the task is due on a whole day.
    pub all_day: bool,
    /// IANA time zone the due date and recurrence are read in.
    pub timezone: String,
    /// Lowercase tags.
    pub tags: Vec<String>,
    /// RFC 5545 RRULE body, or null.
    pub recurrence: Option<String>,
    /// How the next instance of a recurring task is dated.
    pub recurrence_mode: RecurrenceMode,
    /// ISO 8601 offsets relative to the due date (`-PT30M`) or RFC 3339 instants.
    pub reminders: Vec<String>,
    /// When the task was created.
    #[serde(serialize_with = "crate::instant::serialize")]
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    #[serde(serialize_with = "crate::instant::serialize")]
    pub updated_at: DateTime<Utc>,
    /// When it was completed, while it is done.
    #[serde(serialize_with = "crate::instant::serialize_option")]
    pub completed_at: Option<DateTime<Utc>>,
    /// Incremented by every change; the ETag is `"<version>"`.
    pub version: i64,
    /// The recurring series the task belongs to: the id of its first instance (a task the
    /// user created starts its own series, so this is its own id). Always sent; absent only
    /// in events written before series existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<TaskId>,
    /// The task's number in its series, from 1 (same presence as `series_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub sequence: Option<u32>,
}

impl From<&Task> for TaskBody {
    fn from(task: &Task) -> Self {
        let fields = &task.fields;
        Self {
            id: task.id,
            title: fields.title.as_str().to_owned(),
            description: fields.description.clone(),
            status: fields.status,
            priority: fields.priority,
            due_at: fields.due.map(|due| due.at),
            all_day: fields.due.is_some_and(|due| due.all_day),
            timezone: fields.timezone.name().to_owned(),
            tags: fields
                .tags
                .iter()
                .map(|tag| tag.as_str().to_owned())
                .collect(),
            recurrence: fields.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: fields.recurrence_mode,
            reminders: fields.reminders.iter().map(ToString::to_string).collect(),
            created_at: task.created_at,
            updated_at: task.updated_at,
            completed_at: task.completed_at,
            version: task.version,
            series_id: Some(task.series.id),
            sequence: Some(task.series.sequence),
        }
    }
}

/// What `DELETE /api/v1/tasks/{id}?scope=...` deletes of a recurring task (a task that does not
/// recur is simply deleted, whatever the scope).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeleteScope {
    /// This occurrence only: it is skipped and the next one is created (the default).
    #[default]
    This,
    /// The whole series: this instance and its other open instances are deleted, done ones
    /// stay as history, and no instance is created any more.
    Series,
}

impl DeleteScope {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeleteScope::This => "this",
            DeleteScope::Series => "series",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "this" => Some(DeleteScope::This),
            "series" => Some(DeleteScope::Series),
            _ => None,
        }
    }
}

/// A `status` filter of `GET /api/v1/tasks`: a status, or `open` (not done).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Not started.
    Todo,
    /// Started.
    InProgress,
    /// Done.
    Done,
    /// `todo` or `in_progress`.
    Open,
}

/// The instances of a recurring series (`GET /api/v1/tasks/{id}/series`), by sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesBody {
    /// Every instance still stored, done ones included, ordered by `sequence`.
    pub items: Vec<TaskBody>,
}

/// The body of `POST /api/v1/tasks`, and the shape a JSON merge patch (`PATCH`) is applied
/// to. Every field but `title` is optional; `null` means the default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    /// 1 to 500 characters (required). A missing title is still decoded (as `None`), so that
    /// validation reports it with the other fields.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 500, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$")]
    #[schemars(required)]
    pub title: Option<String>,
    /// Up to 20,000 characters; no control characters but line breaks and tabs.
    #[serde(default)]
    #[schema(
        max_length = 20000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub description: Option<String>,
    /// Defaults to `todo`.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// Defaults to `none`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// An RFC 3339 instant; with `all_day`, a `YYYY-MM-DD` date is accepted too.
    #[serde(default)]
    pub due_at: Option<String>,
    /// Due on a whole day: `due_at` becomes 00:00 local of its date. Defaults to false.
    #[serde(default)]
    pub all_day: Option<bool>,
    /// IANA time zone; defaults to the user's.
    #[serde(default)]
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub timezone: Option<String>,
    /// At most 50, each at most 64 letters, digits, `_` or `-` (any script); lowercased.
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::tag::TagName>>, max_items = 50)]
    pub tags: Option<Vec<String>>,
    /// An RFC 5545 RRULE body such as `FREQ=WEEKLY;BYDAY=MO`; needs `due_at`.
    #[serde(default)]
    pub recurrence: Option<String>,
    /// Defaults to `from_due`.
    #[serde(default)]
    pub recurrence_mode: Option<RecurrenceMode>,
    /// ISO 8601 offsets relative to `due_at` (`-PT30M`) or RFC 3339 instants; at most 20.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub reminders: Option<Vec<String>>,
}

impl From<TaskRequest> for TaskInput {
    fn from(request: TaskRequest) -> Self {
        TaskInput {
            title: request.title.unwrap_or_default(),
            description: request.description.unwrap_or_default(),
            status: request.status.unwrap_or_default(),
            priority: request.priority.unwrap_or_default(),
            due_at: request.due_at,
            all_day: request.all_day.unwrap_or(false),
            timezone: request.timezone,
            tags: request.tags.unwrap_or_default(),
            recurrence: request.recurrence,
            recurrence_mode: request.recurrence_mode.unwrap_or_default(),
            reminders: request.reminders.unwrap_or_default(),
        }
    }
}

impl From<TaskInput> for TaskRequest {
    fn from(input: TaskInput) -> Self {
        TaskRequest {
            title: Some(input.title),
            description: Some(input.description),
            status: Some(input.status),
            priority: Some(input.priority),
            due_at: input.due_at,
            all_day: Some(input.all_day),
            timezone: input.timezone,
            tags: Some(input.tags),
            recurrence: input.recurrence,
            recurrence_mode: Some(input.recurrence_mode),
            reminders: Some(input.reminders),
        }
    }
}

/// A JSON merge patch (RFC 7396) of a task: any subset of the [`TaskRequest`] fields; `null`
/// resets a field to its default. Sent as `application/merge-patch+json` or
/// `application/json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[schema(as = TaskPatch)]
#[serde(deny_unknown_fields)]
pub struct TaskPatchDoc {
    /// New title (1 to 500 characters, no control characters).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub title: Option<String>,
    /// New description.
    #[schema(
        max_length = 20000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub description: Option<String>,
    /// New status (`done` completes the task, anything else reopens it).
    pub status: Option<TaskStatus>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New due date.
    pub due_at: Option<String>,
    /// Whether it is due on a whole day.
    pub all_day: Option<bool>,
    /// New time zone.
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub timezone: Option<String>,
    /// The complete new tag list.
    #[schema(value_type = Option<Vec<crate::tag::TagName>>, max_items = 50)]
    pub tags: Option<Vec<String>>,
    /// New RRULE body.
    pub recurrence: Option<String>,
    /// New recurrence mode.
    pub recurrence_mode: Option<RecurrenceMode>,
    /// The complete new reminder list.
    #[schema(max_items = 20)]
    pub reminders: Option<Vec<String>>,
}

/// One page of tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// The tasks, in the requested order.
    pub items: Vec<TaskBody>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The next instants of a recurring task, or of a rule being previewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Occurrences {
    /// Due instants in order, the first being the task's current `due_at` (the `due_at` sent,
    /// for a preview).
    pub occurrences: Vec<DateTime<Utc>>,
}

/// The body of `POST /api/v1/recurrence/preview`: a rule and its first occurrence, as a task's
/// fields would give them, to see the next occurrences before saving. Checked with the rules
/// of a task's fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecurrencePreviewRequest {
    /// An RFC 5545 RRULE body such as `FREQ=WEEKLY;BYDAY=MO`.
    pub recurrence: String,
    /// The first occurrence: an RFC 3339 instant; with `all_day`, a `YYYY-MM-DD` date is
    /// accepted too. A rule without it is refused (`requires_due_at`), as on a task.
    #[serde(default)]
    pub due_at: Option<String>,
    /// Due on whole days. Defaults to false.
    #[serde(default)]
    pub all_day: Option<bool>,
    /// The IANA time zone the rule is expanded in; defaults to the user's.
    #[serde(default)]
    #[schema(value_type = Option<crate::time_zone::TimeZoneName>)]
    pub timezone: Option<String>,
    /// How many occurrences to return, 1 to 50; defaults to 5.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}
