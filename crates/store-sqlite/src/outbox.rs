//! The outbox as embedded consumers and the relay read it, marking records published, and
//! retention.
//!
//! One writer assigns sequences in commit order, so every position has transaction 0 and the
//! log order is the sequence order.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use tickler_domain::UserId;
use tickler_store::{OutboxMessage, OutboxPosition, OutboxRecord, StoreError};
use uuid::Uuid;

use crate::codec::{self, micros};
use crate::error::ResultExt;

/// Most records one purge step examines: each step is a writer command of its own, so a large
/// purge never holds up commits for more than a few milliseconds at a time.
const PURGE_STEP: i64 = 1_000;

const RECORD_COLUMNS: &str =
    "sequence, event_id, event_type, subject, user_id, occurred_at, payload";

/// Reads up to `limit` records strictly after `position`.
pub(crate) fn after(
    connection: &Connection,
    position: OutboxPosition,
    limit: u32,
) -> Result<Vec<OutboxRecord>, StoreError> {
    // A position of a later transaction (from another backend) is past everything here.
    if position.transaction > 0 {
        return Ok(Vec::new());
    }
    let after = if position.transaction < 0 {
        i64::MIN
    } else {
        position.sequence
    };
    read(
        connection,
        &format!(
            "SELECT {RECORD_COLUMNS} FROM outbox WHERE sequence > ?1 ORDER BY sequence LIMIT ?2"
        ),
        params![after, limit],
    )
}

/// Reads up to `limit` records not yet published, in sequence order (the partial index
/// `outbox_unpublished` holds exactly those).
pub(crate) fn unpublished(
    connection: &Connection,
    limit: u32,
) -> Result<Vec<OutboxRecord>, StoreError> {
    read(
        connection,
        &format!(
            "SELECT {RECORD_COLUMNS} FROM outbox WHERE published_at IS NULL
             ORDER BY sequence LIMIT ?1"
        ),
        params![limit],
    )
}

fn read(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<OutboxRecord>, StoreError> {
    let mut statement = connection.prepare_cached(sql).store()?;
    let mut rows = statement.query(parameters).store()?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().store()? {
        records.push(OutboxRecord {
            position: OutboxPosition {
                transaction: 0,
                sequence: codec::value(row, 0)?,
            },
            message: OutboxMessage {
                id: codec::value::<Uuid>(row, 1)?.into(),
                event_type: codec::value(row, 2)?,
                subject: codec::value(row, 3)?,
                owner: UserId::from_uuid(codec::value(row, 4)?),
                occurred_at: codec::instant_column(row, 5)?,
                payload: codec::value(row, 6)?,
            },
        });
    }
    Ok(records)
}

/// Marks records published, inside one writer command: one prepared statement run per
/// sequence, all in the same transaction. A record published before keeps its first instant.
pub(crate) fn mark_published(
    connection: &Connection,
    sequences: &[i64],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut statement = connection
        .prepare_cached(
            "UPDATE outbox SET published_at = ?2 WHERE sequence = ?1 AND published_at IS NULL",
        )
        .store()?;
    for sequence in sequences {
        statement.execute(params![sequence, micros(at)]).store()?;
    }
    Ok(())
}

/// Counts the records not yet published.
pub(crate) fn backlog(connection: &Connection) -> Result<u64, StoreError> {
    let count: i64 = connection
        .prepare_cached("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Returns the position of the newest record (every committed record is readable here).
pub(crate) fn head(connection: &Connection) -> Result<OutboxPosition, StoreError> {
    let newest: Option<i64> = connection
        .prepare_cached("SELECT max(sequence) FROM outbox")
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    Ok(newest
        .map(|sequence| OutboxPosition {
            transaction: 0,
            sequence,
        })
        .unwrap_or_default())
}

/// Where a purge continues: after this `(occurred_at, sequence)`, in the order of the
/// `outbox_by_age` index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PurgeCursor {
    occurred_at: i64,
    sequence: i64,
}

impl PurgeCursor {
    /// Before every record.
    pub(crate) const START: Self = Self {
        occurred_at: i64::MIN,
        sequence: i64::MIN,
    };
}

/// What one purge step did.
#[derive(Debug)]
pub(crate) struct PurgeStep {
    /// Records deleted.
    pub(crate) deleted: u64,
    /// Where the next step continues; `None` when every record old enough was examined.
    pub(crate) next: Option<PurgeCursor>,
}

/// Examines up to [`PURGE_STEP`] records that occurred before `before`, oldest first from
/// `after`, and deletes those that may go (published ones, or any unless `require_published`).
/// Unpublished records kept are not examined again by the next step.
pub(crate) fn purge_step(
    connection: &Connection,
    before: DateTime<Utc>,
    require_published: bool,
    after: PurgeCursor,
) -> Result<PurgeStep, StoreError> {
    let candidates = connection
        .prepare_cached(
            "SELECT occurred_at, sequence,
                 published_at IS NOT NULL
                 OR (NOT ?5 AND NOT EXISTS (
                     SELECT 1 FROM consumer_positions c WHERE c.sequence < outbox.sequence))
             FROM outbox
             WHERE occurred_at < ?1 AND (occurred_at, sequence) > (?2, ?3)
             ORDER BY occurred_at, sequence LIMIT ?4",
        )
        .store()?
        .query_map(
            params![
                micros(before),
                after.occurred_at,
                after.sequence,
                PURGE_STEP,
                require_published,
            ],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get(2)?)),
        )
        .store()?
        .collect::<Result<Vec<(i64, i64, bool)>, _>>()
        .store()?;
    let mut delete = connection
        .prepare_cached("DELETE FROM outbox WHERE sequence = ?1")
        .store()?;
    let mut deleted = 0;
    // Deletable: published (relayed), or passed by every consumer (embedded bus).
    for &(_, sequence, deletable) in &candidates {
        if deletable {
            deleted += delete.execute([sequence]).store()? as u64;
        }
    }
    let next = match candidates.last() {
        Some(&(occurred_at, sequence, _)) if candidates.len() as i64 == PURGE_STEP => {
            Some(PurgeCursor {
                occurred_at,
                sequence,
            })
        }
        _ => None,
    };
    Ok(PurgeStep { deleted, next })
}

/// Appends an event to the outbox.
pub(crate) fn append_event(
    connection: &Connection,
    event: &OutboxMessage,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO outbox (event_id, event_type, subject, user_id, occurred_at, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .store()?
        .execute(params![
            event.id.as_uuid(),
            event.event_type,
            event.subject,
            event.owner.as_uuid(),
            micros(event.occurred_at),
            event.payload,
        ])
        .store()?;
    Ok(())
}
