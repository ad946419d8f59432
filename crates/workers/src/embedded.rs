//! The embedded bus: consumers in this process read the outbox log straight from the database,
//! each from its own committed position. No broker is needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tickler_app::{OutboxSignal, ReadPacer};
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
    /// The shortest time between two reads that did not fill a batch ([`ReadPacer`]).
    pub min_read_interval: Duration,
}

impl Default for EmbeddedSettings {
    fn default() -> Self {
        Self {
            batch: 256,
            poll_interval: Duration::from_millis(200),
            topics: TopicNames::default(),
            min_read_interval: Duration::from_millis(5),
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
        let mut lag = LagReports::default();
        let mut pacer = ReadPacer::new(self.settings.min_read_interval);
        loop {
            // Mark the wake-up seen before reading, so a commit during the read is not missed.
            wake.borrow_and_update();
            pacer.reading();
            // A batch shorter than the limit read everything committed before the read: wait
            // for the next wake-up instead of reading again to find nothing (half the reads
            // of a consumer that keeps up with a steady stream of commits).
            let more = match self.process_next(position, &shutdown).await {
                Ok(Some(batch)) => {
                    position = batch.last;
                    batch.full
                }
                Ok(None) => false,
                Err(Interrupted) => return Ok(()),
            };
            match lag.due(more, Instant::now()) {
                LagReport::Skip => {}
                LagReport::CaughtUp => {
                    metrics::gauge!("tickler_consumer_lag_events", "consumer" => name).set(0.0);
                    lag.reported(0, Instant::now());
                }
                LagReport::Measure => {
                    if let Some(behind) = self.report_lag(name, position).await {
                        lag.reported(behind, Instant::now());
                    }
                }
            }
            if more {
                continue;
            }
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
                () = shutdown.cancelled() => return Ok(()),
            }
            // Commits that keep coming are read together, at most once per interval.
            tokio::select! {
                () = pacer.ready() => {}
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
        Ok(self
            .process_next(position, shutdown)
            .await?
            .map(|batch| batch.last))
    }

    /// Processes one batch after `position`.
    async fn process_next(
        &self,
        position: OutboxPosition,
        shutdown: &CancellationToken,
    ) -> Result<Option<Processed>, Interrupted> {
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
        let full = records.len() >= self.settings.batch as usize;
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
        Ok(Some(Processed { last, full }))
    }

    /// Sets `tickler_consumer_lag_events` from the log's head; returns the lag it set.
    async fn report_lag(&self, name: &'static str, position: OutboxPosition) -> Option<i64> {
        let head = self.store.outbox_head().await.ok()?;
        let lag = lag_behind(head, position);
        metrics::gauge!("tickler_consumer_lag_events", "consumer" => name).set(lag as f64);
        Some(lag)
    }
}

/// A batch an embedded consumer processed.
struct Processed {
    /// The position of its last record.
    last: OutboxPosition,
    /// Whether it held as many records as a batch may: more may be waiting.
    full: bool,
}

/// How often a consumer reports its lag while it works through a backlog. Reporting only when
/// idle left the gauge at its last idle value (0) for as long as a consumer was behind, which
/// is when it matters.
const LAG_REPORT_BUSY: Duration = Duration::from_secs(1);
/// How often an idle consumer reports its lag (the log's head against its position).
const LAG_REPORT_IDLE: Duration = Duration::from_secs(5);

/// When a consumer loop reports its lag: every [`LAG_REPORT_BUSY`] while it reads batch after
/// batch, at once (as 0, with no query: it has just read to the end of the log) when it
/// falls idle after reporting a lag, and every [`LAG_REPORT_IDLE`] otherwise.
#[derive(Debug, Default)]
struct LagReports {
    last: Option<(Instant, i64)>,
}

/// What [`LagReports::due`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LagReport {
    /// Nothing now.
    Skip,
    /// Read the log's head and report the difference.
    Measure,
    /// Report 0: the consumer just read everything.
    CaughtUp,
}

impl LagReports {
    /// What to report after a round that filled a batch (`busy`: more may follow) or read to
    /// the end of the log.
    fn due(&self, busy: bool, now: Instant) -> LagReport {
        let Some((at, lag)) = self.last else {
            return LagReport::Measure;
        };
        let elapsed = now.saturating_duration_since(at);
        if busy {
            if elapsed >= LAG_REPORT_BUSY {
                LagReport::Measure
            } else {
                LagReport::Skip
            }
        } else if lag > 0 {
            LagReport::CaughtUp
        } else if elapsed >= LAG_REPORT_IDLE {
            LagReport::Measure
        } else {
            LagReport::Skip
        }
    }

