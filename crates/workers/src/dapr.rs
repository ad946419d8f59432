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
//! * authentication: the sidecar sends its `APP_API_TOKEN` in the `dapr-api-token` header of
//!   every call to this process, and every `/dapr/*` route refuses a call without it (401,
//!   compared in constant time); calls to the sidecar carry `DAPR_API_TOKEN` the same way
//!   when one is configured;
//! * secrets: `GET /v1.0/secrets/<store>/<key>` answers `{"<key>": "<value>"}`
//!   ([`read_secret`]).
//!
//! Dapr's runtime cannot run on the machines this was built on, so the adapter is tested
//! against that HTTP contract (a fake sidecar, and requests shaped like the sidecar's), not
//! against a real sidecar. This module serves HTTP because Dapr's subscription mechanism is
//! HTTP; the process mounts its router (only on the Dapr bus).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Outcome, Processor};
use crate::relay::{Outgoing, PublishError, Publisher};
use crate::topic::TopicNames;

/// The header carrying Dapr's API tokens, in both directions.
pub const TOKEN_HEADER: &str = "dapr-api-token";

/// Publishes through the Dapr sidecar.
#[derive(Debug, Clone)]
pub struct DaprPublisher {
    client: reqwest::Client,
    base: String,
    pubsub: String,
    api_token: Option<SecretString>,
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
            api_token: None,
        })
    }

    /// Sends `token` (the sidecar's `DAPR_API_TOKEN`) with every call.
    #[must_use]
    pub fn with_api_token(mut self, token: Option<SecretString>) -> Self {
        self.api_token = token.filter(|token| !token.expose_secret().is_empty());
        self
    }
}

/// Reads one value through the sidecar's secrets API: `GET <base>/v1.0/secrets/<store>/<name>`
/// answers the secret's keys and values, `{"<key>": "<value>", ...}`. Most stores hold one
/// value per secret under its own name (`name` = `key`); Kubernetes' store answers every key
/// of the Secret `name`.
pub async fn read_secret(
    base: &str,
    store: &str,
    name: &str,
    key: &str,
    api_token: Option<&SecretString>,
) -> anyhow::Result<SecretString> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let url = format!("{}/v1.0/secrets/{store}/{name}", base.trim_end_matches('/'));
    let mut request = client.get(url);
    if let Some(token) = api_token.filter(|token| !token.expose_secret().is_empty()) {
        request = request.header(TOKEN_HEADER, token.expose_secret());
    }
    let response = request
        .send()
        .await
        .map_err(|error| anyhow::anyhow!("dapr sidecar: {error}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("the dapr secret store {store} answered {status} for {name}");
    }
    let mut values: HashMap<String, String> = response
        .json()
        .await
        .map_err(|error| anyhow::anyhow!("the dapr secret store {store}: {error}"))?;
    values
        .remove(key)
        .map(SecretString::from)
        .ok_or_else(|| anyhow::anyhow!("the dapr secret {name} of {store} has no key {key}"))
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
            let mut request = self
                .client
                .post(url)
                .query(&[("metadata.partitionKey", message.key.as_str())])
                .header("content-type", "application/cloudevents+json");
            if let Some(token) = &self.api_token {
                request = request.header(TOKEN_HEADER, token.expose_secret());
            }
            let response = request
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

/// What the subscription routes need besides the consumers.
#[derive(Debug, Clone)]
pub struct SubscriptionSettings {
    /// The pub/sub component.
    pub pubsub: String,
    /// Topic names.
    pub topics: TopicNames,
    /// The token the sidecar sends (`APP_API_TOKEN`); calls without it are refused.
    pub app_token: SecretString,
}

/// The routes the Dapr sidecar calls: `GET /dapr/subscribe` and one POST route per consumer
/// and topic, `/dapr/events/<consumer>/<topic>`, each only with the sidecar's token.
pub fn router(
    settings: SubscriptionSettings,
    processors: Vec<Processor>,
    shutdown: CancellationToken,
) -> Router {
    let processors = processors
        .into_iter()
        .map(|processor| (processor.consumer().name(), processor))
        .collect();
    let expected = Arc::new(digest(settings.app_token.expose_secret().as_bytes()));
    Router::new()
        .route("/dapr/subscribe", get(subscribe))
        .route("/dapr/events/{consumer}/{topic}", post(deliver))
        .with_state(Subscriptions {
            pubsub: settings.pubsub,
            topics: settings.topics,
            processors: Arc::new(processors),
            shutdown,
        })
        .layer(axum::middleware::from_fn(move |request, next| {
            check_token(expected.clone(), request, next)
        }))
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Lets a call through only with the sidecar's token. Both sides are hashed first, so the
/// comparison takes the same time whatever the length or content of the token offered.
async fn check_token(expected: Arc<[u8; 32]>, request: Request, next: Next) -> Response {
    let offered = request
        .headers()
        .get(TOKEN_HEADER)
        .map(|value| digest(value.as_bytes()));
    let accepted = offered.is_some_and(|offered| bool::from(offered.ct_eq(expected.as_ref())));
    if !accepted {
        tracing::warn!("a call to a dapr route without the sidecar's token was refused");
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            Json(
                json!({"status": "DROP", "error": "the dapr-api-token header is missing or wrong"}),
            ),
        )
            .into_response();
    }
    next.run(request).await
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
        Ok(Outcome::DeadLettered | Outcome::Rejected) => status(axum::http::StatusCode::OK, "DROP"),
        Ok(Outcome::Retry) | Err(_) => status(axum::http::StatusCode::OK, "RETRY"),
    }
}

fn status(code: axum::http::StatusCode, value: &str) -> (axum::http::StatusCode, Json<Value>) {
    (code, Json(json!({ "status": value })))
}
