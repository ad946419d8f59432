//! The consumer framework against a real SQLite store: deduplication, retries, dead letters,
//! replay, and the embedded bus's positions.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use tickler_app::{DeadLetterReplayer, OutboxSignal, SystemClock};
use tickler_domain::{EventId, User};
use tickler_store::testing::register;
use tickler_store::{
    AuditQuery, ChangeSet, DeadLetterQuery, OutboxMessage, OutboxPosition, Store, audit_chain,
};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tickler_workers::consumer::{Consumer, Delivery, HandleError, Outcome, Processor, RetryPolicy};
use tickler_workers::consumers::AuditConsumer;
use tickler_workers::embedded::{EmbeddedConsumer, EmbeddedSettings};
use tickler_workers::event::ReceivedEvent;
use tickler_workers::replay::Replayer;
use tickler_workers::topic::Topic;
use tokio_util::sync::CancellationToken;

async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::new(dir.path().join("t.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, Arc::new(store))
}

fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
    }
}

fn processor(consumer: Arc<dyn Consumer>, store: &Arc<dyn Store>, attempts: u32) -> Processor {
    Processor::new(
        consumer,
        store.clone(),
        Arc::new(SystemClock),
        policy(attempts),
        OutboxSignal::default(),
    )
}

fn task_event(user: &User, event_type: &str) -> (EventId, String) {
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let task = uuid::Uuid::now_v7().to_string();
    let payload = json!({
        "specversion": "1.0", "id": id.to_string(), "source": "urn:tickler:test",
        "type": event_type, "subject": task, "time": "2026-11-21T12:00:00Z",
        "datacontenttype": "application/json", "dataschema": "urn:tickler:events:task.v1.json",
        "userid": user.id.to_string(), "origin": "api", "correlationid": "req-1",
        "data": {"task": {"id": task}, "changed_fields": []}
    });
    (id, payload.to_string())
}

