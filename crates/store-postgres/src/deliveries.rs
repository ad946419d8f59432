//! The delivery queue (`migrations/0005`): claims with a lease and a fencing token, finishing
//! an attempt, and the delivery history of a notification.
//!
//! A claim locks its candidate rows with `FOR UPDATE SKIP LOCKED`, so concurrent notifiers
//! (replicas of the `notifier` role) pass each other's rows by instead of waiting or claiming
//! them twice; the claimed rows stay pending and are claimable again once `claimed_until` has
//! passed. Finishing checks the claim's token, so a worker whose claim expired and was taken
//! over cannot overwrite the new holder's outcome.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{ChannelId, DeliveryId, NotificationId, UserId};
use tickler_store::{
    ClaimedDelivery, Conflict, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryHistory,
    DeliveryOutcome, StoreError,
};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::rows::{
    CHANNEL_COLUMNS, NOTIFICATION_COLUMN_COUNT, NOTIFICATION_COLUMNS, channel, integer, kind,
    notification, status, unsigned,
};

/// The delivery columns, in the order [`delivery`] reads them.
const DELIVERY_COLUMNS: &str = "d.id, d.notification_id, d.user_id, d.channel_id, \
     d.channel_kind, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, \
     d.created_at, d.updated_at, d.delivered_at";

/// How many columns [`DELIVERY_COLUMNS`] has.
const DELIVERY_COLUMN_COUNT: usize = 13;

fn delivery(row: &PgRow, first: usize) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: DeliveryId::from_uuid(row.try_get(first).store()?),
        notification_id: NotificationId::from_uuid(row.try_get(first + 1).store()?),
        owner: UserId::from_uuid(row.try_get(first + 2).store()?),
        channel_id: ChannelId::from_uuid(row.try_get(first + 3).store()?),
        channel_kind: kind(row.try_get(first + 4).store()?)?,
        status: status(row.try_get(first + 5).store()?)?,
        attempts: unsigned(row.try_get(first + 6).store()?)?,
        next_attempt_at: row.try_get(first + 7).store()?,
        last_status_code: row
            .try_get::<Option<i32>, _>(first + 8)
            .store()?
            .map(unsigned)
            .transpose()?,
        last_error: row.try_get(first + 9).store()?,
        created_at: row.try_get(first + 10).store()?,
        updated_at: row.try_get(first + 11).store()?,
        delivered_at: row.try_get(first + 12).store()?,
    })
}

fn attempt(row: &PgRow) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        delivery_id: DeliveryId::from_uuid(row.try_get(0).store()?),
        attempt: unsigned(row.try_get(1).store()?)?,
        attempted_at: row.try_get(2).store()?,
        duration_ms: unsigned(row.try_get(3).store()?)?,
        status_code: row
            .try_get::<Option<i32>, _>(4)
            .store()?
            .map(unsigned)
            .transpose()?,
        error: row.try_get(5).store()?,
        succeeded: row.try_get(6).store()?,
    })
}

