//! The outbox, tags, and many writers at once.

use std::collections::HashSet;
use std::sync::Arc;

use tickler_domain::Task;

use super::TestBackend;
use super::fixtures::*;
use crate::{ChangeSet, OutboxPosition, Store, StoreError, TaskWrite};

/// Tags are counted by how many tasks carry them, most used first, ties by name.
pub async fn tag_counts_are_ordered_by_usage_then_name(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let other = register(&*store, "grace@example.org").await;
    let specs: [&[&str]; 5] = [
        &["alpha", "beta", "ab"],
        &["alpha", "gamma"],
        &["alpha", "beta", "gamma"],
        &[],
        &["zeta"],
    ];
    let tasks: Vec<Task> = specs
        .iter()
        .enumerate()
        .map(|(n, names)| {
            let mut task = new_task(user.id, &format!("t{n}"));
            task.fields.tags = tags(names);
            task
        })
        .collect();
    insert(&*store, &tasks).await;
    let mut foreign = new_task(other.id, "foreign");
    foreign.fields.tags = tags(&["zeta", "omega"]);
    insert(&*store, &[foreign]).await;

    let counts: Vec<(String, u64)> = store
        .tag_counts(user.id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|count| (count.name, count.count))
        .collect();
    let expected: Vec<(String, u64)> = [
        ("alpha", 3),
        ("beta", 2),
        ("gamma", 2),
        ("ab", 1),
        ("zeta", 1),
    ]
    .into_iter()
    .map(|(name, count)| (name.to_owned(), count))
    .collect();
    assert_eq!(counts, expected);
}

/// A prefix keeps only the tags starting with it; the limit caps the list.
pub async fn tag_counts_filter_by_prefix_and_respect_the_limit(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let specs: [&[&str]; 3] = [
        &["work", "workout", "home"],
        &["work", "گھر"],
        &["worm", "گھریلو"],
    ];
    let tasks: Vec<Task> = specs
        .iter()
        .enumerate()
        .map(|(n, names)| {
            let mut task = new_task(user.id, &format!("t{n}"));
            task.fields.tags = tags(names);
            task
        })
        .collect();
    insert(&*store, &tasks).await;
    let names = |counts: Vec<crate::TagCount>| -> Vec<String> {
        counts.into_iter().map(|count| count.name).collect()
    };
    assert_eq!(
        names(store.tag_counts(user.id, Some("wor"), 10).await.unwrap()),
        ["work", "workout", "worm"]
    );
    assert_eq!(
        names(store.tag_counts(user.id, Some("work"), 10).await.unwrap()),
        ["work", "workout"]
    );
    assert_eq!(
        names(store.tag_counts(user.id, Some("wor"), 2).await.unwrap()),
        ["work", "workout"]
    );
    assert_eq!(
        names(store.tag_counts(user.id, Some("گھر"), 10).await.unwrap()),
        ["گھر", "گھریلو"]
    );
    assert!(
        store
            .tag_counts(user.id, Some("x"), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.tag_counts(user.id, None, 1).await.unwrap().len(), 1);
}

/// Every task carrying a tag is returned, and only the owner's.
pub async fn tasks_with_tag_returns_every_tagged_task_of_the_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let other = register(&*store, "grace@example.org").await;
    let mut tasks = Vec::new();
    for n in 0..5 {
        let mut task = new_task(user.id, &format!("t{n}"));
        if n != 2 {
            task.fields.tags = tags(&["errand", "x"]);
        }
        tasks.push(task);
    }
    insert(&*store, &tasks).await;
    let mut foreign = new_task(other.id, "foreign");
    foreign.fields.tags = tags(&["errand"]);
    insert(&*store, &[foreign]).await;
    let found: HashSet<_> = store
        .tasks_with_tag(user.id, &tag("errand"))
        .await
        .unwrap()
        .into_iter()
        .map(|task| task.id)
        .collect();
    let expected: HashSet<_> = tasks
        .iter()
        .filter(|task| !task.fields.tags.is_empty())
        .map(|task| task.id)
        .collect();
    assert_eq!(found, expected);
}

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
