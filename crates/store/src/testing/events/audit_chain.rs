//! The audit trail's hash chain: every append links into its owner's chain, whichever store
//! or task appends concurrently; and (with SQL only a backend can write, through [`RawSql`])
//! an edit, a deletion or an insertion made in the database past the append-only protection
//! is found by [`crate::audit_chain::verify`], which names the first broken link.

use std::sync::Arc;

use async_trait::async_trait;
use tickler_domain::UserId;
use uuid::Uuid;

use crate::audit_chain::{self, BrokenLink, ChainSummary};
use crate::testing::backend::TestBackend;
use crate::testing::events::backbone::audit_record;
use crate::testing::fixtures::*;
use crate::{AuditRecord, ChangeSet, Store};

async fn append_one(store: &dyn Store, record: AuditRecord) {
    store
        .commit(ChangeSet {
            audit: vec![record],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}

async fn verified(store: &dyn Store, owner: UserId) -> ChainSummary {
    match audit_chain::verify(store, owner).await.unwrap() {
        Ok(summary) => summary,
        Err(broken) => panic!("the chain should hold: {broken}"),
    }
}

async fn broken(store: &dyn Store, owner: UserId) -> BrokenLink {
    match audit_chain::verify(store, owner).await.unwrap() {
        Ok(summary) => panic!("the chain should be broken: {summary:?}"),
        Err(broken) => broken,
    }
}

/// Rows appended one by one, several in one change set, and for two users at once link into
/// one chain per user: `chain_seq` 1, 2, ..., each `prev_hash` the previous `hash`.
pub async fn audit_rows_link_into_one_hash_chain_per_user(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    assert_eq!(store.audit_chain_head(ada.id).await.unwrap(), None);
    append_one(&*store, audit_record(ada.id, None, 1)).await;
    store
        .commit(ChangeSet {
            audit: vec![
                audit_record(grace.id, None, 2),
                audit_record(ada.id, None, 3),
                audit_record(ada.id, None, 4),
            ],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let rows = store.audit_chain(ada.id, 0, 100).await.unwrap();
    assert_eq!(
        rows.iter().map(|row| row.seq).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert_eq!(
        rows[0].prev_hash,
        audit_chain::genesis(ada.id, &[]).to_vec()
    );
    for pair in rows.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let head = store.audit_chain_head(ada.id).await.unwrap().unwrap();
    assert_eq!((head.seq, &head.hash), (3, &rows[2].hash));
    let summary = verified(&*store, ada.id).await;
    assert_eq!((summary.chained_rows, summary.unchained_rows), (3, 0));
    assert_eq!(summary.head, Some(audit_chain::hex(&rows[2].hash)));
    assert_eq!(verified(&*store, grace.id).await.chained_rows, 1);
    let mut owners = store.audit_owners().await.unwrap();
    owners.sort_by_key(|owner| *owner.as_uuid());
    let mut expected = vec![ada.id, grace.id];
    expected.sort_by_key(|owner| *owner.as_uuid());
    assert_eq!(owners, expected);
    // A duplicate event id is refused and takes no link.
    let again = rows[0].record.clone();
    assert!(
        store
            .commit(ChangeSet {
                audit: vec![again],
                ..ChangeSet::default()
            })
            .await
            .is_err()
    );
    assert_eq!(verified(&*store, ada.id).await.chained_rows, 3);
}

/// Many concurrent appends for one user, from two stores open on the same database (as two
/// processes would be), each take their own link: the chain verifies with every row in it.
pub async fn concurrent_appends_from_two_stores_keep_the_chain_intact(backend: &dyn TestBackend) {
    let first = backend.open().await;
    let second = backend.open().await;
    let user = register(&*first, "ada@example.org").await;
    let other = register(&*first, "grace@example.org").await;
    let appends: Vec<_> = (0..64_i64)
        .map(|index| {
            let store: Arc<dyn Store> = if index % 2 == 0 {
                Arc::clone(&first)
            } else {
                Arc::clone(&second)
            };
            let owner = if index % 8 == 7 { other.id } else { user.id };
            tokio::spawn(async move { append_one(&*store, audit_record(owner, None, index)).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap();
    }
    assert_eq!(verified(&*first, user.id).await.chained_rows, 56);
    assert_eq!(verified(&*second, other.id).await.chained_rows, 8);
    backend.close(second).await;
    backend.close(first).await;
}

/// Raw access to a backend's database, as an attacker with database access has it.
#[async_trait]
pub trait RawSql: Send + Sync {
    /// Removes the append-only protection of `audit_events` (drops or disables its triggers).
    async fn disable_append_only(&self);
    /// Runs one statement.
    async fn execute(&self, sql: &str);
    /// Returns the SQL literal of an id.
    fn id(&self, id: Uuid) -> String;
    /// Returns the SQL literal of a byte string.
    fn bytes(&self, bytes: &[u8]) -> String;
    /// Returns the SQL literal of an instant, in whole seconds since the epoch.
    fn instant(&self, seconds: i64) -> String;
}

async fn chained_user(store: &dyn Store, email: &str, rows: i64) -> (UserId, Vec<Uuid>) {
    let user = register(store, email).await;
    let mut ids = Vec::new();
    for seconds in 1..=rows {
        let record = audit_record(user.id, None, seconds);
        ids.push(*record.event_id.as_uuid());
        append_one(store, record).await;
    }
    (user.id, ids)
}

/// Edits, deletions, insertions and rewritten hashes made straight in the database are found,
/// each at the row where the chain first breaks, and other users' chains still verify. The
/// rows written before the chain existed are covered by its first link.
pub async fn tampering_with_the_audit_trail_in_the_database_is_found(
    store: &dyn Store,
    raw: &dyn RawSql,
) {
    // A row from before migration 0022 (no chain columns), then chained rows.
    let early = register(store, "early@example.org").await;
    let legacy = Uuid::now_v7();
    raw.execute(&format!(
        "INSERT INTO audit_events (event_id, user_id, task_id, event_type, origin, \
         correlation_id, occurred_at, recorded_at, data) VALUES ({}, {}, NULL, \
         'tickler.task.created', 'api', NULL, {}, {}, '{{}}')",
        raw.id(legacy),
        raw.id(*early.id.as_uuid()),
        raw.instant(1),
        raw.instant(2),
    ))
    .await;
    append_one(store, audit_record(early.id, None, 3)).await;
    append_one(store, audit_record(early.id, None, 4)).await;
    let summary = verified(store, early.id).await;
    assert_eq!((summary.unchained_rows, summary.chained_rows), (1, 2));

    let (edited, edited_ids) = chained_user(store, "edited@example.org", 5).await;
    let (deleted, deleted_ids) = chained_user(store, "deleted@example.org", 5).await;
    let (truncated, _) = chained_user(store, "truncated@example.org", 5).await;
    let (rehashed, rehashed_ids) = chained_user(store, "rehashed@example.org", 5).await;
    let (forged, _) = chained_user(store, "forged@example.org", 2).await;
    let (intact, _) = chained_user(store, "intact@example.org", 5).await;
    for user in [edited, deleted, truncated, rehashed, forged, intact] {
        verified(store, user).await;
    }

    raw.disable_append_only().await;
    // Rewriting what row 3 says.
    raw.execute(&format!(
        "UPDATE audit_events SET data = '{{\"title\":\"nothing to see\"}}' WHERE event_id = {}",
        raw.id(edited_ids[2])
    ))
    .await;
    let link = broken(store, edited).await;
    assert_eq!(
        (link.event_id.map(|id| *id.as_uuid()), link.seq),
        (Some(edited_ids[2]), 3),
        "{link}"
    );
    assert!(link.problem.contains("hash does not match"), "{link}");
    assert_ne!(link.expected, link.found);

    // Removing row 3 of 5: the chain skips from 2 to 4.
    raw.execute(&format!(
        "DELETE FROM audit_events WHERE event_id = {}",
        raw.id(deleted_ids[2])
    ))
    .await;
    let link = broken(store, deleted).await;
    assert_eq!(
        (link.event_id.map(|id| *id.as_uuid()), link.seq),
        (Some(deleted_ids[3]), 4),
        "{link}"
    );
    assert_eq!((link.expected.as_str(), link.found.as_str()), ("3", "4"));

    // Removing the last row: the head still names it.
    raw.execute(&format!(
        "DELETE FROM audit_events WHERE user_id = {} AND chain_seq = 5",
        raw.id(*truncated.as_uuid())
    ))
    .await;
    let link = broken(store, truncated).await;
    assert_eq!(
        (link.event_id, link.expected.as_str()),
        (None, "5"),
        "{link}"
    );

    // Rewriting row 2 with a recomputed hash: row 3 no longer follows it.
    let rows = store.audit_chain(rehashed, 1, 1).await.unwrap();
    let mut changed = rows[0].record.clone();
    changed.data = "{\"title\":\"rewritten\"}".to_owned();
    let hash = audit_chain::link_hash(2, &changed, &rows[0].prev_hash);
    raw.execute(&format!(
        "UPDATE audit_events SET data = '{}', hash = {} WHERE event_id = {}",
        changed.data,
        raw.bytes(&hash),
        raw.id(rehashed_ids[1])
    ))
    .await;
    let link = broken(store, rehashed).await;
    assert_eq!(
        (link.event_id.map(|id| *id.as_uuid()), link.seq),
        (Some(rehashed_ids[2]), 3),
        "{link}"
    );
    assert!(link.problem.contains("prev_hash"), "{link}");
    assert_eq!(link.expected, audit_chain::hex(&hash));

    // A row slipped in after the last one, beyond the head.
    let inserted = Uuid::now_v7();
    raw.execute(&format!(
        "INSERT INTO audit_events (event_id, user_id, task_id, event_type, origin, \
         correlation_id, occurred_at, recorded_at, data, chain_seq, prev_hash, hash) VALUES \
         ({}, {}, NULL, 'tickler.token.revoked', 'api', NULL, {}, {}, '{{}}', 3, {}, {})",
        raw.id(inserted),
        raw.id(*forged.as_uuid()),
        raw.instant(9),
        raw.instant(9),
        raw.bytes(&[0; 32]),
        raw.bytes(&[0; 32]),
    ))
    .await;
    let link = broken(store, forged).await;
    assert_eq!(
        link.event_id.map(|id| *id.as_uuid()),
        Some(inserted),
        "{link}"
    );

    // Changing a row from before the chain breaks its first link.
    raw.execute(&format!(
        "UPDATE audit_events SET event_type = 'tickler.task.deleted' WHERE event_id = {}",
        raw.id(legacy)
    ))
    .await;
    let link = broken(store, early.id).await;
    assert_eq!(link.seq, 1, "{link}");
    assert!(link.problem.contains("genesis"), "{link}");

    assert_eq!(verified(store, intact).await.chained_rows, 5);
}
