//! Reading rows into domain types.

use sqlx::Row;
use sqlx::postgres::PgRow;
use tickler_domain::{
    ApiTokenId, ChannelId, ChannelKind, DeliveryStatus, EventId, NotificationId, Task, TaskId,
    User, UserId,
};
use tickler_store::backend::row::{TaskColumns, UserColumns};
use tickler_store::{ApiToken, Notification, NotificationChannel, StoreError};

use crate::error::ResultExt;

/// The task columns every task query selects, in the order [`task`] reads them (a macro, for
/// `concat!` into static statements).
macro_rules! task_columns {
    () => {
        "t.id, t.user_id, t.title, t.description, t.status, t.priority, t.due_at, t.all_day, \
         t.timezone, t.tags, t.recurrence, t.recurrence_mode, t.reminders, t.created_at, \
         t.updated_at, t.completed_at, t.version, t.series_id, t.sequence"
    };
}
pub(crate) use task_columns;

/// [`task_columns!`] as a constant.
pub(crate) const TASK_COLUMNS: &str = task_columns!();

/// How many columns [`TASK_COLUMNS`] has.
pub(crate) const TASK_COLUMN_COUNT: usize = 19;

/// Reads a task selected with [`TASK_COLUMNS`].
pub(crate) fn task(row: &PgRow) -> Result<Task, StoreError> {
    TaskColumns {
        id: row.try_get(0).store()?,
        owner: row.try_get(1).store()?,
        title: row.try_get(2).store()?,
        description: row.try_get(3).store()?,
        status: row.try_get(4).store()?,
        priority: i64::from(row.try_get::<i16, _>(5).store()?),
        due_at: row.try_get(6).store()?,
        all_day: row.try_get(7).store()?,
        timezone: row.try_get(8).store()?,
        tags: row.try_get(9).store()?,
        recurrence: row.try_get(10).store()?,
        recurrence_mode: row.try_get(11).store()?,
        reminders: row.try_get(12).store()?,
        created_at: row.try_get(13).store()?,
        updated_at: row.try_get(14).store()?,
        completed_at: row.try_get(15).store()?,
        version: row.try_get(16).store()?,
        series_id: row.try_get(17).store()?,
        sequence: i64::from(row.try_get::<i32, _>(18).store()?),
    }
    .into_task()
}

/// The user columns every user query selects, in the order [`user`] reads them.
macro_rules! user_columns {
    () => {
        "u.id, u.email, u.name, u.timezone, u.created_at, u.updated_at, u.credentials_version, \
         u.operator"
    };
}
pub(crate) use user_columns;

/// Reads a user selected with [`USER_COLUMNS`], starting at column `first`.
pub(crate) fn user(row: &PgRow, first: usize) -> Result<User, StoreError> {
    UserColumns {
        id: row.try_get(first).store()?,
        email: row.try_get(first + 1).store()?,
        name: row.try_get(first + 2).store()?,
        timezone: row.try_get(first + 3).store()?,
        created_at: row.try_get(first + 4).store()?,
        updated_at: row.try_get(first + 5).store()?,
        credentials_version: row.try_get(first + 6).store()?,
        operator: row.try_get(first + 7).store()?,
    }
    .into_user()
}

/// The token columns, in the order [`api_token`] reads them.
macro_rules! token_columns {
    () => {
        "k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at, k.expires_at, k.scopes"
    };
}
pub(crate) use token_columns;

/// Reads a token selected with [`TOKEN_COLUMNS`].
pub(crate) fn api_token(row: &PgRow) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: ApiTokenId::from_uuid(row.try_get(0).store()?),
        owner: UserId::from_uuid(row.try_get(1).store()?),
        name: row.try_get(2).store()?,
        prefix: row.try_get(3).store()?,
        created_at: row.try_get(4).store()?,
        last_used_at: row.try_get(5).store()?,
        expires_at: row.try_get(6).store()?,
        scopes: row
            .try_get::<String, _>(7)
            .store()?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}

