//! The outbox relay: publishes committed outbox records to a broker in order, and marks them
//! published only after the broker acknowledged them. One relay is active at a time (a lease
//! in the database), so one task's events are published in the order they were committed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tickler_app::{Clock, OutboxSignal};
use tickler_store::{LeaseRequest, OutboxRecord, Store};
use tokio_util::sync::CancellationToken;

use crate::consumer::sleep_or_shutdown;
use crate::event::ReceivedEvent;
use crate::topic::{Topic, TopicNames};

/// The lease held by the active relay.
pub const RELAY_LEASE: &str = "outbox-relay";

/// How often the relay counts its backlog while it reads full batches. Counting reads every
/// unpublished record (the partial index and, for rows written since the last vacuum, the
/// table): with 100,000 waiting it cost more than publishing a batch of 1,000, so the count
/// is refreshed at this interval, and whenever a batch comes back short (the relay has caught
/// up, and the gauge falls to what is left).
const BACKLOG_COUNT_INTERVAL: Duration = Duration::from_secs(1);

/// Records the time of one step of a relay pass (`read`, `publish`, `mark`) in
/// `tickler_relay_step_seconds`: where a pass spends its time, for operators and benchmarks.
fn record_step(step: &'static str, started: Instant) {
    metrics::histogram!("tickler_relay_step_seconds", "step" => step)
        .record(started.elapsed().as_secs_f64());
}

/// One message for the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Broker topic name.
    pub topic: String,
    /// Partition key: the event's subject (task id), so one task's events stay in order.
    pub key: String,
    /// The CloudEvent, JSON structured mode.
    pub payload: Vec<u8>,
    /// The event type, for metrics.
    pub event_type: String,
}

/// Why a batch could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A topic does not exist (brokers without auto-creation).
    #[error("unknown topic: {0}")]
    UnknownTopic(String),
    /// Anything else; the batch is retried.
    #[error("publish failed: {0}")]
    Failed(String),
}

/// A broker the relay publishes to.
#[async_trait]
pub trait Publisher: Send + Sync + std::fmt::Debug {
    /// Publishes the messages in order; `Ok` only once the broker acknowledged every one.
    async fn publish(&self, messages: &[Outgoing]) -> Result<(), PublishError>;

    /// Creates missing topics, where the broker supports it.
    async fn ensure_topics(&self, names: &[String]) -> Result<(), PublishError>;
}

/// Settings of the relay.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Records per batch.
    pub batch: u32,
    /// Wait between looks at an empty outbox (other processes cannot wake this one).
    pub poll_interval: Duration,
    /// Topic names.
    pub topics: TopicNames,
    /// Whether to create topics at start and when the broker reports one missing.
    pub create_topics: bool,
    /// How long the relay lease lasts without renewal.
    pub lease_ttl: Duration,
    /// Outbox records older than this are purged once published.
    pub retention: Duration,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch: 1_000,
            poll_interval: Duration::from_millis(200),
            topics: TopicNames::default(),
            create_topics: true,
            lease_ttl: Duration::from_secs(15),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The relay loop.
#[derive(Debug)]
pub struct Relay {
    store: Arc<dyn Store>,
    publisher: Arc<dyn Publisher>,
    clock: Arc<dyn Clock>,
    signal: OutboxSignal,
    settings: RelaySettings,
    holder: String,
    /// When the backlog was last counted.
    backlog_counted: std::sync::Mutex<Option<Instant>>,
}

/// What one relay pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayPass {
    /// Another relay holds the lease.
    Standby,
    /// Nothing to publish.
    Idle,
    /// Published this many records.
    Published(usize),
}

impl Relay {
    /// Builds a relay; `holder` identifies this process in the lease.
    pub fn new(
        store: Arc<dyn Store>,
        publisher: Arc<dyn Publisher>,
        clock: Arc<dyn Clock>,
        signal: OutboxSignal,
        settings: RelaySettings,
    ) -> Self {
        Self {
            store,
            publisher,
            clock,
            signal,
            settings,
            holder: format!("relay-{}", uuid::Uuid::now_v7()),
            backlog_counted: std::sync::Mutex::new(None),
        }
    }

    /// Sets the backlog gauge, counting at most every [`BACKLOG_COUNT_INTERVAL`] while
    /// batches come back full, and on every short one.
    async fn report_backlog(&self, read: usize) {
        let full = read >= usize::try_from(self.settings.batch).unwrap_or(usize::MAX);
        let due = {
            let Ok(mut counted) = self.backlog_counted.lock() else {
                return;
            };
            let due = !full || counted.is_none_or(|at| at.elapsed() >= BACKLOG_COUNT_INTERVAL);
            if due {
                *counted = Some(Instant::now());
            }
            due
        };
        if due {
            // A failed count leaves the gauge as it was: zero would claim the backlog drained.
            match self.store.outbox_backlog().await {
                Ok(backlog) => {
                    metrics::gauge!("tickler_outbox_backlog_events").set(backlog as f64);
                }
                Err(error) => tracing::warn!(%error, "cannot count the outbox backlog"),
            }
        }
    }

    fn topic_names(&self) -> Vec<String> {
        Topic::ALL
            .iter()
            .map(|topic| self.settings.topics.name(*topic).to_owned())
            .collect()
    }

