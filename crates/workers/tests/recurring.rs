//! The recurring consumer against a real SQLite store, driven by the events the application
//! writes: exactly one next instance per completed instance, whatever the delivery.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tickler_app::{Actor, App, AppSettings, Clock, ManualClock, Origin, OutboxSignal};
use tickler_domain::{Task, TaskStatus, User};
use tickler_protocol::task::{DeleteScope, TaskRequest};
use tickler_store::testing::register;
use tickler_store::{ChangeSet, DeadLetterQuery, OutboxPosition, Store, TaskWrite};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tickler_workers::consumer::{Outcome, Processor, RetryPolicy};
use tickler_workers::consumers::RecurringConsumer;
use tokio_util::sync::CancellationToken;

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
    app: App,
    actor: Actor,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn harness(now: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::new(dir.path().join("t.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let clock = Arc::new(ManualClock::new(at(now)));
    let app = App::new(
        store.clone(),
        clock.clone(),
        AppSettings::default(),
        &[7; 32],
    );
    let user: User = register(&*store, "ada@example.org").await;
    Harness {
        _dir: dir,
        store,
        clock,
        app,
        actor: Actor::new(user, Origin::Api),
    }
}

impl Harness {
    fn processor(&self) -> Processor {
        Processor::new(
            Arc::new(RecurringConsumer::new(self.app.event_settings().clone())),
            self.store.clone(),
            self.clock.clone(),
            RetryPolicy {
                max_attempts: 5,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
            },
            OutboxSignal::default(),
        )
    }

    async fn create(&self, due_at: &str, rule: &str) -> Task {
        let request = TaskRequest {
            title: Some("Water the plants".into()),
            description: Some("the ferns too".into()),
            due_at: Some(due_at.into()),
            timezone: Some("Europe/Berlin".into()),
            tags: Some(vec!["home".into()]),
            recurrence: Some(rule.into()),
            reminders: Some(vec!["-PT30M".into()]),
            ..TaskRequest::default()
        };
        match self
            .app
            .create_task(&self.actor, request, None)
            .await
            .unwrap()
        {
            tickler_app::CreatedTask::New { task, .. } => *task,
            tickler_app::CreatedTask::Replayed(_) => unreachable!(),
        }
    }

    /// Every `tickler.task.completed` event in the outbox, oldest first.
    async fn completed_events(&self) -> Vec<String> {
        self.store
            .outbox_after(OutboxPosition::default(), 10_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|record| record.message.event_type == "tickler.task.completed")
            .map(|record| record.message.payload)
            .collect()
    }

    async fn series(&self, first: &Task) -> Vec<Task> {
        // From the store: the API reads a series through one of its surviving instances.
        self.store
            .list_series(self.actor.user.id, first.id)
            .await
            .unwrap()
    }

    async fn deliver(&self, processor: &Processor, payload: &str) -> Outcome {
        deliver(processor, payload).await
    }
}

/// Hands an event of topic `task-events` to a processor.
async fn deliver(processor: &Processor, payload: &str) -> Outcome {
    processor
        .process(
            "task-events",
            payload.as_bytes(),
            true,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn completing_a_recurring_task_creates_exactly_one_next_instance_even_when_redelivered() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=WEEKLY").await;
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let [completed] = h.completed_events().await.try_into().unwrap();
    let processor = h.processor();
    assert_eq!(h.deliver(&processor, &completed).await, Outcome::Handled);
    assert_eq!(h.deliver(&processor, &completed).await, Outcome::Duplicate);
    let series = h.series(&first).await;
    assert_eq!(series.len(), 2);
    let next = &series[1];
    assert_eq!((next.series.id, next.series.sequence), (first.id, 2));
    assert_eq!(next.fields.status, TaskStatus::Todo);
    assert_eq!(next.fields.due.unwrap().at, at("2026-11-30T08:00:00Z"));
    assert_eq!(next.fields.title, first.fields.title);
    assert_eq!(next.fields.description, first.fields.description);
    assert_eq!(next.fields.tags, first.fields.tags);
    assert_eq!(next.fields.reminders, first.fields.reminders);
    assert_eq!(next.fields.recurrence, first.fields.recurrence);
    // Its creation is an event like any other.
    let created = h
        .store
        .outbox_after(OutboxPosition::default(), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|record| {
            record.message.event_type == "tickler.task.created"
                && record.message.subject == next.id.to_string()
        })
        .count();
    assert_eq!(created, 1);
}

/// A series whose next instance exists while its series row is behind (a writer that did not
/// advance it, as imports of several open instances once did): completing the first instance
/// is done, not a failure retried into a dead letter, and makes no second instance.
#[tokio::test]
async fn a_next_instance_that_exists_already_is_taken_as_done() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=WEEKLY").await;
    let existing = first
        .next_instance(
            tickler_domain::TaskId::from_uuid(uuid::Uuid::now_v7()),
            at("2026-11-23T08:00:00Z"),
        )
        .unwrap()
        .task;
    h.store
        .commit(ChangeSet {
            tasks: vec![TaskWrite::Insert(existing.clone())],
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let [completed] = h.completed_events().await.try_into().unwrap();
    let processor = h.processor();
    assert_eq!(h.deliver(&processor, &completed).await, Outcome::Duplicate);
    let letters = h
        .store
        .list_dead_letters(&DeadLetterQuery::default())
        .await
        .unwrap();
    assert!(letters.is_empty(), "{letters:?}");
    let series = h.series(&first).await;
    assert_eq!(
        series.iter().map(|task| task.id).collect::<Vec<_>>(),
        [first.id, existing.id]
    );
}

#[tokio::test]
async fn complete_reopen_complete_creates_one_next_instance() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=DAILY").await;
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    h.app.reopen_task(&h.actor, first.id, None).await.unwrap();
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let events = h.completed_events().await;
    assert_eq!(events.len(), 2);
    let processor = h.processor();
    assert_eq!(h.deliver(&processor, &events[0]).await, Outcome::Handled);
    assert_eq!(h.deliver(&processor, &events[1]).await, Outcome::Duplicate);
    assert_eq!(h.series(&first).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_delivering_every_event_concurrently_create_one_next_instance() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=DAILY").await;
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    h.app.reopen_task(&h.actor, first.id, None).await.unwrap();
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let events = h.completed_events().await;
    let (one, two) = (h.processor(), h.processor());
    let deliveries = events.iter().flat_map(|payload| {
        [&one, &two].map(|processor| {
            let processor = processor.clone();
            let payload = payload.clone();
            tokio::spawn(async move { deliver(&processor, &payload).await })
        })
    });
    let outcomes: Vec<Outcome> = futures::future::join_all(deliveries.collect::<Vec<_>>())
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == Outcome::Handled).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(h.series(&first).await.len(), 2);
}

#[tokio::test]
async fn a_consumer_down_across_three_occurrences_creates_one_next_instance_after_now() {
    // Scenario 19: a daily task completed on the 23rd; the consumer comes back three days
    // later and creates one instance, due at the first occurrence after now, not three.
    let h = harness("2026-11-23T10:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=DAILY").await;
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    h.clock.advance(TimeDelta::days(3) + TimeDelta::hours(2));
    let [completed] = h.completed_events().await.try_into().unwrap();
    let processor = h.processor();
    assert_eq!(h.deliver(&processor, &completed).await, Outcome::Handled);
    let series = h.series(&first).await;
    assert_eq!(series.len(), 2);
    assert_eq!(series[1].fields.due.unwrap().at, at("2026-11-27T08:00:00Z"));
    assert!(series[1].fields.due.unwrap().at > h.clock.now());
}

#[tokio::test]
async fn count_ends_the_series_with_its_last_instance() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h
        .create("2026-11-23T09:00:00+01:00", "FREQ=DAILY;COUNT=2")
        .await;
    let processor = h.processor();
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let [event] = h.completed_events().await.try_into().unwrap();
    h.deliver(&processor, &event).await;
    let second = h.series(&first).await[1].clone();
    h.app
        .complete_task(&h.actor, second.id, None)
        .await
        .unwrap();
    let events = h.completed_events().await;
    assert_eq!(h.deliver(&processor, &events[1]).await, Outcome::Handled);
    let series = h.series(&first).await;
    assert_eq!(series.len(), 2);
    assert!(
        series
            .iter()
            .all(|task| task.fields.status == TaskStatus::Done)
    );
}

#[tokio::test]
async fn deleting_one_occurrence_creates_the_next_and_the_consumer_adds_none() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=WEEKLY").await;
    h.app
        .delete_task(&h.actor, first.id, None, DeleteScope::This)
        .await
        .unwrap();
    let series = h.series(&first).await;
    assert_eq!(series.len(), 1);
    let second = series[0].clone();
    assert_eq!(second.series.sequence, 2);
    assert_eq!(second.fields.due.unwrap().at, at("2026-11-30T08:00:00Z"));
    // Completing the second, then skipping it before the consumer ran: one third instance.
    h.app
        .complete_task(&h.actor, second.id, None)
        .await
        .unwrap();
    h.app
        .delete_task(&h.actor, second.id, None, DeleteScope::This)
        .await
        .unwrap();
    let [completed] = h.completed_events().await.try_into().unwrap();
    assert_eq!(
        h.deliver(&h.processor(), &completed).await,
        Outcome::Duplicate
    );
    let series = h.series(&first).await;
    assert_eq!(
        series.iter().map(|t| t.series.sequence).collect::<Vec<_>>(),
        [3]
    );
}

#[tokio::test]
async fn deleting_the_series_ends_it_even_for_a_completion_not_yet_consumed() {
    let h = harness("2026-11-23T08:00:00Z").await;
    let first = h.create("2026-11-23T09:00:00+01:00", "FREQ=DAILY").await;
    h.app.complete_task(&h.actor, first.id, None).await.unwrap();
    let [completed] = h.completed_events().await.try_into().unwrap();
    h.app
        .delete_task(&h.actor, first.id, None, DeleteScope::Series)
        .await
        .unwrap();
    assert_eq!(
        h.deliver(&h.processor(), &completed).await,
        Outcome::Duplicate
    );
    assert!(h.series(&first).await.is_empty());
}
