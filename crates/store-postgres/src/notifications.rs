//! Notification channels and notifications (`migrations/0005`); the delivery queue is in
//! `deliveries`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use tickler_domain::{ChannelId, NotificationId, UserId};
use tickler_store::{
    AuditRecord, ClaimedDelivery, Conflict, Delivery, DeliveryClaim, DeliveryHistory,
    DeliveryOutcome, Notification, NotificationChannel, NotificationQuery, NotificationStore,
    NotificationWrite, StoreError, VerificationLimits, VerificationMail,
};

use crate::audit::commit_audited;
use crate::deliveries::{self, insert_attempt};
use crate::error::ResultExt;
use crate::list::{Parameter, Statement};
use crate::rows::{CHANNEL_COLUMNS, NOTIFICATION_COLUMNS, channel, integer, notification};
use crate::store::PostgresStore;
use crate::verification;

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

#[async_trait]
impl NotificationStore for PostgresStore {
    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        insert_channel(&mut transaction, channel, max_per_owner).await?;
        commit_audited(transaction, audit).await
    }

    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError> {
        list_channels(&self.pool, owner).await
    }

    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError> {
        get_channel(&self.pool, owner, id).await
    }

    async fn update_channel(
        &self,
        channel: &NotificationChannel,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        update_channel(&mut transaction, channel).await?;
        commit_audited(transaction, audit).await
    }

    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        verification::reserve_mail(&self.pool, mail, limits).await
    }

    async fn verify_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        code_hash: &[u8],
        now: DateTime<Utc>,
        max_failures: u32,
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let verified =
            verification::verify_channel(&mut transaction, owner, id, code_hash, now, max_failures)
                .await?;
        // A wrong code is counted, not audited.
        commit_audited(transaction, if verified { audit } else { &[] }).await?;
        Ok(verified)
    }

    async fn delete_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        delete_channel(&mut transaction, owner, id).await?;
        commit_audited(transaction, audit).await
    }

    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        find_for_reminder(&self.pool, owner, reminder_id).await
    }

    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        list_notifications(&self.pool, owner, query).await
    }

    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError> {
        get_notification(&self.pool, owner, id).await
    }

    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        mark_read(&self.pool, owner, id, at).await
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError> {
        get_notification(&self.pool, owner, notification).await?;
        deliveries::history(&self.pool, owner, notification).await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        deliveries::claim(&self.pool, claim).await
    }

    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
        deliveries::finish(&self.pool, outcome).await
    }
}
