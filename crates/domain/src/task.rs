//! Tasks: their fields, the rules that validate them and the state changes they go through.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{SeriesPosition, TaskId, UserId};
use crate::recurrence::Recurrence;
use crate::reminder::{MAX_REMINDERS_PER_TASK, ReminderSpec};
use crate::tag::Tags;
use crate::time::{TimeZone, truncate_to_micros};
use crate::validation::{FieldError, ValidationErrors};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 500;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "jsonschema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Not started.
    #[default]
    Todo,
    /// Being worked on.
    InProgress,
    /// Finished.
    Done,
}

impl TaskStatus {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Done => "done",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "todo" => Some(TaskStatus::Todo),
            "in_progress" => Some(TaskStatus::InProgress),
            "done" => Some(TaskStatus::Done),
            _ => None,
        }
    }
}

/// How urgent a task is; ordered from `None` (lowest) to `Urgent` (highest).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "jsonschema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// No priority given.
    #[default]
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 5] = [
        Priority::None,
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    /// Returns the rank used for sorting and storage: 0 (`none`) to 4 (`urgent`).
    pub fn rank(&self) -> i16 {
        *self as i16
    }

    /// Returns the priority of a rank.
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.get(usize::try_from(rank).ok()?).copied()
    }

    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Priority::None => "none",
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// How the next instance of a recurring task is dated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "jsonschema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecurrenceMode {
    /// The next occurrence of the rule after the completed instance's due date ("every").
    #[default]
    FromDue,
    /// The rule's interval counted from the completion time ("every!").
    FromCompletion,
}

impl RecurrenceMode {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecurrenceMode::FromDue => "from_due",
            RecurrenceMode::FromCompletion => "from_completion",
        }
    }

    /// Parses the wire name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "from_due" => Some(RecurrenceMode::FromDue),
            "from_completion" => Some(RecurrenceMode::FromCompletion),
            _ => None,
        }
    }
}

/// A task title: trimmed, 1 to 500 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Title(String);

impl Title {
    /// Validates a title, trimming surrounding whitespace.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(
                "title",
                "required",
                "title must not be empty",
            ));
        }
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(FieldError::new(
                "title",
                "too_long",
                format!("title must be at most {MAX_TITLE_CHARS} characters"),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                "title",
                "invalid_character",
                "title must not contain control characters such as line breaks",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Returns the title text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// When a task is due: an instant, or a whole local day when `all_day` (the instant is then
/// 00:00 local of that date in the task's time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Due {
    /// The due instant.
    pub at: DateTime<Utc>,
    /// Whether the task is due on a whole day rather than at a time.
    pub all_day: bool,
}

/// The fields a user edits, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFields {
    /// What to do.
    pub title: Title,
    /// Free text, at most 20,000 characters (empty when none).
    pub description: String,
    /// Where the task stands.
    pub status: TaskStatus,
    /// How urgent it is.
    pub priority: Priority,
    /// When it is due, if ever.
    pub due: Option<Due>,
    /// The zone its due date, all-day dates and recurrence are read in.
    pub timezone: TimeZone,
    /// Its labels.
    pub tags: Tags,
    /// How it repeats, if it does (requires a due date).
    pub recurrence: Option<Recurrence>,
    /// How the next instance is dated.
    pub recurrence_mode: RecurrenceMode,
    /// When to remind its owner.
    pub reminders: Vec<ReminderSpec>,
}

/// The fields of a task as a client sends them, before validation. `None` for `timezone` means
/// the owner's zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskInput {
    /// See [`TaskFields::title`].
    pub title: String,
    /// See [`TaskFields::description`].
    pub description: String,
    /// See [`TaskFields::status`].
    pub status: TaskStatus,
    /// See [`TaskFields::priority`].
    pub priority: Priority,
    /// An RFC 3339 instant, or (with `all_day`) a `YYYY-MM-DD` date.
    pub due_at: Option<String>,
    /// See [`Due::all_day`].
    pub all_day: bool,
    /// An IANA zone name.
    pub timezone: Option<String>,
    /// Raw tags.
    pub tags: Vec<String>,
    /// An RRULE body.
    pub recurrence: Option<String>,
    /// See [`TaskFields::recurrence_mode`].
    pub recurrence_mode: RecurrenceMode,
    /// ISO 8601 offsets or RFC 3339 instants.
    pub reminders: Vec<String>,
}

