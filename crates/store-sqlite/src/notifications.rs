//! Notification channels and notifications (`migrations/0005`); the delivery queue is in
//! `deliveries`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::{ChannelId, NotificationId, UserId};
use tickler_store::{
    AuditRecord, ClaimedDelivery, Conflict, Delivery, DeliveryClaim, DeliveryHistory,
    DeliveryOutcome, Notification, NotificationChannel, NotificationQuery, NotificationStore,
    NotificationWrite, StoreError, VerificationLimits, VerificationMail,
};

use crate::codec::{
    CHANNEL_COLUMNS, NOTIFICATION_COLUMNS, channel_from_row, micros, notification_from_row,
};
use crate::deliveries::{self, insert_attempt};
use crate::error::ResultExt;
use crate::list::Statement;
use crate::store::SqliteStore;
use crate::verification;

/// A foreign key to a missing user means the owner does not exist.
fn owner_missing(error: rusqlite::Error) -> StoreError {
    match crate::error::convert(error) {
        StoreError::Internal(message) if message.contains("FOREIGN KEY") => StoreError::NotFound,
        other => other,
    }
}

/// Runs a query prepared once per connection and reads every row with `read`.
fn rows<T>(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
    read: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = connection.prepare_cached(sql).store()?;
    let mut rows = statement.query(parameters).store()?;
    let mut items = Vec::new();
    while let Some(row) = rows.next().store()? {
        items.push(read(row)?);
    }
    Ok(items)
}

/// Inserts a channel unless its owner has `max_per_owner` already (a writer command).
pub(crate) fn insert_channel(
    connection: &Connection,
    channel: &NotificationChannel,
    max_per_owner: u32,
) -> Result<(), StoreError> {
    let count: i64 = connection
        .prepare_cached("SELECT count(*) FROM notification_channels WHERE user_id = ?1")
        .store()?
        .query_row([channel.owner.as_uuid()], |row| row.get(0))
        .store()?;
    if count >= i64::from(max_per_owner) {
        return Err(StoreError::Conflict(Conflict::LimitReached));
    }
    connection
        .prepare_cached(
            "INSERT INTO notification_channels (id, user_id, kind, url, address, secret,
                 previous_secret, previous_secret_until, enabled, disabled_reason, created_at,
                 updated_at, verified_at, verification_code_hash, verification_expires_at,
                 verification_failures)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .store()?
        .execute(params![
            channel.id.as_uuid(),
            channel.owner.as_uuid(),
            channel.kind.as_str(),
            channel.url,
            channel.address,
            channel.secret,
            channel.previous_secret,
            channel.previous_secret_until.map(micros),
            channel.enabled,
            channel.disabled_reason,
            micros(channel.created_at),
            micros(channel.updated_at),
            channel.verified_at.map(micros),
            channel.verification_code_hash,
            channel.verification_expires_at.map(micros),
            channel.verification_failures,
        ])
        .map_err(owner_missing)?;
    Ok(())
}

/// Lists the owner's channels, oldest first.
pub(crate) fn list_channels(
    connection: &Connection,
    owner: UserId,
) -> Result<Vec<NotificationChannel>, StoreError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels c WHERE c.user_id = ?1
         ORDER BY c.created_at, c.id"
    );
    rows(connection, &sql, [owner.as_uuid()], |row| {
        channel_from_row(row, 0)
    })
}

/// Reads one of the owner's channels.
pub(crate) fn get_channel(
    connection: &Connection,
    owner: UserId,
    id: ChannelId,
) -> Result<NotificationChannel, StoreError> {
    let sql = format!(
        "SELECT {CHANNEL_COLUMNS} FROM notification_channels c WHERE c.id = ?1 AND c.user_id = ?2"
    );
    rows(
        connection,
        &sql,
        params![id.as_uuid(), owner.as_uuid()],
        |row| channel_from_row(row, 0),
    )?
    .pop()
    .ok_or(StoreError::NotFound)
}

