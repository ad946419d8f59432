//! The event backbone: processed-event markers, consumer positions, the audit trail, the
//! relay's reads and writes of the outbox, dead letters and leases.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tickler_domain::{EventId, TaskId, UserId};
use uuid::Uuid;

use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{
    AuditQuery, AuditRecord, ChangeSet, Conflict, ConsumerPosition, DeadLetter, DeadLetterQuery,
    LeaseRequest, OutboxMessage, OutboxPosition, ProcessedEvent, Store, StoreError, TaskWrite,
};

/// Returns the marker of `consumer` having handled `event_id`.
pub fn processed(consumer: &str, event_id: EventId) -> ProcessedEvent {
    ProcessedEvent {
        consumer: consumer.into(),
        event_id,
        processed_at: instant(10),
    }
}

/// Returns an audit record (not stored yet) of a change of `owner` that occurred at
/// [`instant`]`(seconds)`.
pub fn audit_record(owner: UserId, task_id: Option<TaskId>, seconds: i64) -> AuditRecord {
    AuditRecord {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        owner,
        task_id,
        event_type: "tickler.task.updated".into(),
        origin: Some("api".into()),
        correlation_id: Some(format!("request-{seconds}")),
        occurred_at: instant(seconds),
        recorded_at: instant(seconds + 1),
        data: format!("{{\"title\":\"رسید {seconds}\"}}"),
    }
}

/// Returns a dead letter (not stored yet) of `consumer` that failed at [`instant`]`(seconds)`.
pub fn dead_letter(consumer: &str, seconds: i64) -> DeadLetter {
    DeadLetter {
        id: Uuid::now_v7(),
        consumer: consumer.into(),
        event_id: Some(EventId::from_uuid(Uuid::now_v7())),
        event_type: Some("tickler.task.completed".into()),
        topic: "tickler.tasks".into(),
        payload: format!("{{\"id\":\"{seconds}\",\"data\":\"✓\"}}"),
        error: format!("the handler failed at {seconds}"),
        attempts: 5,
        failed_at: instant(seconds),
        replayed_at: None,
    }
}

/// Returns an outbox event of `owner` that occurred at [`instant`]`(seconds)`.
fn event_at(owner: UserId, subject: &str, seconds: i64) -> OutboxMessage {
    OutboxMessage {
        occurred_at: instant(seconds),
        ..event(owner, subject, "tickler.task.updated")
    }
}

fn position(transaction: i64, sequence: i64) -> OutboxPosition {
    OutboxPosition {
        transaction,
        sequence,
    }
}

fn consumer_at(consumer: &str, transaction: i64, sequence: i64) -> ConsumerPosition {
    ConsumerPosition {
        consumer: consumer.into(),
        position: position(transaction, sequence),
    }
}

/// Reads a user's whole audit trail (one page of the largest size).
async fn whole_trail(store: &dyn Store, owner: UserId) -> Vec<AuditRecord> {
    let query = AuditQuery {
        limit: crate::events::MAX_AUDIT_PAGE_SIZE,
        ..AuditQuery::default()
    };
    store.list_audit(owner, &query).await.unwrap()
}

fn assert_conflict(result: Result<(), StoreError>, expected: Conflict) {
    match result {
        Err(StoreError::Conflict(conflict)) if conflict == expected => {}
        other => panic!("expected {expected:?}, got {other:?}"),
    }
}

/// A batch's markers are recorded together: a batch naming an event already processed, or one
/// event twice, is `AlreadyProcessed` and writes none of its markers, rows or audit records, so
/// the consumer can take the batch apart and record each event on its own.
pub async fn a_batch_of_markers_is_recorded_whole_or_not_at_all(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let ids: Vec<EventId> = (0..4).map(|_| EventId::from_uuid(Uuid::now_v7())).collect();
    let batch = |events: &[EventId]| ChangeSet {
        processed: events.iter().map(|id| processed("audit", *id)).collect(),
        audit: events
            .iter()
            .map(|id| AuditRecord {
                event_id: *id,
                ..audit_record(user.id, None, 1)
            })
            .collect(),
        ..ChangeSet::default()
    };
    store.commit(batch(&ids[..2])).await.unwrap();
    assert_eq!(whole_trail(&*store, user.id).await.len(), 2);

    // The second event was processed: nothing of the batch stays, the others included.
    let overlapping = store.commit(batch(&[ids[2], ids[1], ids[3]])).await;
    assert_conflict(overlapping, Conflict::AlreadyProcessed);
    // One event twice in a batch.
    let doubled = store.commit(batch(&[ids[2], ids[2]])).await;
    assert_conflict(doubled, Conflict::AlreadyProcessed);
    assert_eq!(whole_trail(&*store, user.id).await.len(), 2);

    // Each of the others on its own is new.
    store.commit(batch(&ids[2..3])).await.unwrap();
    store.commit(batch(&ids[3..])).await.unwrap();
    let mut trail: Vec<EventId> = whole_trail(&*store, user.id)
        .await
        .iter()
        .map(|record| record.event_id)
        .collect();
    trail.sort_by_key(|id| *id.as_uuid());
    let mut expected = ids.clone();
    expected.sort_by_key(|id| *id.as_uuid());
    assert_eq!(trail, expected);
}