/// Reads the deliveries of one of the owner's notifications (the caller checked that the
/// notification is the owner's), with their attempts.
pub(crate) async fn history(
    pool: &PgPool,
    owner: UserId,
    notification: NotificationId,
) -> Result<Vec<DeliveryHistory>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d
         WHERE d.notification_id = $1 AND d.user_id = $2 ORDER BY d.created_at, d.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*notification.as_uuid())
        .bind(*owner.as_uuid())
        .fetch_all(pool)
        .await
        .store()?;
    let deliveries = rows
        .iter()
        .map(|row| delivery(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<Uuid> = deliveries.iter().map(|d| *d.id.as_uuid()).collect();
    let rows = sqlx::query(
        "SELECT delivery_id, attempt, attempted_at, duration_ms, status_code, error, succeeded
         FROM delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt",
    )
    .bind(ids)
    .fetch_all(pool)
    .await
    .store()?;
    let attempts = rows.iter().map(attempt).collect::<Result<Vec<_>, _>>()?;
    Ok(deliveries
        .into_iter()
        .map(|delivery| DeliveryHistory {
            attempts: attempts
                .iter()
                .filter(|attempt| attempt.delivery_id == delivery.id)
                .cloned()
                .collect(),
            delivery,
        })
        .collect())
}

/// Claims due deliveries, oldest due first and at most `per_channel` of one channel.
pub(crate) async fn claim(
    pool: &PgPool,
    claim: &DeliveryClaim,
) -> Result<Vec<ClaimedDelivery>, StoreError> {
    let limit = claim
        .limit
        .clamp(1, tickler_store::notifications::MAX_CLAIM);
    // Look a little further than the limit, so a channel with many due deliveries does not
    // keep the others out of a claim.
    let scan = limit.saturating_mul(4).max(64);
    let lease = chrono::TimeDelta::from_std(claim.lease)
        .map_err(|_| StoreError::Internal("lease too long".into()))?;
    let skip: Vec<Uuid> = claim.skip_channels.iter().map(|id| *id.as_uuid()).collect();
    let only: Option<Vec<Uuid>> = claim
        .only_channels
        .as_ref()
        .map(|channels| channels.iter().map(|id| *id.as_uuid()).collect());
    let claimed: Vec<Uuid> = sqlx::query_scalar(
        "WITH due AS (
             SELECT id, channel_id, next_attempt_at FROM deliveries
             WHERE status = 'pending' AND next_attempt_at <= $1
               AND (claimed_until IS NULL OR claimed_until <= $1)
               AND NOT (channel_id = ANY($2))
               AND ($8::uuid[] IS NULL OR channel_id = ANY($8))
             ORDER BY next_attempt_at, id LIMIT $3
             FOR UPDATE SKIP LOCKED
         ), ranked AS (
             SELECT id, next_attempt_at, row_number() OVER (
                 PARTITION BY channel_id ORDER BY next_attempt_at, id) AS rank
             FROM due
         ), chosen AS (
             SELECT id FROM ranked WHERE rank <= $4 ORDER BY next_attempt_at, id LIMIT $5
         )
         UPDATE deliveries d SET claim_token = $6, claimed_until = $7
         FROM chosen WHERE d.id = chosen.id
         RETURNING d.id",
    )
    .bind(claim.now)
    .bind(skip)
    .bind(i64::from(scan))
    .bind(i64::from(claim.per_channel.max(1)))
    .bind(i64::from(limit))
    .bind(claim.token)
    .bind(claim.now + lease)
    .bind(only)
    .fetch_all(pool)
    .await
    .store()?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, {NOTIFICATION_COLUMNS}, {CHANNEL_COLUMNS}
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             LEFT JOIN notification_channels c ON c.id = d.channel_id
         WHERE d.id = ANY($1) AND d.claim_token = $2
         ORDER BY d.next_attempt_at, d.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(claimed)
        .bind(claim.token)
        .fetch_all(pool)
        .await
        .store()?;
    let channel_first = DELIVERY_COLUMN_COUNT + NOTIFICATION_COLUMN_COUNT;
    rows.iter()
        .map(|row| {
            let channel = match row.try_get::<Option<Uuid>, _>(channel_first).store()? {
                Some(_) => Some(channel(row, channel_first)?),
                None => None,
            };
            Ok(ClaimedDelivery {
                delivery: delivery(row, 0)?,
                notification: notification(row, DELIVERY_COLUMN_COUNT)?,
                channel,
            })
        })
        .collect()
}

/// Records an attempt's outcome if the claim still holds, in one transaction.
pub(crate) async fn finish(pool: &PgPool, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
    let delivery = &outcome.delivery;
    let mut transaction = pool.begin().await.store()?;
    let changed = sqlx::query(
        "UPDATE deliveries SET status = $3, attempts = $4, next_attempt_at = $5,
             last_status_code = $6, last_error = $7, updated_at = $8, delivered_at = $9,
             claim_token = NULL, claimed_until = NULL
         WHERE id = $1 AND claim_token = $2 AND status = 'pending'",
    )
    .bind(*delivery.id.as_uuid())
    .bind(outcome.token)
    .bind(delivery.status.as_str())
    .bind(integer(delivery.attempts)?)
    .bind(delivery.next_attempt_at)
    .bind(delivery.last_status_code.map(i32::from))
    .bind(delivery.last_error.clone())
    .bind(delivery.updated_at)
    .bind(delivery.delivered_at)
    .execute(&mut *transaction)
    .await
    .store()?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::Conflict(Conflict::ClaimLost));
    }
    if let Some(attempt) = &outcome.attempt {
        insert_attempt(&mut transaction, attempt).await?;
    }
    if let Some(reason) = &outcome.disable_channel {
        sqlx::query(
            "UPDATE notification_channels SET enabled = false, disabled_reason = $2,
                 updated_at = $3
             WHERE id = $1",
        )
        .bind(*delivery.channel_id.as_uuid())
        .bind(reason.as_str())
        .bind(delivery.updated_at)
        .execute(&mut *transaction)
        .await
        .store()?;
    }
    crate::outbox::append_events(&mut transaction, &outcome.events).await?;
    if let Some(letter) = &outcome.dead_letter {
        crate::events::insert_dead_letter(&mut *transaction, letter).await?;
    }
    transaction.commit().await.store()
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