    /// Runs until `shutdown`, then gives the lease up.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut wake = self.signal.subscribe();
        let mut failures: u32 = 0;
        let mut last_purge: Option<Instant> = None;
        loop {
            wake.borrow_and_update();
            match self.run_once().await {
                Ok(RelayPass::Published(_)) => {
                    failures = 0;
                    continue;
                }
                Ok(RelayPass::Idle | RelayPass::Standby) => failures = 0,
                Err(error) => {
                    failures += 1;
                    let delay = Duration::from_millis(100)
                        .saturating_mul(1 << failures.min(7))
                        .min(Duration::from_secs(10));
                    tracing::warn!(%error, failures, "relay pass failed; retrying");
                    if sleep_or_shutdown(delay, &shutdown).await.is_err() {
                        break;
                    }
                    continue;
                }
            }
            if last_purge.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                self.purge().await;
                last_purge = Some(Instant::now());
            }
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = shutdown.cancelled() => break,
            }
        }
        if let Err(error) = self.store.release_lease(RELAY_LEASE, &self.holder).await {
            tracing::warn!(%error, "cannot release the relay lease");
        }
        Ok(())
    }

    /// Publishes one batch if this relay holds the lease.
    pub async fn run_once(&self) -> anyhow::Result<RelayPass> {
        let leased = self
            .store
            .acquire_lease(&LeaseRequest {
                name: RELAY_LEASE.to_owned(),
                holder: self.holder.clone(),
                ttl: self.settings.lease_ttl,
            })
            .await?;
        if !leased {
            return Ok(RelayPass::Standby);
        }
        let step = Instant::now();
        let records = self.store.outbox_unpublished(self.settings.batch).await?;
        record_step("read", step);
        self.report_backlog(records.len()).await;
        if records.is_empty() {
            return Ok(RelayPass::Idle);
        }
        // A span per record, continuing the trace of the change that wrote it, open until the
        // broker acknowledged the batch and the records are marked published.
        let spans: Vec<tracing::Span> = records
            .iter()
            .map(|record| {
                let span = tracing::info_span!(
                    "publish",
                    event_type = %record.message.event_type,
                    "otel.name" = %format_args!("publish {}", record.message.event_type),
                    "otel.kind" = "producer",
                );
                tickler_app::trace::continue_trace(
                    &span,
                    ReceivedEvent::peek_traceparent(record.message.payload.as_bytes()).as_deref(),
                );
                span
            })
            .collect();
        let messages = self.messages(&records);
        let step = Instant::now();
        match self.publisher.publish(&messages).await {
            Ok(()) => {}
            Err(PublishError::UnknownTopic(topic)) if self.settings.create_topics => {
                tracing::warn!(%topic, "topic missing; creating topics");
                self.publisher.ensure_topics(&self.topic_names()).await?;
                self.publisher.publish(&messages).await?;
            }
            Err(error) => {
                // A broker that lost its topics (restarted without storage, or topics deleted)
                // may report only a timeout when it does not create topics on produce: make
                // sure they exist before the batch is retried.
                if self.settings.create_topics
                    && let Err(create_error) =
                        self.publisher.ensure_topics(&self.topic_names()).await
                {
                    tracing::warn!(%create_error, "cannot create topics");
                }
                return Err(error.into());
            }
        }
        record_step("publish", step);
        tickler_app::fault::crash_point(tickler_app::fault::FaultPoint::AfterPublishBeforeMark);
        let sequences: Vec<i64> = records
            .iter()
            .map(|record| record.position.sequence)
            .collect();
        let step = Instant::now();
        self.store
            .mark_published(&sequences, self.clock.now())
            .await?;
        record_step("mark", step);
        drop(spans);
        for message in &messages {
            metrics::counter!(
                "tickler_events_published_total",
                "topic" => message.topic.clone(),
                "type" => message.event_type.clone(),
            )
            .increment(1);
        }
        Ok(RelayPass::Published(records.len()))
    }

    fn messages(&self, records: &[OutboxRecord]) -> Vec<Outgoing> {
        let mut messages = Vec::with_capacity(records.len() * 3);
        for record in records {
            let event = &record.message;
            for topic in Topic::routes(&event.event_type) {
                let payload = if *topic == Topic::TaskUpdates {
                    // What live clients receive: a task event's summary, an in-app notification.
                    match tickler_app::live::live_event(record) {
                        Some(live) => live.event.as_bytes().to_vec(),
                        None => continue,
                    }
                } else {
                    event.payload.as_bytes().to_vec()
                };
                messages.push(Outgoing {
                    topic: self.settings.topics.name(*topic).to_owned(),
                    key: event.subject.clone(),
                    payload,
                    event_type: event.event_type.clone(),
                });
            }
        }
        messages
    }

    async fn purge(&self) {
        let Ok(retention) = chrono::TimeDelta::from_std(self.settings.retention) else {
            return;
        };
        match self
            .store
            .purge_outbox(self.clock.now() - retention, true)
            .await
        {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "purged published outbox records"),
            Err(error) => tracing::warn!(%error, "cannot purge the outbox"),
        }
    }
}