/// A change set carrying a processed marker is written once: its redelivery (with whatever
/// effect the consumer computed again) is `AlreadyProcessed` and writes nothing, even when one
/// of its writes would itself conflict. Other consumers of the same event are independent.
pub async fn a_processed_event_absorbs_its_redelivery_with_no_second_effect(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let handled = EventId::from_uuid(Uuid::now_v7());
    let created = new_task(user.id, "next occurrence");
    store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(created.clone())],
            events: vec![event(
                user.id,
                &created.id.to_string(),
                "tickler.task.created",
            )],
            processed: vec![processed("recurring", handled)],
            ..ChangeSet::default()
        })
        .await
        .unwrap();

    // Redelivered: the consumer computes its effect again, with a new task id.
    let again = new_task(user.id, "next occurrence");
    let redelivery = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(again.clone())],
            events: vec![event(
                user.id,
                &again.id.to_string(),
                "tickler.task.created",
            )],
            processed: vec![processed("recurring", handled)],
            consumer_position: Some(consumer_at("recurring", 0, 1)),
            audit: vec![audit_record(user.id, Some(again.id), 5)],
            ..ChangeSet::default()
        })
        .await;
    assert_conflict(redelivery, Conflict::AlreadyProcessed);
    assert!(matches!(
        store.get_task(user.id, again.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        list_all(&*store, user.id, &everything()).await,
        std::slice::from_ref(&created)
    );
    assert_eq!(store.outbox_unpublished(100).await.unwrap().len(), 1);
    assert_eq!(store.outbox_backlog().await.unwrap(), 1);
    assert_eq!(
        store.consumer_position("recurring").await.unwrap(),
        OutboxPosition::default()
    );
    assert!(whole_trail(&*store, user.id).await.is_empty());

    // The marker is checked before anything else is written.
    let conflicting = store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(created.clone())],
            processed: vec![processed("recurring", handled)],
            ..ChangeSet::default()
        })
        .await;
    assert_conflict(conflicting, Conflict::AlreadyProcessed);

    // The audit consumer handles the same event once, with a change set of its own kind.
    let record = audit_record(user.id, Some(created.id), 5);
    let audited = || ChangeSet {
        processed: vec![processed("audit", handled)],
        audit: vec![record.clone()],
        ..ChangeSet::default()
    };
    store.commit(audited()).await.unwrap();
    assert_conflict(store.commit(audited()).await, Conflict::AlreadyProcessed);
    assert_eq!(whole_trail(&*store, user.id).await, [record]);
}

/// Deliveries of one event racing each other (two consumer instances after a rebalance): exactly
/// one takes effect, the others are `AlreadyProcessed`.
pub async fn racing_deliveries_of_one_event_take_effect_once(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let handled = EventId::from_uuid(Uuid::now_v7());
    let deliveries: Vec<_> = (0..10)
        .map(|n| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move {
                let task = new_task(user.id, &format!("delivery {n}"));
                store
                    .commit(ChangeSet {
                        tasks: vec![TaskWrite::Insert(task)],
                        processed: vec![processed("recurring", handled)],
                        ..ChangeSet::default()
                    })
                    .await
            })
        })
        .collect();
    let mut applied = 0;
    for delivery in deliveries {
        match delivery.await.unwrap() {
            Ok(()) => applied += 1,
            Err(StoreError::Conflict(Conflict::AlreadyProcessed)) => {}
            Err(error) => panic!("unexpected {error:?}"),
        }
    }
    assert_eq!(applied, 1);
    assert_eq!(list_all(&*store, user.id, &everything()).await.len(), 1);
}

