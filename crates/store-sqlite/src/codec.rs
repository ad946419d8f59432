//! Column encodings: instants as INTEGER microseconds, lists as JSON text, and row readers.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use tickler_domain::{
    ChannelId, ChannelKind, DeliveryStatus, EventId, NotificationId, TaskId, UserId,
};
use tickler_store::backend::row::{TaskColumns, UserColumns};
use tickler_store::{Notification, NotificationChannel, StoreError};
use uuid::Uuid;

/// Encodes an instant.
pub(crate) fn micros(instant: DateTime<Utc>) -> i64 {
    instant.timestamp_micros()
}

/// Decodes an instant.
pub(crate) fn instant(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Internal(format!("stored instant {micros} is out of range")))
}

fn optional_instant(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    micros.map(instant).transpose()
}

/// Encodes a list of strings as a JSON array.
pub(crate) fn string_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

fn parse_string_list(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(format!("stored list {text:?} is invalid: {e}")))
}

/// Reads a list column (JSON text) in place, without copying the text out first.
fn list_column(row: &Row<'_>, index: usize) -> Result<Vec<String>, StoreError> {
    let text = row.get_ref(index).map_err(crate::error::convert)?;
    let text = text.as_str().map_err(|error| {
        StoreError::Internal(format!(
            "stored list in column {index} is not text: {error}"
        ))
    })?;
    parse_string_list(text)
}

/// Reads one column, converting the driver error.
fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, index: usize) -> Result<T, StoreError> {
    row.get(index).map_err(crate::error::convert)
}

/// The task columns every task query selects, in the order [`task_from_row`] reads them.
pub(crate) const TASK_COLUMNS: &str = "t.id, t.title, t.description, t.status, t.priority, \
     t.due_at, t.all_day, t.timezone, t.tags, t.recurrence, t.recurrence_mode, t.reminders, \
     t.created_at, t.updated_at, t.completed_at, t.version, t.series_id, t.sequence";

/// How many columns [`TASK_COLUMNS`] has.
pub(crate) const TASK_COLUMN_COUNT: usize = 18;

/// Reads a task selected with [`TASK_COLUMNS`] (from column 0); `owner` is known to the query.
pub(crate) fn task_from_row(
    row: &Row<'_>,
    owner: Uuid,
) -> Result<tickler_domain::Task, StoreError> {
    TaskColumns {
        id: column(row, 0)?,
        owner,
        title: column(row, 1)?,
        description: column(row, 2)?,
        status: column(row, 3)?,
        priority: column(row, 4)?,
        due_at: optional_instant(column(row, 5)?)?,
        all_day: column(row, 6)?,
        timezone: column(row, 7)?,
        tags: list_column(row, 8)?,
        recurrence: column(row, 9)?,
        recurrence_mode: column(row, 10)?,
        reminders: list_column(row, 11)?,
        created_at: instant(column(row, 12)?)?,
        updated_at: instant(column(row, 13)?)?,
        completed_at: optional_instant(column(row, 14)?)?,
        version: column(row, 15)?,
        series_id: column(row, 16)?,
        sequence: column(row, 17)?,
    }
    .into_task()
}

/// The user columns every user query selects, in the order [`user_from_row`] reads them.
pub(crate) const USER_COLUMNS: &str = "u.id, u.email, u.name, u.timezone, u.created_at, u.updated_at, u.credentials_version, \
     u.operator";

/// How many columns [`USER_COLUMNS`] has.
pub(crate) const USER_COLUMN_COUNT: usize = 8;

/// Reads a user selected with [`USER_COLUMNS`], starting at column `first`.
pub(crate) fn user_from_row(
    row: &Row<'_>,
    first: usize,
) -> Result<tickler_domain::User, StoreError> {
    UserColumns {
        id: column(row, first)?,
        email: column(row, first + 1)?,
        name: column(row, first + 2)?,
        timezone: column(row, first + 3)?,
        created_at: instant(column(row, first + 4)?)?,
        updated_at: instant(column(row, first + 5)?)?,
        credentials_version: column(row, first + 6)?,
        operator: column(row, first + 7)?,
    }
    .into_user()
}

