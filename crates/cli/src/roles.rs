//! The services a process runs (`--roles`) on the configured bus (`--bus`), as named
//! background tasks the supervisor in `serve` watches.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use tickler_api::live::LiveHub;
use tickler_app::notifications::AllowList;
use tickler_app::{App, Clock, SystemClock};
use tickler_domain::RetrySchedule;
use tickler_store::Store;
use tickler_workers::consumer::{Consumer, Processor, RetryPolicy};
use tickler_workers::consumers::{
    AuditConsumer, DeliveryRedrive, NotifierConsumer, RecurringConsumer,
};
use tickler_workers::delivery::email::{EmailSender, EmailSettings};
use tickler_workers::delivery::outcome::OutcomePolicy;
use tickler_workers::delivery::webhook::{WebhookSender, WebhookSettings};
use tickler_workers::delivery::{DeliveryParts, DeliverySettings, DeliveryWorker};
use tickler_workers::embedded::{EmbeddedConsumer, EmbeddedSettings};
use tickler_workers::relay::{Publisher, Relay, RelaySettings};
use tickler_workers::reminders::{ReminderScheduler, SchedulerSettings};
use tickler_workers::replay::Replayer;
use tokio_util::sync::CancellationToken;

use crate::config::{BusKind, Config, Role};

/// A background service: its name and the future that runs it until shutdown.
pub type RoleTask = (
    &'static str,
    Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>,
);

/// The workers of a process.
#[derive(Default)]
pub struct Workers {
    /// Tasks to run beside the HTTP server.
    pub tasks: Vec<RoleTask>,
    /// Replays dead letters with this process's consumers.
    pub replayer: Option<Replayer>,
    /// Routes the HTTP server mounts (the Dapr subscriptions).
    pub routes: Option<axum::Router>,
    /// The live stream's fan-out (role `realtime`), which the HTTP server serves.
    pub live: Option<Arc<LiveHub>>,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field(
                "tasks",
                &self.tasks.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            )
            .field("replayer", &self.replayer)
            .field("routes", &self.routes.is_some())
            .field("live", &self.live.is_some())
            .finish()
    }
}

/// The consumers this process runs.
fn consumers(config: &Config, app: &App) -> Vec<Arc<dyn Consumer>> {
    let mut consumers: Vec<Arc<dyn Consumer>> = Vec::new();
    if config.roles.has(Role::Audit) {
        consumers.push(Arc::new(AuditConsumer));
    }
    if config.roles.has(Role::Notifier) {
        consumers.push(Arc::new(NotifierConsumer::new(
            app.store().clone(),
            app.event_settings().clone(),
        )));
    }
    if config.roles.has(Role::Recurring) {
        consumers.push(Arc::new(RecurringConsumer::new(
            app.event_settings().clone(),
        )));
    }
    consumers
}

/// Every consumer this build has, for replaying dead letters from the command line (with
/// the one that re-drives deliveries given up on).
pub fn all_consumers(app: &App) -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(AuditConsumer),
        Arc::new(NotifierConsumer::new(
            app.store().clone(),
            app.event_settings().clone(),
        )),
        Arc::new(DeliveryRedrive),
        Arc::new(RecurringConsumer::new(app.event_settings().clone())),
    ]
}

/// The retry policy of consumers.
pub fn retry_policy(config: &Config) -> RetryPolicy {
    RetryPolicy {
        max_attempts: config.consumers.max_attempts,
        base_delay: Duration::from_millis(config.consumers.backoff_base_ms),
        max_delay: Duration::from_millis(config.consumers.backoff_max_ms),
    }
}

/// Builds processors for `consumers`.
pub fn processors(
    config: &Config,
    consumers: Vec<Arc<dyn Consumer>>,
    store: &Arc<dyn Store>,
    app: &App,
) -> Vec<Processor> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    consumers
        .into_iter()
        .map(|consumer| {
            Processor::new(
                consumer,
                store.clone(),
                clock.clone(),
                retry_policy(config),
                app.outbox_signal().clone(),
            )
        })
        .collect()
}

