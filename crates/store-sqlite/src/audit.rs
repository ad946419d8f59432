//! The audit trail: appending records as links of their owner's hash chain (inside a change
//! set's or an account change's writer command), listing a user's trail, and the reads the
//! chain's verification walks (heads, unchained rows, chained pages, owners).

use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::{EventId, TaskId, UserId};
use tickler_store::audit_chain;
use tickler_store::{AuditChainHead, AuditQuery, AuditRecord, ChainedAuditRecord, StoreError};
use uuid::Uuid;

use crate::codec::{self, micros};
use crate::error::ResultExt;
use crate::list::Statement;
use crate::store::SqliteStore;

impl SqliteStore {
    /// Runs an account change as one writer command that also appends the audit rows `audit`
    /// builds from its outcome: a failure of either undoes both.
    pub(crate) async fn write_audited<T, F, A>(&self, change: F, audit: A) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        A: FnOnce(&T) -> Vec<AuditRecord> + Send + 'static,
    {
        self.writer
            .write(move |connection| {
                let outcome = change(connection)?;
                append_audits(connection, &audit(&outcome))?;
                Ok(outcome)
            })
            .await
    }
}

/// Appends records to the audit trail in order, each through [`append_audit`]: the rows of a
/// change set, or of an account change in that change's command.
pub(crate) fn append_audits(
    connection: &Connection,
    records: &[AuditRecord],
) -> Result<(), StoreError> {
    records
        .iter()
        .try_for_each(|record| append_audit(connection, record))
}

/// Appends a record to the audit trail, as the next link of its owner's hash chain;
/// [`Conflict::AlreadyExists`] for an event id in it. Runs in the writer's transaction, which
/// holds the database's write lock: no other append, from this process or another, can read
/// the same chain head before this one commits.
fn append_audit(connection: &Connection, record: &AuditRecord) -> Result<(), StoreError> {
    let record = audit_chain::stored_form(record);
    let (last_seq, last_hash) = match chain_head(connection, record.owner)? {
        Some(head) => (head.seq, head.hash),
        None => {
            let unchained = unchained_audit(connection, record.owner)?;
            (0, audit_chain::genesis(record.owner, &unchained).to_vec())
        }
    };
    let seq = last_seq + 1;
    let hash = audit_chain::link_hash(seq, &record, &last_hash);
    connection
        .prepare_cached(
            "INSERT INTO audit_events (event_id, user_id, task_id, event_type, origin,
                 correlation_id, occurred_at, recorded_at, data, chain_seq, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .store()?
        .execute(params![
            record.event_id.as_uuid(),
            record.owner.as_uuid(),
            record.task_id.map(|id| *id.as_uuid()),
            record.event_type,
            record.origin,
            record.correlation_id,
            micros(record.occurred_at),
            micros(record.recorded_at),
            record.data,
            seq,
            last_hash,
            hash.as_slice(),
        ])
        .store()?;
    connection
        .prepare_cached(
            "INSERT INTO audit_chain_heads (user_id, chain_seq, hash) VALUES (?1, ?2, ?3)
             ON CONFLICT (user_id) DO UPDATE SET chain_seq = excluded.chain_seq,
                 hash = excluded.hash",
        )
        .store()?
        .execute(params![record.owner.as_uuid(), seq, hash.as_slice()])
        .store()?;
    Ok(())
}

/// Reads a user's chain head.
pub(crate) fn chain_head(
    connection: &Connection,
    owner: UserId,
) -> Result<Option<AuditChainHead>, StoreError> {
    connection
        .prepare_cached("SELECT chain_seq, hash FROM audit_chain_heads WHERE user_id = ?1")
        .store()?
        .query_row(params![owner.as_uuid()], |row| {
            Ok(AuditChainHead {
                owner,
                seq: row.get(0)?,
                hash: row.get(1)?,
            })
        })
        .optional()
        .store()
}

const AUDIT_COLUMNS: &str = "event_id, user_id, task_id, event_type, origin, correlation_id,
    occurred_at, recorded_at, data";

fn audit_record(row: &Row<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        event_id: EventId::from_uuid(codec::value(row, 0)?),
        owner: UserId::from_uuid(codec::value(row, 1)?),
        task_id: codec::value::<Option<Uuid>>(row, 2)?.map(TaskId::from_uuid),
        event_type: codec::value(row, 3)?,
        origin: codec::value(row, 4)?,
        correlation_id: codec::value(row, 5)?,
        occurred_at: codec::instant_column(row, 6)?,
        recorded_at: codec::instant_column(row, 7)?,
        data: codec::value(row, 8)?,
    })
}

