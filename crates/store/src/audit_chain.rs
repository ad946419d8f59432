//! The hash chain over each user's audit trail, so that an edit, insertion or deletion made
//! straight in the database (past the append-only trigger) is found by `tickler audit verify`.
//!
//! Every row appended since migration 0022 carries its place in the owner's chain
//! (`chain_seq`, 1, 2, ...), the hash of the row before it (`prev_hash`) and its own `hash`:
//! SHA-256 over the canonical encoding [`CHAIN_VERSION`] of its fields and `prev_hash`. A
//! per-user chain head (the last `chain_seq` and `hash`) is updated in the transaction of every
//! append; the backends serialize appends on it (a row lock on PostgreSQL, the single writer
//! on SQLite), so rows join a chain one at a time whichever process writes them.
//!
//! Rows recorded before the chain existed (`chain_seq` NULL) are not rewritten: the first
//! chained row's `prev_hash` is the [`genesis`] digest of those rows (and of the owner id), so
//! changing one of them later breaks the chain at its first row as well.
//!
//! The chain is evidence, not a lock: someone who can write the database can recompute every
//! later hash and the head. Keeping the heads `tickler audit verify` prints somewhere else
//! (a log, a ticket) is what exposes such a rewrite.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tickler_domain::{EventId, UserId};

use crate::error::StoreError;
use crate::events::{AuditRecord, ChainedAuditRecord, EventStore};

/// Names the canonical encoding; part of every hashed message, so that a later encoding
/// cannot be confused with this one.
pub const CHAIN_VERSION: &str = "tickler-audit-chain-v1";

/// A SHA-256 digest.
pub type ChainHash = [u8; 32];

/// Returns `record` with its instants cut to whole microseconds, as both stores keep them:
/// the hash is computed over what a later read returns.
pub fn stored_form(record: &AuditRecord) -> AuditRecord {
    AuditRecord {
        occurred_at: whole_micros(record.occurred_at),
        recorded_at: whole_micros(record.recorded_at),
        ..record.clone()
    }
}

fn whole_micros(instant: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(instant.timestamp_micros()).unwrap_or(instant)
}

/// Returns the digest a user's chain starts from: over the owner id and the rows recorded
/// before the chain existed, in the order things happened (`occurred_at`, then event id).
pub fn genesis(owner: UserId, unchained: &[AuditRecord]) -> ChainHash {
    let mut rows: Vec<&AuditRecord> = unchained.iter().collect();
    rows.sort_by_key(|record| (record.occurred_at, *record.event_id.as_uuid()));
    let mut message = Encoder::new("genesis");
    message.bytes(owner.as_uuid().as_bytes());
    message.number(rows.len() as i64);
    for record in rows {
        message.record(record);
    }
    message.finish()
}

/// Returns the hash of the row at `seq` of its owner's chain, following `prev_hash`.
pub fn link_hash(seq: i64, record: &AuditRecord, prev_hash: &[u8]) -> ChainHash {
    let mut message = Encoder::new("row");
    message.bytes(record.owner.as_uuid().as_bytes());
    message.number(seq);
    message.record(record);
    message.bytes(prev_hash);
    message.finish()
}

/// The canonical encoding: a domain tag, then every field length-prefixed (big-endian u64),
/// optional fields behind a presence byte, instants as microseconds since the Unix epoch.
struct Encoder(Sha256);

impl Encoder {
    fn new(kind: &str) -> Self {
        let mut encoder = Self(Sha256::new());
        encoder.bytes(CHAIN_VERSION.as_bytes());
        encoder.bytes(kind.as_bytes());
        encoder
    }

    fn bytes(&mut self, value: &[u8]) {
        self.0.update((value.len() as u64).to_be_bytes());
        self.0.update(value);
    }

    fn number(&mut self, value: i64) {
        self.0.update(value.to_be_bytes());
    }

    fn optional(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.0.update([0]),
            Some(value) => {
                self.0.update([1]);
                self.bytes(value);
            }
        }
    }

    fn record(&mut self, record: &AuditRecord) {
        self.bytes(record.event_id.as_uuid().as_bytes());
        self.bytes(record.owner.as_uuid().as_bytes());
        self.optional(
            record
                .task_id
                .as_ref()
                .map(|id| id.as_uuid().as_bytes().as_slice()),
        );
        self.bytes(record.event_type.as_bytes());
        self.optional(record.origin.as_deref().map(str::as_bytes));
        self.optional(record.correlation_id.as_deref().map(str::as_bytes));
        self.number(record.occurred_at.timestamp_micros());
        self.number(record.recorded_at.timestamp_micros());
        self.bytes(record.data.as_bytes());
    }

    fn finish(self) -> ChainHash {
        self.0.finalize().into()
    }
}

