//! The Kafka transport (librdkafka through `rdkafka`): an idempotent, `acks=all` producer for
//! the relay, topic creation, and consumer-group loops that commit offsets only after the
//! consumer's effect is durable.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::consumer::{Delivery, Processor};
use crate::relay::{Outgoing, PublishError, Publisher};
use crate::topic::TopicNames;

/// Connection settings shared by producers, consumers and the admin client.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// `host:port,...`.
    pub brokers: String,
    /// Partitions of topics created by tickler.
    pub partitions: i32,
    /// Replication factor of topics created by tickler.
    pub replication_factor: i32,
    /// Consumer groups are `<prefix>-<consumer name>`.
    pub group_prefix: String,
    /// Extra librdkafka settings for every client (e.g. security, or test-only tuning).
    pub options: BTreeMap<String, String>,
}

impl KafkaSettings {
    fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.options {
            config.set(key, value);
        }
        config
    }
}

/// Publishes relay batches to Kafka.
pub struct KafkaPublisher {
    producer: std::sync::Mutex<FutureProducer>,
    settings: KafkaSettings,
}

impl std::fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("brokers", &self.settings.brokers)
            .finish()
    }
}

impl KafkaPublisher {
    /// Creates the producer: idempotent (no duplicates or reordering from its own retries),
    /// `acks=all`, lz4 compression (the broker may not support snappy).
    pub fn new(settings: KafkaSettings) -> anyhow::Result<Self> {
        Ok(Self {
            producer: std::sync::Mutex::new(producer(&settings)?),
            settings,
        })
    }

    fn current(&self) -> Result<FutureProducer, PublishError> {
        self.producer
            .lock()
            .map(|producer| producer.clone())
            .map_err(|_| PublishError::Failed("producer lock poisoned".to_owned()))
    }

    /// Replaces the producer after a failed batch, which the relay then retries: an
    /// idempotent producer that failed fatally (say, its broker lost the producer's state)
    /// cannot continue its sequence.
    fn renew(&self, producer: &FutureProducer) {
        use rdkafka::producer::Producer as _;
        if let Some((code, reason)) = producer.client().fatal_error() {
            tracing::warn!(?code, %reason, "kafka producer failed fatally");
        }
        match (producer_result(&self.settings), self.producer.lock()) {
            (Ok(fresh), Ok(mut slot)) => *slot = fresh,
            (Err(error), _) => tracing::error!(%error, "cannot create a kafka producer"),
            (_, Err(_)) => tracing::error!("producer lock poisoned"),
        }
    }
}

fn producer(settings: &KafkaSettings) -> anyhow::Result<FutureProducer> {
    producer_result(settings).map_err(Into::into)
}

fn producer_result(settings: &KafkaSettings) -> Result<FutureProducer, KafkaError> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "15000");
    for (key, value) in &settings.options {
        config.set(key, value);
    }
    config.create()
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, messages: &[Outgoing]) -> Result<(), PublishError> {
        let producer = self.current()?;
        let result = publish_with(&producer, messages).await;
        if result.is_err() {
            self.renew(&producer);
        }
        result
    }

    async fn ensure_topics(&self, names: &[String]) -> Result<(), PublishError> {
        create_topics(&self.settings, names).await
    }
}

async fn publish_with(
    producer: &FutureProducer,
    messages: &[Outgoing],
) -> Result<(), PublishError> {
    let mut deliveries = Vec::with_capacity(messages.len());
    for message in messages {
        let headers = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some("application/cloudevents+json"),
        });
        let mut record = FutureRecord::to(&message.topic)
            .key(&message.key)
            .payload(&message.payload)
            .headers(headers);
        loop {
            match producer.send_result(record) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // Wait for the queue to drain a little, then enqueue again, in order.
                    record = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((error, _)) => return Err(classify(error, &message.topic)),
            }
        }
    }
    for (delivery, message) in deliveries.into_iter().zip(messages) {
        match delivery.await {
            Ok(Ok(_)) => {}
            Ok(Err((error, _))) => return Err(classify(error, &message.topic)),
            Err(_) => return Err(PublishError::Failed("delivery cancelled".to_owned())),
        }
    }
    Ok(())
}

fn classify(error: KafkaError, topic: &str) -> PublishError {
    match error.rdkafka_error_code() {
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
            PublishError::UnknownTopic(topic.to_owned())
        }
        _ => PublishError::Failed(error.to_string()),
    }
}

/// Creates the topics that do not exist yet.
pub async fn create_topics(settings: &KafkaSettings, names: &[String]) -> Result<(), PublishError> {
    let admin: AdminClient<DefaultClientContext> = settings
        .client_config()
        .create()
        .map_err(|error| PublishError::Failed(error.to_string()))?;
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics(&topics, &options)
        .await
        .map_err(|error| PublishError::Failed(error.to_string()))?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(PublishError::Failed(format!(
                    "cannot create topic {name}: {code}"
                )));
            }
        }
    }
    Ok(())
}

/// Feeds one consumer from its Kafka consumer group.
pub struct KafkaConsumer {
    processor: Processor,
    topics: Vec<String>,
    consumer: StreamConsumer,
}

impl std::fmt::Debug for KafkaConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaConsumer")
            .field("consumer", &self.processor.consumer().name())
            .finish()
    }
}

