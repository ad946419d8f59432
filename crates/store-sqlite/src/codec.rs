//! Column encodings: instants as INTEGER microseconds, lists as JSON text, and row readers.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use tickler_store::StoreError;
use tickler_store::backend::row::{TaskColumns, UserColumns};
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
        tags: parse_string_list(&column::<String>(row, 8)?)?,
        recurrence: column(row, 9)?,
        recurrence_mode: column(row, 10)?,
        reminders: parse_string_list(&column::<String>(row, 11)?)?,
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
