//! The event backbone's bookkeeping: processed-event markers, consumer positions, dead letters
//! and leases; the `EventStore` implementation, whose audit-trail reads are in `audit`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::{EventId, UserId};
use tickler_store::{
    AuditChainHead, AuditQuery, AuditRecord, ChainedAuditRecord, Conflict, ConsumerPosition,
    DeadLetter, DeadLetterQuery, EventStore, LeaseRequest, OutboxPosition, OutboxRecord,
    ProcessedEvent, StoreError,
};
use uuid::Uuid;

use crate::audit;
use crate::codec::{self, micros};
use crate::error::ResultExt;
use crate::outbox;
use crate::store::SqliteStore;

/// Records that a consumer handled an event; [`Conflict::AlreadyProcessed`] if it already did.
pub(crate) fn mark_processed(
    connection: &Connection,
    processed: &ProcessedEvent,
) -> Result<(), StoreError> {
    let inserted = connection
        .prepare_cached(
            "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )
        .store()?
        .execute(params![
            processed.consumer,
            processed.event_id.as_uuid(),
            micros(processed.processed_at),
        ])
        .store()?;
    if inserted == 0 {
        return Err(StoreError::Conflict(Conflict::AlreadyProcessed));
    }
    Ok(())
}

/// Saves a consumer's position unless the stored one is further.
pub(crate) fn save_position(
    connection: &Connection,
    position: &ConsumerPosition,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO consumer_positions (consumer, transaction_id, sequence)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (consumer) DO UPDATE
                 SET transaction_id = excluded.transaction_id, sequence = excluded.sequence
                 WHERE (excluded.transaction_id, excluded.sequence)
                     > (consumer_positions.transaction_id, consumer_positions.sequence)",
        )
        .store()?
        .execute(params![
            position.consumer,
            position.position.transaction,
            position.position.sequence,
        ])
        .store()?;
    Ok(())
}

/// Reads a consumer's position (the default if it never saved one).
pub(crate) fn position(
    connection: &Connection,
    consumer: &str,
) -> Result<OutboxPosition, StoreError> {
    let saved = connection
        .prepare_cached(
            "SELECT transaction_id, sequence FROM consumer_positions WHERE consumer = ?1",
        )
        .store()?
        .query_row([consumer], |row| {
            Ok(OutboxPosition {
                transaction: row.get(0)?,
                sequence: row.get(1)?,
            })
        })
        .optional()
        .store()?;
    Ok(saved.unwrap_or_default())
}

/// Lists every consumer's saved position, the slowest first.
pub(crate) fn positions(connection: &Connection) -> Result<Vec<ConsumerPosition>, StoreError> {
    connection
        .prepare_cached(
            "SELECT consumer, transaction_id, sequence FROM consumer_positions
             ORDER BY transaction_id, sequence, consumer",
        )
        .store()?
        .query_map([], |row| {
            Ok(ConsumerPosition {
                consumer: row.get(0)?,
                position: OutboxPosition {
                    transaction: row.get(1)?,
                    sequence: row.get(2)?,
                },
            })
        })
        .store()?
        .collect::<Result<_, _>>()
        .store()
}

/// Stores a dead letter; [`Conflict::AlreadyExists`] if its id is taken.
pub(crate) fn insert_dead_letter(
    connection: &Connection,
    letter: &DeadLetter,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO dead_letters (id, consumer, event_id, event_type, topic, payload, error,
                 attempts, failed_at, replayed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .store()?
        .execute(params![
            letter.id,
            letter.consumer,
            letter.event_id.map(|id| *id.as_uuid()),
            letter.event_type,
            letter.topic,
            letter.payload,
            letter.error,
            letter.attempts,
            micros(letter.failed_at),
            letter.replayed_at.map(micros),
        ])
        .store()?;
    Ok(())
}

const DEAD_LETTER_COLUMNS: &str = "id, consumer, event_id, event_type, topic, payload, error, \
     attempts, failed_at, replayed_at";

/// Lists dead letters, oldest first.
pub(crate) fn list_dead_letters(
    connection: &Connection,
    query: &DeadLetterQuery,
) -> Result<Vec<DeadLetter>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters
             WHERE (?1 IS NULL OR consumer = ?1) AND (?2 OR replayed_at IS NULL)
             ORDER BY failed_at, id LIMIT ?3"
        ))
        .store()?;
    let mut rows = statement
        .query(params![
            query.consumer,
            query.include_replayed,
            query.page_size()
        ])
        .store()?;
    let mut letters = Vec::new();
    while let Some(row) = rows.next().store()? {
        letters.push(dead_letter_from_row(row)?);
    }
    Ok(letters)
}

/// Reads one dead letter.
pub(crate) fn get_dead_letter(connection: &Connection, id: Uuid) -> Result<DeadLetter, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {DEAD_LETTER_COLUMNS} FROM dead_letters WHERE id = ?1"
        ))
        .store()?;
    let mut rows = statement.query([id]).store()?;
    match rows.next().store()? {
        Some(row) => dead_letter_from_row(row),
        None => Err(StoreError::NotFound),
    }
}

fn dead_letter_from_row(row: &Row<'_>) -> Result<DeadLetter, StoreError> {
    Ok(DeadLetter {
        id: codec::value(row, 0)?,
        consumer: codec::value(row, 1)?,
        event_id: codec::value::<Option<Uuid>>(row, 2)?.map(EventId::from_uuid),
        event_type: codec::value(row, 3)?,
        topic: codec::value(row, 4)?,
        payload: codec::value(row, 5)?,
        error: codec::value(row, 6)?,
        attempts: codec::value(row, 7)?,
        failed_at: codec::instant_column(row, 8)?,
        replayed_at: codec::optional_instant_column(row, 9)?,
    })
}