impl TaskInput {
    /// Validates every field, reporting all problems at once. `default_zone` is the owner's
    /// zone, used when the input names none.
    pub fn validate(self, default_zone: TimeZone) -> Result<TaskFields, ValidationErrors> {
        let title = Title::parse(&self.title);
        let description = validate_description(self.description);
        let timezone = parse_zone(self.timezone.as_deref(), default_zone);
        let zone_for_due = timezone.as_ref().copied().unwrap_or(default_zone);
        let due = parse_due(self.due_at.as_deref(), self.all_day, zone_for_due);
        let tags = Tags::parse("tags", &self.tags);
        let recurrence = validate_recurrence(self.recurrence.as_deref(), &due);
        let reminders = validate_reminders(&self.reminders, &due);
        let (title, description, timezone, due, tags, recurrence, reminders) = crate::all_valid!(
            title,
            description,
            timezone,
            due,
            tags,
            recurrence,
            reminders
        )?;
        Ok(TaskFields {
            title,
            description,
            status: self.status,
            priority: self.priority,
            due,
            timezone,
            tags,
            recurrence,
            recurrence_mode: self.recurrence_mode,
            reminders,
        })
    }
}

impl From<&TaskFields> for TaskInput {
    /// Turns validated fields back into input, so an edit can start from the current task.
    fn from(fields: &TaskFields) -> Self {
        TaskInput {
            title: fields.title.as_str().to_owned(),
            description: fields.description.clone(),
            status: fields.status,
            priority: fields.priority,
            // An all-day date travels as a date so a change of zone keeps the calendar day.
            due_at: fields.due.map(|due| {
                if due.all_day {
                    fields.timezone.local_date(due.at).to_string()
                } else {
                    format_instant(due.at)
                }
            }),
            all_day: fields.due.is_some_and(|due| due.all_day),
            timezone: Some(fields.timezone.name().to_owned()),
            tags: fields.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            recurrence: fields.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: fields.recurrence_mode,
            reminders: fields.reminders.iter().map(ToString::to_string).collect(),
        }
    }
}

/// The start of a series as a task's fields would give it: the rule, the first occurrence (the
/// due date) and the zone the rule is expanded in, checked with the rules of
/// [`TaskInput::validate`] and reporting every problem at once. Previews a recurrence before a
/// task has it.
pub fn validate_series_start(
    recurrence: &str,
    due_at: Option<&str>,
    all_day: bool,
    timezone: Option<&str>,
    default_zone: TimeZone,
) -> Result<(Recurrence, Due, TimeZone), ValidationErrors> {
    let timezone = parse_zone(timezone, default_zone);
    let zone_for_due = timezone.as_ref().copied().unwrap_or(default_zone);
    let due = parse_due(due_at, all_day, zone_for_due);
    let recurrence = validate_recurrence(Some(recurrence), &due);
    let (timezone, due, recurrence) = crate::all_valid!(timezone, due, recurrence)?;
    match (recurrence, due) {
        (Some(recurrence), Some(due)) => Ok((recurrence, due, timezone)),
        // validate_recurrence refuses a rule without a due date.
        _ => Err(ValidationErrors::single(FieldError::new(
            "recurrence",
            "requires_due_at",
            "a recurring task needs a due_at: its first occurrence",
        ))),
    }
}

fn parse_zone(name: Option<&str>, default_zone: TimeZone) -> Result<TimeZone, FieldError> {
    match name {
        None => Ok(default_zone),
        Some(name) => TimeZone::parse(name)
            .map_err(|error| FieldError::new("timezone", "unknown_time_zone", error.to_string())),
    }
}

