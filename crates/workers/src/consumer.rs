//! The consumer framework: what a consumer implements, and the [`Processor`] that runs it with
//! deduplication, retries with backoff, dead-lettering and metrics — the same on every
//! transport.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_app::{Clock, CommitWakes, OutboxSignal};
use tickler_domain::TaskId;
use tickler_store::{ChangeSet, Conflict, DeadLetter, ProcessedEvent, Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::event::ReceivedEvent;
use crate::topic::Topic;

/// Why handling an event failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// Retrying cannot help (the event makes no sense for this consumer): dead-letter it.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Retrying may help (a dependency is down).
    #[error("transient failure: {0}")]
    Transient(String),
}

impl From<StoreError> for HandleError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(reason) => HandleError::Transient(reason),
            other => HandleError::Transient(other.to_string()),
        }
    }
}

/// An independent service reacting to events. It computes its effect as a change set; the
/// framework commits it together with the processed-event marker, so the effect happens once
/// however often the event is delivered.
#[async_trait]
pub trait Consumer: Send + Sync + std::fmt::Debug {
    /// A stable name: the consumer group, the key of its position and processed markers.
    fn name(&self) -> &'static str;

    /// The topics it reads.
    fn topics(&self) -> &'static [Topic];

    /// Returns whether it acts on this event type (others on its topics are acknowledged
    /// without effect).
    fn accepts(&self, event_type: &str) -> bool;

    /// Computes the effect of an event at `now`.
    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError>;

    /// Returns whether a commit of this consumer's effect refused with `conflict` means the
    /// effect exists already (made by another event, another replica or an earlier writer):
    /// the event is then recorded as handled, with no effect, instead of being retried and
    /// dead-lettered. By default only [`Conflict::SeriesClosed`].
    fn already_made(&self, conflict: Conflict) -> bool {
        conflict == Conflict::SeriesClosed
    }

    /// Returns whether the effects of a batch's events may be committed in one transaction
    /// (see [`Processor::process_batch`]): right for a consumer whose effects do not depend on
    /// each other and that would otherwise queue on one lock. By default false: each event
    /// commits on its own.
    fn commits_together(&self) -> bool {
        false
    }
}

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before dead-lettering (at least 1).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub base_delay: Duration,
    /// Longest delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Returns the delay after failed attempt `attempt` (1-based): exponential, capped, with
    /// full jitter in its upper half so replicas do not retry in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exponential.min(self.max_delay);
        let mut byte = [0u8; 2];
        let fraction = match getrandom::fill(&mut byte) {
            Ok(()) => f64::from(u16::from_le_bytes(byte)) / f64::from(u16::MAX),
            Err(_) => 0.5,
        };
        capped.mul_f64(0.5 + fraction / 2.0)
    }
}

/// What became of one delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its effect was committed.
    Handled,
    /// It had been handled before: no second effect.
    Duplicate,
    /// Not for this consumer.
    Skipped,
    /// It names a task that belongs to another user than its own (a forged or corrupted
    /// event): dropped without touching anyone's data, with a warning and
    /// `tickler_events_rejected_total`.
    Rejected,
    /// Unreadable, permanently failing or out of attempts: recorded as a dead letter.
    DeadLettered,
    /// A transient failure, left for the transport to redeliver (only when the processor was
    /// told not to retry inline, as for Dapr).
    Retry,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::Skipped => "skipped",
            Outcome::Rejected => "rejected",
            Outcome::DeadLettered => "dead_lettered",
            Outcome::Retry => "retry",
        }
    }
}

/// Processing was interrupted by shutdown; the event was not acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("processing interrupted by shutdown")]
pub struct Interrupted;

/// Runs one consumer's handler for delivered events.
#[derive(Debug, Clone)]
pub struct Processor {
    consumer: Arc<dyn Consumer>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    retry: RetryPolicy,
    signal: OutboxSignal,
}

impl Processor {
    /// Builds a processor. `signal` is bumped when an effect appended events or queued
    /// deliveries.
    pub fn new(
        consumer: Arc<dyn Consumer>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        retry: RetryPolicy,
        signal: OutboxSignal,
    ) -> Self {
        Self {
            consumer,
            store,
            clock,
            retry,
            signal,
        }
    }

    /// Returns the consumer.
    pub fn consumer(&self) -> &Arc<dyn Consumer> {
        &self.consumer
    }

