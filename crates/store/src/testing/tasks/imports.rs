//! The import ledger: an imported item is recorded with the task it became, per user and
//! source, atomically with the task.

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{ChangeSet, Conflict, ImportRecord, StoreError, TaskWrite};

fn record(
    owner: tickler_domain::UserId,
    source_id: &str,
    task: tickler_domain::TaskId,
) -> ImportRecord {
    ImportRecord {
        owner,
        source: "taskwarrior".to_owned(),
        source_id: source_id.to_owned(),
        task,
        imported_at: instant(10),
    }
}

/// A recorded import is found by source id, only for its user and source; recording the same
/// source id again conflicts and writes nothing of its change set.
pub async fn the_import_ledger_finds_earlier_imports_per_user_and_source(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let bob = register(&*store, "bob@example.org").await;
    let task = new_task(ada.id, "imported");
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            imports: vec![record(ada.id, "uuid-1", task.id)],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let ids = vec!["uuid-1".to_owned(), "uuid-2".to_owned()];
    assert_eq!(
        store
            .imported_tasks(ada.id, "taskwarrior", &ids)
            .await
            .unwrap(),
        vec![("uuid-1".to_owned(), task.id)]
    );
    assert!(
        store
            .imported_tasks(ada.id, "ical", &ids)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .imported_tasks(bob.id, "taskwarrior", &ids)
            .await
            .unwrap()
            .is_empty()
    );

    let again = new_task(ada.id, "imported twice");
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(again.clone())],
            imports: vec![record(ada.id, "uuid-1", again.id)],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyImported)),
        "{error:?}"
    );
    assert!(matches!(
        store.get_task(ada.id, again.id).await,
        Err(StoreError::NotFound)
    ));

    // Another user imports the same source id independently.
    let bobs = new_task(bob.id, "bob's");
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(bobs.clone())],
            imports: vec![record(bob.id, "uuid-1", bobs.id)],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}