async fn dead_letters(store: &Arc<dyn Store>) -> Vec<tickler_store::DeadLetter> {
    store
        .list_dead_letters(&DeadLetterQuery {
            limit: 10,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap()
}

async fn audit_count(store: &Arc<dyn Store>, user: &User) -> usize {
    store
        .list_audit(
            user.id,
            &AuditQuery {
                limit: 500,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_redelivered_event_has_no_second_effect() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let processor = processor(Arc::new(AuditConsumer), &store, 3);
    let (_, payload) = task_event(&user, "tickler.task.created");
    let token = CancellationToken::new();
    let first = processor
        .process("audit-events", payload.as_bytes(), true, &token)
        .await
        .unwrap();
    let again = processor
        .process("audit-events", payload.as_bytes(), true, &token)
        .await
        .unwrap();
    assert_eq!((first, again), (Outcome::Handled, Outcome::Duplicate));
    assert_eq!(audit_count(&store, &user).await, 1);
}

/// The audit consumer commits a batch's effects together: every event is recorded once, as
/// the next links of the user's chain in delivery order; a batch delivered again after part
/// of it was handled (a crash before the position moved) is absorbed event by event.
#[tokio::test]
async fn a_batch_commits_together_in_order_and_a_partly_handled_batch_again_has_no_second_effect() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let processor = processor(Arc::new(AuditConsumer), &store, 3);
    let events: Vec<(EventId, String)> = (0..6)
        .map(|_| task_event(&user, "tickler.task.created"))
        .collect();
    let subjects: Vec<String> = (0..6).map(|index| format!("task-{index}")).collect();
    let deliveries: Vec<Delivery<'_>> = events
        .iter()
        .zip(&subjects)
        .map(|((_, payload), subject)| Delivery {
            topic: "audit-events",
            key: subject,
            payload: payload.as_bytes(),
        })
        .collect();
    let token = CancellationToken::new();
    processor
        .process_batch(&deliveries[..3], &token)
        .await
        .unwrap();
    processor.process_batch(&deliveries, &token).await.unwrap();
    let chain = store.audit_chain(user.id, 0, 100).await.unwrap();
    let recorded: Vec<EventId> = chain.iter().map(|link| link.record.event_id).collect();
    let delivered: Vec<EventId> = events.iter().map(|(id, _)| *id).collect();
    assert_eq!(recorded, delivered);
    let summary = audit_chain::verify(store.as_ref(), user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.chained_rows, 6);
    let letters = dead_letters(&store).await;
    assert!(letters.is_empty(), "{letters:?}");
}

/// In a batch committed together, an event naming another user's task is still dropped on
/// its own (the batch falls back to one event at a time): neither user's trail records it,
/// and the batch's other events are recorded once.
#[tokio::test]
async fn a_forged_event_in_a_batch_is_dropped_and_the_others_are_recorded() {
    let (_dir, store) = store().await;
    let ada = register(store.as_ref(), "ada@example.org").await;
    let mallory = register(store.as_ref(), "mallory@example.org").await;
    let task = tickler_store::testing::new_task(ada.id, "ada's");
    tickler_store::testing::insert(store.as_ref(), std::slice::from_ref(&task)).await;
    let processor = processor(Arc::new(AuditConsumer), &store, 3);
    let (_, genuine) = task_event(&mallory, "tickler.task.created");
    let (_, forged) = task_event(&mallory, "tickler.task.completed");
    let forged = forged.replace(
        &serde_json::from_str::<serde_json::Value>(&forged).unwrap()["subject"]
            .as_str()
            .unwrap()
            .to_owned(),
        &task.id.to_string(),
    );
    let (_, other) = task_event(&mallory, "tickler.task.updated");
    let deliveries: Vec<Delivery<'_>> = [&genuine, &forged, &other]
        .into_iter()
        .map(|payload| Delivery {
            topic: "audit-events",
            key: "k",
            payload: payload.as_bytes(),
        })
        .collect();
    processor
        .process_batch(&deliveries, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(audit_count(&store, &ada).await, 0);
    assert_eq!(audit_count(&store, &mallory).await, 2);
    assert!(dead_letters(&store).await.is_empty());
}

/// Fails transiently a set number of times, then records the event in the audit trail.
#[derive(Debug)]
struct Flaky {
    failures_left: AtomicU32,
    permanent: bool,
}

#[async_trait]
impl Consumer for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn topics(&self) -> &'static [Topic] {
        &[Topic::AuditEvents]
    }
    fn accepts(&self, event_type: &str) -> bool {
        event_type != "tickler.task.ignored"
    }
    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError> {
        if self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(if self.permanent {
                HandleError::Permanent("cannot ever work".into())
            } else {
                HandleError::Transient("database hiccup".into())
            });
        }
        AuditConsumer.handle(event, now).await
    }
}

fn flaky(failures: u32, permanent: bool) -> Arc<Flaky> {
    Arc::new(Flaky {
        failures_left: AtomicU32::new(failures),
        permanent,
    })
}

#[tokio::test]
async fn transient_failures_are_retried_until_they_pass() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let consumer = flaky(3, false);
    let processor = processor(consumer.clone(), &store, 5);
    let (_, payload) = task_event(&user, "tickler.task.created");
    let outcome = processor
        .process(
            "audit-events",
            payload.as_bytes(),
            true,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Handled);
    assert_eq!(consumer.failures_left.load(Ordering::SeqCst), 0);
    assert_eq!(audit_count(&store, &user).await, 1);
}

#[tokio::test]
async fn an_event_that_keeps_failing_becomes_a_dead_letter_that_can_be_replayed() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let consumer = flaky(4, false);
    let processor = processor(consumer.clone(), &store, 3);
    let (event_id, payload) = task_event(&user, "tickler.task.created");
    let outcome = processor
        .process(
            "audit-events",
            payload.as_bytes(),
            true,
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::DeadLettered);
    let letters = dead_letters(&store).await;
    let [letter] = letters.as_slice() else {
        panic!("expected one dead letter, got {letters:?}")
    };
    assert_eq!(letter.attempts, 3);
    assert_eq!(letter.consumer, "flaky");
    assert_eq!(letter.event_id, Some(event_id));
    assert!(letter.error.contains("database hiccup"));
    assert_eq!(audit_count(&store, &user).await, 0);

    // One failure is left: the first replay fails, the second succeeds.
    let replayer = Replayer::new([processor]);
    assert!(replayer.replay(letter).await.is_err());
    replayer.replay(letter).await.unwrap();
    assert_eq!(audit_count(&store, &user).await, 1);
}

#[tokio::test]
async fn permanent_failures_and_malformed_events_are_dead_lettered_at_once() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let consumer = flaky(1, true);
    let processor = processor(consumer.clone(), &store, 5);
    let (_, payload) = task_event(&user, "tickler.task.created");
    let token = CancellationToken::new();
    assert_eq!(
        processor
            .process("audit-events", payload.as_bytes(), true, &token)
            .await
            .unwrap(),
        Outcome::DeadLettered
    );
    assert_eq!(
        processor
            .process("audit-events", b"{not json", true, &token)
            .await
            .unwrap(),
        Outcome::DeadLettered
    );
    let letters = dead_letters(&store).await;
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].attempts, 1);
    assert_eq!(letters[1].payload, "{not json");
    assert_eq!(letters[1].event_id, None);
}

