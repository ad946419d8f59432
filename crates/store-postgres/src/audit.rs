//! The audit trail: appending records as links of their owner's hash chain (inside a change
//! set's or an account change's transaction), listing a user's trail, and the reads the
//! chain's verification walks (heads, unchained rows, chained pages, owners).

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgExecutor, PgPool, Postgres, Row, Transaction};
use tickler_domain::{EventId, TaskId, UserId};
use tickler_store::audit_chain;
use tickler_store::{AuditChainHead, AuditQuery, AuditRecord, ChainedAuditRecord, StoreError};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::list::{Parameter, Statement};

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
    // Each record is linked to the one before it in its owner's chain, then every row goes in
    // one statement: a batch of the audit consumer is one insert, not one per event.
    let mut links = Vec::with_capacity(records.len());
    for record in records {
        let record = audit_chain::stored_form(record);
        let Some((last_seq, last_hash)) = heads.get_mut(&record.owner) else {
            return Err(StoreError::Internal(
                "an audit owner without a head".to_owned(),
            ));
        };
        let seq = *last_seq + 1;
        let hash = audit_chain::link_hash(seq, &record, last_hash).to_vec();
        let prev_hash = std::mem::replace(last_hash, hash.clone());
        *last_seq = seq;
        links.push(Link {
            record,
            seq,
            prev_hash,
            hash,
        });
    }
    insert_links(&mut *connection, &links).await?;
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

/// An audit record in its stored form, as link `seq` of its owner's chain.
struct Link {
    record: AuditRecord,
    seq: i64,
    prev_hash: Vec<u8>,
    hash: Vec<u8>,
}

/// Inserts the rows of `links` in one statement (a column array each, as the outbox's append).
async fn insert_links(connection: &mut PgConnection, links: &[Link]) -> Result<(), StoreError> {
    let records = || links.iter().map(|link| &link.record);
    let event_ids: Vec<Uuid> = records().map(|record| *record.event_id.as_uuid()).collect();
    let owners: Vec<Uuid> = records().map(|record| *record.owner.as_uuid()).collect();
    let task_ids: Vec<Option<Uuid>> = records()
        .map(|record| record.task_id.map(|id| *id.as_uuid()))
        .collect();
    let types: Vec<&str> = records().map(|record| record.event_type.as_str()).collect();
    let origins: Vec<Option<&str>> = records().map(|record| record.origin.as_deref()).collect();
    let correlation_ids: Vec<Option<&str>> = records()
        .map(|record| record.correlation_id.as_deref())
        .collect();
    let occurred: Vec<DateTime<Utc>> = records().map(|record| record.occurred_at).collect();
    let recorded: Vec<DateTime<Utc>> = records().map(|record| record.recorded_at).collect();
    let data: Vec<&str> = records().map(|record| record.data.as_str()).collect();
    let seqs: Vec<i64> = links.iter().map(|link| link.seq).collect();
    let prev_hashes: Vec<&[u8]> = links.iter().map(|link| link.prev_hash.as_slice()).collect();
    let hashes: Vec<&[u8]> = links.iter().map(|link| link.hash.as_slice()).collect();
    sqlx::query(
        "INSERT INTO audit_events (event_id, user_id, task_id, event_type, origin,
             correlation_id, occurred_at, recorded_at, data, chain_seq, prev_hash, hash)
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
             $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::bigint[],
             $11::bytea[], $12::bytea[])",
    )
    .bind(event_ids)
    .bind(owners)
    .bind(task_ids)
    .bind(types)
    .bind(origins)
    .bind(correlation_ids)
    .bind(occurred)
    .bind(recorded)
    .bind(data)
    .bind(seqs)
    .bind(prev_hashes)
    .bind(hashes)
    .execute(connection)
    .await
    .store()?;
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

/// Appends an account change's audit rows in the change's transaction, then commits both.
pub(crate) async fn commit_audited(
    mut transaction: Transaction<'_, Postgres>,
    audit: &[AuditRecord],
) -> Result<(), StoreError> {
    append_audit(&mut transaction, audit).await?;
    transaction.commit().await.store()
}