/// Reads an optional instant column.
pub(crate) fn optional_instant_column(
    row: &Row<'_>,
    index: usize,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    optional_instant(column(row, index)?)
}

/// Reads an instant column.
pub(crate) fn instant_column(row: &Row<'_>, index: usize) -> Result<DateTime<Utc>, StoreError> {
    instant(column(row, index)?)
}

/// Reads any column.
pub(crate) fn value<T: rusqlite::types::FromSql>(
    row: &Row<'_>,
    index: usize,
) -> Result<T, StoreError> {
    column(row, index)
}

/// The channel columns, in the order [`channel_from_row`] reads them.
pub(crate) const CHANNEL_COLUMNS: &str = "c.id, c.user_id, c.kind, c.url, c.address, c.secret, \
     c.previous_secret, c.previous_secret_until, c.enabled, c.disabled_reason, c.created_at, \
     c.updated_at, c.verified_at, c.verification_code_hash, c.verification_expires_at, \
     c.verification_failures";

/// The notification columns, in the order [`notification_from_row`] reads them.
pub(crate) const NOTIFICATION_COLUMNS: &str = "n.id, n.user_id, n.reminder_id, n.event_id, \
     n.task_id, n.title, n.body, n.due_at, n.fire_at, n.fired_at, n.in_app, n.created_at, \
     n.read_at, n.traceparent";

/// How many columns [`NOTIFICATION_COLUMNS`] has.
pub(crate) const NOTIFICATION_COLUMN_COUNT: usize = 14;

/// Reads a channel selected with [`CHANNEL_COLUMNS`] from column `first`.
pub(crate) fn channel_from_row(
    row: &Row<'_>,
    first: usize,
) -> Result<NotificationChannel, StoreError> {
    Ok(NotificationChannel {
        id: ChannelId::from_uuid(value(row, first)?),
        owner: UserId::from_uuid(value(row, first + 1)?),
        kind: kind(&value::<String>(row, first + 2)?)?,
        url: value(row, first + 3)?,
        address: value(row, first + 4)?,
        secret: value(row, first + 5)?,
        previous_secret: value(row, first + 6)?,
        previous_secret_until: optional_instant_column(row, first + 7)?,
        enabled: value(row, first + 8)?,
        disabled_reason: value(row, first + 9)?,
        created_at: instant_column(row, first + 10)?,
        updated_at: instant_column(row, first + 11)?,
        verified_at: optional_instant_column(row, first + 12)?,
        verification_code_hash: value(row, first + 13)?,
        verification_expires_at: optional_instant_column(row, first + 14)?,
        verification_failures: value(row, first + 15)?,
    })
}

/// Reads a notification selected with [`NOTIFICATION_COLUMNS`] from column `first`.
pub(crate) fn notification_from_row(
    row: &Row<'_>,
    first: usize,
) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: NotificationId::from_uuid(value(row, first)?),
        owner: UserId::from_uuid(value(row, first + 1)?),
        reminder_id: value(row, first + 2)?,
        event_id: EventId::from_uuid(value(row, first + 3)?),
        task_id: TaskId::from_uuid(value(row, first + 4)?),
        title: value(row, first + 5)?,
        body: value(row, first + 6)?,
        due_at: optional_instant_column(row, first + 7)?,
        fire_at: instant_column(row, first + 8)?,
        fired_at: instant_column(row, first + 9)?,
        in_app: value(row, first + 10)?,
        created_at: instant_column(row, first + 11)?,
        read_at: optional_instant_column(row, first + 12)?,
        traceparent: value(row, first + 13)?,
    })
}

/// Parses a stored delivery status.
pub(crate) fn status(text: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("unknown delivery status {text:?}")))
}

/// Parses a stored channel kind.
pub(crate) fn kind(text: &str) -> Result<ChannelKind, StoreError> {
    ChannelKind::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("unknown channel kind {text:?}")))
}