/// Formats an instant as RFC 3339 in UTC with a `Z` and only as many fraction digits as needed.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn validate_description(description: String) -> Result<String, FieldError> {
    if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new(
            "description",
            "invalid_character",
            "description must not contain control characters other than line breaks and tabs",
        ));
    }
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(FieldError::new(
            "description",
            "too_long",
            format!("description must be at most {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(description)
}

fn parse_due(raw: Option<&str>, all_day: bool, zone: TimeZone) -> Result<Option<Due>, FieldError> {
    let Some(raw) = raw else {
        if all_day {
            return Err(FieldError::new(
                "all_day",
                "requires_due_at",
                "all_day needs a due_at date",
            ));
        }
        return Ok(None);
    };
    let raw = raw.trim();
    if let Ok(instant) = DateTime::parse_from_rfc3339(raw) {
        let instant = truncate_to_micros(instant.with_timezone(&Utc));
        let at = if all_day {
            zone.start_of_day(zone.local_date(instant))
        } else {
            instant
        };
        return Ok(Some(Due { at, all_day }));
    }
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        if all_day {
            return Ok(Some(Due {
                at: zone.start_of_day(date),
                all_day,
            }));
        }
        return Err(FieldError::new(
            "due_at",
            "missing_time",
            "due_at is a date without a time: send an RFC 3339 instant, or set all_day to true",
        ));
    }
    Err(FieldError::new(
        "due_at",
        "invalid_format",
        "due_at must be an RFC 3339 instant such as \"2026-11-21T17:00:00Z\"",
    ))
}

fn validate_recurrence(
    raw: Option<&str>,
    due: &Result<Option<Due>, FieldError>,
) -> Result<Option<Recurrence>, FieldError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let recurrence = Recurrence::parse(raw)
        .map_err(|error| FieldError::new("recurrence", error.code(), error.to_string()))?;
    if matches!(due, Ok(None)) {
        return Err(FieldError::new(
            "recurrence",
            "requires_due_at",
            "a recurring task needs a due_at: its first occurrence",
        ));
    }
    Ok(Some(recurrence))
}

fn validate_reminders(
    raw: &[String],
    due: &Result<Option<Due>, FieldError>,
) -> Result<Vec<ReminderSpec>, ValidationErrors> {
    let mut errors = Vec::new();
    let mut reminders = Vec::with_capacity(raw.len());
    for (index, text) in raw.iter().enumerate() {
        match ReminderSpec::parse(text) {
            Ok(spec) if spec.is_relative() && matches!(due, Ok(None)) => {
                errors.push(FieldError::new(
                    format!("reminders[{index}]"),
                    "requires_due_at",
                    "a reminder relative to the due date needs a due_at",
                ));
            }
            Ok(spec) => {
                if !reminders.contains(&spec) {
                    reminders.push(spec);
                }
            }
            Err(error) => errors.push(FieldError::new(
                format!("reminders[{index}]"),
                error.code(),
                error.to_string(),
            )),
        }
    }
    if reminders.len() > MAX_REMINDERS_PER_TASK {
        errors.push(FieldError::new(
            "reminders",
            "too_many",
            format!("a task may have at most {MAX_REMINDERS_PER_TASK} reminders"),
        ));
    }
    match ValidationErrors::from_errors(errors) {
        Some(errors) => Err(errors),
        None => Ok(reminders),
    }
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// Its id.
    pub id: TaskId,
    /// The user it belongs to; nobody else can see it.
    pub owner: UserId,
    /// What the user edits.
    pub fields: TaskFields,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was completed, while it is done.
    pub completed_at: Option<DateTime<Utc>>,
    /// Incremented by every change; the basis of ETags and optimistic concurrency.
    pub version: i64,
    /// Its place in its recurring series (a task the user created starts its own series).
    pub series: SeriesPosition,
}

/// What kind of change happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskChangeKind {
    /// It was created.
    Created,
    /// Some of its fields changed without a status transition to or from done.
    Updated,
    /// It became done.
    Completed,
    /// It stopped being done.
    Reopened,
    /// It was deleted.
    Deleted,
}

impl TaskChangeKind {
    /// Returns the event name (`created`, `completed`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskChangeKind::Created => "created",
            TaskChangeKind::Updated => "updated",
            TaskChangeKind::Completed => "completed",
            TaskChangeKind::Reopened => "reopened",
            TaskChangeKind::Deleted => "deleted",
        }
    }
}

