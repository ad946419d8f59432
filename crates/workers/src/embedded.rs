//! The embedded bus: consumers in this process read the outbox log straight from the database,
//! each from its own committed position. No broker is needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickler_app::OutboxSignal;
use tickler_store::{ConsumerPosition, OutboxPosition, Store};
use tokio_util::sync::CancellationToken;

use crate::consumer::{Delivery, Interrupted, Processor, sleep_or_shutdown};
use crate::topic::{Topic, TopicNames};

/// Settings of an embedded consumer loop.
#[derive(Debug, Clone)]
pub struct EmbeddedSettings {
    /// Records read per batch.
    pub batch: u32,
    /// How long to wait for a wake-up before looking anyway (other processes sharing a
    /// PostgreSQL database cannot wake this one).
    pub poll_interval: Duration,
    /// Topic names, for dead-letter records.
    pub topics: TopicNames,
}

impl Default for EmbeddedSettings {
    fn default() -> Self {
        Self {
            batch: 256,
            poll_interval: Duration::from_millis(200),
            topics: TopicNames::default(),
        }
    }
}

/// Feeds one consumer from the outbox log.
#[derive(Debug)]
pub struct EmbeddedConsumer {
    processor: Processor,
    store: Arc<dyn Store>,
    signal: OutboxSignal,
    settings: EmbeddedSettings,
}

impl EmbeddedConsumer {
    /// Builds the loop.
    pub fn new(
        processor: Processor,
        store: Arc<dyn Store>,
        signal: OutboxSignal,
        settings: EmbeddedSettings,
    ) -> Self {
        Self {
            processor,
            store,
            signal,
            settings,
        }
    }

    /// Runs until `shutdown`; returns an error only if the database stays unreachable for a
    /// long time (the supervisor then stops the process).
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let name = self.processor.consumer().name();
        let mut wake = self.signal.subscribe();
        let mut position = loop {
            match self.store.consumer_position(name).await {
                Ok(position) => break position,
                Err(error) => {
                    tracing::warn!(consumer = name, %error, "cannot read the consumer position");
                    if sleep_or_shutdown(Duration::from_secs(1), &shutdown)
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
            }
        };
        tracing::info!(consumer = name, ?position, "embedded consumer started");
        let mut last_lag_report: Option<Instant> = None;
        loop {
            // Mark the wake-up seen before reading, so a commit during the read is not missed.
            wake.borrow_and_update();
            match self.run_once(position, &shutdown).await {
                Ok(Some(next)) => {
                    position = next;
                    continue;
                }
                Ok(None) => {}
                Err(Interrupted) => return Ok(()),
            }
            if last_lag_report.is_none_or(|at| at.elapsed() > Duration::from_secs(5)) {
                self.report_lag(name, position).await;
                last_lag_report = Some(Instant::now());
            }
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }

    /// Processes one batch after `position`; returns the new position, or `None` when there
    /// was nothing to read.
    pub async fn run_once(
        &self,
        position: OutboxPosition,
        shutdown: &CancellationToken,
    ) -> Result<Option<OutboxPosition>, Interrupted> {
        let consumer = self.processor.consumer().clone();
        let records = match self.store.outbox_after(position, self.settings.batch).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(consumer = consumer.name(), %error, "cannot read the outbox");
                sleep_or_shutdown(Duration::from_secs(1), shutdown).await?;
                return Ok(None);
            }
        };
        let Some(last) = records.last().map(|record| record.position) else {
            return Ok(None);
        };
        let mut deliveries = Vec::with_capacity(records.len());
        for record in &records {
            let topic = Topic::routes(&record.message.event_type)
                .iter()
                .find(|topic| consumer.topics().contains(topic));
            let Some(topic) = topic else { continue };
            if !consumer.accepts(&record.message.event_type) {
                continue;
            }
            deliveries.push(Delivery {
                topic: self.settings.topics.name(*topic),
                key: &record.message.subject,
                payload: record.message.payload.as_bytes(),
            });
        }
        // Effects of the batch run concurrently (per task in order), so the position moves
        // only once all of them are durable; after a crash the batch is read again and the
        // processed-event markers absorb what was already done.
        self.processor.process_batch(&deliveries, shutdown).await?;
        let saved = self
            .store
            .save_consumer_position(&ConsumerPosition {
                consumer: consumer.name().to_owned(),
                position: last,
            })
            .await;
        if let Err(error) = saved {
            tracing::warn!(consumer = consumer.name(), %error, "cannot save the position");
        }
        Ok(Some(last))
    }

    async fn report_lag(&self, name: &'static str, position: OutboxPosition) {
        if let Ok(head) = self.store.outbox_head().await {
            let lag = if head.transaction == position.transaction {
                head.sequence.saturating_sub(position.sequence).max(0)
            } else {
                i64::from(head > position)
            };
            metrics::gauge!("tickler_consumer_lag_events", "consumer" => name).set(lag as f64);
        }
    }
}
