//! Recurring series: the unique `(series, sequence)` key, advancing and ending a series, and
//! reading a series' instances.

use tickler_domain::{SeriesPosition, Task, TaskStatus};

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{ChangeSet, Conflict, SeriesWrite, Store, StoreError, TaskWrite};

/// Returns instance `sequence` of `first`'s series (not stored yet).
fn instance(first: &Task, sequence: u32) -> Task {
    let mut task = new_task(
        first.owner,
        &format!("{} #{sequence}", first.fields.title.as_str()),
    );
    task.series = SeriesPosition {
        id: first.id,
        sequence,
    };
    task
}

/// Commits a next instance the way the recurring role does: the series advance and the insert
/// in one change set.
async fn make_next(store: &dyn Store, next: &Task) -> Result<(), StoreError> {
    store
        .commit(ChangeSet {
            series: vec![SeriesWrite::Advance {
                owner: next.owner,
                series: next.series.id,
                sequence: next.series.sequence,
            }],
            tasks: vec![TaskWrite::Insert(next.clone())],
            ..ChangeSet::default()
        })
        .await
}

/// A task's place in its series reads back; a series lists its instances by sequence number
/// and only for their owner.
pub async fn a_series_lists_its_instances_by_sequence_for_their_owner_only(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let other = register(&*store, "bob@example.org").await;
    let first = new_task(user.id, "water the plants");
    let third = instance(&first, 3);
    let second = instance(&first, 2);
    insert(&*store, &[first.clone(), third.clone(), second.clone()]).await;
    assert_eq!(store.get_task(user.id, third.id).await.unwrap(), third);
    let listed = store.list_series(user.id, first.id).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second, third]);
    assert!(
        store
            .list_series(other.id, first.id)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The unique key on `(series, sequence)` refuses a second instance with the same number, even
/// without the series row (a writer that skipped the advance).
pub async fn a_second_instance_with_the_same_sequence_number_is_refused(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let first = new_task(user.id, "water the plants");
    insert(&*store, &[first.clone(), instance(&first, 2)]).await;
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(instance(&first, 2))],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
    assert_eq!(store.list_series(user.id, first.id).await.unwrap().len(), 2);
}

/// A series advances to each sequence number once: a second advance to the same or an earlier
/// number is `SeriesClosed` and writes nothing of its change set.
pub async fn a_series_makes_each_next_instance_once(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let first = new_task(user.id, "water the plants");
    insert(&*store, std::slice::from_ref(&first)).await;
    make_next(&*store, &instance(&first, 2)).await.unwrap();
    // The same instance again, as another replica or a second completion would make it.
    let again = instance(&first, 2);
    let error = make_next(&*store, &again).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::SeriesClosed)),
        "{error:?}"
    );
    assert!(matches!(
        store.get_task(user.id, again.id).await,
        Err(StoreError::NotFound)
    ));
    make_next(&*store, &instance(&first, 3)).await.unwrap();
    // An earlier number is refused too, even once its instance is gone.
    let error = make_next(&*store, &instance(&first, 2)).await.unwrap_err();
    assert!(matches!(
        error,
        StoreError::Conflict(Conflict::SeriesClosed)
    ));
    let sequences: Vec<u32> = store
        .list_series(user.id, first.id)
        .await
        .unwrap()
        .iter()
        .map(|task| task.series.sequence)
        .collect();
    assert_eq!(sequences, [1, 2, 3]);
}

/// Racing advances to the same sequence number (two consumer replicas) make one instance.
pub async fn racing_advances_of_a_series_make_one_instance(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let first = new_task(user.id, "water the plants");
    insert(&*store, std::slice::from_ref(&first)).await;
    let attempts: Vec<_> = (0..8)
        .map(|_| {
            let store = std::sync::Arc::clone(&store);
            let next = instance(&first, 2);
            tokio::spawn(async move { make_next(&*store, &next).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(Conflict::SeriesClosed | Conflict::AlreadyExists)) => {}
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(store.list_series(user.id, first.id).await.unwrap().len(), 2);
}

/// An ended series makes no further instance; ending it again changes nothing.
pub async fn an_ended_series_makes_no_further_instance(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let first = new_task(user.id, "water the plants");
    let mut done = first.clone();
    done.fields.status = TaskStatus::Done;
    insert(&*store, std::slice::from_ref(&done)).await;
    let end = |owner| ChangeSet {
        series: vec![SeriesWrite::End {
            owner,
            series: first.id,
            at: instant(60),
        }],
        ..ChangeSet::default()
    };
    make_next(&*store, &instance(&first, 2)).await.unwrap();
    store.commit(end(user.id)).await.unwrap();
    store.commit(end(user.id)).await.unwrap();
    let error = make_next(&*store, &instance(&first, 3)).await.unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::SeriesClosed)),
        "{error:?}"
    );
    assert_eq!(store.list_series(user.id, first.id).await.unwrap().len(), 2);
}
