//! SQLite-specific behaviour of the event backbone: the audit trail refuses changes in the
//! database itself, its hash chain finds those made past that protection, and the relay's
//! bulk writes stay cheap for the one writer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

use tickler_store::testing::{
    RawSql, append, audit_record, event, instant, register,
    tampering_with_the_audit_trail_in_the_database_is_found,
};
use tickler_store::{ChangeSet, OutboxMessage};
use tickler_store::{EventStore, TaskStore};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};

async fn migrated_store(directory: &tempfile::TempDir) -> SqliteStore {
    let store = SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn the_audit_trail_refuses_updates_and_deletes() {
    let directory = tempfile::tempdir().unwrap();
    let store = migrated_store(&directory).await;
    let user = register(&store, "ada@example.org").await;
    let record = audit_record(user.id, None, 5);
    store
        .commit(ChangeSet {
            audit: vec![record.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();

    let connection = rusqlite::Connection::open(directory.path().join("tickler.db")).unwrap();
    for sql in [
        "UPDATE audit_events SET data = '{}'",
        "UPDATE audit_events SET user_id = x'00' WHERE event_id = event_id",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE occurred_at > 0",
    ] {
        let error = connection.execute(sql, []).unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    drop(connection);
    let trail = store
        .list_audit(
            user.id,
            &tickler_store::AuditQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(trail, [record]);
    store.close().await;
}

#[tokio::test]
async fn marking_a_thousand_records_published_is_one_writer_command() {
    let directory = tempfile::tempdir().unwrap();
    let store = migrated_store(&directory).await;
    let user = register(&store, "ada@example.org").await;
    let bulk = (0..1_000)
        .map(|n| event(user.id, &format!("bulk-{n}"), "tickler.task.created"))
        .collect();
    append(&store, bulk).await;
    let sequences: Vec<i64> = store
        .outbox_unpublished(1_000)
        .await
        .unwrap()
        .iter()
        .map(|record| record.position.sequence)
        .collect();
    let before = store.writer_stats();
    store.mark_published(&sequences, instant(9)).await.unwrap();
    let after = store.writer_stats();
    assert_eq!(after.commands - before.commands, 1);
    assert_eq!(after.transactions - before.transactions, 1);
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    store.close().await;
}

#[tokio::test]
async fn a_large_purge_deletes_in_steps_that_skip_kept_records() {
    let directory = tempfile::tempdir().unwrap();
    let store = migrated_store(&directory).await;
    let user = register(&store, "ada@example.org").await;
    let events: Vec<OutboxMessage> = (0..2_500)
        .map(|n| OutboxMessage {
            occurred_at: instant(n),
            ..event(user.id, &format!("old-{n}"), "tickler.task.created")
        })
        .collect();
    append(&store, events).await;
    let records = store.outbox_unpublished(2_500).await.unwrap();
    // Every other record published.
    let published: Vec<i64> = records
        .iter()
        .step_by(2)
        .map(|record| record.position.sequence)
        .collect();
    store
        .mark_published(&published, instant(3_000))
        .await
        .unwrap();

    let before = store.writer_stats();
    assert_eq!(
        store.purge_outbox(instant(2_000), true).await.unwrap(),
        1_000
    );
    let after = store.writer_stats();
    // 2,000 records examined, 1,000 at a time, plus the step that finds none left.
    assert_eq!(after.commands - before.commands, 3);
    assert_eq!(store.outbox_backlog().await.unwrap(), 1_250);

    assert_eq!(
        store.purge_outbox(instant(5_000), false).await.unwrap(),
        1_500
    );
    assert!(store.outbox_unpublished(10).await.unwrap().is_empty());
    store.close().await;
}

/// The database file as an attacker with access to it sees it.
struct RawFile(std::path::PathBuf);

#[async_trait::async_trait]
impl RawSql for RawFile {
    async fn disable_append_only(&self) {
        self.execute("DROP TRIGGER audit_events_before_update")
            .await;
        self.execute("DROP TRIGGER audit_events_before_delete")
            .await;
    }

    async fn execute(&self, sql: &str) {
        let connection = rusqlite::Connection::open(&self.0).unwrap();
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        connection.execute(sql, []).unwrap();
    }

    fn id(&self, id: uuid::Uuid) -> String {
        format!("x'{}'", id.simple())
    }

    fn bytes(&self, bytes: &[u8]) -> String {
        format!("x'{}'", tickler_store::audit_chain::hex(bytes))
    }

    fn instant(&self, seconds: i64) -> String {
        (seconds * 1_000_000).to_string()
    }
}

#[tokio::test]
async fn tampering_with_the_audit_trail_in_the_file_is_found() {
    let directory = tempfile::tempdir().unwrap();
    let store = migrated_store(&directory).await;
    let raw = RawFile(directory.path().join("tickler.db"));
    tampering_with_the_audit_trail_in_the_database_is_found(&store, &raw).await;
    store.close().await;
}