/// Saves a changed channel (a writer command).
pub(crate) fn update_channel(
    connection: &Connection,
    channel: &NotificationChannel,
) -> Result<(), StoreError> {
    let changed = connection
        .prepare_cached(
            "UPDATE notification_channels SET url = ?3, address = ?4, secret = ?5,
                 previous_secret = ?6, previous_secret_until = ?7, enabled = ?8,
                 disabled_reason = ?9, updated_at = ?10, verified_at = ?11,
                 verification_code_hash = ?12, verification_expires_at = ?13,
                 verification_failures = ?14
             WHERE id = ?1 AND user_id = ?2",
        )
        .store()?
        .execute(params![
            channel.id.as_uuid(),
            channel.owner.as_uuid(),
            channel.url,
            channel.address,
            channel.secret,
            channel.previous_secret,
            channel.previous_secret_until.map(micros),
            channel.enabled,
            channel.disabled_reason,
            micros(channel.updated_at),
            channel.verified_at.map(micros),
            channel.verification_code_hash,
            channel.verification_expires_at.map(micros),
            channel.verification_failures,
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Deletes one of the owner's channels (a writer command).
pub(crate) fn delete_channel(
    connection: &Connection,
    owner: UserId,
    id: ChannelId,
) -> Result<(), StoreError> {
    let deleted = connection
        .prepare_cached("DELETE FROM notification_channels WHERE id = ?1 AND user_id = ?2")
        .store()?
        .execute(params![id.as_uuid(), owner.as_uuid()])
        .store()?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Finds the owner's notification of a reminder.
pub(crate) fn find_for_reminder(
    connection: &Connection,
    owner: UserId,
    reminder_id: &str,
) -> Result<Option<Notification>, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
         WHERE n.user_id = ?1 AND n.reminder_id = ?2"
    );
    Ok(rows(
        connection,
        &sql,
        params![owner.as_uuid(), reminder_id],
        |row| notification_from_row(row, 0),
    )?
    .pop())
}

/// Lists the owner's in-app notifications, newest first.
pub(crate) fn list_notifications(
    connection: &Connection,
    owner: UserId,
    query: &NotificationQuery,
) -> Result<Vec<Notification>, StoreError> {
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(owner.as_uuid().as_bytes().to_vec());
    statement.push(&format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n
         WHERE n.user_id = {owner_parameter} AND n.in_app = 1"
    ));
    if query.unread_only {
        statement.push(" AND n.read_at IS NULL");
    }
    if let Some((created_at, id)) = query.after {
        let created_at = statement.bind(micros(created_at));
        let id = statement.bind(id.as_uuid().as_bytes().to_vec());
        statement.push(&format!(" AND (n.created_at, n.id) < ({created_at}, {id})"));
    }
    let limit = statement.bind(i64::from(query.page_size()));
    statement.push(&format!(
        " ORDER BY n.created_at DESC, n.id DESC LIMIT {limit}"
    ));
    rows(
        connection,
        &statement.sql,
        rusqlite::params_from_iter(statement.parameters.iter()),
        |row| notification_from_row(row, 0),
    )
}

/// Reads one of the owner's notifications.
pub(crate) fn get_notification(
    connection: &Connection,
    owner: UserId,
    id: NotificationId,
) -> Result<Notification, StoreError> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications n WHERE n.id = ?1 AND n.user_id = ?2"
    );
    rows(
        connection,
        &sql,
        params![id.as_uuid(), owner.as_uuid()],
        |row| notification_from_row(row, 0),
    )?
    .pop()
    .ok_or(StoreError::NotFound)
}

/// Marks one of the owner's in-app notifications read (a writer command).
pub(crate) fn mark_read(
    connection: &Connection,
    owner: UserId,
    id: NotificationId,
    at: DateTime<Utc>,
) -> Result<Notification, StoreError> {
    connection
        .prepare_cached(
            "UPDATE notifications SET read_at = coalesce(read_at, ?3)
             WHERE id = ?1 AND user_id = ?2 AND in_app = 1",
        )
        .store()?
        .execute(params![id.as_uuid(), owner.as_uuid(), micros(at)])
        .store()?;
    let notification = get_notification(connection, owner, id)?;
    if !notification.in_app {
        return Err(StoreError::NotFound);
    }
    Ok(notification)
}