impl KafkaConsumer {
    /// Prepares a member of the group `<prefix>-<consumer name>` for the consumer's topics;
    /// [`KafkaConsumer::run`] joins it. Offsets are committed by hand after each effect, and a
    /// new group starts from the earliest record (librdkafka's default would skip what was
    /// published before it joined).
    pub fn new(
        processor: Processor,
        settings: &KafkaSettings,
        topics: &TopicNames,
    ) -> anyhow::Result<Self> {
        let name = processor.consumer().name();
        let mut config = settings.client_config();
        config
            .set("group.id", format!("{}-{name}", settings.group_prefix))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "10000")
            // Brokers that do not wake a waiting fetch when records arrive (tansu) would make
            // every delivery wait this long; a short wait costs only idle fetch requests.
            .set("fetch.wait.max.ms", "20")
            // Notice topics created after the consumer started in seconds, not minutes.
            .set("topic.metadata.refresh.interval.ms", "5000");
        let names: Vec<String> = processor
            .consumer()
            .topics()
            .iter()
            .map(|topic| topics.name(*topic).to_owned())
            .collect();
        let consumer: StreamConsumer = config.create()?;
        Ok(Self {
            processor,
            topics: names,
            consumer,
        })
    }

    /// Runs until `shutdown`: receives what is available (up to `MAX_BATCH` records, waiting
    /// at most a few milliseconds for more after the first), processes the batch (one key in
    /// order, keys concurrently), then commits each partition's offset past the batch.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let name = self.processor.consumer().name();
        let names: Vec<&str> = self.topics.iter().map(String::as_str).collect();
        self.consumer.subscribe(&names)?;
        tracing::info!(consumer = name, "kafka consumer started");
        loop {
            let first = tokio::select! {
                message = self.consumer.recv() => message,
                () = shutdown.cancelled() => return Ok(()),
            };
            let mut batch = match first {
                Ok(message) => vec![message.detach()],
                Err(error) => {
                    // librdkafka reconnects by itself; the group resumes from committed offsets.
                    tracing::warn!(consumer = name, %error, "kafka receive failed");
                    if crate::consumer::sleep_or_shutdown(Duration::from_millis(500), &shutdown)
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                    continue;
                }
            };
            while batch.len() < MAX_BATCH {
                match tokio::time::timeout(BATCH_WAIT, self.consumer.recv()).await {
                    Ok(Ok(message)) => batch.push(message.detach()),
                    Ok(Err(_)) | Err(_) => break,
                }
            }
            let deliveries: Vec<Delivery<'_>> = batch
                .iter()
                .map(|message| Delivery {
                    topic: message.topic(),
                    key: message
                        .key()
                        .and_then(|key| std::str::from_utf8(key).ok())
                        .unwrap_or(""),
                    payload: message.payload().unwrap_or_default(),
                })
                .collect();
            if self
                .processor
                .process_batch(&deliveries, &shutdown)
                .await
                .is_err()
            {
                return Ok(());
            }
            // Every effect (or dead letter) of the batch is durable: move the offsets past it.
            let mut next: std::collections::HashMap<(&str, i32), i64> =
                std::collections::HashMap::new();
            for message in &batch {
                let entry = next
                    .entry((message.topic(), message.partition()))
                    .or_insert(0);
                *entry = (*entry).max(message.offset() + 1);
            }
            let mut offsets = TopicPartitionList::new();
            for ((topic, partition), offset) in next {
                if let Err(error) =
                    offsets.add_partition_offset(topic, partition, Offset::Offset(offset))
                {
                    tracing::warn!(consumer = name, %error, "cannot record an offset");
                }
            }
            if let Err(error) = self.consumer.commit(&offsets, CommitMode::Async) {
                tracing::warn!(consumer = name, %error, "offset commit failed");
            }
        }
    }
}

/// Most records processed as one batch.
const MAX_BATCH: usize = 256;
/// How long a batch waits for more records after its first.
const BATCH_WAIT: Duration = Duration::from_millis(2);

/// A listener of one topic in a consumer group of its own: every such listener receives every
/// record (broadcast, not load-balanced). The realtime role uses one on `task-updates` to learn
/// at once that another process committed a change for live clients. It reads from the end of
/// the topic and commits nothing: what happened before it started is replayed from the outbox
/// log, not from Kafka.
pub struct BroadcastListener {
    consumer: StreamConsumer,
    topic: String,
}

impl std::fmt::Debug for BroadcastListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastListener")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl BroadcastListener {
    /// Prepares the member `<prefix>-<role>-<member>` (one group per process) for `topic`.
    pub fn new(
        settings: &KafkaSettings,
        role: &str,
        member: &str,
        topic: &str,
    ) -> anyhow::Result<Self> {
        let mut config = settings.client_config();
        config
            .set(
                "group.id",
                format!("{}-{role}-{member}", settings.group_prefix),
            )
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "latest")
            .set("session.timeout.ms", "10000")
            .set("fetch.wait.max.ms", "20")
            .set("topic.metadata.refresh.interval.ms", "5000");
        Ok(Self {
            consumer: config.create()?,
            topic: topic.to_owned(),
        })
    }

    /// Calls `on_record` for every record received, until `shutdown`.
    pub async fn run(
        self,
        on_record: impl Fn() + Send,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.consumer.subscribe(&[self.topic.as_str()])?;
        tracing::info!(topic = %self.topic, "kafka broadcast listener started");
        loop {
            let received = tokio::select! {
                message = self.consumer.recv() => message,
                () = shutdown.cancelled() => return Ok(()),
            };
            match received {
                Ok(message) => {
                    tracing::debug!(
                        topic = %self.topic,
                        partition = message.partition(),
                        offset = message.offset(),
                        "broadcast record"
                    );
                    on_record();
                }
                Err(error) => {
                    tracing::warn!(topic = %self.topic, %error, "kafka receive failed");
                    if crate::consumer::sleep_or_shutdown(Duration::from_millis(500), &shutdown)
                        .await
                        .is_err()
                    {
                        return Ok(());
                    }
                }
            }
        }
    }
}
