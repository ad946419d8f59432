//! The Prometheus recorder behind the `metrics` facade, and the `/metrics` rendering.
//!
//! The facade's recorder is process-wide by design (every crate records through the same
//! macros), so it is installed once; later calls return the same handle.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio_util::sync::CancellationToken;

/// How often [`MetricsHandle::keep_up`] folds the samples histograms have buffered into their
/// buckets (the exporter's own default when it runs its listener).
const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// Renders the collected metrics in the Prometheus text format.
#[derive(Clone)]
pub struct MetricsHandle(Option<PrometheusHandle>);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsHandle")
    }
}

impl MetricsHandle {
    /// Returns the text exposition of every metric, with the process's own read just before.
    pub fn render(&self) -> String {
        record_process_metrics();
        self.0
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }

    /// Folds the samples every histogram has buffered since the last rendering into its
    /// buckets, and frees the buffers.
    pub fn run_upkeep(&self) {
        if let Some(handle) = &self.0 {
            handle.run_upkeep();
        }
    }

    /// Runs [`MetricsHandle::run_upkeep`] every five seconds until `shutdown`. The recorder
    /// keeps each histogram sample (8 bytes, in blocks) until a scrape or an upkeep drains it,
    /// so a server nobody scrapes would otherwise grow with every request it answers: 6.8 MB
    /// after a minute and a half of benchmark load (heaptrack, docs/benchmarks.md).
    pub async fn keep_up(self, shutdown: CancellationToken) {
        self.keep_up_every(UPKEEP_PERIOD, shutdown).await;
    }

    async fn keep_up_every(self, period: Duration, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => self.run_upkeep(),
                () = shutdown.cancelled() => return,
            }
        }
    }
}

/// Records the process metrics Prometheus' client libraries export under the same names
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,
/// `process_max_fds`), read from `/proc/self` (Linux; elsewhere nothing is recorded).
fn record_process_metrics() {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return;
    };
    if let Some(kilobytes) = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
    {
        metrics::gauge!("process_resident_memory_bytes").set(kilobytes * 1024.0);
    }
    if let Some(seconds) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| cpu_seconds(&stat))
    {
        // A counter in Prometheus' sense, set from the kernel's running total.
        metrics::counter!("process_cpu_seconds_total").absolute(seconds as u64);
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        metrics::gauge!("process_open_fds").set(entries.count() as f64);
    }
    if let Some(limit) = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|limits| {
            limits
                .lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3))
                .and_then(|soft| soft.parse::<f64>().ok())
        })
    {
        metrics::gauge!("process_max_fds").set(limit);
    }
}

/// User plus system CPU time from `/proc/self/stat` (fields 14 and 15, after the command name
/// in parentheses), in seconds of the kernel's 100 Hz `USER_HZ` clock.
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / 100.0)
}

/// Latency buckets (seconds) for request and event histograms.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets for the SQLite writer's batch sizes (change sets per transaction).
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its handle. If another
/// recorder was installed first, metrics are not exported and `/metrics` is empty.
pub fn install_recorder() -> MetricsHandle {
    let handle = HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .ok()?
            .set_buckets_for_metric(
                Matcher::Full("tickler_sqlite_writer_batch_size".to_owned()),
                BATCH_BUCKETS,
            )
            .ok()?;
        match builder.install_recorder() {
            Ok(handle) => {
                describe();
                Some(handle)
            }
            Err(error) => {
                tracing::warn!(%error, "metrics recorder not installed");
                None
            }
        }
    });
    MetricsHandle(handle.clone())
}

