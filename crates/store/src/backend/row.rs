//! Stored records as plain column values, and their conversion to and from domain types.
//!
//! Each backend reads its driver's row into these structs (timestamps already decoded, lists
//! already split) and calls `into_*`, so both backends accept and reject stored data alike.

use chrono::{DateTime, Utc};
use tickler_domain::{
    Due, Email, Priority, Recurrence, RecurrenceMode, ReminderSpec, SeriesPosition, Tags, Task,
    TaskFields, TaskId, TaskStatus, TimeZone, Title, User, UserId,
};
use uuid::Uuid;

use crate::StoreError;

/// A task's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskColumns {
    /// `id`.
    pub id: Uuid,
    /// `owner`.
    pub owner: Uuid,
    /// The title text.
    pub title: String,
    /// The description (empty when none).
    pub description: String,
    /// The status's wire name.
    pub status: String,
    /// The priority rank, 0 to 4.
    pub priority: i64,
    /// The due instant.
    pub due_at: Option<DateTime<Utc>>,
    /// Whether the due date is a whole day.
    pub all_day: bool,
    /// The IANA zone name.
    pub timezone: String,
    /// The tags, in order.
    pub tags: Vec<String>,
    /// The RRULE body.
    pub recurrence: Option<String>,
    /// The recurrence mode's wire name.
    pub recurrence_mode: String,
    /// The reminders in canonical text form.
    pub reminders: Vec<String>,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
    /// `updated_at`.
    pub updated_at: DateTime<Utc>,
    /// `completed_at`.
    pub completed_at: Option<DateTime<Utc>>,
    /// `version`.
    pub version: i64,
    /// `series_id`: the series' first instance.
    pub series_id: Uuid,
    /// `sequence`: the instance's number in its series, from 1.
    pub sequence: i64,
}

impl TaskColumns {
    /// Splits a task into columns.
    pub fn from_task(task: &Task) -> Self {
        let fields = &task.fields;
        TaskColumns {
            id: *task.id.as_uuid(),
            owner: *task.owner.as_uuid(),
            title: fields.title.as_str().to_owned(),
            description: fields.description.clone(),
            status: fields.status.as_str().to_owned(),
            priority: i64::from(fields.priority.rank()),
            due_at: fields.due.map(|due| due.at),
            all_day: fields.due.is_some_and(|due| due.all_day),
            timezone: fields.timezone.name().to_owned(),
            tags: fields
                .tags
                .iter()
                .map(|tag| tag.as_str().to_owned())
                .collect(),
            recurrence: fields.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: fields.recurrence_mode.as_str().to_owned(),
            reminders: fields.reminders.iter().map(ToString::to_string).collect(),
            created_at: task.created_at,
            updated_at: task.updated_at,
            completed_at: task.completed_at,
            version: task.version,
            series_id: *task.series.id.as_uuid(),
            sequence: i64::from(task.series.sequence),
        }
    }

    /// Rebuilds the task, validating every field again.
    pub fn into_task(self) -> Result<Task, StoreError> {
        let corrupt = |what: &str, value: &dyn std::fmt::Display| {
            StoreError::Internal(format!(
                "stored task {} has an invalid {what}: {value}",
                self.id
            ))
        };
        let title = Title::parse(&self.title).map_err(|e| corrupt("title", &e.message))?;
        let status =
            TaskStatus::parse(&self.status).ok_or_else(|| corrupt("status", &self.status))?;
        let priority = i16::try_from(self.priority)
            .ok()
            .and_then(Priority::from_rank)
            .ok_or_else(|| corrupt("priority", &self.priority))?;
        let timezone = TimeZone::parse(&self.timezone).map_err(|e| corrupt("time zone", &e))?;
        let tags = Tags::parse("tags", &self.tags).map_err(|e| corrupt("tag", &e))?;
        let recurrence = self
            .recurrence
            .as_deref()
            .map(Recurrence::parse)
            .transpose()
            .map_err(|e| corrupt("recurrence", &e))?;
        let recurrence_mode = RecurrenceMode::parse(&self.recurrence_mode)
            .ok_or_else(|| corrupt("recurrence mode", &self.recurrence_mode))?;
        let sequence =
            u32::try_from(self.sequence).map_err(|_| corrupt("sequence", &self.sequence))?;
        let reminders = self
            .reminders
            .iter()
            .map(|text| ReminderSpec::parse(text))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("reminder", &e))?;
        Ok(Task {
            id: TaskId::from_uuid(self.id),
            owner: UserId::from_uuid(self.owner),
            fields: TaskFields {
                title,
                description: self.description,
                status,
                priority,
                due: self.due_at.map(|at| Due {
                    at,
                    all_day: self.all_day,
                }),
                timezone,
                tags,
                recurrence,
                recurrence_mode,
                reminders,
            },
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            version: self.version,
            series: SeriesPosition {
                id: TaskId::from_uuid(self.series_id),
                sequence,
            },
        })
    }
}