/// The first place where a user's chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// Whose chain.
    pub owner: UserId,
    /// The row where it breaks (`None` when the break is at the chain head).
    pub event_id: Option<EventId>,
    /// That row's `chain_seq` (the head's for a break at the head).
    pub seq: i64,
    /// What does not hold.
    pub problem: String,
    /// What the chain requires there.
    pub expected: String,
    /// What the database holds.
    pub found: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "user {}: ", self.owner)?;
        match self.event_id {
            Some(id) => write!(formatter, "row {id} (chain_seq {})", self.seq)?,
            None => write!(formatter, "chain head (chain_seq {})", self.seq)?,
        }
        write!(
            formatter,
            ": {}; expected {}, found {}",
            self.problem, self.expected, self.found
        )
    }
}

/// What a verified chain holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Whose chain.
    pub owner: UserId,
    /// Rows recorded before the chain existed, covered by the genesis digest.
    pub unchained_rows: u64,
    /// Rows in the chain.
    pub chained_rows: u64,
    /// The hash of the last link (hex), to keep elsewhere; `None` for a user whose trail
    /// has no chain yet.
    pub head: Option<String>,
}

/// Checks a chain row by row, in `chain_seq` order.
#[derive(Debug)]
struct Walk {
    owner: UserId,
    last_seq: i64,
    last_hash: Vec<u8>,
    first_row: bool,
}

impl Walk {
    fn check(&mut self, row: &ChainedAuditRecord) -> Result<(), BrokenLink> {
        let broken = |problem: &str, expected: String, found: String| BrokenLink {
            owner: self.owner,
            event_id: Some(row.record.event_id),
            seq: row.seq,
            problem: problem.to_owned(),
            expected,
            found,
        };
        if row.record.owner != self.owner {
            return Err(broken(
                "the row belongs to another user",
                self.owner.to_string(),
                row.record.owner.to_string(),
            ));
        }
        if row.seq != self.last_seq + 1 {
            return Err(broken(
                "chain_seq skips: the rows between were deleted",
                (self.last_seq + 1).to_string(),
                row.seq.to_string(),
            ));
        }
        if row.prev_hash != self.last_hash {
            let problem = if self.first_row {
                "prev_hash is not the genesis digest: a row recorded before the chain was changed"
            } else {
                "prev_hash is not the previous row's hash: the previous row was changed or removed"
            };
            return Err(broken(problem, hex(&self.last_hash), hex(&row.prev_hash)));
        }
        let recomputed = link_hash(row.seq, &row.record, &row.prev_hash);
        if row.hash != recomputed {
            return Err(broken(
                "hash does not match the row's contents: the row was changed",
                hex(&recomputed),
                hex(&row.hash),
            ));
        }
        self.last_seq = row.seq;
        self.last_hash.clone_from(&row.hash);
        self.first_row = false;
        Ok(())
    }

    fn broken_head(&self, problem: &str, expected: String, found: String) -> BrokenLink {
        BrokenLink {
            owner: self.owner,
            event_id: None,
            seq: self.last_seq,
            problem: problem.to_owned(),
            expected,
            found,
        }
    }
}

/// Rows read per page while verifying.
const VERIFY_PAGE: u32 = 500;