/// The help text of every metric the process records, whichever crate records it: the
/// exposition carries a `# HELP` line for each (Prometheus' linter wants one). Metrics are
/// listed in docs/operations.md.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "tickler_http_requests_total",
        "HTTP requests answered, by method, route template and status"
    );
    describe_histogram!(
        "tickler_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by method and route template"
    );
    describe_gauge!(
        "tickler_http_requests_in_flight",
        "HTTP requests being handled"
    );
    describe_gauge!(
        "tickler_outbox_backlog_events",
        "outbox records not yet published (relay)"
    );
    describe_histogram!(
        "tickler_relay_step_seconds",
        Unit::Seconds,
        "one step of a relay pass: reading a batch, publishing it, marking it published"
    );
    describe_counter!(
        "tickler_events_published_total",
        "outbox records the broker acknowledged, by topic and type"
    );
    describe_counter!(
        "tickler_events_consumed_total",
        "event deliveries to a consumer, by outcome"
    );
    describe_counter!(
        "tickler_events_failed_total",
        "failed attempts of a consumer at an event"
    );
    describe_counter!("tickler_dead_letters_total", "events a consumer gave up on");
    describe_gauge!(
        "tickler_consumer_lag_events",
        "records between a consumer and the head of its log (embedded bus)"
    );
    describe_gauge!(
        "tickler_outbox_consumer_lag_events",
        "records between a consumer's saved position and the head of the log (embedded bus; reported by the retention job, also for consumers that are down)"
    );
    describe_gauge!(
        "tickler_outbox_slowest_consumer_lag_events",
        "the largest lag of any embedded consumer: retention never deletes records it has not read"
    );
    describe_histogram!(
        "tickler_event_latency_seconds",
        Unit::Seconds,
        "commit of a change to a consumer's effect"
    );
    describe_counter!(
        "tickler_notification_deliveries_total",
        "delivery attempts recorded, by channel kind and resulting status"
    );
    describe_counter!(
        "tickler_notification_stale_total",
        "deliveries dropped before an attempt because their reminder no longer held, by channel kind and reason"
    );
    describe_histogram!(
        "tickler_notification_attempt_seconds",
        Unit::Seconds,
        "one webhook or SMTP attempt"
    );
    describe_histogram!(
        "tickler_notification_latency_seconds",
        Unit::Seconds,
        "a reminder's fire time to its delivery"
    );
    describe_histogram!(
        "tickler_reminder_lateness_seconds",
        Unit::Seconds,
        "a reminder's fire time to the commit of its event"
    );
    describe_gauge!(
        "tickler_reminder_lateness_p99_seconds",
        Unit::Seconds,
        "p99 lateness of this scheduler's last 10,000 reminders"
    );
    describe_counter!("tickler_reminders_fired_total", "reminders fired");
    describe_counter!(
        "tickler_reminders_missed_total",
        "reminders recorded missed (later than reminders.missed_after)"
    );
    describe_gauge!(
        "tickler_sqlite_writer_queue_depth",
        "change sets waiting for the SQLite writer thread"
    );
    describe_histogram!(
        "tickler_sqlite_writer_batch_size",
        "change sets committed together in one SQLite transaction"
    );
    describe_gauge!(
        "tickler_db_pool_connections",
        "database connections of a pool, by state"
    );
    describe_gauge!(
        "tickler_db_pool_max_connections",
        "size of a database connection pool"
    );
    describe_gauge!(
        "tickler_db_pool_waiting",
        "reads waiting for a connection of the pool (SQLite's read pool)"
    );
    describe_histogram!(
        "tickler_db_pool_wait_seconds",
        Unit::Seconds,
        "time a read waited for a connection (SQLite's read pool)"
    );
    describe_gauge!(
        "tickler_websocket_connections",
        "open WebSocket connections (realtime role)"
    );
    describe_counter!(
        "process_cpu_seconds_total",
        Unit::Seconds,
        "user and system CPU time of the process"
    );
    describe_gauge!(
        "process_resident_memory_bytes",
        Unit::Bytes,
        "resident memory of the process"
    );
    describe_gauge!("process_open_fds", "open file descriptors of the process");
    describe_gauge!(
        "process_max_fds",
        "the process's limit of open file descriptors"
    );
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use metrics_exporter_prometheus::PrometheusBuilder;
    use tokio_util::sync::CancellationToken;

    use super::{MetricsHandle, cpu_seconds};

    /// Folding buffered samples into the buckets loses none: the exposition counts every
    /// sample recorded before and after upkeeps; and the upkeep task stops at shutdown. That it
    /// frees the buffers cannot be seen from outside the recorder; the memory it gives back is
    /// measured by `scripts/bench memory-sqlite` (docs/benchmarks.md).
    #[tokio::test(start_paused = true)]
    async fn the_upkeep_keeps_every_histogram_sample_and_stops_at_shutdown() {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.01, 0.1])
            .expect("buckets")
            .build_recorder();
        let handle = MetricsHandle(Some(recorder.handle()));
        let record = |count: usize, value: f64| {
            metrics::with_local_recorder(&recorder, || {
                let histogram = metrics::histogram!("upkeep_test_seconds");
                for _ in 0..count {
                    histogram.record(value);
                }
            });
        };
        let shutdown = CancellationToken::new();
        let upkeep = tokio::spawn(
            handle
                .clone()
                .keep_up_every(Duration::from_secs(5), shutdown.clone()),
        );
        record(1_000, 0.005);
        tokio::time::sleep(Duration::from_secs(6)).await;
        record(500, 0.05);
        tokio::time::sleep(Duration::from_secs(6)).await;
        record(250, 1.0);
        let exposition = handle.render();
        for line in [
            "upkeep_test_seconds_bucket{le=\"0.01\"} 1000",
            "upkeep_test_seconds_bucket{le=\"0.1\"} 1500",
            "upkeep_test_seconds_bucket{le=\"+Inf\"} 1750",
            "upkeep_test_seconds_count 1750",
        ] {
            assert!(
                exposition.lines().any(|l| l == line),
                "{line} missing from {exposition}"
            );
        }
        shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(1), upkeep)
            .await
            .expect("the upkeep stops at shutdown")
            .expect("the upkeep does not panic");
    }

    #[test]
    fn cpu_time_is_read_after_the_command_name_whatever_it_contains() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime ...
        let stat = "42 (tickler (serve) x) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
    }
}
