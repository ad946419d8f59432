//! The event backbone's bookkeeping: processed-event markers, consumer positions, dead letters
//! and leases; the `EventStore` implementation, whose audit-trail reads are in `audit`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Row};
use tickler_domain::{EventId, UserId};
use tickler_store::{
    AuditChainHead, AuditQuery, AuditRecord, ChainedAuditRecord, Conflict, ConsumerPosition,
    DeadLetter, DeadLetterQuery, EventStore, LeaseRequest, OutboxPosition, OutboxRecord,
    ProcessedEvent, StoreError,
};
use uuid::Uuid;

use crate::audit;
use crate::error::ResultExt;
use crate::outbox;
use crate::store::PostgresStore;

/// Records that a consumer handled each of `processed`, in one statement (an audit batch's
/// markers are one insert, not one per event); [`Conflict::AlreadyProcessed`] if it already
/// handled any of them, and the caller's transaction then writes nothing. A concurrent
/// transaction recording the same pair makes this one wait for its outcome.
pub(crate) async fn mark_processed(
    connection: &mut PgConnection,
    processed: &[ProcessedEvent],
) -> Result<(), StoreError> {
    if processed.is_empty() {
        return Ok(());
    }
    let consumers: Vec<&str> = processed
        .iter()
        .map(|marker| marker.consumer.as_str())
        .collect();
    let events: Vec<Uuid> = processed
        .iter()
        .map(|marker| *marker.event_id.as_uuid())
        .collect();
    let at: Vec<DateTime<Utc>> = processed.iter().map(|marker| marker.processed_at).collect();
    let inserted = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at)
         SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[])
         ON CONFLICT DO NOTHING",
    )
    .bind(consumers)
    .bind(events)
    .bind(at)
    .execute(&mut *connection)
    .await
    .store()?
    .rows_affected();
    if inserted < processed.len() as u64 {
        return Err(StoreError::Conflict(Conflict::AlreadyProcessed));
    }
    Ok(())
}

/// Saves a consumer's position unless the stored one is further.
pub(crate) async fn save_position(
    executor: impl PgExecutor<'_>,
    position: &ConsumerPosition,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO consumer_positions (consumer, transaction_id, sequence) VALUES ($1, $2, $3)
         ON CONFLICT (consumer) DO UPDATE
             SET transaction_id = excluded.transaction_id, sequence = excluded.sequence
             WHERE (excluded.transaction_id, excluded.sequence)
                 > (consumer_positions.transaction_id, consumer_positions.sequence)",
    )
    .bind(position.consumer.as_str())
    .bind(position.position.transaction)
    .bind(position.position.sequence)
    .execute(executor)
    .await
    .store()?;
    Ok(())
}

/// Reads a consumer's position (the default if it never saved one).
pub(crate) async fn position(pool: &PgPool, consumer: &str) -> Result<OutboxPosition, StoreError> {
    let saved: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, sequence FROM consumer_positions WHERE consumer = $1",
    )
    .bind(consumer)
    .fetch_optional(pool)
    .await
    .store()?;
    Ok(crate::outbox::position_or_default(saved))
}

/// Lists every consumer's saved position, the slowest first.
pub(crate) async fn positions(pool: &PgPool) -> Result<Vec<ConsumerPosition>, StoreError> {
    let saved: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT consumer, transaction_id, sequence FROM consumer_positions
         ORDER BY transaction_id, sequence, consumer",
    )
    .fetch_all(pool)
    .await
    .store()?;
    Ok(saved
        .into_iter()
        .map(|(consumer, transaction, sequence)| ConsumerPosition {
            consumer,
            position: OutboxPosition {
                transaction,
                sequence,
            },
        })
        .collect())
}

/// Stores a dead letter; [`Conflict::AlreadyExists`] if its id is taken.
pub(crate) async fn insert_dead_letter(
    executor: impl PgExecutor<'_>,
    letter: &DeadLetter,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO dead_letters (id, consumer, event_id, event_type, topic, payload, error,
             attempts, failed_at, replayed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(letter.id)
    .bind(letter.consumer.as_str())
    .bind(letter.event_id.map(|id| *id.as_uuid()))
    .bind(letter.event_type.as_deref())
    .bind(letter.topic.as_str())
    .bind(letter.payload.as_str())
    .bind(letter.error.as_str())
    .bind(i64::from(letter.attempts))
    .bind(letter.failed_at)
    .bind(letter.replayed_at)
    .execute(executor)
    .await
    .store()?;
    Ok(())
}

/// The dead-letter columns, in the order [`dead_letter`] reads them.
macro_rules! dead_letter_columns {
    () => {
        "id, consumer, event_id, event_type, topic, payload, error, attempts, failed_at, \
         replayed_at"
    };
}

/// Lists dead letters, oldest first.
pub(crate) async fn list_dead_letters(
    pool: &PgPool,
    query: &DeadLetterQuery,
) -> Result<Vec<DeadLetter>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        dead_letter_columns!(),
        " FROM dead_letters
         WHERE ($1::text IS NULL OR consumer = $1) AND ($2 OR replayed_at IS NULL)
         ORDER BY failed_at, id LIMIT $3"
    );
    let found = sqlx::query(SQL)
        .bind(query.consumer.as_deref())
        .bind(query.include_replayed)
        .bind(i64::from(query.page_size()))
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(dead_letter).collect()
}

