//! The Prometheus recorder behind the `metrics` facade, and the `/metrics` rendering.
//!
//! The facade's recorder is process-wide by design (every crate records through the same
//! macros), so it is installed once; later calls return the same handle.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Renders the collected metrics in the Prometheus text format.
#[derive(Clone)]
pub struct MetricsHandle(Option<PrometheusHandle>);

impl std::fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsHandle")
    }
}

impl MetricsHandle {
    /// Returns the text exposition of every metric.
    pub fn render(&self) -> String {
        self.0
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

/// Latency buckets (seconds) for request and event histograms.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the Prometheus recorder (once per process) and returns its handle. If another
/// recorder was installed first, metrics are not exported and `/metrics` is empty.
pub fn install_recorder() -> MetricsHandle {
    let handle = HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .ok()?;
        match builder.install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "metrics recorder not installed");
                None
            }
        }
    });
    MetricsHandle(handle.clone())
}
