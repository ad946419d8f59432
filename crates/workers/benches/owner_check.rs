//! Measures the consumers' per-event owner check (before handling an event, the `Processor`
//! asks the store who owns each task the event names, and drops an event naming another
//! user's task) against the whole of a consumer's per-event work, on SQLite and PostgreSQL.
//!
//! ```text
//! cargo bench -p tickler-workers --bench owner_check              # 5,000 events per phase
//! cargo bench -p tickler-workers --bench owner_check -- 20000     # another count
//! ```
//!
//! Each backend gets a fresh database with one user owning 10,000 tasks (the check is a lookup
//! by primary key: the table's size barely matters). Phases, each over the same events:
//! `task_owner` alone, one call at a time; the audit consumer's whole path for an event one at
//! a time (`Processor::process`: parse, the owner check, the consumer's change set, its commit
//! with the processed-event marker and the audit row, which on SQLite waits for the group
//! commit's flush); then the same two in parallel as the transports run them
//! (`Processor::process_batch`, 64 at once; the lookups 64 at once), as a rate. PostgreSQL runs
//! when `TICKLER_TEST_DATABASE_URL` is set (a throw-away database on that server); SQLite's
//! file goes to `TICKLER_BENCH_DIR` (default: the temporary directory). Results are printed as
//! a Markdown table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark binary

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::json;
use tickler_app::{OutboxSignal, SystemClock};
use tickler_domain::{TaskId, UserId};
use tickler_store::Store;
use tickler_store::testing::{insert, new_task, register};
use tickler_store_postgres::testing::TestDatabase;
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tickler_workers::consumer::{BATCH_CONCURRENCY, Delivery, Outcome, Processor, RetryPolicy};
use tickler_workers::consumers::AuditConsumer;
use tokio_util::sync::CancellationToken;

const TASKS: usize = 10_000;
const TOPIC: &str = "audit-events";

fn main() {
    let events = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse::<usize>().ok())
        .unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(events));
}

async fn run(events: usize) {
    println!(
        "## The consumers' owner check, {events} events per phase, one user with {TASKS} tasks\n"
    );
    println!(
        "| backend | owner lookup p50 µs | p99 µs | mean µs | whole event, one at a time: p50 µs \
         | p99 µs | mean µs | lookup's share of the mean | lookups/s, 64 at once \
         | events/s, batches of 64 at once | lookup's share at those rates |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");

    let directory = match std::env::var("TICKLER_BENCH_DIR") {
        Ok(dir) => tempfile::tempdir_in(dir).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    };
    let sqlite = SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    measure("SQLite", Arc::new(sqlite), events).await;

    match std::env::var(tickler_store_postgres::testing::DATABASE_URL_VARIABLE) {
        Ok(base) if !base.is_empty() => {
            let database = TestDatabase::create(&base).await.unwrap();
            let postgres = database.connect().await.unwrap();
            postgres.migrate().await.unwrap();
            let postgres = Arc::new(postgres);
            measure("PostgreSQL", postgres.clone(), events).await;
            postgres.close().await;
            database.drop_database().await.unwrap();
        }
        _ => println!("\nPostgreSQL skipped: set TICKLER_TEST_DATABASE_URL"),
    }
}

