//! Committing task changes: atomicity, versions, owner scoping and idempotent responses.

use tickler_domain::{
    Due, Priority, Recurrence, RecurrenceMode, ReminderSpec, TaskStatus, TimeZone, Title,
};

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{
    ChangeSet, Conflict, IdempotentResponse, OutboxPosition, StoreError, TaskQuery, TaskWrite,
};

/// Every field of a task survives the round trip, including non-Latin text and reminders.
pub async fn a_committed_task_reads_back_equal(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut task = new_task(user.id, "Pay the rent — کرایہ ادا کریں 🏠");
    task.fields.description = "Line one\nline two with \"quotes\" and 'apostrophes'".into();
    task.fields.status = TaskStatus::InProgress;
    task.fields.priority = Priority::Urgent;
    task.fields.due = Some(Due {
        at: instant(86_400) + chrono::TimeDelta::microseconds(123_456),
        all_day: true,
    });
    task.fields.timezone = TimeZone::parse("Asia/Karachi").unwrap();
    task.fields.tags = tags(&["home", "گھر", "bills-2026"]);
    task.fields.recurrence = Some(Recurrence::parse("FREQ=MONTHLY;BYMONTHDAY=1").unwrap());
    task.fields.recurrence_mode = RecurrenceMode::FromCompletion;
    task.fields.reminders = vec![
        ReminderSpec::parse("-PT30M").unwrap(),
        ReminderSpec::parse("2026-11-30T08:00:00.5Z").unwrap(),
    ];
    task.created_at = instant(0) + chrono::TimeDelta::microseconds(1);
    task.updated_at = instant(5);
    task.completed_at = Some(instant(7));
    task.version = 3;
    insert(&*store, std::slice::from_ref(&task)).await;
    assert_eq!(store.get_task(user.id, task.id).await.unwrap(), task);
    let listed = list_all(&*store, user.id, &everything()).await;
    assert_eq!(listed, vec![task]);
}

/// Inserting a task whose id exists is `AlreadyExists`.
pub async fn inserting_a_task_id_twice_conflicts_with_already_exists(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let task = new_task(user.id, "once");
    insert(&*store, std::slice::from_ref(&task)).await;
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
}

/// A change set is all or nothing: when its second write conflicts, neither the first task, nor
/// its outbox event, nor its idempotent response is stored.
pub async fn a_change_set_whose_second_write_conflicts_leaves_nothing_behind(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let existing = new_task(user.id, "existing");
    insert(&*store, std::slice::from_ref(&existing)).await;
    let fresh = new_task(user.id, "fresh");
    let error = store
        .commit(ChangeSet {
            tasks: vec![
                TaskWrite::Insert(fresh.clone()),
                TaskWrite::Insert(existing.clone()),
            ],
            events: vec![event(
                user.id,
                &fresh.id.to_string(),
                "tickler.task.created",
            )],
            idempotency: Some(response(user.id, "key-1")),
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::AlreadyExists)),
        "{error:?}"
    );
    assert!(matches!(
        store.get_task(user.id, fresh.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        titles_of(&*store, user.id, everything()).await,
        ["existing"]
    );
    assert!(
        store
            .find_idempotent_response(user.id, "key-1")
            .await
            .unwrap()
            .is_none()
    );

    // A later change set of the same shape commits normally.
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(fresh.clone())],
            events: vec![event(
                user.id,
                &fresh.id.to_string(),
                "tickler.task.created",
            )],
            idempotency: Some(response(user.id, "key-1")),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert_eq!(store.get_task(user.id, fresh.id).await.unwrap(), fresh);
    // Only the event of the successful commit is in the outbox.
    let records = outbox_eventually(&*store, OutboxPosition::default(), 1).await;
    assert_eq!(records[0].message.subject, fresh.id.to_string());
}