/// Verifies one user's chain as stored: the genesis digest over the unchained rows, every
/// link in `chain_seq` order, and the head. Rows appended while it runs are verified too.
/// `Ok(Err(_))` names the first broken link.
pub async fn verify(
    store: &dyn EventStore,
    owner: UserId,
) -> Result<Result<ChainSummary, BrokenLink>, StoreError> {
    let unchained = store.audit_unchained(owner).await?;
    let mut walk = Walk {
        owner,
        last_seq: 0,
        last_hash: genesis(owner, &unchained).to_vec(),
        first_row: true,
    };
    let summary = |walk: &Walk, head: bool| ChainSummary {
        owner,
        unchained_rows: unchained.len() as u64,
        chained_rows: walk.last_seq.max(0) as u64,
        head: head.then(|| hex(&walk.last_hash)),
    };
    let mut head = store.audit_chain_head(owner).await?;
    loop {
        let page = store.audit_chain(owner, walk.last_seq, VERIFY_PAGE).await?;
        if page.is_empty() {
            // A row and the head move in one transaction: a head further on means rows
            // committed since the last page, or rows deleted from the end.
            head = store.audit_chain_head(owner).await?;
            let Some(head) = &head else {
                return Ok(if walk.first_row {
                    Ok(summary(&walk, false))
                } else {
                    Err(walk.broken_head(
                        "the chain has rows but no head",
                        format!("a head at chain_seq {}", walk.last_seq),
                        "none".to_owned(),
                    ))
                });
            };
            if head.seq > walk.last_seq
                && !store.audit_chain(owner, walk.last_seq, 1).await?.is_empty()
            {
                continue;
            }
            if head.seq != walk.last_seq {
                return Ok(Err(walk.broken_head(
                    "the head is not at the last row: rows were deleted from the end, or the head was changed",
                    head.seq.to_string(),
                    walk.last_seq.to_string(),
                )));
            }
            if head.hash != walk.last_hash {
                return Ok(Err(walk.broken_head(
                    "the head's hash is not the last row's hash",
                    hex(&walk.last_hash),
                    hex(&head.hash),
                )));
            }
            return Ok(Ok(summary(&walk, true)));
        }
        for row in &page {
            if head.as_ref().is_none_or(|head| row.seq > head.seq) {
                head = store.audit_chain_head(owner).await?;
                let known = head.as_ref().map_or(0, |head| head.seq);
                if row.seq > known {
                    return Ok(Err(BrokenLink {
                        owner,
                        event_id: Some(row.record.event_id),
                        seq: row.seq,
                        problem: "the row lies beyond the chain head: it was inserted".to_owned(),
                        expected: format!("chain_seq at most {known}"),
                        found: row.seq.to_string(),
                    }));
                }
            }
            if let Err(broken) = walk.check(row) {
                return Ok(Err(broken));
            }
        }
    }
}

/// Returns lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seconds: i64) -> AuditRecord {
        AuditRecord {
            event_id: EventId::from_uuid(uuid::Uuid::from_u128(seconds as u128)),
            owner: UserId::from_uuid(uuid::Uuid::from_u128(7)),
            task_id: None,
            event_type: "tickler.token.created".into(),
            origin: Some("api".into()),
            correlation_id: None,
            occurred_at: DateTime::from_timestamp(seconds, 0).unwrap_or_default(),
            recorded_at: DateTime::from_timestamp(seconds, 0).unwrap_or_default(),
            data: "{}".into(),
        }
    }

    #[test]
    fn every_field_and_the_previous_hash_change_the_link_hash() {
        let base = record(1);
        let hash = link_hash(1, &base, &[0; 32]);
        assert_eq!(hash, link_hash(1, &base.clone(), &[0; 32]));
        let changed = [
            link_hash(2, &base, &[0; 32]),
            link_hash(1, &base, &[1; 32]),
            link_hash(
                1,
                &AuditRecord {
                    data: "{ }".into(),
                    ..base.clone()
                },
                &[0; 32],
            ),
            link_hash(
                1,
                &AuditRecord {
                    origin: None,
                    ..base.clone()
                },
                &[0; 32],
            ),
            link_hash(
                1,
                &AuditRecord {
                    correlation_id: Some(String::new()),
                    ..base.clone()
                },
                &[0; 32],
            ),
            link_hash(1, &record(2), &[0; 32]),
        ];
        for other in changed {
            assert_ne!(hash, other);
        }
    }

    #[test]
    fn the_genesis_digest_covers_the_owner_and_every_unchained_row_in_order() {
        let owner = record(1).owner;
        let rows = [record(1), record(2)];
        let reversed = [record(2), record(1)];
        assert_eq!(genesis(owner, &rows), genesis(owner, &reversed));
        assert_ne!(genesis(owner, &rows), genesis(owner, &rows[..1]));
        assert_ne!(
            genesis(owner, &[]),
            genesis(UserId::from_uuid(uuid::Uuid::from_u128(8)), &[])
        );
    }
}
