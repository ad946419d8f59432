//! The outbox as embedded consumers and the relay read it, marking records published, and
//! retention.
//!
//! Sequences are taken at insert time, not at commit, so the log is read in
//! `(xid, sequence)` order and only up to the oldest running transaction (`outbox_after`,
//! `outbox_head`). The relay's read needs no such guard: a record stays unpublished until it is
//! published, so one committed late is simply read by a later poll, and MVCC never shows a row
//! of a transaction that has not committed.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{EventId, UserId};
use tickler_store::{OutboxMessage, OutboxPosition, OutboxRecord, StoreError};
use uuid::Uuid;

use crate::error::ResultExt;

/// Most records one purge statement deletes: each is a short transaction of its own, so a large
/// purge never holds back the snapshot horizon (`pg_snapshot_xmin`), and with it
/// `outbox_after`, for long.
const PURGE_BATCH: i64 = 5_000;

/// The columns [`record`] reads.
macro_rules! record_columns {
    () => {
        "xid::text::bigint, sequence, event_id, event_type, subject, user_id, occurred_at, payload"
    };
}

/// Reads up to `limit` records strictly after `position`, never past a transaction that may
/// still commit.
pub(crate) async fn after(
    pool: &PgPool,
    position: OutboxPosition,
    limit: u32,
) -> Result<Vec<OutboxRecord>, StoreError> {
    // Rows of a transaction are readable once every transaction with a smaller id has
    // ended: the snapshot's xmin is the oldest transaction still running.
    const SQL: &str = concat!(
        "SELECT ",
        record_columns!(),
        " FROM outbox
         WHERE (xid, sequence) > ($1::bigint::text::xid8, $2)
           AND xid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY xid, sequence
         LIMIT $3"
    );
    let found = sqlx::query(SQL)
        .bind(position.transaction.max(0))
        .bind(position.sequence)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(record).collect()
}

/// Whether a committed record after `position` waits behind the read horizon of [`after`]
/// (a transaction older than its own still runs, in any database of the server).
pub(crate) async fn held_back(pool: &PgPool, position: OutboxPosition) -> Result<bool, StoreError> {
    let (held,): (bool,) = sqlx::query_as(
        "SELECT EXISTS (
             SELECT 1 FROM outbox
             WHERE (xid, sequence) > ($1::bigint::text::xid8, $2)
               AND xid >= pg_snapshot_xmin(pg_current_snapshot()))",
    )
    .bind(position.transaction.max(0))
    .bind(position.sequence)
    .fetch_one(pool)
    .await
    .store()?;
    Ok(held)
}

/// Reads up to `limit` records not yet published, in sequence order (`outbox_pending` lists
/// exactly those; migration 0023 says why it is a table of its own).
pub(crate) async fn unpublished(
    pool: &PgPool,
    limit: u32,
) -> Result<Vec<OutboxRecord>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        record_columns!(),
        " FROM outbox WHERE sequence IN
             (SELECT sequence FROM outbox_pending ORDER BY sequence LIMIT $1)
         ORDER BY sequence"
    );
    let found = sqlx::query(SQL)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(record).collect()
}

fn record(row: &PgRow) -> Result<OutboxRecord, StoreError> {
    Ok(OutboxRecord {
        position: OutboxPosition {
            transaction: row.try_get(0).store()?,
            sequence: row.try_get(1).store()?,
        },
        message: OutboxMessage {
            id: EventId::from_uuid(row.try_get(2).store()?),
            event_type: row.try_get(3).store()?,
            subject: row.try_get(4).store()?,
            owner: UserId::from_uuid(row.try_get(5).store()?),
            occurred_at: row.try_get(6).store()?,
            payload: row.try_get(7).store()?,
        },
    })
}

/// Marks records published in one statement, by taking them off `outbox_pending` (the instant
/// is not kept: nothing reads it). Marking a record twice, or one that does not exist, does
/// nothing.
pub(crate) async fn mark_published(pool: &PgPool, sequences: &[i64]) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM outbox_pending WHERE sequence = ANY($1)")
        .bind(sequences)
        .execute(pool)
        .await
        .store()?;
    Ok(())
}