async fn measure(backend: &str, store: Arc<dyn Store>, events: usize) {
    let owner = register(store.as_ref(), "owner@example.org").await.id;
    let tasks = seed(store.as_ref(), owner).await;
    let named: Vec<TaskId> = (0..events)
        .map(|n| tasks[(n * 7_919) % tasks.len()])
        .collect();
    let processor = Processor::new(
        Arc::new(AuditConsumer),
        store.clone(),
        Arc::new(SystemClock),
        RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        },
        OutboxSignal::default(),
    );
    let shutdown = CancellationToken::new();

    // Warm both paths (prepared statements, pool connections).
    for &task in named.iter().take(200) {
        store.task_owner(task).await.unwrap();
    }
    for &task in named.iter().take(200) {
        let outcome = processor
            .process(TOPIC, payload(owner, task).as_bytes(), true, &shutdown)
            .await
            .unwrap();
        assert_eq!(outcome, Outcome::Handled);
    }

    let mut lookups = Vec::with_capacity(events);
    for &task in &named {
        let started = Instant::now();
        let found = store.task_owner(task).await.unwrap();
        lookups.push(started.elapsed());
        assert_eq!(found, Some(owner));
    }

    let payloads: Vec<String> = named.iter().map(|&task| payload(owner, task)).collect();
    let mut whole = Vec::with_capacity(events);
    for payload in &payloads {
        let started = Instant::now();
        let outcome = processor
            .process(TOPIC, payload.as_bytes(), true, &shutdown)
            .await
            .unwrap();
        whole.push(started.elapsed());
        assert_eq!(outcome, Outcome::Handled);
    }

    let started = Instant::now();
    futures::stream::iter(named.iter().copied())
        .map(|task| {
            let store = store.clone();
            async move { store.task_owner(task).await.unwrap() }
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .for_each(|found| async move { assert_eq!(found, Some(owner)) })
        .await;
    let lookups_per_second = events as f64 / started.elapsed().as_secs_f64();

    // Fresh event ids, so that none is a duplicate of the sequential phase's.
    let payloads: Vec<String> = named.iter().map(|&task| payload(owner, task)).collect();
    let keys: Vec<String> = named.iter().map(ToString::to_string).collect();
    let deliveries: Vec<Delivery<'_>> = payloads
        .iter()
        .zip(&keys)
        .map(|(payload, key)| Delivery {
            topic: TOPIC,
            key,
            payload: payload.as_bytes(),
        })
        .collect();
    let started = Instant::now();
    for batch in deliveries.chunks(BATCH_CONCURRENCY * 4) {
        processor.process_batch(batch, &shutdown).await.unwrap();
    }
    let events_per_second = events as f64 / started.elapsed().as_secs_f64();

    let (lookup_p50, lookup_p99, lookup_mean) = summary(&mut lookups);
    let (whole_p50, whole_p99, whole_mean) = summary(&mut whole);
    println!(
        "| {backend} | {lookup_p50:.0} | {lookup_p99:.0} | {lookup_mean:.0} | {whole_p50:.0} \
         | {whole_p99:.0} | {whole_mean:.0} | {:.0} % | {lookups_per_second:.0} \
         | {events_per_second:.0} | {:.0} % |",
        100.0 * lookup_mean / whole_mean,
        100.0 * events_per_second / lookups_per_second,
    );
}

/// One user's tasks, written 500 to a change set.
async fn seed(store: &dyn Store, owner: UserId) -> Vec<TaskId> {
    let tasks: Vec<_> = (0..TASKS)
        .map(|n| new_task(owner, &format!("task {n}")))
        .collect();
    for chunk in tasks.chunks(500) {
        insert(store, chunk).await;
    }
    tasks.iter().map(|task| task.id).collect()
}

/// A `tickler.task.updated` CloudEvent of `owner` naming `task`, with a fresh id.
fn payload(owner: UserId, task: TaskId) -> String {
    json!({
        "specversion": "1.0", "id": uuid::Uuid::now_v7().to_string(),
        "source": "urn:tickler:bench", "type": "tickler.task.updated",
        "subject": task.to_string(), "time": "2026-12-07T01:00:00Z",
        "datacontenttype": "application/json", "dataschema": "urn:tickler:events:task.v1.json",
        "userid": owner.to_string(), "origin": "api", "correlationid": "bench",
        "data": {"task": {"id": task.to_string()}, "changed_fields": ["title"]}
    })
    .to_string()
}

/// p50, p99 and the mean of a sample, in microseconds.
fn summary(samples: &mut [Duration]) -> (f64, f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1e6
    };
    let mean = samples.iter().map(Duration::as_secs_f64).sum::<f64>() / samples.len() as f64;
    (at(0.50), at(0.99), mean * 1e6)
}