    /// Records a report of `lag` made at `now`.
    fn reported(&mut self, lag: i64, now: Instant) {
        self.last = Some((now, lag));
    }
}

/// Returns about how many records lie between `position` and `head` (sequence numbers are
/// dense enough; across PostgreSQL transactions only whether it is behind is certain).
pub fn lag_behind(head: OutboxPosition, position: OutboxPosition) -> i64 {
    if head <= position {
        0
    } else if head.transaction == position.transaction || head.sequence > position.sequence {
        head.sequence.saturating_sub(position.sequence).max(1)
    } else {
        1
    }
}

/// What one round of the outbox retention did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RetentionRound {
    /// Records deleted.
    pub purged: u64,
    /// The consumer furthest behind, and how many records it has left to read.
    pub slowest: Option<(String, i64)>,
}

/// Trims the outbox of the embedded bus: records older than the retention window that every
/// consumer has read (the store never deletes past the slowest consumer's saved position, so
/// a consumer that was down longer than the window loses nothing); reports each consumer's
/// lag as the database sees it, so a consumer that is down shows too.
#[derive(Debug)]
pub struct OutboxRetention {
    store: Arc<dyn Store>,
    retention: chrono::TimeDelta,
}

impl OutboxRetention {
    /// Builds the job.
    pub fn new(store: Arc<dyn Store>, retention: chrono::TimeDelta) -> Self {
        Self { store, retention }
    }

    /// Purges what may go at `now` and reports the consumers' lag.
    pub async fn run_once(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<RetentionRound, tickler_store::StoreError> {
        let purged = self.store.purge_outbox(now - self.retention, false).await?;
        let slowest = self.report_lag().await?;
        Ok(RetentionRound { purged, slowest })
    }

    /// Reports each consumer's lag; returns the consumer furthest behind and its lag.
    pub async fn report_lag(&self) -> Result<Option<(String, i64)>, tickler_store::StoreError> {
        let head = self.store.outbox_head().await?;
        let positions = self.store.list_consumer_positions().await?;
        let mut slowest: Option<(String, i64)> = None;
        for saved in positions {
            let lag = lag_behind(head, saved.position);
            metrics::gauge!("tickler_outbox_consumer_lag_events", "consumer" => saved.consumer.clone())
                .set(lag as f64);
            if slowest.as_ref().is_none_or(|(_, worst)| lag > *worst) {
                slowest = Some((saved.consumer, lag));
            }
        }
        let worst = slowest.as_ref().map_or(0, |(_, lag)| *lag);
        metrics::gauge!("tickler_outbox_slowest_consumer_lag_events").set(worst as f64);
        if let Some((consumer, lag)) = &slowest
            && *lag > 0
        {
            tracing::debug!(consumer, lag, "slowest embedded consumer");
        }
        Ok(slowest)
    }

    /// Purges every `purge_interval` and reports the lag every `lag_interval` until
    /// `shutdown`.
    pub async fn run(
        self,
        purge_interval: Duration,
        lag_interval: Duration,
        clock: Arc<dyn tickler_app::Clock>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut last_purge: Option<Instant> = None;
        loop {
            if last_purge.is_none_or(|at| at.elapsed() >= purge_interval) {
                last_purge = Some(Instant::now());
                match self.run_once(clock.now()).await {
                    Ok(round) if round.purged > 0 => {
                        tracing::info!(purged = round.purged, "purged old outbox records");
                    }
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "cannot purge the outbox"),
                }
            } else if let Err(error) = self.report_lag().await {
                tracing::warn!(%error, "cannot read the consumers' positions");
            }
            tokio::select! {
                () = tokio::time::sleep(lag_interval) => {}
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_reports_its_lag_every_second_while_busy_and_zero_once_caught_up() {
        let start = Instant::now();
        let mut lag = LagReports::default();
        assert_eq!(lag.due(true, start), LagReport::Measure, "the first round");
        lag.reported(5_000, start);
        // Busy: a report a second, whatever the last value was.
        assert_eq!(
            lag.due(true, start + Duration::from_millis(999)),
            LagReport::Skip
        );
        assert_eq!(lag.due(true, start + LAG_REPORT_BUSY), LagReport::Measure);
        lag.reported(3_000, start + LAG_REPORT_BUSY);
        // Idle after a reported lag: 0 at once, without waiting for the idle interval.
        let idle = start + LAG_REPORT_BUSY + Duration::from_millis(10);
        assert_eq!(lag.due(false, idle), LagReport::CaughtUp);
        lag.reported(0, idle);
        // Idle and caught up: the head is read again only every LAG_REPORT_IDLE.
        assert_eq!(
            lag.due(false, idle + Duration::from_secs(1)),
            LagReport::Skip
        );
        assert_eq!(lag.due(false, idle + LAG_REPORT_IDLE), LagReport::Measure);
        // Busy again right after a report of 0: the next report comes within a second.
        assert_eq!(
            lag.due(true, idle + Duration::from_millis(500)),
            LagReport::Skip
        );
        assert_eq!(lag.due(true, idle + LAG_REPORT_BUSY), LagReport::Measure);
    }
}
