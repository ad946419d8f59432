//! `[log]` and `[tracing]`: log lines and trace export.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogConfig {
    /// `json` or `pretty`.
    pub format: LogFormat,
    /// Tracing filter.
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// `[tracing]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL (`/v1/traces` is appended); empty: the `OTEL_EXPORTER_OTLP_*`
    /// variables, or no export.
    pub otlp_endpoint: String,
    /// Fraction of new traces sampled; traces begun elsewhere follow their parent's decision.
    pub sampling_ratio: f64,
    /// `service.name` of exported spans; empty: `OTEL_SERVICE_NAME`, or `tickler`.
    pub service_name: String,
}

impl TracingConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if !(0.0..=1.0).contains(&self.sampling_ratio) {
            bail!("tracing.sampling_ratio must be between 0 and 1");
        }
        let endpoint = self.otlp_endpoint.trim();
        if !(endpoint.is_empty()
            || endpoint.starts_with("http://")
            || endpoint.starts_with("https://"))
        {
            bail!("tracing.otlp_endpoint must be an http:// or https:// URL (or empty)");
        }
        Ok(())
    }
}