/// A user's columns (without the password hash).
#[derive(Debug, Clone, PartialEq)]
pub struct UserColumns {
    /// `id`.
    pub id: Uuid,
    /// `email`.
    pub email: String,
    /// `name`.
    pub name: Option<String>,
    /// The IANA zone name.
    pub timezone: String,
    /// `created_at`.
    pub created_at: DateTime<Utc>,
    /// `updated_at`.
    pub updated_at: DateTime<Utc>,
    /// `credentials_version`.
    pub credentials_version: i64,
    /// `operator`.
    pub operator: bool,
}

impl UserColumns {
    /// Rebuilds the account.
    pub fn into_user(self) -> Result<User, StoreError> {
        let corrupt = |what: &str, value: &dyn std::fmt::Display| {
            StoreError::Internal(format!(
                "stored user {} has an invalid {what}: {value}",
                self.id
            ))
        };
        let email = Email::parse(&self.email).map_err(|e| corrupt("email", &e.message))?;
        let timezone = TimeZone::parse(&self.timezone).map_err(|e| corrupt("time zone", &e))?;
        Ok(User {
            id: UserId::from_uuid(self.id),
            email,
            name: self.name,
            timezone,
            created_at: self.created_at,
            updated_at: self.updated_at,
            credentials_version: self.credentials_version,
            operator: self.operator,
        })
    }
}

/// Encodes remembered response headers as a JSON array of `[name, value]` pairs.
pub fn headers_to_json(headers: &[(String, String)]) -> String {
    // Serialising strings cannot fail.
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// Decodes headers written by [`headers_to_json`].
pub fn headers_from_json(text: &str) -> Result<Vec<(String, String)>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("stored response headers are invalid: {e}")))
}

/// Converts an HTTP status read back from storage.
pub fn status_code(stored: i64) -> Result<u16, StoreError> {
    u16::try_from(stored)
        .map_err(|_| StoreError::Internal(format!("stored response status {stored} is invalid")))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn a_task_survives_the_round_trip_through_columns() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let fields = tickler_domain::TaskInput {
            title: "Pay rent".into(),
            description: "before the 1st".into(),
            due_at: Some("2026-12-01".into()),
            all_day: true,
            timezone: Some("Asia/Karachi".into()),
            tags: vec!["home".into(), "گھر".into()],
            recurrence: Some("FREQ=MONTHLY".into()),
            reminders: vec!["-PT30M".into()],
            ..Default::default()
        }
        .validate(TimeZone::UTC)
        .unwrap();
        let task = Task::create(
            TaskId::from_uuid(Uuid::now_v7()),
            UserId::from_uuid(Uuid::now_v7()),
            fields,
            at,
        )
        .task;
        assert_eq!(TaskColumns::from_task(&task).into_task().unwrap(), task);
    }

    #[test]
    fn invalid_stored_values_are_internal_errors() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap();
        let mut columns = TaskColumns {
            id: Uuid::nil(),
            owner: Uuid::nil(),
            title: "ok".into(),
            description: String::new(),
            status: "todo".into(),
            priority: 9,
            due_at: None,
            all_day: false,
            timezone: "UTC".into(),
            tags: vec![],
            recurrence: None,
            recurrence_mode: "from_due".into(),
            reminders: vec![],
            created_at: at,
            updated_at: at,
            completed_at: None,
            version: 1,
            series_id: Uuid::nil(),
            sequence: 1,
        };
        assert!(matches!(
            columns.clone().into_task(),
            Err(StoreError::Internal(_))
        ));
        columns.priority = 2;
        assert!(columns.into_task().is_ok());
    }
}
