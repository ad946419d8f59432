//! Notification channels and notifications (`migrations/0005`); the delivery queue is in
//! `deliveries`.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{
    ChannelId, ChannelKind, DeliveryStatus, EventId, NotificationId, TaskId, UserId,
};
use tickler_store::{
    Conflict, Delivery, DeliveryAttempt, Notification, NotificationChannel, NotificationQuery,
    NotificationWrite, StoreError,
};

use crate::error::ResultExt;
use crate::list::{Parameter, Statement};

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

/// Reads the row of `sql` (which takes an id as `$1` and its owner as `$2`), or `NotFound`.
async fn owned_row(
    executor: impl sqlx::PgExecutor<'_>,
    sql: String,
    id: uuid::Uuid,
    owner: UserId,
) -> Result<PgRow, StoreError> {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(*owner.as_uuid())
        .fetch_optional(executor)
        .await
        .store()?
        .ok_or(StoreError::NotFound)
}

/// Inserts a channel unless its owner has `max_per_owner` already. The owner's row is locked
/// first, so two concurrent inserts count one after the other.
pub(crate) async fn insert_channel(
    transaction: &mut PgConnection,
    channel: &NotificationChannel,
    max_per_owner: u32,
) -> Result<(), StoreError> {
    let owner: Option<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(*channel.owner.as_uuid())
            .fetch_optional(&mut *transaction)
            .await
            .store()?;
    owner.ok_or(StoreError::NotFound)?;
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_channels WHERE user_id = $1")
            .bind(*channel.owner.as_uuid())
            .fetch_one(&mut *transaction)
            .await
            .store()?;
    if count >= i64::from(max_per_owner) {
        return Err(StoreError::Conflict(Conflict::LimitReached));
    }
    sqlx::query(
        "INSERT INTO notification_channels (id, user_id, kind, url, address, secret,
             previous_secret, previous_secret_until, enabled, disabled_reason, created_at,
             updated_at, verified_at, verification_code_hash, verification_expires_at,
             verification_failures)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(*channel.id.as_uuid())
    .bind(*channel.owner.as_uuid())
    .bind(channel.kind.as_str())
    .bind(channel.url.clone())
    .bind(channel.address.clone())
    .bind(channel.secret.clone())
    .bind(channel.previous_secret.clone())
    .bind(channel.previous_secret_until)
    .bind(channel.enabled)
    .bind(channel.disabled_reason.clone())
    .bind(channel.created_at)
    .bind(channel.updated_at)
    .bind(channel.verified_at)
    .bind(channel.verification_code_hash.clone())
    .bind(channel.verification_expires_at)
    .bind(i32::try_from(channel.verification_failures).unwrap_or(i32::MAX))
    .execute(&mut *transaction)
    .await
    .store()?;
    Ok(())
}

/// Lists the owner's channels, oldest first.
pub(crate) async fn list_channels(
    pool: &PgPool,
    owner: UserId,
) -> Result<Vec<NotificationChannel>, StoreError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels c WHERE c.user_id = $1
         ORDER BY c.created_at, c.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*owner.as_uuid())
        .fetch_all(pool)
        .await
        .store()?;
    rows.iter().map(|row| channel(row, 0)).collect()
}

/// Reads one of the owner's channels.
pub(crate) async fn get_channel(
    pool: &PgPool,
    owner: UserId,
    id: ChannelId,
) -> Result<NotificationChannel, StoreError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels c WHERE c.id = $1 AND c.user_id = $2"
    );
    channel(&owned_row(pool, sql, *id.as_uuid(), owner).await?, 0)
}

/// Saves a changed channel.
pub(crate) async fn update_channel(
    connection: &mut PgConnection,
    channel: &NotificationChannel,
) -> Result<(), StoreError> {
    let changed = sqlx::query(
        "UPDATE notification_channels SET url = $3, address = $4, secret = $5,
             previous_secret = $6, previous_secret_until = $7, enabled = $8,
             disabled_reason = $9, updated_at = $10, verified_at = $11,
             verification_code_hash = $12, verification_expires_at = $13,
             verification_failures = $14
         WHERE id = $1 AND user_id = $2",
    )
    .bind(*channel.id.as_uuid())
    .bind(*channel.owner.as_uuid())
    .bind(channel.url.clone())
    .bind(channel.address.clone())
    .bind(channel.secret.clone())
    .bind(channel.previous_secret.clone())
    .bind(channel.previous_secret_until)
    .bind(channel.enabled)
    .bind(channel.disabled_reason.clone())
    .bind(channel.updated_at)
    .bind(channel.verified_at)
    .bind(channel.verification_code_hash.clone())
    .bind(channel.verification_expires_at)
    .bind(i32::try_from(channel.verification_failures).unwrap_or(i32::MAX))
    .execute(connection)
    .await
    .store()?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes one of the owner's channels.
pub(crate) async fn delete_channel(
    connection: &mut PgConnection,
    owner: UserId,
    id: ChannelId,
) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM notification_channels WHERE id = $1 AND user_id = $2")
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .execute(connection)
        .await
        .store()?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Finds the owner's notification of a reminder.
pub(crate) async fn find_for_reminder(
    pool: &PgPool,
    owner: UserId,
    reminder_id: &str,
) -> Result<Option<Notification>, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
         WHERE n.user_id = $1 AND n.reminder_id = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*owner.as_uuid())
        .bind(reminder_id)
        .fetch_optional(pool)
        .await
        .store()?;
    row.map(|row| notification(&row, 0)).transpose()
}