/// Counts the records not yet published.
pub(crate) async fn backlog(pool: &PgPool) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_pending")
        .fetch_one(pool)
        .await
        .store()?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Returns the position of the newest record [`after`] could return now.
pub(crate) async fn head(pool: &PgPool) -> Result<OutboxPosition, StoreError> {
    let newest: Option<(i64, i64)> = sqlx::query_as(
        "SELECT xid::text::bigint, sequence FROM outbox
         WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY xid DESC, sequence DESC
         LIMIT 1",
    )
    .fetch_optional(pool)
    .await
    .store()?;
    Ok(position_or_default(newest))
}

/// Returns the position of a `(transaction, sequence)` read, if any, or the default.
pub(crate) fn position_or_default(found: Option<(i64, i64)>) -> OutboxPosition {
    found
        .map(|(transaction, sequence)| OutboxPosition {
            transaction,
            sequence,
        })
        .unwrap_or_default()
}

/// Deletes the records that occurred before `before` (only published ones if
/// `require_published`), oldest first, in batches of [`PURGE_BATCH`]; an unpublished record
/// deleted leaves `outbox_pending` with it.
pub(crate) async fn purge(
    pool: &PgPool,
    before: DateTime<Utc>,
    require_published: bool,
) -> Result<u64, StoreError> {
    let mut deleted = 0;
    loop {
        let batch: i64 = sqlx::query_scalar(
            "WITH gone AS (
                 DELETE FROM outbox WHERE sequence IN (
                     SELECT sequence FROM outbox
                     WHERE occurred_at < $1
                       AND (NOT EXISTS (
                                SELECT 1 FROM outbox_pending p
                                WHERE p.sequence = outbox.sequence)
                            OR (NOT $2 AND NOT EXISTS (
                                SELECT 1 FROM consumer_positions c
                                WHERE (c.transaction_id::text::xid8, c.sequence)
                                    < (outbox.xid, outbox.sequence))))
                     ORDER BY occurred_at
                     LIMIT $3)
                 RETURNING sequence),
             unlisted AS (
                 DELETE FROM outbox_pending WHERE sequence IN (SELECT sequence FROM gone))
             SELECT count(*) FROM gone",
        )
        .bind(before)
        .bind(require_published)
        .bind(PURGE_BATCH)
        .fetch_one(pool)
        .await
        .store()?;
        let batch = u64::try_from(batch).unwrap_or(0);
        deleted += batch;
        if batch < PURGE_BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// Appends events to the outbox in the caller's transaction, in order (their sequence numbers
/// follow the slice): one statement for all of them, where a statement each cost a round trip
/// each (a batch of 500 fired reminders was 500 of them).
pub(crate) async fn append_events(
    connection: &mut PgConnection,
    events: &[OutboxMessage],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = events.iter().map(|event| *event.id.as_uuid()).collect();
    let types: Vec<&str> = events
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    let subjects: Vec<&str> = events.iter().map(|event| event.subject.as_str()).collect();
    let owners: Vec<Uuid> = events.iter().map(|event| *event.owner.as_uuid()).collect();
    let occurred: Vec<DateTime<Utc>> = events.iter().map(|event| event.occurred_at).collect();
    let payloads: Vec<&str> = events.iter().map(|event| event.payload.as_str()).collect();
    // The identity column numbers rows in the order the SELECT produces them.
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, subject, user_id, occurred_at, payload)
         SELECT event_id, event_type, subject, user_id, occurred_at, payload
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[], $6::text[])
             WITH ORDINALITY AS e (event_id, event_type, subject, user_id, occurred_at, payload, position)
         ORDER BY position",
    )
    .bind(ids)
    .bind(types)
    .bind(subjects)
    .bind(owners)
    .bind(occurred)
    .bind(payloads)
    .execute(&mut *connection)
    .await
    .store()?;
    Ok(())
}
