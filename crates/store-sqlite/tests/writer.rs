//! SQLite-specific behaviour: migrations, group commit and closing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

use std::sync::Arc;

use tickler_store::testing::{event, insert, new_task, register};
use tickler_store::{ChangeSet, Conflict, Store, StoreError, TaskWrite};
use tickler_store::{EventStore, TaskStore};
use tickler_store_sqlite::{SqliteConfig, SqliteStore, Synchronous};

/// The versions of the migration files this crate ships, in order: every one must be applied.
fn shipped_migrations() -> Vec<i64> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut versions: Vec<i64> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.split('_').next().unwrap().parse().unwrap()
        })
        .collect();
    versions.sort_unstable();
    assert!(versions.len() >= 7, "{versions:?}");
    versions
}

async fn open(directory: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unmigrated_database_is_not_ready_until_migrated() {
    let directory = tempfile::tempdir().unwrap();
    let store = open(&directory).await;
    assert!(matches!(
        store.check_ready().await,
        Err(StoreError::Unavailable(_))
    ));
    assert_eq!(store.migrate().await.unwrap(), shipped_migrations());
    store.check_ready().await.unwrap();
    assert!(store.migrate().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_migrating_the_same_file_at_once_apply_each_migration_once() {
    let directory = tempfile::tempdir().unwrap();
    let first = open(&directory).await;
    let second = open(&directory).await;
    let (a, b) = tokio::join!(first.migrate(), second.migrate());
    let mut applied = [a.unwrap(), b.unwrap()].concat();
    applied.sort();
    assert_eq!(applied, shipped_migrations());
    first.check_ready().await.unwrap();
    second.check_ready().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_share_transactions() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&directory).await);
    store.migrate().await.unwrap();
    let user = register(&*store, "ada@example.org").await;
    let before = store.writer_stats();
    let commits: Vec<_> = (0..400)
        .map(|n| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                insert(&*store, &[new_task(user.id, &format!("task {n}"))]).await;
            })
        })
        .collect();
    for commit in commits {
        commit.await.unwrap();
    }
    let after = store.writer_stats();
    let commands = after.commands - before.commands;
    let transactions = after.transactions - before.transactions;
    assert_eq!(commands, 400);
    assert!(
        transactions < commands / 4,
        "{transactions} transactions for {commands} commands"
    );
    assert!(after.largest_batch > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_in_a_batch_does_not_fail_its_neighbours() {
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(open(&directory).await);
    store.migrate().await.unwrap();
    let user = register(&*store, "ada@example.org").await;
    let existing = new_task(user.id, "existing");
    insert(&*store, std::slice::from_ref(&existing)).await;

    let before = store.writer_stats();
    // Every third commit re-inserts the existing task (a conflict) after writing a task and an
    // event of its own, which must be rolled back without touching the others.
    let commits: Vec<_> = (0..300)
        .map(|n| {
            let store = Arc::clone(&store);
            let existing = existing.clone();
            tokio::spawn(async move {
                let task = new_task(user.id, &format!("task {n}"));
                let mut writes = vec![TaskWrite::Insert(task.clone())];
                if n % 3 == 0 {
                    writes.push(TaskWrite::Insert(existing));
                }
                let result = store
                    .commit(ChangeSet {
                        tasks: writes,
                        events: vec![event(user.id, &task.id.to_string(), "created")],
                        ..ChangeSet::default()
                    })
                    .await;
                (n, task, result)
            })
        })
        .collect();
    for commit in commits {
        let (n, task, result) = commit.await.unwrap();
        if n % 3 == 0 {
            assert!(
                matches!(result, Err(StoreError::Conflict(Conflict::AlreadyExists))),
                "{result:?}"
            );
            assert!(matches!(
                store.get_task(user.id, task.id).await,
                Err(StoreError::NotFound)
            ));
        } else {
            result.unwrap();
            assert_eq!(store.get_task(user.id, task.id).await.unwrap(), task);
        }
    }
    let after = store.writer_stats();
    assert!(after.transactions - before.transactions < 300 / 4);
    let events = store.outbox_after(Default::default(), 1_000).await.unwrap();
    assert_eq!(events.len(), 200);
}

#[tokio::test]
async fn a_closed_store_refuses_writes_after_committing_queued_ones() {
    let directory = tempfile::tempdir().unwrap();
    let config = SqliteConfig {
        synchronous: Synchronous::Normal,
        ..SqliteConfig::new(directory.path().join("tickler.db"))
    };
    let store = Arc::new(SqliteStore::open(config.clone()).await.unwrap());
    store.migrate().await.unwrap();
    let user = register(&*store, "ada@example.org").await;
    let queued: Vec<_> = (0..50)
        .map(|n| {
            let store = Arc::clone(&store);
            let task = new_task(user.id, &format!("queued {n}"));
            tokio::spawn(async move {
                let result = store
                    .commit(ChangeSet {
                        tasks: vec![TaskWrite::Insert(task.clone())],
                        ..ChangeSet::default()
                    })
                    .await;
                (task, result)
            })
        })
        .collect();
    tokio::task::yield_now().await;
    store.close().await;
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(new_task(user.id, "late"))],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");

    let reopened = SqliteStore::open(config).await.unwrap();
    for commit in queued {
        let (task, result) = commit.await.unwrap();
        match result {
            // Acknowledged before the close: it must be there.
            Ok(()) => assert_eq!(reopened.get_task(user.id, task.id).await.unwrap(), task),
            Err(error) => assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}"),
        }
    }
}