/// Lists the owner's in-app notifications, newest first.
pub(crate) async fn list_notifications(
    pool: &PgPool,
    owner: UserId,
    query: &NotificationQuery,
) -> Result<Vec<Notification>, StoreError> {
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(Parameter::Uuid(*owner.as_uuid()));
    statement.push(&format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
         WHERE n.user_id = {owner_parameter} AND n.in_app"
    ));
    if query.unread_only {
        statement.push(" AND n.read_at IS NULL");
    }
    if let Some((created_at, id)) = query.after {
        let created_at = statement.bind(Parameter::Instant(created_at));
        let id = statement.bind(Parameter::Uuid(*id.as_uuid()));
        statement.push(&format!(" AND (n.created_at, n.id) < ({created_at}, {id})"));
    }
    let limit = statement.bind(Parameter::Integer(i64::from(query.page_size())));
    statement.push(&format!(
        " ORDER BY n.created_at DESC, n.id DESC LIMIT {limit}"
    ));
    let rows = statement.into_query().fetch_all(pool).await.store()?;
    rows.iter().map(|row| notification(row, 0)).collect()
}

/// Reads one of the owner's notifications.
pub(crate) async fn get_notification(
    executor: impl sqlx::PgExecutor<'_>,
    owner: UserId,
    id: NotificationId,
) -> Result<Notification, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = $1 AND n.user_id = $2"
    );
    notification(&owned_row(executor, sql, *id.as_uuid(), owner).await?, 0)
}

/// Marks one of the owner's in-app notifications read.
pub(crate) async fn mark_read(
    pool: &PgPool,
    owner: UserId,
    id: NotificationId,
    at: DateTime<Utc>,
) -> Result<Notification, StoreError> {
    let sql = format!(
        "UPDATE notifications n SET read_at = coalesce(n.read_at, $3)
         WHERE n.id = $1 AND n.user_id = $2 AND n.in_app
         RETURNING {NOTIFICATION_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .bind(at)
        .fetch_optional(pool)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    notification(&row, 0)
}

/// Applies a notification write of a change set, inside its transaction.
pub(crate) async fn apply(
    connection: &mut PgConnection,
    write: &NotificationWrite,
) -> Result<(), StoreError> {
    match write {
        NotificationWrite::Create {
            notification,
            deliveries,
            attempts,
        } => {
            insert_notification(connection, notification).await?;
            for delivery in deliveries {
                insert_delivery(connection, delivery).await?;
            }
            for attempt in attempts {
                insert_attempt(connection, attempt).await?;
            }
            Ok(())
        }
        NotificationWrite::Redeliver {
            notification,
            channel,
            at,
        } => {
            let changed = sqlx::query(
                "UPDATE deliveries SET status = 'pending', next_attempt_at = $2,
                     claim_token = NULL, claimed_until = NULL, updated_at = $2
                 WHERE notification_id = $1 AND channel_id = $3 AND status = 'dead'",
            )
            .bind(*notification.as_uuid())
            .bind(*at)
            .bind(*channel.as_uuid())
            .execute(&mut *connection)
            .await
            .store()?
            .rows_affected();
            if changed == 0 {
                let exists: Option<i32> = sqlx::query_scalar(
                    "SELECT 1 FROM deliveries WHERE notification_id = $1 AND channel_id = $2",
                )
                .bind(*notification.as_uuid())
                .bind(*channel.as_uuid())
                .fetch_optional(&mut *connection)
                .await
                .store()?;
                exists.ok_or(StoreError::NotFound)?;
            }
            Ok(())
        }
    }
}

async fn insert_notification(
    connection: &mut PgConnection,
    notification: &Notification,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO notifications (id, user_id, reminder_id, event_id, task_id, title, body,
             due_at, fire_at, fired_at, in_app, created_at, read_at, traceparent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(*notification.id.as_uuid())
    .bind(*notification.owner.as_uuid())
    .bind(notification.reminder_id.clone())
    .bind(*notification.event_id.as_uuid())
    .bind(*notification.task_id.as_uuid())
    .bind(notification.title.clone())
    .bind(notification.body.clone())
    .bind(notification.due_at)
    .bind(notification.fire_at)
    .bind(notification.fired_at)
    .bind(notification.in_app)
    .bind(notification.created_at)
    .bind(notification.read_at)
    .bind(notification.traceparent.clone())
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}

async fn insert_delivery(
    connection: &mut PgConnection,
    delivery: &Delivery,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deliveries (id, notification_id, user_id, channel_id, channel_kind, status,
             attempts, next_attempt_at, last_status_code, last_error, created_at, updated_at,
             delivered_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(*delivery.id.as_uuid())
    .bind(*delivery.notification_id.as_uuid())
    .bind(*delivery.owner.as_uuid())
    .bind(*delivery.channel_id.as_uuid())
    .bind(delivery.channel_kind.as_str())
    .bind(delivery.status.as_str())
    .bind(integer(delivery.attempts)?)
    .bind(delivery.next_attempt_at)
    .bind(delivery.last_status_code.map(i32::from))
    .bind(delivery.last_error.clone())
    .bind(delivery.created_at)
    .bind(delivery.updated_at)
    .bind(delivery.delivered_at)
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}

/// Records an attempt.
pub(crate) async fn insert_attempt(
    connection: &mut PgConnection,
    attempt: &DeliveryAttempt,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, duration_ms,
             status_code, error, succeeded)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(*attempt.delivery_id.as_uuid())
    .bind(integer(attempt.attempt)?)
    .bind(attempt.attempted_at)
    .bind(integer(attempt.duration_ms.min(i32::MAX as u32))?)
    .bind(attempt.status_code.map(i32::from))
    .bind(attempt.error.clone())
    .bind(attempt.succeeded)
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}