/// A consumer's position starts at the default and only moves forward, whether saved alone or
/// with a change set; each consumer has its own.
pub async fn a_consumer_position_never_moves_backwards(backend: &dyn TestBackend) {
    let store = backend.open().await;
    assert_eq!(
        store.consumer_position("reminders").await.unwrap(),
        OutboxPosition::default()
    );
    let saves = [
        ((3, 10), (3, 10)),
        ((3, 7), (3, 10)),
        ((2, 50), (3, 10)),
        ((3, 10), (3, 10)),
        ((4, 1), (4, 1)),
        ((4, 2), (4, 2)),
    ];
    for ((transaction, sequence), (kept_transaction, kept_sequence)) in saves {
        store
            .save_consumer_position(&consumer_at("reminders", transaction, sequence))
            .await
            .unwrap();
        assert_eq!(
            store.consumer_position("reminders").await.unwrap(),
            position(kept_transaction, kept_sequence),
            "after saving ({transaction}, {sequence})"
        );
    }
    let position_only = |transaction, sequence| ChangeSet {
        consumer_position: Some(consumer_at("reminders", transaction, sequence)),
        ..ChangeSet::default()
    };
    store.commit(position_only(5, 2)).await.unwrap();
    assert_eq!(
        store.consumer_position("reminders").await.unwrap(),
        position(5, 2)
    );
    store.commit(position_only(1, 900)).await.unwrap();
    assert_eq!(
        store.consumer_position("reminders").await.unwrap(),
        position(5, 2)
    );
    store
        .save_consumer_position(&consumer_at("notifications", 0, 1))
        .await
        .unwrap();
    assert_eq!(
        store.consumer_position("notifications").await.unwrap(),
        position(0, 1)
    );
    assert_eq!(
        store.consumer_position("reminders").await.unwrap(),
        position(5, 2)
    );
}

