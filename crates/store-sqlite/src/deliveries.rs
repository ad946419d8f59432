//! The delivery queue (`migrations/0005`): claims with a lease and a fencing token, finishing
//! an attempt, and the delivery history of a notification.
//!
//! Claims are writer commands, so two claims never interleave; a claim's rows stay pending
//! and are claimable again once `claimed_until` has passed (a crashed worker's claims come
//! back). Finishing checks the token, so a worker whose claim expired and was taken over
//! cannot overwrite the new holder's outcome.

use rusqlite::{Connection, Row, params};
use tickler_domain::{ChannelId, DeliveryId, NotificationId, UserId};
use tickler_store::{
    ClaimedDelivery, Conflict, Delivery, DeliveryAttempt, DeliveryClaim, DeliveryHistory,
    DeliveryOutcome, StoreError,
};
use uuid::Uuid;

use crate::codec::{self, micros};
use crate::codec::{
    CHANNEL_COLUMNS, NOTIFICATION_COLUMN_COUNT, NOTIFICATION_COLUMNS, channel_from_row, kind,
    notification_from_row, status,
};
use crate::error::ResultExt;

/// The delivery columns, in the order [`delivery_from_row`] reads them.
const DELIVERY_COLUMNS: &str = "d.id, d.notification_id, d.user_id, d.channel_id, \
     d.channel_kind, d.status, d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, \
     d.created_at, d.updated_at, d.delivered_at";

/// How many columns [`DELIVERY_COLUMNS`] has.
const DELIVERY_COLUMN_COUNT: usize = 13;

fn delivery_from_row(row: &Row<'_>, first: usize) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        id: DeliveryId::from_uuid(codec::value(row, first)?),
        notification_id: NotificationId::from_uuid(codec::value(row, first + 1)?),
        owner: UserId::from_uuid(codec::value(row, first + 2)?),
        channel_id: ChannelId::from_uuid(codec::value(row, first + 3)?),
        channel_kind: kind(&codec::value::<String>(row, first + 4)?)?,
        status: status(&codec::value::<String>(row, first + 5)?)?,
        attempts: codec::value(row, first + 6)?,
        next_attempt_at: codec::optional_instant_column(row, first + 7)?,
        last_status_code: codec::value(row, first + 8)?,
        last_error: codec::value(row, first + 9)?,
        created_at: codec::instant_column(row, first + 10)?,
        updated_at: codec::instant_column(row, first + 11)?,
        delivered_at: codec::optional_instant_column(row, first + 12)?,
    })
}

fn attempt_from_row(row: &Row<'_>) -> Result<DeliveryAttempt, StoreError> {
    Ok(DeliveryAttempt {
        delivery_id: DeliveryId::from_uuid(codec::value(row, 0)?),
        attempt: codec::value(row, 1)?,
        attempted_at: codec::instant_column(row, 2)?,
        duration_ms: codec::value(row, 3)?,
        status_code: codec::value(row, 4)?,
        error: codec::value(row, 5)?,
        succeeded: codec::value(row, 6)?,
    })
}

/// Reads the deliveries of one of the owner's notifications (the caller checked that the
/// notification is the owner's), with their attempts.
pub(crate) fn history(
    connection: &Connection,
    owner: UserId,
    notification: NotificationId,
) -> Result<Vec<DeliveryHistory>, StoreError> {
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries d
         WHERE d.notification_id = ?1 AND d.user_id = ?2 ORDER BY d.created_at, d.id"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![notification.as_uuid(), owner.as_uuid()])
        .store()?;
    let mut deliveries = Vec::new();
    while let Some(row) = rows.next().store()? {
        deliveries.push(delivery_from_row(row, 0)?);
    }
    let mut attempts = connection
        .prepare_cached(
            "SELECT delivery_id, attempt, attempted_at, duration_ms, status_code, error,
                 succeeded
             FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY attempt",
        )
        .store()?;
    let mut histories = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let mut rows = attempts.query([delivery.id.as_uuid()]).store()?;
        let mut list = Vec::new();
        while let Some(row) = rows.next().store()? {
            list.push(attempt_from_row(row)?);
        }
        histories.push(DeliveryHistory {
            delivery,
            attempts: list,
        });
    }
    Ok(histories)
}

/// Channel ids as a JSON array of hex strings, for `json_each`.
fn channel_list(channels: &[ChannelId]) -> String {
    let hex: Vec<String> = channels
        .iter()
        .map(|id| id.as_uuid().simple().to_string())
        .collect();
    serde_json::to_string(&hex).unwrap_or_else(|_| "[]".to_owned())
}

/// Returns whether any delivery could be claimed now: a cheap read that spares the writer a
/// command while the queue is idle.
pub(crate) fn any_due(connection: &Connection, claim: &DeliveryClaim) -> Result<bool, StoreError> {
    connection
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM deliveries
                 WHERE status = 'pending' AND next_attempt_at <= ?1
                   AND (claimed_until IS NULL OR claimed_until <= ?1)
                   AND channel_id NOT IN (SELECT unhex(value) FROM json_each(?2))
                   AND (?3 IS NULL OR channel_id IN (SELECT unhex(value) FROM json_each(?3))))",
        )
        .store()?
        .query_row(
            params![
                micros(claim.now),
                channel_list(&claim.skip_channels),
                claim.only_channels.as_deref().map(channel_list),
            ],
            |row| row.get(0),
        )
        .store()
}