#[tokio::test]
async fn without_inline_retries_a_transient_failure_asks_the_transport_to_redeliver() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let processor = processor(flaky(1, false), &store, 5);
    let (_, payload) = task_event(&user, "tickler.task.created");
    let token = CancellationToken::new();
    let outcomes = [
        processor
            .process("audit-events", payload.as_bytes(), false, &token)
            .await
            .unwrap(),
        processor
            .process("audit-events", payload.as_bytes(), false, &token)
            .await
            .unwrap(),
    ];
    assert_eq!(outcomes, [Outcome::Retry, Outcome::Handled]);
}

async fn append(store: &Arc<dyn Store>, user: &User, payloads: Vec<(String, String)>) {
    let events = payloads
        .into_iter()
        .map(|(event_type, payload)| OutboxMessage {
            id: EventId::from_uuid(uuid::Uuid::now_v7()),
            event_type,
            subject: "s".into(),
            owner: user.id,
            occurred_at: tickler_store::testing::instant(0),
            payload,
        })
        .collect();
    store
        .commit(ChangeSet {
            events,
            ..ChangeSet::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_embedded_bus_delivers_each_event_once_past_a_poison_event_and_resumes_from_its_position()
 {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let mut payloads = Vec::new();
    for index in 0..30 {
        if index == 15 {
            payloads.push(("tickler.task.updated".to_owned(), "poison".to_owned()));
        }
        let event_type = if index % 10 == 0 {
            "tickler.task.ignored"
        } else {
            "tickler.task.created"
        };
        payloads.push((event_type.to_owned(), task_event(&user, event_type).1));
    }
    append(&store, &user, payloads).await;
    let settings = EmbeddedSettings {
        batch: 7,
        ..EmbeddedSettings::default()
    };
    let token = CancellationToken::new();
    let consumer = EmbeddedConsumer::new(
        processor(flaky(0, false), &store, 3),
        store.clone(),
        OutboxSignal::default(),
        settings.clone(),
    );
    let mut position = OutboxPosition::default();
    while let Some(next) = consumer.run_once(position, &token).await.unwrap() {
        assert!(next > position);
        position = next;
    }
    // 30 events, 3 of a type the consumer ignores, 1 poison.
    assert_eq!(audit_count(&store, &user).await, 27);
    let letters = dead_letters(&store).await;
    assert_eq!(letters.len(), 1);
    assert_eq!(store.consumer_position("flaky").await.unwrap(), position);

    // A restarted consumer starts after what it already handled.
    append(
        &store,
        &user,
        vec![(
            "tickler.task.created".to_owned(),
            task_event(&user, "tickler.task.created").1,
        )],
    )
    .await;
    let restarted = EmbeddedConsumer::new(
        processor(flaky(0, false), &store, 3),
        store.clone(),
        OutboxSignal::default(),
        settings,
    );
    let saved = store.consumer_position("flaky").await.unwrap();
    restarted.run_once(saved, &token).await.unwrap().unwrap();
    assert_eq!(audit_count(&store, &user).await, 28);
}

/// A consumer's loop that read a batch shorter than its limit waits for the next commit
/// instead of reading again; each commit's wake-up must then bring its event. With a poll
/// interval of an hour only the wake-ups can, so a missed one fails the test by its timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_caught_up_is_woken_by_each_commit() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let signal = OutboxSignal::default();
    let consumer = EmbeddedConsumer::new(
        processor(flaky(0, false), &store, 3),
        store.clone(),
        signal.clone(),
        EmbeddedSettings {
            batch: 7,
            poll_interval: Duration::from_secs(3600),
            ..EmbeddedSettings::default()
        },
    );
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(consumer.run(shutdown.clone()));
    let mut expected = 0;
    // One event per commit, then bursts longer than a batch (a full batch, then a short one).
    for burst in [1, 1, 1, 1, 1, 10, 1, 15, 1] {
        let payloads = (0..burst)
            .map(|_| {
                let (_, payload) = task_event(&user, "tickler.task.created");
                ("tickler.task.created".to_owned(), payload)
            })
            .collect();
        append(&store, &user, payloads).await;
        signal.notify();
        expected += burst;
        tokio::time::timeout(Duration::from_secs(30), async {
            while audit_count(&store, &user).await < expected {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{expected} events not handled: a wake-up was missed"));
    }
    assert_eq!(audit_count(&store, &user).await, expected);
    shutdown.cancel();
    running.await.unwrap().unwrap();
}