/// Builds the workers for the configured roles and bus.
pub async fn build(
    config: &Config,
    app: &Arc<App>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Workers> {
    let store = app.store().clone();
    let processors = processors(config, consumers(config, app), &store, app);
    // Dead letters of deliveries are replayed by a consumer that no topic feeds.
    let redrive = if config.roles.has(Role::Notifier) {
        self::processors(config, vec![Arc::new(DeliveryRedrive)], &store, app)
    } else {
        Vec::new()
    };
    let mut workers = Workers {
        replayer: (!processors.is_empty())
            .then(|| Replayer::new(processors.iter().cloned().chain(redrive))),
        ..Workers::default()
    };
    if config.roles.has(Role::Notifier) {
        workers.tasks.push((
            "notifier-delivery",
            Box::pin(delivery_worker(config, app)?.run(shutdown.child_token())),
        ));
    }
    if config.roles.has(Role::Api) {
        workers.tasks.push((
            "idempotency-retention",
            Box::pin(
                tickler_workers::retention::IdempotencyRetention::new(
                    store.clone(),
                    Arc::new(SystemClock),
                    config.http.idempotency_retention()?,
                )
                .run(shutdown.child_token()),
            ),
        ));
    }
    if config.roles.has(Role::Reminders) {
        workers.tasks.push((
            "reminders",
            Box::pin(reminder_scheduler(config, app)?.run(shutdown.child_token())),
        ));
    }
    if config.roles.has(Role::Realtime) {
        let hub = LiveHub::new(app.clone(), config.realtime.settings());
        workers.tasks.push((
            "realtime",
            Box::pin(hub.clone().run(shutdown.child_token())),
        ));
        workers.live = Some(hub);
    }
    let poll_interval = Duration::from_millis(config.bus.poll_interval_ms.max(10));
    match config.bus.kind {
        BusKind::Embedded => {
            for processor in processors {
                let name = processor.consumer().name();
                let consumer = EmbeddedConsumer::new(
                    processor,
                    store.clone(),
                    app.outbox_signal().clone(),
                    EmbeddedSettings {
                        batch: 256,
                        poll_interval,
                        topics: config.bus.topics.clone(),
                        min_read_interval: Duration::from_millis(config.bus.min_read_interval_ms),
                    },
                );
                workers
                    .tasks
                    .push((name, Box::pin(consumer.run(shutdown.child_token()))));
            }
            if config.roles.has(Role::Relay) {
                workers.tasks.push((
                    "outbox-retention",
                    Box::pin(
                        tickler_workers::embedded::OutboxRetention::new(
                            store.clone(),
                            chrono::TimeDelta::from_std(Duration::from_secs(
                                config.bus.outbox_retention_hours * 3600,
                            ))
                            .context("outbox retention too long")?,
                        )
                        .run(
                            Duration::from_secs(3_600),
                            Duration::from_secs(60),
                            Arc::new(SystemClock),
                            shutdown.child_token(),
                        ),
                    ),
                ));
            }
        }
        BusKind::Kafka => kafka(config, app, processors, shutdown, &mut workers).await?,
        BusKind::Dapr => {
            if config.roles.has(Role::Relay) {
                let publisher = tickler_workers::dapr::DaprPublisher::new(
                    config.bus.dapr_base(),
                    config.bus.dapr_pubsub.clone(),
                )?
                .with_api_token(Some(config.bus.dapr_api_token.clone()));
                workers
                    .tasks
                    .push(relay(config, app, Arc::new(publisher), shutdown));
            }
            if !processors.is_empty() {
                workers.routes = Some(tickler_workers::dapr::router(
                    tickler_workers::dapr::SubscriptionSettings {
                        pubsub: config.bus.dapr_pubsub.clone(),
                        topics: config.bus.topics.clone(),
                        app_token: config.bus.dapr_app_token.clone(),
                    },
                    processors,
                    shutdown.child_token(),
                ));
            }
        }
    }
    tracing::debug!(?workers, "workers built");
    Ok(workers)
}

/// Builds the SMTP client of `[notifier]` (reminders and verification codes); `None` when no
/// SMTP server is configured.
pub fn email_sender(config: &Config) -> anyhow::Result<Option<EmailSender>> {
    let notifier = &config.notifier;
    if notifier.smtp_url.trim().is_empty() {
        return Ok(None);
    }
    EmailSender::new(&EmailSettings {
        url: notifier.smtp_url.trim().to_owned(),
        tls: notifier.smtp_tls,
        username: Some(notifier.smtp_username.clone()).filter(|name| !name.is_empty()),
        password: Some(notifier.smtp_password.clone())
            .filter(|password| !password.expose_secret().is_empty()),
        from: notifier.smtp_from.clone(),
        timeout: Duration::from_secs(notifier.smtp_timeout_seconds),
        connections: notifier.smtp_connections,
    })
    .map(Some)
    .context("cannot set up the SMTP client")
}

/// Builds the notifier's delivery worker from `[notifier]`.
pub fn delivery_worker(config: &Config, app: &App) -> anyhow::Result<DeliveryWorker> {
    let notifier = &config.notifier;
    let webhooks = WebhookSender::new(&WebhookSettings {
        allow: AllowList::parse(&notifier.webhook_allow_hosts)
            .map_err(|error| anyhow::anyhow!("notifier.webhook_allow_hosts: {error}"))?,
        connect_timeout: Duration::from_millis(notifier.webhook_connect_timeout_ms),
        timeout: Duration::from_millis(notifier.webhook_timeout_ms),
        max_response_bytes: notifier.webhook_max_response_bytes,
    })
    .context("cannot set up the webhook client")?;
    let email = email_sender(config)?;
    if email.is_some() {
        tracing::info!(url = %crate::config::redacted_url(&notifier.smtp_url), "e-mail notifications on");
    }
    Ok(DeliveryWorker::new(
        DeliveryParts {
            store: app.store().clone(),
            clock: Arc::new(SystemClock),
            signal: app.outbox_signal().clone(),
            sealer: app.secret_sealer(),
            webhooks,
            email,
            policy: OutcomePolicy {
                schedule: RetrySchedule::new(notifier.retry_delays()?, notifier.retry_jitter),
                max_retry_after: Duration::from_secs(notifier.max_retry_after_seconds),
                events: app.event_settings().clone(),
            },
        },
        DeliverySettings {
            concurrency: notifier.concurrency,
            per_channel: notifier.per_channel_concurrency,
            lease: Duration::from_secs(notifier.lease_seconds),
            poll_interval: Duration::from_millis(notifier.poll_interval_ms.max(10)),
        },
    ))
}

/// Builds the reminder scheduler from `[reminders]`.
pub fn reminder_scheduler(config: &Config, app: &App) -> anyhow::Result<ReminderScheduler> {
    Ok(ReminderScheduler::new(
        app.store().clone(),
        Arc::new(SystemClock),
        app.outbox_signal().clone(),
        app.event_settings().clone(),
        SchedulerSettings {
            missed_after: config.reminders.missed_after()?,
            max_sleep: Duration::from_millis(config.reminders.max_sleep_ms),
            batch: config.reminders.batch,
        },
    ))
}

fn relay(
    config: &Config,
    app: &Arc<App>,
    publisher: Arc<dyn Publisher>,
    shutdown: &CancellationToken,
) -> RoleTask {
    let relay = Relay::new(
        app.store().clone(),
        publisher,
        Arc::new(SystemClock),
        app.outbox_signal().clone(),
        RelaySettings {
            batch: config.bus.relay_batch,
            poll_interval: Duration::from_millis(config.bus.poll_interval_ms.max(10)),
            topics: config.bus.topics.clone(),
            create_topics: config.bus.create_topics,
            retention: Duration::from_secs(config.bus.outbox_retention_hours * 3600),
            ..RelaySettings::default()
        },
    );
    ("relay", Box::pin(relay.run(shutdown.child_token())))
}

#[cfg(feature = "kafka")]
async fn kafka(
    config: &Config,
    app: &Arc<App>,
    processors: Vec<Processor>,
    shutdown: &CancellationToken,
    workers: &mut Workers,
) -> anyhow::Result<()> {
    use tickler_workers::kafka::{KafkaConsumer, KafkaPublisher, KafkaSettings};
    let settings = KafkaSettings {
        brokers: config.bus.kafka_brokers.clone(),
        partitions: config.bus.topic_partitions,
        replication_factor: config.bus.replication_factor,
        group_prefix: config.bus.consumer_group_prefix.clone(),
        options: config.bus.kafka_options.clone(),
    };
    if config.bus.create_topics {
        // Once, before any producer or consumer exists: clients that meet topics while they
        // are being created, or by two creators at once, have tripped over brokers' metadata
        // (tansu answered with a nameless topic and librdkafka crashed on it).
        let names: Vec<String> = tickler_workers::topic::Topic::ALL
            .iter()
            .map(|topic| config.bus.topics.name(*topic).to_owned())
            .collect();
        if let Err(error) = tickler_workers::kafka::create_topics(&settings, &names).await {
            tracing::warn!(%error, "cannot create topics at start; the relay retries when publishing");
        }
    }
    if config.roles.has(Role::Relay) {
        let publisher = KafkaPublisher::new(settings.clone()).context("kafka producer")?;
        workers
            .tasks
            .push(relay(config, app, Arc::new(publisher), shutdown));
    }
    if let Some(hub) = workers.live.clone() {
        // A group of its own per process: every realtime process hears every record.
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
        let member = hex::encode(random);
        let listener = tickler_workers::kafka::BroadcastListener::new(
            &settings,
            "realtime",
            &member,
            config
                .bus
                .topics
                .name(tickler_workers::topic::Topic::TaskUpdates),
        )
        .context("kafka listener of task-updates")?;
        workers.tasks.push((
            "realtime-kafka",
            Box::pin(listener.run(move || hub.wake(), shutdown.child_token())),
        ));
    }
    for processor in processors {
        let name = processor.consumer().name();
        let consumer = KafkaConsumer::new(processor, &settings, &config.bus.topics)
            .with_context(|| format!("kafka consumer {name}"))?;
        workers
            .tasks
            .push((name, Box::pin(consumer.run(shutdown.child_token()))));
    }
    Ok(())
}

#[cfg(not(feature = "kafka"))]
async fn kafka(
    _config: &Config,
    _app: &Arc<App>,
    _processors: Vec<Processor>,
    _shutdown: &CancellationToken,
    _workers: &mut Workers,
) -> anyhow::Result<()> {
    anyhow::bail!("this build has no Kafka support (built without the kafka feature)")
}