/// Records a dead letter's successful replay.
pub(crate) fn mark_dead_letter_replayed(
    connection: &Connection,
    id: Uuid,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let changed = connection
        .prepare_cached("UPDATE dead_letters SET replayed_at = ?2 WHERE id = ?1")
        .store()?
        .execute(params![id, micros(at)])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes or renews a lease; returns whether `request.holder` holds it now.
///
/// Expiry is judged by this machine's clock, read here on the writer thread: only processes of
/// this machine can open the database file, so they share that clock (PostgreSQL, shared by
/// several machines, uses the server's).
pub(crate) fn acquire_lease(
    connection: &Connection,
    request: &LeaseRequest,
) -> Result<bool, StoreError> {
    let now = system_clock_micros()?;
    let ttl = i64::try_from(request.ttl.as_micros()).unwrap_or(i64::MAX);
    let granted = connection
        .prepare_cached(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE
                 SET holder = excluded.holder, expires_at = excluded.expires_at
                 WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4
             RETURNING holder",
        )
        .store()?
        .query_row(
            params![request.name, request.holder, now.saturating_add(ttl), now],
            |_| Ok(()),
        )
        .optional()
        .store()?;
    Ok(granted.is_some())
}

/// Gives a lease up if `holder` holds it.
pub(crate) fn release_lease(
    connection: &Connection,
    name: &str,
    holder: &str,
) -> Result<(), StoreError> {
    connection
        .prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")
        .store()?
        .execute(params![name, holder])
        .store()?;
    Ok(())
}

/// Reads the system clock, in microseconds since the epoch.
fn system_clock_micros() -> Result<i64, StoreError> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|error| {
            StoreError::Internal(format!("the system clock is before 1970: {error}"))
        })?;
    Ok(i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX))
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let hash = ticket_hash.to_vec();
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached("DELETE FROM live_tickets WHERE expires_at <= ?1")
                    .store()?
                    .execute([micros(now)])
                    .store()?;
                connection
                    .prepare_cached(
                        "INSERT INTO live_tickets (ticket_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    )
                    .store()?
                    .execute(params![hash, owner.as_uuid(), micros(expires_at)])
                    .store()?;
                Ok(())
            })
            .await
    }

    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let hash = ticket_hash.to_vec();
        self.writer
            .write(move |connection| {
                let owner: Option<(Uuid, i64)> = connection
                    .prepare_cached(
                        "DELETE FROM live_tickets WHERE ticket_hash = ?1 RETURNING user_id, expires_at",
                    )
                    .store()?
                    .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map(Some)
                    .or_else(|error| match error {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })
                    .store()?;
                Ok(owner
                    .filter(|(_, expires_at)| *expires_at > micros(now))
                    .map(|(owner, _)| UserId::from_uuid(owner)))
            })
            .await
    }

    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.readers
            .read(move |connection| outbox::after(connection, position, limit))
            .await
    }

    async fn outbox_held_back(&self, _position: OutboxPosition) -> Result<bool, StoreError> {
        // One writer: a committed record is readable at once.
        Ok(false)
    }

    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        self.readers
            .read(move |connection| outbox::unpublished(connection, limit))
            .await
    }

    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        let sequences = sequences.to_vec();
        self.writer
            .write(move |connection| outbox::mark_published(connection, &sequences, at))
            .await
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        self.readers.read(outbox::backlog).await
    }

    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError> {
        self.readers.read_now(outbox::head).await
    }

    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError> {
        // In steps of their own, so other commands are committed in between.
        let mut deleted = 0;
        let mut after = outbox::PurgeCursor::START;
        loop {
            let step = self
                .writer
                .write(move |connection| {
                    outbox::purge_step(connection, before, require_published, after)
                })
                .await?;
            deleted += step.deleted;
            match step.next {
                Some(next) => after = next,
                None => return Ok(deleted),
            }
        }
    }

    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError> {
        self.readers
            .read_now(|connection| position(connection, consumer))
            .await
    }

    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError> {
        self.readers.read_now(positions).await
    }

    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError> {
        let position = position.clone();
        self.writer
            .write(move |connection| save_position(connection, &position))
            .await
    }

    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| audit::list_audit(connection, owner, &query))
            .await
    }

    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError> {
        self.readers.read(audit::audit_owners).await
    }

    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError> {
        self.readers
            .read(move |connection| audit::chain_head(connection, owner))
            .await
    }

    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError> {
        self.readers
            .read(move |connection| audit::unchained_audit(connection, owner))
            .await
    }

    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError> {
        self.readers
            .read(move |connection| audit::audit_chain_page(connection, owner, after, limit))
            .await
    }

    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        let letter = letter.clone();
        self.writer
            .write(move |connection| insert_dead_letter(connection, &letter))
            .await
    }

    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| list_dead_letters(connection, &query))
            .await
    }

    async fn get_dead_letter(&self, id: Uuid) -> Result<DeadLetter, StoreError> {
        self.readers
            .read_now(|connection| get_dead_letter(connection, id))
            .await
    }

    async fn mark_dead_letter_replayed(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| mark_dead_letter_replayed(connection, id, at))
            .await
    }

    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError> {
        let request = request.clone();
        self.writer
            .write(move |connection| acquire_lease(connection, &request))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .write(move |connection| release_lease(connection, &name, &holder))
            .await
    }
}