/// Claims due deliveries, oldest due first and at most `per_channel` of one channel (a
/// writer command).
pub(crate) fn claim(
    connection: &Connection,
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
    let ids: Vec<Uuid> = {
        let mut statement = connection
            .prepare_cached(
                "WITH due AS (
                     SELECT id, channel_id, next_attempt_at FROM deliveries
                     WHERE status = 'pending' AND next_attempt_at <= ?1
                       AND (claimed_until IS NULL OR claimed_until <= ?1)
                       AND channel_id NOT IN (SELECT unhex(value) FROM json_each(?2))
                       AND (?6 IS NULL OR channel_id IN (SELECT unhex(value) FROM json_each(?6)))
                     ORDER BY next_attempt_at, id LIMIT ?3
                 ), ranked AS (
                     SELECT id, next_attempt_at, row_number() OVER (
                         PARTITION BY channel_id ORDER BY next_attempt_at, id) AS rank
                     FROM due
                 )
                 SELECT id FROM ranked WHERE rank <= ?4 ORDER BY next_attempt_at, id LIMIT ?5",
            )
            .store()?;
        let rows = statement
            .query_map(
                params![
                    micros(claim.now),
                    channel_list(&claim.skip_channels),
                    scan,
                    claim.per_channel.max(1),
                    limit,
                    claim.only_channels.as_deref().map(channel_list),
                ],
                |row| row.get(0),
            )
            .store()?;
        rows.collect::<Result<_, _>>().store()?
    };
    let until = micros(claim.now + lease);
    let mut mark = connection
        .prepare_cached("UPDATE deliveries SET claim_token = ?2, claimed_until = ?3 WHERE id = ?1")
        .store()?;
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS}, {NOTIFICATION_COLUMNS}, {CHANNEL_COLUMNS}
         FROM deliveries d JOIN notifications n ON n.id = d.notification_id
             LEFT JOIN notification_channels c ON c.id = d.channel_id
         WHERE d.id = ?1"
    );
    let mut read = connection.prepare_cached(&sql).store()?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        mark.execute(params![id, claim.token, until]).store()?;
        let mut rows = read.query([id]).store()?;
        let Some(row) = rows.next().store()? else {
            continue;
        };
        let channel_first = DELIVERY_COLUMN_COUNT + NOTIFICATION_COLUMN_COUNT;
        let channel = match codec::value::<Option<Uuid>>(row, channel_first)? {
            Some(_) => Some(channel_from_row(row, channel_first)?),
            None => None,
        };
        claimed.push(ClaimedDelivery {
            delivery: delivery_from_row(row, 0)?,
            notification: notification_from_row(row, DELIVERY_COLUMN_COUNT)?,
            channel,
        });
    }
    Ok(claimed)
}

/// Records an attempt's outcome if the claim still holds (a writer command).
pub(crate) fn finish(connection: &Connection, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
    let delivery = &outcome.delivery;
    let changed = connection
        .prepare_cached(
            "UPDATE deliveries SET status = ?3, attempts = ?4, next_attempt_at = ?5,
                 last_status_code = ?6, last_error = ?7, updated_at = ?8, delivered_at = ?9,
                 claim_token = NULL, claimed_until = NULL
             WHERE id = ?1 AND claim_token = ?2 AND status = 'pending'",
        )
        .store()?
        .execute(params![
            delivery.id.as_uuid(),
            outcome.token,
            delivery.status.as_str(),
            delivery.attempts,
            delivery.next_attempt_at.map(micros),
            delivery.last_status_code,
            delivery.last_error,
            micros(delivery.updated_at),
            delivery.delivered_at.map(micros),
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::Conflict(Conflict::ClaimLost));
    }
    if let Some(attempt) = &outcome.attempt {
        insert_attempt(connection, attempt)?;
    }
    if let Some(reason) = &outcome.disable_channel {
        connection
            .prepare_cached(
                "UPDATE notification_channels SET enabled = 0, disabled_reason = ?2,
                     updated_at = ?3
                 WHERE id = ?1",
            )
            .store()?
            .execute(params![
                delivery.channel_id.as_uuid(),
                reason,
                micros(delivery.updated_at)
            ])
            .store()?;
    }
    for event in &outcome.events {
        crate::outbox::append_event(connection, event)?;
    }
    if let Some(letter) = &outcome.dead_letter {
        crate::events::insert_dead_letter(connection, letter)?;
    }
    Ok(())
}

/// Records an attempt.
pub(crate) fn insert_attempt(
    connection: &Connection,
    attempt: &DeliveryAttempt,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, duration_ms,
                 status_code, error, succeeded)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .store()?
        .execute(params![
            attempt.delivery_id.as_uuid(),
            attempt.attempt,
            micros(attempt.attempted_at),
            attempt.duration_ms,
            attempt.status_code,
            attempt.error,
            attempt.succeeded,
        ])
        .store()?;
    Ok(())
}