/// Reads a user's audit rows recorded before the chain existed.
pub(crate) fn unchained_audit(
    connection: &Connection,
    owner: UserId,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events
             WHERE user_id = ?1 AND chain_seq IS NULL ORDER BY occurred_at, event_id"
        ))
        .store()?;
    let mut rows = statement.query(params![owner.as_uuid()]).store()?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().store()? {
        records.push(audit_record(row)?);
    }
    Ok(records)
}

/// Reads a page of a user's chained audit rows after `after`, in chain order.
pub(crate) fn audit_chain_page(
    connection: &Connection,
    owner: UserId,
    after: i64,
    limit: u32,
) -> Result<Vec<ChainedAuditRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS}, chain_seq, prev_hash, hash FROM audit_events
             WHERE user_id = ?1 AND chain_seq > ?2 ORDER BY chain_seq LIMIT ?3"
        ))
        .store()?;
    let mut rows = statement
        .query(params![owner.as_uuid(), after, i64::from(limit)])
        .store()?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().store()? {
        records.push(ChainedAuditRecord {
            record: audit_record(row)?,
            seq: codec::value(row, 9)?,
            prev_hash: codec::value::<Option<Vec<u8>>>(row, 10)?.unwrap_or_default(),
            hash: codec::value::<Option<Vec<u8>>>(row, 11)?.unwrap_or_default(),
        });
    }
    Ok(records)
}

/// Lists the users with an audit trail or a chain head.
pub(crate) fn audit_owners(connection: &Connection) -> Result<Vec<UserId>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT user_id FROM audit_chain_heads
             UNION SELECT DISTINCT user_id FROM audit_events ORDER BY 1",
        )
        .store()?;
    let mut rows = statement.query([]).store()?;
    let mut owners = Vec::new();
    while let Some(row) = rows.next().store()? {
        owners.push(UserId::from_uuid(codec::value(row, 0)?));
    }
    Ok(owners)
}

/// Reads one page of a user's audit trail, by `(occurred_at, event_id)`.
pub(crate) fn list_audit(
    connection: &Connection,
    owner: UserId,
    query: &AuditQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(owner.as_uuid().as_bytes().to_vec());
    statement.push(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE user_id = {owner_parameter}"
    ));
    if let Some(task_id) = query.task_id {
        let task = statement.bind(task_id.as_uuid().as_bytes().to_vec());
        statement.push(&format!(" AND task_id = {task}"));
    }
    if let Some(since) = query.since {
        let since = statement.bind(micros(since));
        statement.push(&format!(" AND occurred_at >= {since}"));
    }
    if let Some((occurred_at, event_id)) = query.after {
        let occurred_at = statement.bind(micros(occurred_at));
        let event_id = statement.bind(event_id.as_uuid().as_bytes().to_vec());
        statement.push(&format!(
            " AND (occurred_at, event_id) > ({occurred_at}, {event_id})"
        ));
    }
    let limit = statement.bind(i64::from(query.page_size()));
    statement.push(&format!(" ORDER BY occurred_at, event_id LIMIT {limit}"));

    let mut prepared = connection.prepare_cached(&statement.sql).store()?;
    let mut rows = prepared
        .query(rusqlite::params_from_iter(statement.parameters.iter()))
        .store()?;
    let mut records = Vec::new();
    while let Some(row) = rows.next().store()? {
        records.push(audit_record(row)?);
    }
    Ok(records)
}
