//! Tag counts and the tasks carrying a tag.

use std::collections::HashSet;

use tickler_domain::Task;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;

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
