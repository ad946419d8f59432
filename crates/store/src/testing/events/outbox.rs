//! The outbox, and many writers at once.

use std::collections::HashSet;
use std::sync::Arc;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{ChangeSet, OutboxPosition, Store, StoreError, TaskWrite};

/// Records come back in commit order, strictly after the given position, at most `limit`.
pub async fn outbox_records_are_read_in_commit_order_after_a_position(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let written = commit_event_batches(&*store, user.id, 4, 3).await;
    let all = outbox_eventually(&*store, OutboxPosition::default(), 12).await;
    let messages: Vec<_> = all.iter().map(|record| record.message.clone()).collect();
    assert_eq!(messages, written);
    assert!(
        all.windows(2)
            .all(|pair| pair[0].position < pair[1].position)
    );

    let page = store.outbox_after(all[4].position, 3).await.unwrap();
    assert_eq!(page, all[5..8].to_vec());
    let rest = store.outbox_after(all[7].position, 100).await.unwrap();
    assert_eq!(rest, all[8..].to_vec());
    assert!(
        store
            .outbox_after(all[11].position, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Acknowledged outbox records are still there after the store is closed and reopened.
pub async fn outbox_records_survive_reopening_the_store(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let task = new_task(user.id, "durable");
    let message = event(user.id, &task.id.to_string(), "tickler.task.created");
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            events: vec![message.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let before = outbox_eventually(&*store, OutboxPosition::default(), 1).await;
    backend.close(store).await;

    let store = backend.open().await;
    let after = outbox_eventually(&*store, OutboxPosition::default(), 1).await;
    assert_eq!(after, before);
    assert_eq!(after[0].message, message);
    assert_eq!(store.get_task(user.id, task.id).await.unwrap(), task);
    // New records continue after the old ones.
    store
        .commit(ChangeSet {
            events: vec![event(user.id, "next", "tickler.task.updated")],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let next = outbox_eventually(&*store, before[0].position, 1).await;
    assert_eq!(next[0].message.subject, "next");
}

/// A commit that fails appends nothing, and a duplicate event id is a conflict.
pub async fn a_failed_commit_appends_no_outbox_record(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let message = event(user.id, "s", "tickler.task.created");
    store
        .commit(ChangeSet {
            events: vec![message.clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let error = store
        .commit(ChangeSet {
            events: vec![event(user.id, "t", "tickler.task.created"), message],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(crate::Conflict::AlreadyExists)),
        "{error:?}"
    );
    store
        .commit(ChangeSet {
            events: vec![event(user.id, "marker", "tickler.test")],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let records = outbox_eventually(&*store, OutboxPosition::default(), 2).await;
    assert_eq!(records[0].message.subject, "s");
    assert_eq!(records[1].message.subject, "marker");
}

/// Hundreds of concurrent commits all succeed and are all visible, with their events in the
/// outbox exactly once.
pub async fn many_concurrent_commits_are_all_durable_and_visible(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let users = [
        register(&*store, "ada@example.org").await,
        register(&*store, "grace@example.org").await,
    ];
    let writers: Vec<_> = (0..300)
        .map(|n| {
            let store: Arc<dyn Store> = Arc::clone(&store);
            let owner = users[n % 2].id;
            tokio::spawn(async move {
                let task = new_task(owner, &format!("concurrent {n}"));
                store
                    .commit(ChangeSet {
                        tasks: vec![TaskWrite::Insert(task.clone())],
                        events: vec![event(owner, &task.id.to_string(), "tickler.task.created")],
                        ..ChangeSet::default()
                    })
                    .await
                    .unwrap();
                // Visible as soon as acknowledged.
                assert_eq!(store.get_task(owner, task.id).await.unwrap(), task);
                task
            })
        })
        .collect();
    let mut tasks = Vec::new();
    for writer in writers {
        tasks.push(writer.await.unwrap());
    }
    for user in &users {
        assert_eq!(list_all(&*store, user.id, &everything()).await.len(), 150);
    }
    let records = outbox_eventually(&*store, OutboxPosition::default(), 300).await;
    let subjects: HashSet<_> = records.iter().map(|r| r.message.subject.clone()).collect();
    assert_eq!(records.len(), 300);
    assert_eq!(subjects.len(), 300);
    for task in &tasks {
        assert!(subjects.contains(&task.id.to_string()));
    }
}
