//! PostgreSQL-specific behaviour: migrations, the gap-safe outbox reads, the append-only audit
//! trail and its hash chain, and leases contended by several processes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, PgConnection};
use tickler_store::testing::{
    RawSql, append, audit_record, event, head_eventually, outbox_eventually, register,
};
use tickler_store::{AuditQuery, ChangeSet, LeaseRequest, OutboxPosition, Store, StoreError};
use tickler_store::{EventStore, TaskStore};
use tickler_store_postgres::testing::TestDatabase;
use tickler_store_postgres::{PostgresConfig, PostgresStore};

async fn database() -> Option<TestDatabase> {
    let base_url = TestDatabase::base_url_from_env()?;
    Some(TestDatabase::create(&base_url).await.unwrap())
}

async fn migrated_store(database: &TestDatabase) -> PostgresStore {
    let store = database.connect().await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Opens a connection of its own to the database and begins a transaction on it.
async fn open_transaction(database: &TestDatabase) -> PgConnection {
    let mut connection = PgConnection::connect(database.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut connection).await.unwrap();
    connection
}

/// Appends an outbox record from a connection of its own (inside its open transaction).
async fn insert_event(connection: &mut PgConnection, owner: uuid::Uuid, subject: &str) {
    sqlx::query(
        "INSERT INTO outbox (event_id, event_type, subject, user_id, occurred_at, payload)
         VALUES ($1, 'test', $2, $3, now(), '{}')",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(subject.to_owned())
    .bind(owner)
    .execute(connection)
    .await
    .unwrap();
}

#[tokio::test]
async fn an_unmigrated_database_is_not_ready_until_migrated() {
    let Some(database) = database().await else {
        return;
    };
    let store = database.connect().await.unwrap();
    assert!(matches!(
        store.check_ready().await,
        Err(StoreError::Unavailable(_))
    ));
    store.migrate().await.unwrap();
    store.check_ready().await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    database.drop_database().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_migrating_at_once_both_succeed() {
    let Some(database) = database().await else {
        return;
    };
    let config = PostgresConfig::new(database.url());
    let first = PostgresStore::connect(&config).await.unwrap();
    let second = PostgresStore::connect(&config).await.unwrap();
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    a.unwrap();
    b.unwrap();
    first.check_ready().await.unwrap();
    first.close().await;
    second.close().await;
}

/// A slow transaction takes its outbox sequence (and its transaction id) before a fast one,
/// but commits after it. A reader polling in between must not move past the slow one's
/// record: it sees nothing until both have committed, then both in (transaction, sequence)
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_transaction_committing_after_a_faster_one_is_not_skipped() {
    let Some(database) = database().await else {
        return;
    };
    let store = migrated_store(&database).await;
    let user = register(&store, "ada@example.org").await;

    // The slow writer: its transaction id and outbox sequence come first.
    let mut slow = open_transaction(&database).await;
    insert_event(&mut slow, *user.id.as_uuid(), "slow").await;

    // The fast writer commits meanwhile.
    store
        .commit(ChangeSet {
            events: vec![event(user.id, "fast", "fast")],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let early = store
        .outbox_after(OutboxPosition::default(), 10)
        .await
        .unwrap();
    assert!(
        early.is_empty(),
        "read past a running transaction: {:?}",
        early.iter().map(|r| &r.message.subject).collect::<Vec<_>>()
    );
    // The fast record has committed: a reader knows to look again soon.
    assert!(
        store
            .outbox_held_back(OutboxPosition::default())
            .await
            .unwrap()
    );

    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    let records =
        tickler_store::testing::outbox_eventually(&store, OutboxPosition::default(), 2).await;
    let subjects: Vec<&str> = records.iter().map(|r| r.message.subject.as_str()).collect();
    assert_eq!(subjects, ["slow", "fast"]);
    assert!(records[0].position < records[1].position);
    assert!(!store.outbox_held_back(records[1].position).await.unwrap());
    slow.close().await.unwrap();
    store.close().await;
}

/// Same race, but the slow transaction takes its id first and its sequence last: ordering by
/// sequence alone would put it after the fast one, which a reader may already have passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_with_a_higher_sequence_from_an_older_transaction_is_not_skipped() {
    let Some(database) = database().await else {
        return;
    };
    let store = migrated_store(&database).await;
    let user = register(&store, "ada@example.org").await;

    let mut slow = open_transaction(&database).await;
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut slow)
        .await
        .unwrap();
    store
        .commit(ChangeSet {
            events: vec![event(user.id, "fast", "fast")],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert!(
        store
            .outbox_after(OutboxPosition::default(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    insert_event(&mut slow, *user.id.as_uuid(), "slow").await;
    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();

    let records =
        tickler_store::testing::outbox_eventually(&store, OutboxPosition::default(), 2).await;
    let subjects: Vec<&str> = records.iter().map(|r| r.message.subject.as_str()).collect();
    assert_eq!(subjects, ["slow", "fast"]);
    assert!(records[0].message.subject == "slow" && records[0].position < records[1].position);
    slow.close().await.unwrap();
    store.close().await;
}

/// The head of the log stops before a running transaction just as `outbox_after` does, while
/// the relay's read shows whatever has committed (never a row of a running transaction) and
/// picks up the slow transaction's record once it commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_head_stops_before_a_running_transaction() {
    let Some(database) = database().await else {
        return;
    };
    let store = migrated_store(&database).await;
    let user = register(&store, "ada@example.org").await;
    append(&store, vec![event(user.id, "first", "first")]).await;
    let first = outbox_eventually(&store, OutboxPosition::default(), 1).await;
    head_eventually(&store, first[0].position).await;

    let mut slow = open_transaction(&database).await;
    insert_event(&mut slow, *user.id.as_uuid(), "slow").await;
    append(&store, vec![event(user.id, "fast", "fast")]).await;
    assert_eq!(store.outbox_head().await.unwrap(), first[0].position);
    let subjects = |records: Vec<tickler_store::OutboxRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.message.subject).collect()
    };
    assert_eq!(
        subjects(store.outbox_unpublished(10).await.unwrap()),
        ["first", "fast"]
    );

    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    let all = outbox_eventually(&store, OutboxPosition::default(), 3).await;
    assert_eq!(subjects(all.clone()), ["first", "slow", "fast"]);
    head_eventually(&store, all[2].position).await;
    // In sequence order: the slow transaction took its sequence before the fast one.
    assert_eq!(
        subjects(store.outbox_unpublished(10).await.unwrap()),
        ["first", "slow", "fast"]
    );
    slow.close().await.unwrap();
    store.close().await;
}

/// The database refuses to change or remove audit records, whoever asks.
#[tokio::test]
async fn the_audit_trail_refuses_updates_deletes_and_truncation() {
    let Some(database) = database().await else {
        return;
    };
    let store = migrated_store(&database).await;
    let user = register(&store, "ada@example.org").await;
    let record = audit_record(user.id, None, 5);
    store
        .commit(ChangeSet {
            audit: vec![record.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let mut connection = PgConnection::connect(database.url()).await.unwrap();
    for sql in [
        "UPDATE audit_events SET data = '{}'",
        "UPDATE audit_events SET data = '{}' WHERE false",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE occurred_at > now()",
        "TRUNCATE audit_events",
    ] {
        let error = sqlx::query(sql).execute(&mut connection).await.unwrap_err();
        assert!(error.to_string().contains("append-only"), "{sql}: {error}");
    }
    connection.close().await.unwrap();
    let query = AuditQuery {
        limit: 10,
        ..AuditQuery::default()
    };
    assert_eq!(store.list_audit(user.id, &query).await.unwrap(), [record]);
    store.close().await;
}

/// Relays of several processes race for the lease, free or just expired: exactly one of them
/// gets it each time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_relays_let_exactly_one_hold_the_lease() {
    let Some(database) = database().await else {
        return;
    };
    let processes = [
        Arc::new(migrated_store(&database).await),
        Arc::new(migrated_store(&database).await),
    ];
    let contenders = 8;
    for round in 0..20 {
        let name = format!("outbox-relay-{round}");
        if round % 2 == 1 {
            // Held by a relay that stopped renewing it: expired the moment it was taken.
            let expired = LeaseRequest {
                name: name.clone(),
                holder: "stopped".into(),
                ttl: Duration::ZERO,
            };
            assert!(processes[0].acquire_lease(&expired).await.unwrap());
        }
        let start = Arc::new(tokio::sync::Barrier::new(contenders));
        let racers: Vec<_> = (0..contenders)
            .map(|n| {
                let store = Arc::clone(&processes[n % 2]);
                let start = Arc::clone(&start);
                let request = LeaseRequest {
                    name: name.clone(),
                    holder: format!("relay-{n}"),
                    ttl: Duration::from_secs(60),
                };
                tokio::spawn(async move {
                    start.wait().await;
                    (n, store.acquire_lease(&request).await.unwrap())
                })
            })
            .collect();
        let mut winners = Vec::new();
        for racer in racers {
            let (n, granted) = racer.await.unwrap();
            if granted {
                winners.push(n);
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        let winner = LeaseRequest {
            name: name.clone(),
            holder: format!("relay-{}", winners[0]),
            ttl: Duration::from_secs(60),
        };
        assert!(processes[1].acquire_lease(&winner).await.unwrap());
    }
    for store in processes {
        store.close().await;
    }
}

/// The database as an attacker with its owner's credentials sees it.
struct RawDatabase(String);

#[async_trait::async_trait]
impl RawSql for RawDatabase {
    async fn disable_append_only(&self) {
        self.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            .await;
    }

    async fn execute(&self, sql: &str) {
        let mut connection = PgConnection::connect(&self.0).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    }

    fn id(&self, id: uuid::Uuid) -> String {
        format!("'{id}'::uuid")
    }

    fn bytes(&self, bytes: &[u8]) -> String {
        format!("'\\x{}'::bytea", tickler_store::audit_chain::hex(bytes))
    }

    fn instant(&self, seconds: i64) -> String {
        format!("to_timestamp({seconds})")
    }
}

/// Edits, deletions and insertions made past the append-only trigger break the hash chain
/// where they were made.
#[tokio::test]
async fn tampering_with_the_audit_trail_in_the_database_is_found() {
    let Some(database) = database().await else {
        return;
    };
    let store = migrated_store(&database).await;
    let raw = RawDatabase(database.url().to_owned());
    tickler_store::testing::tampering_with_the_audit_trail_in_the_database_is_found(&store, &raw)
        .await;
    store.close().await;
}