/// A change to a task: the kind, the task after it (for a deletion, as it was) and the names of
/// the fields that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskChange {
    /// What happened.
    pub kind: TaskChangeKind,
    /// The task after the change.
    pub task: Task,
    /// The wire names of the fields that changed, in a fixed order.
    pub changed_fields: Vec<&'static str>,
}

impl Task {
    /// Creates a task owned by `owner`.
    pub fn create(id: TaskId, owner: UserId, fields: TaskFields, now: DateTime<Utc>) -> TaskChange {
        let now = truncate_to_micros(now);
        let completed_at = (fields.status == TaskStatus::Done).then_some(now);
        let task = Task {
            id,
            owner,
            fields,
            created_at: now,
            updated_at: now,
            completed_at,
            version: 1,
            series: SeriesPosition::first(id),
        };
        TaskChange {
            kind: TaskChangeKind::Created,
            changed_fields: Vec::new(),
            task,
        }
    }

    /// Replaces the editable fields. Returns `None` when nothing changes.
    pub fn edit(&self, fields: TaskFields, now: DateTime<Utc>) -> Option<TaskChange> {
        let changed_fields = changed_fields(&self.fields, &fields);
        if changed_fields.is_empty() {
            return None;
        }
        let now = truncate_to_micros(now);
        let was_done = self.fields.status == TaskStatus::Done;
        let is_done = fields.status == TaskStatus::Done;
        let (kind, completed_at) = match (was_done, is_done) {
            (false, true) => (TaskChangeKind::Completed, Some(now)),
            (true, false) => (TaskChangeKind::Reopened, None),
            _ => (TaskChangeKind::Updated, self.completed_at),
        };
        let mut changed_fields = changed_fields;
        if completed_at != self.completed_at {
            changed_fields.push("completed_at");
        }
        let task = Task {
            fields,
            updated_at: now,
            completed_at,
            version: self.version + 1,
            ..self.clone()
        };
        Some(TaskChange {
            kind,
            task,
            changed_fields,
        })
    }

    /// Marks the task done. Returns `None` when it already is.
    pub fn complete(&self, now: DateTime<Utc>) -> Option<TaskChange> {
        let fields = TaskFields {
            status: TaskStatus::Done,
            ..self.fields.clone()
        };
        self.edit(fields, now)
    }

    /// Puts a done task back to `todo`. Returns `None` when it is not done.
    pub fn reopen(&self, now: DateTime<Utc>) -> Option<TaskChange> {
        if self.fields.status != TaskStatus::Done {
            return None;
        }
        let fields = TaskFields {
            status: TaskStatus::Todo,
            ..self.fields.clone()
        };
        self.edit(fields, now)
    }

    /// Deletes the task.
    pub fn delete(&self, now: DateTime<Utc>) -> TaskChange {
        let now = truncate_to_micros(now);
        TaskChange {
            kind: TaskChangeKind::Deleted,
            changed_fields: Vec::new(),
            task: Task {
                updated_at: now,
                version: self.version + 1,
                ..self.clone()
            },
        }
    }

    /// Returns whether the task is open and its due date has passed at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.fields.status != TaskStatus::Done && self.fields.due.is_some_and(|due| due.at < now)
    }
}

fn changed_fields(before: &TaskFields, after: &TaskFields) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let due_at = |f: &TaskFields| f.due.map(|due| due.at);
    let all_day = |f: &TaskFields| f.due.is_some_and(|due| due.all_day);
    let checks: [(&'static str, bool); 11] = [
        ("title", before.title != after.title),
        ("description", before.description != after.description),
        ("status", before.status != after.status),
        ("priority", before.priority != after.priority),
        ("due_at", due_at(before) != due_at(after)),
        ("all_day", all_day(before) != all_day(after)),
        ("timezone", before.timezone != after.timezone),
        ("tags", before.tags != after.tags),
        ("recurrence", before.recurrence != after.recurrence),
        (
            "recurrence_mode",
            before.recurrence_mode != after.recurrence_mode,
        ),
        ("reminders", before.reminders != after.reminders),
    ];
    for (name, differs) in checks {
        if differs {
            changed.push(name);
        }
    }
    changed
}

#[cfg(test)]
mod tests;