/// Updates and deletes based on an old version are refused; the current version succeeds.
pub async fn updating_with_a_stale_version_is_a_version_mismatch(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let task = new_task(user.id, "draft");
    insert(&*store, std::slice::from_ref(&task)).await;

    let mut edited = task.clone();
    edited.fields.title = Title::parse("final").unwrap();
    edited.updated_at = instant(10);
    edited.version = 2;
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Update {
                task: edited.clone(),
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert_eq!(store.get_task(user.id, task.id).await.unwrap(), edited);

    let mut stale = task.clone();
    stale.fields.title = Title::parse("lost update").unwrap();
    stale.version = 2;
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Update {
                task: stale,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::VersionMismatch)),
        "{error:?}"
    );
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: user.id,
                id: task.id,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::VersionMismatch)),
        "{error:?}"
    );
    assert_eq!(store.get_task(user.id, task.id).await.unwrap(), edited);

    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: user.id,
                id: task.id,
                expected_version: 2,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        store.get_task(user.id, task.id).await,
        Err(StoreError::NotFound)
    ));
}

/// Someone else's task cannot be changed or deleted, even with its right version: it is
/// `NotFound`, exactly like a task that does not exist.
pub async fn updating_and_deleting_another_owners_task_is_not_found(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let mallory = register(&*store, "mallory@example.org").await;
    let task = new_task(ada.id, "private");
    insert(&*store, std::slice::from_ref(&task)).await;

    let mut hijacked = task.clone();
    hijacked.owner = mallory.id;
    hijacked.version = 2;
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Update {
                task: hijacked,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: mallory.id,
                id: task.id,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
    assert!(matches!(
        store.get_task(mallory.id, task.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.get_task(ada.id, task.id).await.unwrap(), task);

    let missing = new_task(ada.id, "never stored");
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: ada.id,
                id: missing.id,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::NotFound), "{error:?}");
}

/// A deleted task is gone from reads, listings, searches, tags and tag counts.
pub async fn a_deleted_task_disappears_from_every_read(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut task = new_task(user.id, "water the plants");
    task.fields.tags = tags(&["garden"]);
    let mut kept = new_task(user.id, "water bill");
    kept.fields.tags = tags(&["bills"]);
    insert(&*store, &[task.clone(), kept]).await;
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Delete {
                owner: user.id,
                id: task.id,
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert!(matches!(
        store.get_task(user.id, task.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        titles_of(&*store, user.id, everything()).await,
        ["water bill"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("water")).await,
        ["water bill"]
    );
    assert!(
        store
            .tasks_with_tag(user.id, &tag("garden"))
            .await
            .unwrap()
            .is_empty()
    );
    let counts = store.tag_counts(user.id, None, 10).await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!(counts[0].name, "bills");
}

/// Changing a task's tags and text moves it between tag filters, searches and counts.
pub async fn an_update_replaces_tags_in_filters_search_and_counts(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut task = new_task(user.id, "call the plumber");
    task.fields.tags = tags(&["home", "urgent"]);
    insert(&*store, std::slice::from_ref(&task)).await;

    let mut edited = task.clone();
    edited.fields.title = Title::parse("email the electrician").unwrap();
    edited.fields.tags = tags(&["home", "office"]);
    edited.version = 2;
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Update {
                task: edited.clone(),
                expected_version: 1,
            }],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let with = |names: &[&str]| TaskQuery {
        tags: names.iter().map(|name| tag(name)).collect(),
        ..everything()
    };
    assert!(
        titles_of(&*store, user.id, with(&["urgent"]))
            .await
            .is_empty()
    );
    assert_eq!(
        titles_of(&*store, user.id, with(&["office", "home"])).await,
        ["email the electrician"]
    );
    assert!(
        titles_of(&*store, user.id, search("plumber"))
            .await
            .is_empty()
    );
    assert_eq!(
        titles_of(&*store, user.id, search("electrician")).await,
        ["email the electrician"]
    );
    assert_eq!(titles_of(&*store, user.id, search("office")).await.len(), 1);
    let counts: Vec<(String, u64)> = store
        .tag_counts(user.id, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|count| (count.name, count.count))
        .collect();
    assert_eq!(counts, [("home".into(), 1), ("office".into(), 1)]);
    assert!(
        store
            .tasks_with_tag(user.id, &tag("urgent"))
            .await
            .unwrap()
            .is_empty()
    );
}

/// No read returns another user's data.
pub async fn every_read_is_scoped_to_the_owner(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let mallory = register(&*store, "mallory@example.org").await;
    let mut task = new_task(ada.id, "secret plan");
    task.fields.tags = tags(&["secret"]);
    task.fields.due = due(-60);
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(task.clone())],
            idempotency: Some(response(ada.id, "key-1")),
            ..ChangeSet::default()
        })
        .await
        .unwrap();

    assert!(matches!(
        store.get_task(mallory.id, task.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        list_all(&*store, mallory.id, &everything())
            .await
            .is_empty()
    );
    assert!(
        list_all(&*store, mallory.id, &search("secret"))
            .await
            .is_empty()
    );
    let overdue = TaskQuery {
        overdue_at: Some(instant(0)),
        tags: vec![tag("secret")],
        ..everything()
    };
    assert!(list_all(&*store, mallory.id, &overdue).await.is_empty());
    assert_eq!(list_all(&*store, ada.id, &overdue).await.len(), 1);
    assert!(
        store
            .tasks_with_tag(mallory.id, &tag("secret"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .tag_counts(mallory.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_idempotent_response(mallory.id, "key-1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.list_api_tokens(mallory.id).await.unwrap().is_empty());
}

fn response(owner: tickler_domain::UserId, key: &str) -> IdempotentResponse {
    IdempotentResponse {
        owner,
        key: key.into(),
        request_hash: "sha256:abc".into(),
        status: 201,
        headers: vec![
            ("Location".into(), "/api/v1/tasks/1".into()),
            ("ETag".into(), "\"1\"".into()),
        ],
        body: "{\"title\":\"کام\"}".into(),
        created_at: instant(0),
    }
}

/// A remembered response reads back as stored.
pub async fn an_idempotent_response_round_trips(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let remembered = response(user.id, "create-1");
    store
        .commit(ChangeSet {
            idempotency: Some(remembered.clone()),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .find_idempotent_response(user.id, "create-1")
            .await
            .unwrap(),
        Some(remembered)
    );
    assert!(
        store
            .find_idempotent_response(user.id, "create-2")
            .await
            .unwrap()
            .is_none()
    );
}

/// A second change set with a used key is refused as a whole: its task is not stored.
pub async fn reusing_an_idempotency_key_conflicts_and_rolls_back_the_whole_change(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let first = new_task(user.id, "first");
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(first.clone())],
            idempotency: Some(response(user.id, "create-1")),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let second = new_task(user.id, "second");
    let error = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(second.clone())],
            events: vec![event(
                user.id,
                &second.id.to_string(),
                "tickler.task.created",
            )],
            idempotency: Some(response(user.id, "create-1")),
            ..ChangeSet::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::Conflict(Conflict::IdempotencyKeyUsed)),
        "{error:?}"
    );
    assert!(matches!(
        store.get_task(user.id, second.id).await,
        Err(StoreError::NotFound)
    ));
    // A later commit's event is the only one.
    store
        .commit(ChangeSet {
            events: vec![event(user.id, "marker", "tickler.test")],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let records = outbox_eventually(&*store, OutboxPosition::default(), 1).await;
    assert_eq!(records[0].message.subject, "marker");
}

/// Keys belong to their user: two users may use the same one.
pub async fn the_same_idempotency_key_of_two_users_does_not_conflict(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    for owner in [ada.id, grace.id] {
        store
            .commit(ChangeSet {
                idempotency: Some(response(owner, "same-key")),
                ..ChangeSet::default()
            })
            .await
            .unwrap();
    }
    assert!(
        store
            .find_idempotent_response(grace.id, "same-key")
            .await
            .unwrap()
            .is_some()
    );
}

/// Purging deletes responses created before the instant and keeps the others.
pub async fn purging_idempotent_responses_deletes_only_older_ones(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    for (key, seconds) in [("old-1", 0), ("old-2", 59), ("recent", 60), ("newer", 120)] {
        let mut remembered = response(user.id, key);
        remembered.created_at = instant(seconds);
        store
            .commit(ChangeSet {
                idempotency: Some(remembered),
                ..ChangeSet::default()
            })
            .await
            .unwrap();
    }
    assert_eq!(
        store.purge_idempotent_responses(instant(60)).await.unwrap(),
        2
    );
    for (key, kept) in [
        ("old-1", false),
        ("old-2", false),
        ("recent", true),
        ("newer", true),
    ] {
        let found = store.find_idempotent_response(user.id, key).await.unwrap();
        assert_eq!(found.is_some(), kept, "{key}");
    }
    assert_eq!(
        store.purge_idempotent_responses(instant(60)).await.unwrap(),
        0
    );
}

/// An id range reads only the owner's tasks inside it (bounds included), in id order, at most
/// `limit` of them: what resolving an id prefix needs.
pub async fn an_id_range_reads_the_owners_tasks_in_id_order_up_to_the_limit(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let other = register(&*store, "grace@example.org").await;
    let with_id = |owner, title: &str, id: &str| {
        let mut task = new_task(owner, title);
        task.id = id.parse().unwrap();
        task
    };
    let tasks = [
        with_id(user.id, "below", "0190aaaa-0000-7000-8000-000000000000"),
        with_id(user.id, "first", "0190abcd-0000-7000-8000-000000000000"),
        with_id(user.id, "second", "0190abcd-ffff-7fff-bfff-ffffffffffff"),
        with_id(user.id, "third", "0190abcd-1234-7000-8000-000000000001"),
        with_id(user.id, "above", "0190abce-0000-7000-8000-000000000000"),
        with_id(other.id, "theirs", "0190abcd-5555-7000-8000-000000000000"),
    ];
    insert(&*store, &tasks).await;
    let first = "0190abcd-0000-0000-0000-000000000000".parse().unwrap();
    let last = "0190abcd-ffff-ffff-ffff-ffffffffffff".parse().unwrap();
    let titles = |found: Vec<tickler_domain::Task>| -> Vec<String> {
        found
            .iter()
            .map(|task| task.fields.title.as_str().to_owned())
            .collect()
    };
    let found = store
        .tasks_in_id_range(user.id, first, last, 10)
        .await
        .unwrap();
    assert_eq!(titles(found), ["first", "third", "second"]);
    let found = store
        .tasks_in_id_range(user.id, first, last, 2)
        .await
        .unwrap();
    assert_eq!(titles(found), ["first", "third"]);
    let found = store
        .tasks_in_id_range(other.id, first, last, 10)
        .await
        .unwrap();
    assert_eq!(titles(found), ["theirs"]);
    let nowhere = "0191abcd-0000-0000-0000-000000000000".parse().unwrap();
    let found = store
        .tasks_in_id_range(user.id, nowhere, nowhere, 10)
        .await
        .unwrap();
    assert!(found.is_empty());
}

/// `task_owner` names a task's owner whoever asks, and nobody once the task is gone;
/// `task_owners` does the same for many tasks at once, leaving out those that do not exist.
pub async fn a_tasks_owner_is_found_by_task_id_alone(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let ada = register(&*store, "ada@example.org").await;
    let grace = register(&*store, "grace@example.org").await;
    let task = new_task(ada.id, "ada's");
    let theirs = new_task(grace.id, "grace's");
    insert(&*store, &[task.clone(), theirs.clone()]).await;
    assert_eq!(store.task_owner(task.id).await.unwrap(), Some(ada.id));
    assert_ne!(store.task_owner(task.id).await.unwrap(), Some(grace.id));
    let missing = tickler_domain::TaskId::from_uuid(uuid::Uuid::now_v7());
    assert_eq!(store.task_owner(missing).await.unwrap(), None);
    let mut owners = store
        .task_owners(&[theirs.id, missing, task.id])
        .await
        .unwrap();
    owners.sort_by_key(|(id, _)| *id.as_uuid());
    let mut expected = vec![(task.id, ada.id), (theirs.id, grace.id)];
    expected.sort_by_key(|(id, _)| *id.as_uuid());
    assert_eq!(owners, expected);
    assert!(store.task_owners(&[]).await.unwrap().is_empty());
}
