//! The Dapr transport, over the sidecar's documented HTTP API (no SDK):
//!
//! * publishing: `POST http://127.0.0.1:<dapr-http-port>/v1.0/publish/<pubsub>/<topic>` with
//!   the CloudEvent as `application/cloudevents+json` and the task id as
//!   `metadata.partitionKey`; the sidecar answers 204 once its pub/sub component (Kafka, see
//!   `deploy/dapr/pubsub.yaml`) accepted the message;
//! * subscribing, programmatically: the sidecar reads `GET /dapr/subscribe` from this process
//!   and then POSTs each CloudEvent to the route given there; the answer `{"status": ...}` is
//!   `SUCCESS` (handled, or a duplicate), `RETRY` (a transient failure: the sidecar redelivers
//!   under its resiliency policy) or `DROP` (recorded as a dead letter here).
//!
//! Dapr's runtime cannot run on the machines this was built on, so the adapter is tested
//! against that HTTP contract (a fake sidecar, and requests shaped like the sidecar's), not
//! against a real sidecar. This module serves HTTP because Dapr's subscription mechanism is
//! HTTP; the API process mounts its router.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::consumer::{Outcome, Processor};
use crate::relay::{Outgoing, PublishError, Publisher};
use crate::topic::TopicNames;

/// Publishes through the Dapr sidecar.
#[derive(Debug, Clone)]
pub struct DaprPublisher {
    client: reqwest::Client,
    base: String,
    pubsub: String,
}

impl DaprPublisher {
    /// Talks to the sidecar at `base` (`http://127.0.0.1:3500`) through component `pubsub`.
    pub fn new(base: String, pubsub: String) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            pubsub,
        })
    }
}

#[async_trait]
impl Publisher for DaprPublisher {
    async fn publish(&self, messages: &[Outgoing]) -> Result<(), PublishError> {
        // One at a time: the order of one task's events must survive.
        for message in messages {
            let url = format!(
                "{}/v1.0/publish/{}/{}",
                self.base, self.pubsub, message.topic
            );
            let response = self
                .client
                .post(url)
                .query(&[("metadata.partitionKey", message.key.as_str())])
                .header("content-type", "application/cloudevents+json")
                .body(message.payload.clone())
                .send()
                .await
                .map_err(|error| PublishError::Failed(format!("dapr sidecar: {error}")))?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(PublishError::Failed(format!(
                    "dapr sidecar answered {status}: {}",
                    body.chars().take(200).collect::<String>()
                )));
            }
        }
        Ok(())
    }

    async fn ensure_topics(&self, _names: &[String]) -> Result<(), PublishError> {
        // The pub/sub component creates topics (pubsub.kafka does, when the broker allows).
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct Subscriptions {
    pubsub: String,
    topics: TopicNames,
    processors: Arc<HashMap<&'static str, Processor>>,
    shutdown: CancellationToken,
}

/// The routes the Dapr sidecar calls: `GET /dapr/subscribe` and one POST route per consumer
/// and topic, `/dapr/events/<consumer>/<topic>`.
pub fn router(
    pubsub: String,
    topics: TopicNames,
    processors: Vec<Processor>,
    shutdown: CancellationToken,
) -> Router {
    let processors = processors
        .into_iter()
        .map(|processor| (processor.consumer().name(), processor))
        .collect();
    Router::new()
        .route("/dapr/subscribe", get(subscribe))
        .route("/dapr/events/{consumer}/{topic}", post(deliver))
        .with_state(Subscriptions {
            pubsub,
            topics,
            processors: Arc::new(processors),
            shutdown,
        })
}

async fn subscribe(State(subscriptions): State<Subscriptions>) -> Json<Value> {
    let mut entries = Vec::new();
    for (name, processor) in subscriptions.processors.iter() {
        for topic in processor.consumer().topics() {
            let topic = subscriptions.topics.name(*topic);
            entries.push(json!({
                "pubsubname": subscriptions.pubsub,
                "topic": topic,
                "route": format!("/dapr/events/{name}/{topic}"),
            }));
        }
    }
    Json(Value::Array(entries))
}

async fn deliver(
    State(subscriptions): State<Subscriptions>,
    Path((consumer, topic)): Path<(String, String)>,
    body: Bytes,
) -> (axum::http::StatusCode, Json<Value>) {
    let Some(processor) = subscriptions.processors.get(consumer.as_str()) else {
        // Not subscribed here: tell the sidecar to drop it rather than retry forever.
        return status(axum::http::StatusCode::NOT_FOUND, "DROP");
    };
    let outcome = processor
        .process(&topic, &body, false, &subscriptions.shutdown)
        .await;
    match outcome {
        Ok(Outcome::Handled | Outcome::Duplicate | Outcome::Skipped) => {
            status(axum::http::StatusCode::OK, "SUCCESS")
        }
        Ok(Outcome::DeadLettered) => status(axum::http::StatusCode::OK, "DROP"),
        Ok(Outcome::Retry) | Err(_) => status(axum::http::StatusCode::OK, "RETRY"),
    }
}

fn status(code: axum::http::StatusCode, value: &str) -> (axum::http::StatusCode, Json<Value>) {
    (code, Json(json!({ "status": value })))
}