/// Applies a notification write of a change set, inside its savepoint.
pub(crate) fn apply(connection: &Connection, write: &NotificationWrite) -> Result<(), StoreError> {
    match write {
        NotificationWrite::Create {
            notification,
            deliveries,
            attempts,
        } => {
            insert_notification(connection, notification)?;
            for delivery in deliveries {
                insert_delivery(connection, delivery)?;
            }
            for attempt in attempts {
                insert_attempt(connection, attempt)?;
            }
            Ok(())
        }
        NotificationWrite::Redeliver {
            notification,
            channel,
            at,
        } => {
            let changed = connection
                .prepare_cached(
                    "UPDATE deliveries SET status = 'pending', next_attempt_at = ?2,
                         claim_token = NULL, claimed_until = NULL, updated_at = ?2
                     WHERE notification_id = ?1 AND channel_id = ?3 AND status = 'dead'",
                )
                .store()?
                .execute(params![
                    notification.as_uuid(),
                    micros(*at),
                    channel.as_uuid()
                ])
                .store()?;
            if changed == 0 {
                let exists: Option<i64> = connection
                    .prepare_cached(
                        "SELECT 1 FROM deliveries WHERE notification_id = ?1 AND channel_id = ?2",
                    )
                    .store()?
                    .query_row(params![notification.as_uuid(), channel.as_uuid()], |row| {
                        row.get(0)
                    })
                    .optional()
                    .store()?;
                exists.ok_or(StoreError::NotFound)?;
            }
            Ok(())
        }
    }
}

fn insert_notification(
    connection: &Connection,
    notification: &Notification,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO notifications (id, user_id, reminder_id, event_id, task_id, title, body,
                 due_at, fire_at, fired_at, in_app, created_at, read_at, traceparent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .store()?
        .execute(params![
            notification.id.as_uuid(),
            notification.owner.as_uuid(),
            notification.reminder_id,
            notification.event_id.as_uuid(),
            notification.task_id.as_uuid(),
            notification.title,
            notification.body,
            notification.due_at.map(micros),
            micros(notification.fire_at),
            micros(notification.fired_at),
            notification.in_app,
            micros(notification.created_at),
            notification.read_at.map(micros),
            notification.traceparent,
        ])
        .map_err(owner_missing)?;
    Ok(())
}

fn insert_delivery(connection: &Connection, delivery: &Delivery) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO deliveries (id, notification_id, user_id, channel_id, channel_kind,
                 status, attempts, next_attempt_at, last_status_code, last_error, created_at,
                 updated_at, delivered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .store()?
        .execute(params![
            delivery.id.as_uuid(),
            delivery.notification_id.as_uuid(),
            delivery.owner.as_uuid(),
            delivery.channel_id.as_uuid(),
            delivery.channel_kind.as_str(),
            delivery.status.as_str(),
            delivery.attempts,
            delivery.next_attempt_at.map(micros),
            delivery.last_status_code,
            delivery.last_error,
            micros(delivery.created_at),
            micros(delivery.updated_at),
            delivery.delivered_at.map(micros),
        ])
        .store()?;
    Ok(())
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let channel = channel.clone();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| insert_channel(connection, &channel, max_per_owner),
            move |_| audit,
        )
        .await
    }

    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError> {
        self.readers
            .read_now(|connection| list_channels(connection, owner))
            .await
    }

    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError> {
        self.readers
            .read_now(|connection| get_channel(connection, owner, id))
            .await
    }

    async fn update_channel(
        &self,
        channel: &NotificationChannel,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let channel = channel.clone();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| update_channel(connection, &channel),
            move |_| audit,
        )
        .await
    }

    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (mail, limits) = (mail.clone(), *limits);
        self.writer
            .write(move |connection| verification::reserve_mail(connection, &mail, &limits))
            .await
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
        let code_hash = code_hash.to_vec();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| {
                verification::verify_channel(connection, owner, id, &code_hash, now, max_failures)
            },
            // A wrong code is counted, not audited.
            move |verified| if *verified { audit } else { Vec::new() },
        )
        .await
    }

    async fn delete_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| delete_channel(connection, owner, id),
            move |_| audit,
        )
        .await
    }

    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        self.readers
            .read_now(|connection| find_for_reminder(connection, owner, reminder_id))
            .await
    }

    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| list_notifications(connection, owner, &query))
            .await
    }

    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError> {
        self.readers
            .read_now(|connection| get_notification(connection, owner, id))
            .await
    }

    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        self.writer
            .write(move |connection| mark_read(connection, owner, id, at))
            .await
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError> {
        self.readers
            .read(move |connection| {
                get_notification(connection, owner, notification)?;
                deliveries::history(connection, owner, notification)
            })
            .await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // Polling an idle queue is a read; only a claim that can succeed takes the writer.
        if !self
            .readers
            .read_now(|connection| deliveries::any_due(connection, claim))
            .await?
        {
            return Ok(Vec::new());
        }
        let claim = claim.clone();
        self.writer
            .write(move |connection| deliveries::claim(connection, &claim))
            .await
    }

    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.writer
            .write(move |connection| deliveries::finish(connection, &outcome))
            .await
    }
}
