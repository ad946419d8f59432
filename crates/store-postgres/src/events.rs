//! The event backbone's bookkeeping: processed-event markers, consumer positions and audit
//! records (written inside a change set's transaction), dead letters and leases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, Row, Transaction};
use tickler_domain::{EventId, TaskId, UserId};
use tickler_store::audit_chain;
use tickler_store::{
    AuditChainHead, AuditQuery, AuditRecord, ChainedAuditRecord, Conflict, ConsumerPosition,
    DeadLetter, DeadLetterQuery, EventStore, LeaseRequest, OutboxPosition, OutboxRecord,
    ProcessedEvent, StoreError,
};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::list::{Parameter, Statement};
use crate::outbox;
use crate::store::PostgresStore;

/// Records that a consumer handled an event; [`Conflict::AlreadyProcessed`] if it already did.
/// A concurrent transaction recording the same pair makes this one wait for its outcome.
pub(crate) async fn mark_processed(
    connection: &mut PgConnection,
    processed: &ProcessedEvent,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id, processed_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(processed.consumer.as_str())
    .bind(*processed.event_id.as_uuid())
    .bind(processed.processed_at)
    .execute(&mut *connection)
    .await
    .store()?
    .rows_affected();
    if inserted == 0 {
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

/// Appends records to the audit trail, each as the next link of its owner's hash chain;
/// [`Conflict::AlreadyExists`] for an event id in it. The owners' chain heads are locked first
/// (`FOR UPDATE`, in id order, so that two change sets naming the same owners cannot deadlock)
/// and stay locked until the caller's transaction ends: appends for one user, from any
/// process, join the chain one at a time.
pub(crate) async fn append_audit(
    connection: &mut PgConnection,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut owners: Vec<UserId> = records.iter().map(|record| record.owner).collect();
    owners.sort_by_key(|owner| *owner.as_uuid());
    owners.dedup();
    let mut heads = std::collections::HashMap::with_capacity(owners.len());
    for owner in owners {
        heads.insert(owner, lock_chain_head(&mut *connection, owner).await?);
    }
    for record in records {
        let record = audit_chain::stored_form(record);
        let Some((last_seq, last_hash)) = heads.get_mut(&record.owner) else {
            return Err(StoreError::Internal(
                "an audit owner without a head".to_owned(),
            ));
        };
        let seq = *last_seq + 1;
        let hash = audit_chain::link_hash(seq, &record, last_hash);
        sqlx::query(
            "INSERT INTO audit_events (event_id, user_id, task_id, event_type, origin,
                 correlation_id, occurred_at, recorded_at, data, chain_seq, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(*record.event_id.as_uuid())
        .bind(*record.owner.as_uuid())
        .bind(record.task_id.map(|id| *id.as_uuid()))
        .bind(record.event_type.as_str())
        .bind(record.origin.as_deref())
        .bind(record.correlation_id.as_deref())
        .bind(record.occurred_at)
        .bind(record.recorded_at)
        .bind(record.data.as_str())
        .bind(seq)
        .bind(last_hash.as_slice())
        .bind(hash.as_slice())
        .execute(&mut *connection)
        .await
        .store()?;
        *last_seq = seq;
        *last_hash = hash.to_vec();
    }
    for (owner, (seq, hash)) in heads {
        sqlx::query("UPDATE audit_chain_heads SET chain_seq = $2, hash = $3 WHERE user_id = $1")
            .bind(*owner.as_uuid())
            .bind(seq)
            .bind(hash)
            .execute(&mut *connection)
            .await
            .store()?;
    }
    Ok(())
}

/// Locks a user's chain head for the rest of the transaction and returns it, creating it
/// (at the genesis digest) before the user's first chained row.
async fn lock_chain_head(
    connection: &mut PgConnection,
    owner: UserId,
) -> Result<(i64, Vec<u8>), StoreError> {
    const LOCK: &str =
        "SELECT chain_seq, hash FROM audit_chain_heads WHERE user_id = $1 FOR UPDATE";
    let found: Option<(i64, Vec<u8>)> = sqlx::query_as(LOCK)
        .bind(*owner.as_uuid())
        .fetch_optional(&mut *connection)
        .await
        .store()?;
    if let Some(head) = found {
        return Ok(head);
    }
    let unchained = unchained_audit(&mut *connection, owner).await?;
    // A concurrent first append may insert the head first: this insert then waits for it
    // and does nothing, and the lock below reads that head.
    sqlx::query(
        "INSERT INTO audit_chain_heads (user_id, chain_seq, hash) VALUES ($1, 0, $2)
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(*owner.as_uuid())
    .bind(audit_chain::genesis(owner, &unchained).as_slice())
    .execute(&mut *connection)
    .await
    .store()?;
    sqlx::query_as(LOCK)
        .bind(*owner.as_uuid())
        .fetch_one(&mut *connection)
        .await
        .store()
}

/// Reads a user's chain head.
pub(crate) async fn chain_head(
    executor: impl PgExecutor<'_>,
    owner: UserId,
) -> Result<Option<AuditChainHead>, StoreError> {
    let found: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT chain_seq, hash FROM audit_chain_heads WHERE user_id = $1")
            .bind(*owner.as_uuid())
            .fetch_optional(executor)
            .await
            .store()?;
    Ok(found.map(|(seq, hash)| AuditChainHead { owner, seq, hash }))
}

const AUDIT_COLUMNS: &str = "event_id, user_id, task_id, event_type, origin, correlation_id,
    occurred_at, recorded_at, data";

fn audit_record(row: &PgRow) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        event_id: EventId::from_uuid(row.try_get(0).store()?),
        owner: UserId::from_uuid(row.try_get(1).store()?),
        task_id: row
            .try_get::<Option<Uuid>, _>(2)
            .store()?
            .map(TaskId::from_uuid),
        event_type: row.try_get(3).store()?,
        origin: row.try_get(4).store()?,
        correlation_id: row.try_get(5).store()?,
        occurred_at: row.try_get(6).store()?,
        recorded_at: row.try_get(7).store()?,
        data: row.try_get(8).store()?,
    })
}

/// Reads a user's audit rows recorded before the chain existed.
pub(crate) async fn unchained_audit(
    executor: impl PgExecutor<'_>,
    owner: UserId,
) -> Result<Vec<AuditRecord>, StoreError> {
    // Built from constants only.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events
         WHERE user_id = $1 AND chain_seq IS NULL ORDER BY occurred_at, event_id"
    )))
    .bind(*owner.as_uuid())
    .fetch_all(executor)
    .await
    .store()?
    .iter()
    .map(audit_record)
    .collect()
}

