//! The event backbone's settings: `[bus]` (the transport: embedded, Kafka or Dapr),
//! `[consumers]` (retries before dead-lettering) and `[events]` (the envelopes' source).

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::values::redact;

/// `[bus]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BusConfig {
    /// The transport.
    pub kind: BusKind,
    /// Kafka bootstrap servers.
    pub kafka_brokers: String,
    /// Whether to create topics.
    pub create_topics: bool,
    /// Partitions of created topics.
    pub topic_partitions: i32,
    /// Replication factor of created topics.
    pub replication_factor: i32,
    /// Consumer group prefix.
    pub consumer_group_prefix: String,
    /// Dapr sidecar HTTP port.
    pub dapr_http_port: u16,
    /// Dapr pub/sub component.
    pub dapr_pubsub: String,
    /// The token the sidecar sends in `dapr-api-token` (Dapr's `APP_API_TOKEN`).
    #[serde(serialize_with = "redact")]
    pub dapr_app_token: SecretString,
    /// The token this process sends to the sidecar (Dapr's `DAPR_API_TOKEN`).
    #[serde(serialize_with = "redact")]
    pub dapr_api_token: SecretString,
    /// Idle polling interval.
    pub poll_interval_ms: u64,
    /// Shortest time between two reads of an embedded consumer while commits keep coming.
    pub min_read_interval_ms: u64,
    /// Relay batch size.
    pub relay_batch: u32,
    /// Outbox retention.
    pub outbox_retention_hours: u64,
    /// Topic names.
    pub topics: tickler_workers::topic::TopicNames,
    /// Extra librdkafka settings.
    #[serde(default)]
    pub kafka_options: std::collections::BTreeMap<String, String>,
}

impl BusConfig {
    /// The Dapr sidecar's base URL.
    pub fn dapr_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.dapr_http_port)
    }

    /// Takes the Dapr tokens from Dapr's own variables (`APP_API_TOKEN`, `DAPR_API_TOKEN`)
    /// when the configuration leaves them empty.
    pub fn adopt_dapr_tokens(&mut self, variable: impl Fn(&str) -> Option<String>) {
        for (token, name) in [
            (&mut self.dapr_app_token, "APP_API_TOKEN"),
            (&mut self.dapr_api_token, "DAPR_API_TOKEN"),
        ] {
            if token.expose_secret().is_empty()
                && let Some(value) = variable(name).filter(|value| !value.is_empty())
            {
                *token = SecretString::from(value);
            }
        }
    }
}

/// The event transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    /// Consumers read the outbox in the database.
    Embedded,
    /// Kafka.
    Kafka,
    /// A Dapr sidecar.
    Dapr,
}

/// `[consumers]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConsumersConfig {
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
}

impl BusConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.relay_batch == 0 || self.topic_partitions < 1 || self.replication_factor < 1 {
            bail!(
                "bus.relay_batch, bus.topic_partitions and bus.replication_factor must be positive"
            );
        }
        Ok(())
    }
}

impl ConsumersConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.max_attempts == 0 {
            bail!("consumers.max_attempts must be at least 1");
        }
        Ok(())
    }
}

/// `[events]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventsConfig {
    /// CloudEvents source.
    pub source: String,
}
