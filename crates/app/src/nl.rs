//! Natural-language capture: reading a sentence with the parser (`POST /api/v1/parse`,
//! `tickler parse`) and creating the task it describes (`POST /api/v1/tasks/quick`). Quick add
//! goes through [`App::create_task`], so it validates, writes events and is audited exactly like
//! a task created field by field.

use chrono::{DateTime, SecondsFormat, Utc};
use tickler_domain::{FieldError, Task, TimeZone};
use tickler_protocol::nl::{ParseRequest, QuickAddRequest};
use tickler_protocol::task::TaskRequest;
use tickler_task_parser::{Intent, Parsed};

use crate::error::{AppError, AppResult};
use crate::{Actor, App, CreatedTask};

/// Longest sentence the parser, quick add and the chat assistant accept, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;

impl App {
    /// Parses a sentence at `now` (default: the current time) in `tz` (default: the caller's
    /// zone).
    pub fn parse_text(&self, actor: &Actor, request: &ParseRequest) -> AppResult<Parsed> {
        let text = check_text("text", &request.text);
        let now = match request.now.as_deref() {
            None => Ok(self.now()),
            Some(raw) => DateTime::parse_from_rfc3339(raw.trim())
                .map(|instant| instant.with_timezone(&Utc))
                .map_err(|_| {
                    FieldError::new("now", "invalid_format", "now must be an RFC 3339 instant")
                }),
        };
        let zone = match request.tz.as_deref() {
            None => Ok(actor.user.timezone),
            Some(name) => TimeZone::parse(name.trim())
                .map_err(|error| FieldError::new("tz", "unknown_time_zone", error.to_string())),
        };
        let (text, now, zone) = tickler_domain::all_valid!(text, now, zone)?;
        Ok(tickler_task_parser::parse(text, now, zone))
    }

    /// Creates the task a sentence describes, read now in the caller's zone. A sentence that
    /// asks for something else ("delete the milk task", "what's due today?") is refused: it
    /// belongs in the chat.
    pub async fn quick_add(&self, actor: &Actor, request: &QuickAddRequest) -> AppResult<Task> {
        let text = check_text("text", &request.text)?;
        let parsed = tickler_task_parser::parse(text, self.now(), actor.user.timezone);
        if parsed.intent != Intent::CreateTask {
            return Err(FieldError::new(
                "text",
                "not_a_new_task",
                format!(
                    "the text reads as {}, not as a new task; send it to /api/v1/chat instead",
                    parsed.intent.as_str()
                ),
            )
            .into());
        }
        match self.create_task(actor, task_request(&parsed), None).await? {
            CreatedTask::New { task, .. } => Ok(*task),
            CreatedTask::Replayed(_) => Err(AppError::Internal(
                "a quick add without an idempotency key was replayed".to_owned(),
            )),
        }
    }
}

/// The create request for a parsed `create_task` sentence (the task's zone is the caller's,
/// the zone the sentence was read in).
pub(crate) fn task_request(parsed: &Parsed) -> TaskRequest {
    TaskRequest {
        title: Some(parsed.title.clone().unwrap_or_default()),
        description: parsed.description.clone(),
        status: None,
        priority: Some(parsed.priority),
        due_at: parsed.due_at.map(rfc3339),
        all_day: Some(parsed.all_day),
        timezone: None,
        tags: Some(parsed.tags.iter().map(|t| t.as_str().to_owned()).collect()),
        recurrence: parsed.recurrence.clone(),
        recurrence_mode: parsed.recurrence_mode,
        reminders: Some(parsed.reminders.iter().map(ToString::to_string).collect()),
    }
}

/// Writes an instant in RFC 3339 with `Z`.
pub(crate) fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Checks a sentence: not blank, at most [`MAX_TEXT_CHARS`] characters.
pub(crate) fn check_text<'a>(field: &str, text: &'a str) -> Result<&'a str, FieldError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(
            field,
            "required",
            format!("{field} must not be blank"),
        ));
    }
    if trimmed.chars().count() > MAX_TEXT_CHARS {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("{field} must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    Ok(trimmed)
}