/// Reads one dead letter.
pub(crate) async fn get_dead_letter(pool: &PgPool, id: Uuid) -> Result<DeadLetter, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        dead_letter_columns!(),
        " FROM dead_letters WHERE id = $1"
    );
    let row = sqlx::query(SQL)
        .bind(id)
        .fetch_optional(pool)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    dead_letter(&row)
}

fn dead_letter(row: &PgRow) -> Result<DeadLetter, StoreError> {
    let attempts: i64 = row.try_get(7).store()?;
    Ok(DeadLetter {
        id: row.try_get(0).store()?,
        consumer: row.try_get(1).store()?,
        event_id: row
            .try_get::<Option<Uuid>, _>(2)
            .store()?
            .map(EventId::from_uuid),
        event_type: row.try_get(3).store()?,
        topic: row.try_get(4).store()?,
        payload: row.try_get(5).store()?,
        error: row.try_get(6).store()?,
        attempts: u32::try_from(attempts).map_err(|_| {
            StoreError::Internal(format!("stored attempt count {attempts} is out of range"))
        })?,
        failed_at: row.try_get(8).store()?,
        replayed_at: row.try_get(9).store()?,
    })
}

/// Records a dead letter's successful replay.
pub(crate) async fn mark_dead_letter_replayed(
    pool: &PgPool,
    id: Uuid,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE dead_letters SET replayed_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await
        .store()?
        .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Takes or renews a lease in one statement; returns whether `request.holder` holds it now.
///
/// Expiry is judged by the server's clock, shared by every process whatever their own clocks
/// say. Two processes racing for a free or expired lease both reach the upsert: the second
/// waits for the first to commit, then re-checks the condition against the row the first
/// wrote, and gets no row back.
pub(crate) async fn acquire_lease(
    pool: &PgPool,
    request: &LeaseRequest,
) -> Result<bool, StoreError> {
    let granted = sqlx::query(
        "INSERT INTO leases (name, holder, expires_at)
         VALUES ($1, $2, clock_timestamp() + $3 * interval '1 second')
         ON CONFLICT (name) DO UPDATE
             SET holder = excluded.holder, expires_at = excluded.expires_at
             WHERE leases.holder = excluded.holder OR leases.expires_at <= clock_timestamp()
         RETURNING holder",
    )
    .bind(request.name.as_str())
    .bind(request.holder.as_str())
    .bind(request.ttl.as_secs_f64())
    .fetch_optional(pool)
    .await
    .store()?;
    Ok(granted.is_some())
}

/// Gives a lease up if `holder` holds it.
pub(crate) async fn release_lease(
    pool: &PgPool,
    name: &str,
    holder: &str,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .store()?;
    Ok(())
}

#[async_trait]
impl EventStore for PostgresStore {
    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM live_tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .store()?;
        sqlx::query(
            "INSERT INTO live_tickets (ticket_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(ticket_hash)
        .bind(*owner.as_uuid())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .store()?;
        Ok(())
    }

    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        // DELETE ... RETURNING spends the ticket atomically: of racing redeemers one gets the row.
        let row: Option<(uuid::Uuid, DateTime<Utc>)> = sqlx::query_as(
            "DELETE FROM live_tickets WHERE ticket_hash = $1 RETURNING user_id, expires_at",
        )
        .bind(ticket_hash)
        .fetch_optional(&self.pool)
        .await
        .store()?;
        Ok(row
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(owner, _)| UserId::from_uuid(owner)))
    }

    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        outbox::after(&self.pool, position, limit).await
    }

    async fn outbox_held_back(&self, position: OutboxPosition) -> Result<bool, StoreError> {
        outbox::held_back(&self.pool, position).await
    }

    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        outbox::unpublished(&self.pool, limit).await
    }

    async fn mark_published(
        &self,
        sequences: &[i64],
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        outbox::mark_published(&self.pool, sequences).await
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        outbox::backlog(&self.pool).await
    }

    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError> {
        outbox::head(&self.pool).await
    }

    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError> {
        outbox::purge(&self.pool, before, require_published).await
    }

    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError> {
        position(&self.pool, consumer).await
    }

    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError> {
        positions(&self.pool).await
    }

    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError> {
        save_position(&self.pool, position).await
    }

    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        audit::list_audit(&self.pool, owner, query).await
    }

    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError> {
        audit::audit_owners(&self.pool).await
    }

    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError> {
        audit::chain_head(&self.pool, owner).await
    }

    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError> {
        audit::unchained_audit(&self.pool, owner).await
    }

    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError> {
        audit::audit_chain_page(&self.pool, owner, after, limit).await
    }

    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        insert_dead_letter(&self.pool, letter).await
    }

    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        list_dead_letters(&self.pool, query).await
    }

    async fn get_dead_letter(&self, id: uuid::Uuid) -> Result<DeadLetter, StoreError> {
        get_dead_letter(&self.pool, id).await
    }

    async fn mark_dead_letter_replayed(
        &self,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        mark_dead_letter_replayed(&self.pool, id, at).await
    }

    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError> {
        acquire_lease(&self.pool, request).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        release_lease(&self.pool, name, holder).await
    }
}