/// Reads a page of a user's chained audit rows after `after`, in chain order.
pub(crate) async fn audit_chain_page(
    executor: impl PgExecutor<'_>,
    owner: UserId,
    after: i64,
    limit: u32,
) -> Result<Vec<ChainedAuditRecord>, StoreError> {
    // Built from constants only.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AUDIT_COLUMNS}, chain_seq, prev_hash, hash FROM audit_events
         WHERE user_id = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3"
    )))
    .bind(*owner.as_uuid())
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(executor)
    .await
    .store()?
    .iter()
    .map(|row| {
        Ok(ChainedAuditRecord {
            record: audit_record(row)?,
            seq: row.try_get(9).store()?,
            prev_hash: row
                .try_get::<Option<Vec<u8>>, _>(10)
                .store()?
                .unwrap_or_default(),
            hash: row
                .try_get::<Option<Vec<u8>>, _>(11)
                .store()?
                .unwrap_or_default(),
        })
    })
    .collect()
}

/// Lists the users with an audit trail or a chain head.
pub(crate) async fn audit_owners(executor: impl PgExecutor<'_>) -> Result<Vec<UserId>, StoreError> {
    let found: Vec<(Uuid,)> = sqlx::query_as(
        "SELECT user_id FROM audit_chain_heads
         UNION SELECT DISTINCT user_id FROM audit_events ORDER BY 1",
    )
    .fetch_all(executor)
    .await
    .store()?;
    Ok(found
        .into_iter()
        .map(|(id,)| UserId::from_uuid(id))
        .collect())
}

/// Reads one page of a user's audit trail, by `(occurred_at, event_id)`.
pub(crate) async fn list_audit(
    pool: &PgPool,
    owner: UserId,
    query: &AuditQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(Parameter::Uuid(*owner.as_uuid()));
    statement.push(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE user_id = {owner_parameter}"
    ));
    if let Some(task_id) = query.task_id {
        let task = statement.bind(Parameter::Uuid(*task_id.as_uuid()));
        statement.push(&format!(" AND task_id = {task}"));
    }
    if let Some(since) = query.since {
        let since = statement.bind(Parameter::Instant(since));
        statement.push(&format!(" AND occurred_at >= {since}"));
    }
    if let Some((occurred_at, event_id)) = query.after {
        let occurred_at = statement.bind(Parameter::Instant(occurred_at));
        let event_id = statement.bind(Parameter::Uuid(*event_id.as_uuid()));
        statement.push(&format!(
            " AND (occurred_at, event_id) > ({occurred_at}, {event_id})"
        ));
    }
    let limit = statement.bind(Parameter::Integer(i64::from(query.page_size())));
    statement.push(&format!(" ORDER BY occurred_at, event_id LIMIT {limit}"));
    let found = statement.into_query().fetch_all(pool).await.store()?;
    found.iter().map(audit_record).collect()
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

    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        outbox::mark_published(&self.pool, sequences, at).await
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
        list_audit(&self.pool, owner, query).await
    }

    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError> {
        audit_owners(&self.pool).await
    }

    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError> {
        chain_head(&self.pool, owner).await
    }

    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError> {
        unchained_audit(&self.pool, owner).await
    }

    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError> {
        audit_chain_page(&self.pool, owner, after, limit).await
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

/// Appends an account change's audit rows in the change's transaction, then commits both.
pub(crate) async fn commit_audited(
    mut transaction: Transaction<'_, Postgres>,
    audit: &[AuditRecord],
) -> Result<(), StoreError> {
    append_audit(&mut transaction, audit).await?;
    transaction.commit().await.store()
}