    /// Processes one delivery from `topic`. With `retry_inline` false, a transient failure
    /// returns [`Outcome::Retry`] after one attempt instead of retrying here.
    pub async fn process(
        &self,
        topic: &str,
        payload: &[u8],
        retry_inline: bool,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, Interrupted> {
        let outcome = tracing::Instrument::instrument(
            self.process_inner(topic, payload, retry_inline, shutdown),
            self.delivery_span(topic, payload),
        )
        .await?;
        self.count(outcome);
        Ok(outcome)
    }

    /// One span per delivery, continuing the trace of the change the event describes: the
    /// consumer's effects (their commits, the events they write) join that trace.
    fn delivery_span(&self, topic: &str, payload: &[u8]) -> tracing::Span {
        let span = tracing::info_span!(
            "consume",
            consumer = self.consumer.name(),
            topic,
            trace_id = tracing::field::Empty,
            "otel.name" = %format_args!("consume {}", self.consumer.name()),
            "otel.kind" = "consumer",
        );
        tickler_app::trace::continue_trace(
            &span,
            ReceivedEvent::peek_traceparent(payload).as_deref(),
        );
        tickler_app::trace::record_trace_id(&span);
        span
    }

    fn count(&self, outcome: Outcome) {
        metrics::counter!(
            "tickler_events_consumed_total",
            "consumer" => self.consumer.name(),
            "outcome" => outcome.as_str(),
        )
        .increment(1);
    }

    async fn process_inner(
        &self,
        topic: &str,
        payload: &[u8],
        retry_inline: bool,
        shutdown: &CancellationToken,
    ) -> Result<Outcome, Interrupted> {
        let event = match ReceivedEvent::parse(payload) {
            Ok(event) => event,
            Err(error) => {
                tracing::warn!(consumer = self.consumer.name(), %error, "malformed event");
                self.dead_letter(topic, payload, &error.to_string(), 1, shutdown)
                    .await?;
                return Ok(Outcome::DeadLettered);
            }
        };
        if !self.consumer.accepts(&event.event_type) {
            return Ok(Outcome::Skipped);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.attempt(&event).await {
                Ok(outcome) => {
                    self.record_latency(&event);
                    return Ok(outcome);
                }
                Err(error) => error,
            };
            metrics::counter!(
                "tickler_events_failed_total",
                "consumer" => self.consumer.name(),
                "type" => event.event_type.clone(),
            )
            .increment(1);
            let permanent = matches!(error, HandleError::Permanent(_));
            if !permanent && !retry_inline {
                return Ok(Outcome::Retry);
            }
            if permanent || attempt >= self.retry.max_attempts {
                tracing::error!(
                    consumer = self.consumer.name(),
                    event_id = %event.id,
                    attempts = attempt,
                    %error,
                    "giving up on event"
                );
                self.dead_letter(topic, payload, &error.to_string(), attempt, shutdown)
                    .await?;
                return Ok(Outcome::DeadLettered);
            }
            tracing::warn!(
                consumer = self.consumer.name(),
                event_id = %event.id,
                attempt,
                %error,
                "retrying event"
            );
            sleep_or_shutdown(self.retry.delay(attempt), shutdown).await?;
        }
    }

    /// Returns a task the event names that belongs to another user than the event's, if
    /// one does. A task that no longer exists (deleted since) names nobody: such an event is
    /// handled as before.
    async fn foreign_task(&self, event: &ReceivedEvent) -> Result<Option<TaskId>, HandleError> {
        let owners = self.store.task_owners(&event.named_tasks()).await?;
        Ok(owners
            .into_iter()
            .find(|(_, owner)| *owner != event.user)
            .map(|(task, _)| task))
    }

    async fn attempt(&self, event: &ReceivedEvent) -> Result<Outcome, HandleError> {
        // Whoever can publish to the bus (or reach the Dapr routes) decides an event's user:
        // an event naming someone else's task must change neither user's data.
        if let Some(task) = self.foreign_task(event).await? {
            tracing::warn!(
                consumer = self.consumer.name(),
                event_id = %event.id,
                event_type = %event.event_type,
                user_id = %event.user,
                task_id = %task,
                "event names a task of another user: dropped"
            );
            metrics::counter!(
                "tickler_events_rejected_total",
                "consumer" => self.consumer.name(),
                "reason" => "foreign_task",
            )
            .increment(1);
            return Ok(Outcome::Rejected);
        }
        let now = self.clock.now();
        let mut changes = self.consumer.handle(event, now).await?;
        changes.processed = vec![self.marker(event, now)];
        match self.commit(changes).await {
            Ok(()) => Ok(Outcome::Handled),
            Err(StoreError::Conflict(Conflict::AlreadyProcessed)) => Ok(Outcome::Duplicate),
            // The effect was already made by another event (a recurring series already made
            // this instance, or ended): record the event as handled, with no effect.
            Err(StoreError::Conflict(conflict)) if self.consumer.already_made(conflict) => {
                let marker = ChangeSet {
                    processed: vec![self.marker(event, now)],
                    ..ChangeSet::default()
                };
                match self.store.commit(marker).await {
                    Ok(()) | Err(StoreError::Conflict(Conflict::AlreadyProcessed)) => {
                        Ok(Outcome::Duplicate)
                    }
                    Err(error) => Err(error.into()),
                }
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Commits an effect; one that appended events or queued deliveries then wakes the
    /// consumers and the delivery worker.
    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        let wakes = CommitWakes::of(&changes);
        self.store.commit(changes).await?;
        wakes.notify(&self.signal);
        Ok(())
    }

    fn marker(&self, event: &ReceivedEvent, now: DateTime<Utc>) -> ProcessedEvent {
        ProcessedEvent {
            consumer: self.consumer.name().to_owned(),
            event_id: event.id,
            processed_at: now,
        }
    }

    fn record_latency(&self, event: &ReceivedEvent) {
        let latency = (self.clock.now() - event.time)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64();
        metrics::histogram!(
            "tickler_event_latency_seconds",
            "consumer" => self.consumer.name(),
        )
        .record(latency);
    }

    /// Records a dead letter, retrying until the database takes it: losing it would lose the
    /// event.
    async fn dead_letter(
        &self,
        topic: &str,
        payload: &[u8],
        error: &str,
        attempts: u32,
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        let (event_id, event_type) = ReceivedEvent::peek(payload);
        let letter = DeadLetter {
            id: uuid::Uuid::now_v7(),
            consumer: self.consumer.name().to_owned(),
            event_id,
            event_type,
            topic: topic.to_owned(),
            payload: String::from_utf8_lossy(payload).into_owned(),
            error: error.to_owned(),
            attempts,
            failed_at: self.clock.now(),
            replayed_at: None,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.store.insert_dead_letter(&letter).await {
                Ok(()) => {
                    metrics::counter!(
                        "tickler_dead_letters_total",
                        "consumer" => self.consumer.name(),
                    )
                    .increment(1);
                    return Ok(());
                }
                Err(store_error) => {
                    tracing::error!(%store_error, "cannot record a dead letter; retrying");
                    sleep_or_shutdown(self.retry.delay(attempt.min(8)), shutdown).await?;
                }
            }
        }
    }
}

/// One delivery of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The topic it came from.
    pub topic: &'a str,
    /// The ordering key (the event's subject): deliveries with the same key are processed in
    /// order, others concurrently.
    pub key: &'a str,
    /// The CloudEvent.
    pub payload: &'a [u8],
}

/// How many deliveries of a batch are processed at once. Concurrent effects are what lets the
/// store group their commits into one flush (a consumer committing one event at a time would
/// be bounded by the disk's flush rate, a few hundred per second).
pub const BATCH_CONCURRENCY: usize = 64;

/// Why a batch was not committed together (it is then processed one event at a time, which
/// gives each event its own outcome: a duplicate, a rejection, a retry, a dead letter).
#[derive(Debug, thiserror::Error)]
enum Apart {
    /// An event needs handling of its own (unreadable, foreign, failing).
    #[error("an event needs handling of its own")]
    Event,
    /// An effect cannot join others ([`ChangeSet::absorb`]).
    #[error("an effect cannot join the others")]
    Unmergeable,
    /// The owners' lookup or the commit failed (a commit is rolled back whole).
    #[error("the store failed: {0}")]
    Store(StoreError),
}

impl Processor {
    /// Processes a batch: deliveries with the same key in order, different keys concurrently.
    /// Returns once every delivery is durable (handled, a duplicate, skipped or a dead letter),
    /// so the transport may then acknowledge the whole batch.
    ///
    /// For a consumer that [`Consumer::commits_together`], the batch's effects are first
    /// committed in one transaction, in delivery order: the audit consumer's appends for one
    /// user would otherwise each wait for that user's chain head, holding a database connection
    /// while they wait. If any event needs handling of its own, or that commit fails (a
    /// redelivered event, say), nothing of it stays and the batch is processed event by event.
    pub async fn process_batch(
        &self,
        deliveries: &[Delivery<'_>],
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        use futures::StreamExt as _;
        if self.consumer.commits_together() && deliveries.len() > 1 {
            match self.commit_together(deliveries).await {
                Ok(()) => return Ok(()),
                Err(apart) => tracing::debug!(
                    consumer = self.consumer.name(),
                    %apart,
                    "batch processed event by event"
                ),
            }
        }
        let mut lanes: Vec<(&str, Vec<Delivery<'_>>)> = Vec::new();
        let mut lane_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for delivery in deliveries {
            let lane = *lane_of.entry(delivery.key).or_insert_with(|| {
                lanes.push((delivery.key, Vec::new()));
                lanes.len() - 1
            });
            lanes[lane].1.push(*delivery);
        }
        let mut lanes = lanes.into_iter().map(|(_, lane)| lane);
        let mut running = futures::stream::FuturesUnordered::new();
        let mut outcome = Ok(());
        loop {
            while running.len() < BATCH_CONCURRENCY {
                let Some(lane) = lanes.next() else { break };
                running.push(self.process_lane(lane, shutdown));
            }
            match running.next().await {
                Some(result) => outcome = outcome.and(result),
                None => return outcome,
            }
        }
    }

    /// Commits the effects of a batch's events in one transaction, after checking every task
    /// they name against its owner in one lookup.
    async fn commit_together(&self, deliveries: &[Delivery<'_>]) -> Result<(), Apart> {
        let now = self.clock.now();
        let mut events = Vec::with_capacity(deliveries.len());
        let mut named = Vec::new();
        for delivery in deliveries {
            let event = ReceivedEvent::parse(delivery.payload).map_err(|_| Apart::Event)?;
            let accepted = self.consumer.accepts(&event.event_type);
            let tasks = if accepted {
                event.named_tasks()
            } else {
                Vec::new()
            };
            named.extend_from_slice(&tasks);
            events.push((delivery, accepted.then_some((event, tasks))));
        }
        named.sort_by_key(|task| *task.as_uuid());
        named.dedup();
        let owners: std::collections::HashMap<TaskId, tickler_domain::UserId> = self
            .store
            .task_owners(&named)
            .await
            .map_err(Apart::Store)?
            .into_iter()
            .collect();
        let mut merged = ChangeSet::default();
        let mut outcomes = Vec::with_capacity(events.len());
        for (delivery, accepted) in events {
            let Some((event, tasks)) = accepted else {
                outcomes.push(None);
                continue;
            };
            let foreign = tasks
                .iter()
                .any(|task| owners.get(task).is_some_and(|owner| *owner != event.user));
            if foreign {
                return Err(Apart::Event);
            }
            let mut changes = tracing::Instrument::instrument(
                self.consumer.handle(&event, now),
                self.delivery_span(delivery.topic, delivery.payload),
            )
            .await
            .map_err(|_| Apart::Event)?;
            changes.processed = vec![self.marker(&event, now)];
            merged.absorb(changes).map_err(|_| Apart::Unmergeable)?;
            outcomes.push(Some(event));
        }
        self.commit(merged).await.map_err(Apart::Store)?;
        for event in outcomes {
            match event {
                Some(event) => {
                    self.record_latency(&event);
                    self.count(Outcome::Handled);
                }
                None => self.count(Outcome::Skipped),
            }
        }
        Ok(())
    }

    async fn process_lane(
        &self,
        lane: Vec<Delivery<'_>>,
        shutdown: &CancellationToken,
    ) -> Result<(), Interrupted> {
        for delivery in lane {
            self.process(delivery.topic, delivery.payload, true, shutdown)
                .await?;
        }
        Ok(())
    }
}

/// Sleeps, or returns [`Interrupted`] as soon as shutdown is requested.
pub async fn sleep_or_shutdown(
    duration: Duration,
    shutdown: &CancellationToken,
) -> Result<(), Interrupted> {
    tokio::select! {
        () = tokio::time::sleep(duration) => Ok(()),
        () = shutdown.cancelled() => Err(Interrupted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_grow_exponentially_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let delay = policy.delay(attempt).as_millis() as u64;
            assert!(
                (full / 2..=full).contains(&delay),
                "attempt {attempt}: {delay} ms not in [{}, {full}]",
                full / 2
            );
        }
    }
}