/// The channel columns, in the order [`channel`] reads them.
pub(crate) const CHANNEL_COLUMNS: &str = "c.id, c.user_id, c.kind, c.url, c.address, c.secret, \
     c.previous_secret, c.previous_secret_until, c.enabled, c.disabled_reason, c.created_at, \
     c.updated_at, c.verified_at, c.verification_code_hash, c.verification_expires_at, \
     c.verification_failures";

/// The notification columns, in the order [`notification`] reads them.
pub(crate) const NOTIFICATION_COLUMNS: &str = "n.id, n.user_id, n.reminder_id, n.event_id, \
     n.task_id, n.title, n.body, n.due_at, n.fire_at, n.fired_at, n.in_app, n.created_at, \
     n.read_at, n.traceparent";

/// How many columns [`NOTIFICATION_COLUMNS`] has.
pub(crate) const NOTIFICATION_COLUMN_COUNT: usize = 14;

/// Reads a channel selected with [`CHANNEL_COLUMNS`] from column `first`.
pub(crate) fn channel(row: &PgRow, first: usize) -> Result<NotificationChannel, StoreError> {
    Ok(NotificationChannel {
        id: ChannelId::from_uuid(row.try_get(first).store()?),
        owner: UserId::from_uuid(row.try_get(first + 1).store()?),
        kind: kind(row.try_get(first + 2).store()?)?,
        url: row.try_get(first + 3).store()?,
        address: row.try_get(first + 4).store()?,
        secret: row.try_get(first + 5).store()?,
        previous_secret: row.try_get(first + 6).store()?,
        previous_secret_until: row.try_get(first + 7).store()?,
        enabled: row.try_get(first + 8).store()?,
        disabled_reason: row.try_get(first + 9).store()?,
        created_at: row.try_get(first + 10).store()?,
        updated_at: row.try_get(first + 11).store()?,
        verified_at: row.try_get(first + 12).store()?,
        verification_code_hash: row.try_get(first + 13).store()?,
        verification_expires_at: row.try_get(first + 14).store()?,
        verification_failures: u32::try_from(row.try_get::<i32, _>(first + 15).store()?)
            .unwrap_or(0),
    })
}

/// Reads a notification selected with [`NOTIFICATION_COLUMNS`] from column `first`.
pub(crate) fn notification(row: &PgRow, first: usize) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: NotificationId::from_uuid(row.try_get(first).store()?),
        owner: UserId::from_uuid(row.try_get(first + 1).store()?),
        reminder_id: row.try_get(first + 2).store()?,
        event_id: EventId::from_uuid(row.try_get(first + 3).store()?),
        task_id: TaskId::from_uuid(row.try_get(first + 4).store()?),
        title: row.try_get(first + 5).store()?,
        body: row.try_get(first + 6).store()?,
        due_at: row.try_get(first + 7).store()?,
        fire_at: row.try_get(first + 8).store()?,
        fired_at: row.try_get(first + 9).store()?,
        in_app: row.try_get(first + 10).store()?,
        created_at: row.try_get(first + 11).store()?,
        read_at: row.try_get(first + 12).store()?,
        traceparent: row.try_get(first + 13).store()?,
    })
}

/// Parses a stored channel kind.
pub(crate) fn kind(text: &str) -> Result<ChannelKind, StoreError> {
    ChannelKind::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("unknown channel kind {text:?}")))
}

/// Parses a stored delivery status.
pub(crate) fn status(text: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::parse(text)
        .ok_or_else(|| StoreError::Internal(format!("unknown delivery status {text:?}")))
}

/// Converts a count or code to the integer column type.
pub(crate) fn integer(value: impl TryInto<i32>) -> Result<i32, StoreError> {
    value
        .try_into()
        .map_err(|_| StoreError::Internal("a number is out of range for its column".into()))
}

/// Converts an integer column to the record's unsigned type.
pub(crate) fn unsigned<T: TryFrom<i32>>(value: i32) -> Result<T, StoreError> {
    T::try_from(value)
        .map_err(|_| StoreError::Internal(format!("stored number {value} is out of range")))
}