/// The audit trail reads back in the order things happened (ties by event id), only the
/// owner's, filtered by task and by a starting instant, and page after page without gaps.
pub async fn the_audit_trail_reads_in_order_of_occurrence_scoped_filtered_and_paged(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let other = register(&*store, "grace@example.org").await;
    let first_task = TaskId::from_uuid(Uuid::now_v7());
    let second_task = TaskId::from_uuid(Uuid::now_v7());
    let mut records = vec![
        audit_record(user.id, Some(first_task), 30),
        audit_record(user.id, Some(first_task), 10),
        audit_record(user.id, Some(second_task), 20),
        audit_record(user.id, Some(first_task), 20),
        audit_record(user.id, None, 40),
    ];
    records[4].event_type = "tickler.user.updated".into();
    records[4].origin = None;
    records[4].correlation_id = None;
    let foreign = audit_record(other.id, Some(first_task), 15);
    store
        .commit(ChangeSet {
            audit: records[..3].to_vec(),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    store
        .commit(ChangeSet {
            audit: vec![records[3].clone(), foreign.clone(), records[4].clone()],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    records.sort_by_key(|record| (record.occurred_at, record.event_id));

    assert_eq!(whole_trail(&*store, user.id).await, records);
    assert_eq!(whole_trail(&*store, other.id).await, [foreign]);

    let read = |task_id: Option<TaskId>, since: Option<DateTime<Utc>>, limit: u32| AuditQuery {
        task_id,
        since,
        after: None,
        limit,
    };
    let of_first_task: Vec<_> = records
        .iter()
        .filter(|record| record.task_id == Some(first_task))
        .cloned()
        .collect();
    assert_eq!(
        store
            .list_audit(user.id, &read(Some(first_task), None, 100))
            .await
            .unwrap(),
        of_first_task
    );
    assert_eq!(
        store
            .list_audit(user.id, &read(None, Some(instant(20)), 100))
            .await
            .unwrap(),
        records[1..]
    );
    assert_eq!(
        store
            .list_audit(user.id, &read(Some(first_task), Some(instant(20)), 100))
            .await
            .unwrap(),
        of_first_task[1..]
    );
    assert_eq!(
        store
            .list_audit(user.id, &read(None, None, 0))
            .await
            .unwrap(),
        records[..1],
        "a limit of 0 reads one record"
    );

    // Pages of two, each continuing after the last record of the previous one.
    let mut query = read(None, None, 2);
    let mut paged = Vec::new();
    loop {
        let page = store.list_audit(user.id, &query).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        query.after = Some((last.occurred_at, last.event_id));
        paged.extend(page);
    }
    assert_eq!(paged, records);
    // Paging combines with the filters.
    let mut filtered = read(Some(first_task), Some(instant(20)), 1);
    filtered.after = Some((of_first_task[1].occurred_at, of_first_task[1].event_id));
    assert_eq!(
        store.list_audit(user.id, &filtered).await.unwrap(),
        of_first_task[2..]
    );

    // An event is recorded once; the change set that repeats it writes nothing.
    let repeated = store
        .commit(ChangeSet {
            audit: vec![audit_record(user.id, None, 50), records[0].clone()],
            consumer_position: Some(consumer_at("audit", 0, 9)),
            ..ChangeSet::default()
        })
        .await;
    assert_conflict(repeated, Conflict::AlreadyExists);
    assert_eq!(whole_trail(&*store, user.id).await, records);
    assert_eq!(
        store.consumer_position("audit").await.unwrap(),
        OutboxPosition::default()
    );
}

/// The relay reads unpublished records in sequence order; marking them published (in batches
/// of any size, repeatedly, or for records that are gone) removes them from its reads and from
/// the backlog.
pub async fn unpublished_outbox_records_are_read_in_order_until_marked_published(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    assert!(store.outbox_unpublished(10).await.unwrap().is_empty());
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    let written = commit_event_batches(&*store, user.id, 3, 2).await;
    assert_eq!(store.outbox_backlog().await.unwrap(), 6);
    let unpublished = store.outbox_unpublished(100).await.unwrap();
    let messages: Vec<_> = unpublished.iter().map(|r| r.message.clone()).collect();
    assert_eq!(messages, written);
    assert!(
        unpublished
            .windows(2)
            .all(|pair| pair[0].position.sequence < pair[1].position.sequence)
    );
    assert_eq!(store.outbox_unpublished(4).await.unwrap(), unpublished[..4]);

    let sequence = |index: usize| unpublished[index].position.sequence;
    store
        .mark_published(&[sequence(0), sequence(2)], instant(50))
        .await
        .unwrap();
    assert_eq!(store.outbox_backlog().await.unwrap(), 4);
    let remaining = store.outbox_unpublished(100).await.unwrap();
    let expected: Vec<_> = [1, 3, 4, 5].map(|n| unpublished[n].clone()).into();
    assert_eq!(remaining, expected);
    // Marking nothing, marking again and marking records that do not exist change nothing.
    store.mark_published(&[], instant(51)).await.unwrap();
    store
        .mark_published(&[sequence(0), sequence(5) + 1_000_000], instant(51))
        .await
        .unwrap();
    assert_eq!(store.outbox_unpublished(100).await.unwrap(), expected);
    // Published records stay in the log for embedded consumers.
    let log = outbox_eventually(&*store, OutboxPosition::default(), 6).await;
    assert_eq!(log, unpublished);

    // A relay's batch of a thousand.
    let bulk = (0..1_000)
        .map(|n| event(user.id, &format!("bulk-{n}"), "tickler.task.created"))
        .collect();
    append(&*store, bulk).await;
    assert_eq!(store.outbox_backlog().await.unwrap(), 1_004);
    let all = store.outbox_unpublished(2_000).await.unwrap();
    assert_eq!(all.len(), 1_004);
    let sequences: Vec<i64> = all.iter().map(|record| record.position.sequence).collect();
    store.mark_published(&sequences, instant(52)).await.unwrap();
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    assert!(store.outbox_unpublished(10).await.unwrap().is_empty());
}

/// The head is the position of the newest readable record, published or not, and the default
/// position when the outbox is empty.
pub async fn the_outbox_head_is_the_newest_readable_record(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    assert_eq!(
        store.outbox_head().await.unwrap(),
        OutboxPosition::default()
    );
    for subject in ["first", "second"] {
        append(
            &*store,
            vec![event(user.id, subject, "tickler.task.created")],
        )
        .await;
    }
    let records = outbox_eventually(&*store, OutboxPosition::default(), 2).await;
    head_eventually(&*store, records[1].position).await;
    store
        .mark_published(&[records[1].position.sequence], instant(60))
        .await
        .unwrap();
    assert_eq!(store.outbox_head().await.unwrap(), records[1].position);
    store.purge_outbox(instant(3_600), false).await.unwrap();
    assert_eq!(
        store.outbox_head().await.unwrap(),
        OutboxPosition::default()
    );
}

/// Appends events about `at-10` ... `at-40` of a new user, occurred at those instants.
async fn append_four_events(store: &dyn Store) {
    let user = register(store, "ada@example.org").await;
    let events: Vec<_> = [10, 20, 30, 40]
        .iter()
        .map(|&seconds| event_at(user.id, &format!("at-{seconds}"), seconds))
        .collect();
    append(store, events).await;
}

/// Purging deletes the records that occurred strictly before the instant: only published ones
/// for a relay, all of them for the embedded bus.
pub async fn purging_the_outbox_keeps_unpublished_records_unless_told_otherwise(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    append_four_events(&*store).await;
    let records = store.outbox_unpublished(10).await.unwrap();
    let published: Vec<i64> = [0, 2, 3]
        .iter()
        .map(|&n| records[n].position.sequence)
        .collect();
    store.mark_published(&published, instant(45)).await.unwrap();

    assert_eq!(store.purge_outbox(instant(35), true).await.unwrap(), 2);
    assert_eq!(store.purge_outbox(instant(35), true).await.unwrap(), 0);
    let subjects = |records: Vec<crate::OutboxRecord>| -> Vec<String> {
        records.into_iter().map(|r| r.message.subject).collect()
    };
    assert_eq!(
        subjects(outbox_eventually(&*store, OutboxPosition::default(), 2).await),
        ["at-20", "at-40"]
    );
    assert_eq!(store.outbox_backlog().await.unwrap(), 1);

    assert_eq!(store.purge_outbox(instant(35), false).await.unwrap(), 1);
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    // Strictly before: the record of instant 40 stays.
    assert_eq!(store.purge_outbox(instant(40), false).await.unwrap(), 0);
    assert_eq!(
        subjects(outbox_eventually(&*store, OutboxPosition::default(), 1).await),
        ["at-40"]
    );
    assert_eq!(store.purge_outbox(instant(41), true).await.unwrap(), 1);
    assert!(
        store
            .outbox_after(OutboxPosition::default(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The embedded bus's retention deletes only records every consumer has passed: a consumer
/// that was down longer than the window still finds its events; positions list slowest first.
pub async fn purging_the_outbox_never_passes_the_slowest_consumer(backend: &dyn TestBackend) {
    let store = backend.open().await;
    append_four_events(&*store).await;
    let records = outbox_eventually(&*store, OutboxPosition::default(), 4).await;
    let save = |consumer: &str, position: OutboxPosition| {
        let store = store.clone();
        let position = ConsumerPosition {
            consumer: consumer.to_owned(),
            position,
        };
        async move { store.save_consumer_position(&position).await.unwrap() }
    };
    save("audit", records[3].position).await;
    // The notifier was down: it read only the first record.
    save("notifier", records[0].position).await;
    let positions = store.list_consumer_positions().await.unwrap();
    let names: Vec<&str> = positions.iter().map(|p| p.consumer.as_str()).collect();
    assert_eq!(names, ["notifier", "audit"]);
    assert_eq!(positions[0].position, records[0].position);

    // Everything is older than the window, but only what the notifier has read goes.
    assert_eq!(store.purge_outbox(instant(3_600), false).await.unwrap(), 1);
    let left = outbox_eventually(&*store, OutboxPosition::default(), 3).await;
    assert_eq!(left[0].position, records[1].position);
    save("notifier", records[2].position).await;
    assert_eq!(store.purge_outbox(instant(3_600), false).await.unwrap(), 2);
    // Published records still go for a relay whatever the positions.
    store
        .mark_published(&[records[3].position.sequence], instant(50))
        .await
        .unwrap();
    assert_eq!(store.purge_outbox(instant(3_600), true).await.unwrap(), 1);
}

/// Dead letters read back as written, are listed oldest first (by consumer, with or without
/// those replayed, at most the limit), and record their replay.
pub async fn dead_letters_round_trip_and_list_oldest_first(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let newest = dead_letter("audit", 30);
    let mut unreadable = dead_letter("recurring", 10);
    unreadable.event_id = None;
    unreadable.event_type = None;
    unreadable.payload = "not json".into();
    let middle = dead_letter("audit", 20);
    for letter in [&newest, &unreadable, &middle] {
        store.insert_dead_letter(letter).await.unwrap();
    }
    assert_conflict(
        store.insert_dead_letter(&newest).await,
        Conflict::AlreadyExists,
    );
    assert_eq!(store.get_dead_letter(newest.id).await.unwrap(), newest);
    assert_eq!(
        store.get_dead_letter(unreadable.id).await.unwrap(),
        unreadable
    );

    let list = |consumer: Option<&str>, include_replayed: bool, limit: u32| DeadLetterQuery {
        consumer: consumer.map(str::to_owned),
        include_replayed,
        limit,
    };
    let read = |query: DeadLetterQuery| {
        let store = std::sync::Arc::clone(&store);
        async move { store.list_dead_letters(&query).await.unwrap() }
    };
    assert_eq!(
        read(list(None, false, 100)).await,
        [unreadable.clone(), middle.clone(), newest.clone()]
    );
    assert_eq!(
        read(list(Some("audit"), false, 100)).await,
        [middle.clone(), newest.clone()]
    );
    assert!(read(list(Some("reminders"), true, 100)).await.is_empty());
    assert_eq!(
        read(list(None, false, 2)).await,
        [unreadable.clone(), middle.clone()]
    );
    assert_eq!(read(list(None, false, 0)).await, [unreadable.clone()]);

    store
        .mark_dead_letter_replayed(middle.id, instant(40))
        .await
        .unwrap();
    let replayed = DeadLetter {
        replayed_at: Some(instant(40)),
        ..middle.clone()
    };
    assert_eq!(store.get_dead_letter(middle.id).await.unwrap(), replayed);
    assert_eq!(
        read(list(None, false, 100)).await,
        [unreadable.clone(), newest.clone()]
    );
    assert_eq!(
        read(list(Some("audit"), true, 100)).await,
        [replayed, newest]
    );

    let missing = Uuid::now_v7();
    assert!(matches!(
        store.get_dead_letter(missing).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.mark_dead_letter_replayed(missing, instant(41)).await,
        Err(StoreError::NotFound)
    ));
}

/// A lease is granted when free, renewed (and extended) for its holder, refused to anyone else
/// until it expires or its holder releases it, and taken over once expired.
pub async fn a_lease_is_held_by_one_holder_until_it_expires_or_is_released(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let request = |name: &str, holder: &str, seconds: u64| LeaseRequest {
        name: name.into(),
        holder: holder.into(),
        ttl: Duration::from_secs(seconds),
    };
    let acquire = |name: &str, holder: &str, seconds: u64| {
        let store = std::sync::Arc::clone(&store);
        let request = request(name, holder, seconds);
        async move { store.acquire_lease(&request).await.unwrap() }
    };

    assert!(acquire("outbox-relay", "a", 60).await);
    assert!(acquire("outbox-relay", "a", 60).await, "renewal");
    assert!(!acquire("outbox-relay", "b", 60).await);
    assert!(acquire("reminders", "b", 60).await, "another lease");
    // Only the holder can release it.
    store.release_lease("outbox-relay", "b").await.unwrap();
    assert!(!acquire("outbox-relay", "b", 60).await);
    store.release_lease("outbox-relay", "a").await.unwrap();
    store.release_lease("never-taken", "a").await.unwrap();

    // Taken over once expired.
    assert!(acquire("outbox-relay", "b", 1).await);
    assert!(!acquire("outbox-relay", "a", 60).await);
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(acquire("outbox-relay", "a", 60).await, "after expiry");
    assert!(!acquire("outbox-relay", "b", 60).await);

    // Renewing extends the lease from the time of the renewal. What may be asserted follows
    // from the instants measured around each call, not from the sleeps: a lease taken in a
    // call that started at `t` lasts at least until `t + ttl`, and has expired once `ttl` has
    // passed since that call returned.
    let ttl = Duration::from_secs(2);
    assert!(acquire("scheduler", "c", 2).await);
    let taken_by = std::time::Instant::now();
    tokio::time::sleep(ttl * 2 / 3).await;
    let renewing = std::time::Instant::now();
    assert!(acquire("scheduler", "c", 2).await);
    let renewed_by = std::time::Instant::now();
    // Past the first expiry (measured), then try to take it while the renewal must still hold.
    tokio::time::sleep((taken_by + ttl).saturating_duration_since(std::time::Instant::now())).await;
    let taken_by_d = acquire("scheduler", "d", 60).await;
    if renewing.elapsed() < ttl {
        assert!(!taken_by_d, "past the first expiry, before the renewed one");
    } else {
        eprintln!("lease renewal: the machine was too slow to check the renewed lease in time");
    }
    tokio::time::sleep((renewed_by + ttl).saturating_duration_since(std::time::Instant::now()))
        .await;
    assert!(
        acquire("scheduler", "d", 60).await,
        "after the renewed expiry"
    );
}
