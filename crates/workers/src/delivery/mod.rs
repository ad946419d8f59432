//! The delivery worker of the `notifier` role: claims due deliveries, sends them through their
//! channels (webhook, e-mail) concurrently, and records every attempt's outcome.
//!
//! Claims are leased and fenced (see `NotificationStore::claim_deliveries`): a worker that dies mid-send
//! loses nothing, its deliveries are claimed again when the lease expires and resent with the
//! same `webhook-id` / `Message-ID`, so receivers can drop the duplicate. Concurrency is
//! bounded overall and per channel; deliveries of channels already at their cap are left in
//! the queue for the next claim, so a dead endpoint holds at most its cap of slots (for at
//! most one timeout each) and healthy endpoints keep flowing.

pub mod email;
pub mod outcome;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tickler_app::notifications::{SecretSealer, WebhookSecret};
use tickler_app::reminders::staleness::stale_reason;
use tickler_app::{Clock, OutboxSignal};
use tickler_domain::{ChannelId, ChannelKind, DeliveryStatus};
use tickler_protocol::notification::{REMINDER_WEBHOOK_TYPE, ReminderWebhookData, WebhookBody};
use tickler_store::{
    ClaimedDelivery, Conflict, DeliveryClaim, DeliveryOutcome, NotificationChannel, Store,
    StoreError,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::email::EmailSender;
use self::outcome::{AttemptResult, OutcomePolicy};
use self::webhook::{Webhook, WebhookSender};

/// Settings of the delivery worker.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    /// Deliveries in flight at most.
    pub concurrency: usize,
    /// Deliveries of one channel in flight at most.
    pub per_channel: usize,
    /// How long a claim holds; must outlast an attempt (a webhook's timeout) by far.
    pub lease: Duration,
    /// How often the queue is looked at when nothing wakes the worker.
    pub poll_interval: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            concurrency: 256,
            per_channel: 4,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// What one round of [`DeliveryWorker::run_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Delivered.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retrying: usize,
    /// Given up on.
    pub dead: usize,
    /// Not sent: their channel was deleted or disabled, or their reminder no longer held
    /// (the task was completed, deleted or rescheduled, the reminder snoozed or removed).
    pub cancelled: usize,
    /// Finished by another worker (this one's claim had expired).
    pub lost: usize,
}

/// How one attempt ended, for the round's tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finished {
    Status(DeliveryStatus),
    Lost,
    Unrecorded,
}

struct Shared {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signal: OutboxSignal,
    sealer: Arc<SecretSealer>,
    webhooks: WebhookSender,
    email: Option<EmailSender>,
    policy: OutcomePolicy,
    settings: DeliverySettings,
}

/// Sends due deliveries.
pub struct DeliveryWorker {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DeliveryWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryWorker")
            .field("settings", &self.shared.settings)
            .field("email", &self.shared.email.is_some())
            .finish_non_exhaustive()
    }
}

/// The parts a delivery worker is built from.
#[derive(Debug)]
pub struct DeliveryParts {
    /// Storage.
    pub store: Arc<dyn Store>,
    /// The clock attempts are timed and scheduled by.
    pub clock: Arc<dyn Clock>,
    /// Woken by commits that queue deliveries; notified when outcomes append events.
    pub signal: OutboxSignal,
    /// Opens webhook secrets.
    pub sealer: Arc<SecretSealer>,
    /// Sends webhooks.
    pub webhooks: WebhookSender,
    /// Sends e-mails, when SMTP is configured.
    pub email: Option<EmailSender>,
    /// Retries, their bounds and the events emitted.
    pub policy: OutcomePolicy,
}

impl DeliveryWorker {
    /// Builds the worker.
    pub fn new(parts: DeliveryParts, settings: DeliverySettings) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: parts.store,
                clock: parts.clock,
                signal: parts.signal,
                sealer: parts.sealer,
                webhooks: parts.webhooks,
                email: parts.email,
                policy: parts.policy,
                settings,
            }),
        }
    }

    fn claim(&self, now: DateTime<Utc>, limit: usize, per_channel: usize) -> DeliveryClaim {
        DeliveryClaim {
            now,
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
            per_channel: u32::try_from(per_channel).unwrap_or(u32::MAX),
            skip_channels: Vec::new(),
            only_channels: None,
            lease: self.shared.settings.lease,
            token: uuid::Uuid::now_v7(),
        }
    }

    /// Claims what is due at `now` (up to the concurrency, at most `per_channel` of a
    /// channel) and attempts all of it, each channel's deliveries one after the other,
    /// waiting for every attempt to be recorded.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<Round, StoreError> {
        let settings = &self.shared.settings;
        let claim = self.claim(now, settings.concurrency, settings.per_channel);
        let claimed_at = Instant::now();
        let claimed = self.shared.store.claim_deliveries(&claim).await?;
        let mut round = Round {
            claimed: claimed.len(),
            ..Round::default()
        };
        let mut by_channel: HashMap<ChannelId, Vec<ClaimedDelivery>> = HashMap::new();
        for delivery in claimed {
            by_channel
                .entry(delivery.delivery.channel_id)
                .or_default()
                .push(delivery);
        }
        let mut running = JoinSet::new();
        for (_, deliveries) in by_channel {
            let shared = Arc::clone(&self.shared);
            running.spawn(async move {
                let mut finished = Vec::new();
                for delivery in deliveries {
                    finished.push(attempt(&shared, delivery, claim.token, claimed_at).await.0);
                }
                finished
            });
        }
        while let Some(joined) = running.join_next().await {
            for finished in joined.unwrap_or_default() {
                match finished {
                    Finished::Status(DeliveryStatus::Delivered) => round.delivered += 1,
                    Finished::Status(DeliveryStatus::Pending) => round.retrying += 1,
                    Finished::Status(DeliveryStatus::Dead) => round.dead += 1,
                    Finished::Status(DeliveryStatus::Cancelled) => round.cancelled += 1,
                    Finished::Lost => round.lost += 1,
                    Finished::Unrecorded => {}
                }
            }
        }
        Ok(round)
    }

    /// Runs until `shutdown`: fills free slots whenever something may be due (woken by
    /// commits in this process, and every poll interval), then lets attempts in flight
    /// finish (the supervisor's grace period bounds that; an attempt cut short is claimed
    /// again once its lease expires).
    ///
    /// Each claim takes at most one delivery per channel and skips channels at their cap, so
    /// the slots spread over channels. A channel that answered its last attempt earns
    /// `per_channel` slots; one not yet heard from, or failing, gets one, and all of those
    /// together at most half of the slots: dead endpoints cannot crowd out healthy ones.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let settings = self.shared.settings.clone();
        let suspect_limit = (settings.concurrency / 2).max(1);
        let mut wake = self.shared.signal.subscribe_deliveries();
        let mut running: JoinSet<(ChannelId, bool, Option<bool>)> = JoinSet::new();
        let mut lanes = Lanes::new(settings.per_channel);
        tracing::info!(?settings, "delivery worker started");
        while !shutdown.is_cancelled() {
            loop {
                let free = settings.concurrency.saturating_sub(running.len());
                if free == 0 {
                    break;
                }
                let mut claim = self.claim(self.shared.clock.now(), free, 1);
                claim.skip_channels = lanes.full();
                if lanes.suspect_in_flight >= suspect_limit {
                    let healthy = lanes.healthy_with_room();
                    if healthy.is_empty() {
                        break;
                    }
                    claim.only_channels = Some(healthy);
                }
                let claimed_at = Instant::now();
                let claimed = match self.shared.store.claim_deliveries(&claim).await {
                    Ok(claimed) if claimed.is_empty() => break,
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim deliveries");
                        break;
                    }
                };
                for delivery in claimed {
                    let channel = delivery.delivery.channel_id;
                    let suspect = lanes.start(channel);
                    let shared = Arc::clone(&self.shared);
                    running.spawn(async move {
                        let (_, verdict) =
                            attempt(&shared, delivery, claim.token, claimed_at).await;
                        (channel, suspect, verdict)
                    });
                }
            }
            tokio::select! {
                Some(joined) = running.join_next(), if !running.is_empty() => {
                    lanes.finish(joined.ok());
                    while let Some(joined) = running.try_join_next() {
                        lanes.finish(joined.ok());
                    }
                }
                Ok(()) = wake.changed() => {}
                () = tokio::time::sleep(settings.poll_interval) => {}
                () = shutdown.cancelled() => {}
            }
        }
        while running.join_next().await.is_some() {}
        tracing::info!("delivery worker stopped");
        Ok(())
    }
}

/// Most channels whose health the worker remembers.
const REMEMBERED_CHANNELS: usize = 100_000;

/// Deliveries in flight per channel, and what the last attempt of each channel said.
struct Lanes {
    per_channel: usize,
    in_flight: HashMap<ChannelId, usize>,
    healthy: HashMap<ChannelId, bool>,
    /// Deliveries in flight to channels not known to be healthy.
    suspect_in_flight: usize,
}

impl Lanes {
    fn new(per_channel: usize) -> Self {
        Self {
            per_channel: per_channel.max(1),
            in_flight: HashMap::new(),
            healthy: HashMap::new(),
            suspect_in_flight: 0,
        }
    }

    fn is_healthy(&self, channel: ChannelId) -> bool {
        self.healthy.get(&channel).copied().unwrap_or(false)
    }

    /// How many deliveries of the channel may be in flight.
    fn cap(&self, channel: ChannelId) -> usize {
        if self.is_healthy(channel) {
            self.per_channel
        } else {
            1
        }
    }

    /// Counts a delivery of the channel in; returns whether it counts as suspect.
    fn start(&mut self, channel: ChannelId) -> bool {
        *self.in_flight.entry(channel).or_default() += 1;
        let suspect = !self.is_healthy(channel);
        if suspect {
            self.suspect_in_flight += 1;
        }
        suspect
    }

    /// Counts a delivery out and remembers what its attempt said about the channel.
    fn finish(&mut self, finished: Option<(ChannelId, bool, Option<bool>)>) {
        let Some((channel, suspect, verdict)) = finished else {
            return;
        };
        if suspect {
            self.suspect_in_flight = self.suspect_in_flight.saturating_sub(1);
        }
        if let Some(count) = self.in_flight.get_mut(&channel) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.in_flight.remove(&channel);
            }
        }
        if let Some(healthy) = verdict {
            if self.healthy.len() >= REMEMBERED_CHANNELS {
                self.healthy.clear();
            }
            self.healthy.insert(channel, healthy);
        }
    }

    /// Returns the channels at their cap.
    fn full(&self) -> Vec<ChannelId> {
        self.in_flight
            .iter()
            .filter(|(channel, count)| **count >= self.cap(**channel))
            .map(|(channel, _)| *channel)
            .collect()
    }

    /// Returns the healthy channels with room for another delivery.
    fn healthy_with_room(&self) -> Vec<ChannelId> {
        self.healthy
            .iter()
            .filter(|(channel, healthy)| {
                **healthy && self.in_flight.get(channel).copied().unwrap_or(0) < self.per_channel
            })
            .map(|(channel, _)| *channel)
            .take(1_000)
            .collect()
    }
}

/// Attempts one delivery and records the outcome; also returns what the attempt said about
/// the channel's health (nothing when it was not attempted).
///
/// `claimed_at` is when this worker asked for the claim (by its own monotonic clock, which
/// runs on while the process is stopped): once three quarters of the lease have passed by
/// that clock, another worker may soon claim the delivery and send it, so this one does not
/// start the attempt.
/// A worker paused (`SIGSTOP`, a VM pause) between claiming and sending therefore never sends
/// late; one paused mid-send cannot take back what it sent, and its outcome is refused by the
/// fencing token (`Conflict::ClaimLost`).
async fn attempt(
    shared: &Shared,
    claimed: ClaimedDelivery,
    token: uuid::Uuid,
    claimed_at: Instant,
) -> (Finished, Option<bool>) {
    tickler_app::fault::crash_point(tickler_app::fault::FaultPoint::BeforeDeliverySend);
    let kind = claimed.delivery.channel_kind.as_str();
    // A quarter of the lease is left for the attempt itself: a worker resuming just as the
    // lease ends must not race the one that claims the delivery next.
    let claim_age = claimed_at.elapsed();
    if claim_age >= shared.settings.lease - shared.settings.lease / 4 {
        tracing::warn!(delivery_id = %claimed.delivery.id, channel = kind, claim_age_ms = claim_age.as_millis(), "the claim on a delivery expired before its attempt; leaving it to the next claim");
        return (Finished::Lost, None);
    }
    tracing::debug!(delivery_id = %claimed.delivery.id, channel = kind, claim_age_ms = claim_age.as_millis(), "attempting a delivery");
    let started = shared.clock.now();
    let timer = Instant::now();
    // The delivery continues the trace of the reminder's handling by the notifier.
    let span = tracing::info_span!(
        "deliver",
        channel = claimed.delivery.channel_kind.as_str(),
        delivery_id = %claimed.delivery.id,
        attempt = claimed.delivery.attempts + 1,
        trace_id = tracing::field::Empty,
        "otel.name" = %format_args!("deliver {}", claimed.delivery.channel_kind.as_str()),
        "otel.kind" = "client",
    );
    tickler_app::trace::continue_trace(&span, claimed.notification.traceparent.as_deref());
    tickler_app::trace::record_trace_id(&span);
    let result = tracing::Instrument::instrument(send(shared, &claimed, started), span).await;
    let took = timer.elapsed();
    let verdict = match &result {
        AttemptResult::Delivered { .. } => Some(true),
        AttemptResult::Cancelled { .. } => None,
        _ => Some(false),
    };
    let outcome = match shared
        .policy
        .outcome(&claimed, token, result, started, took, random_unit())
    {
        Ok(outcome) => outcome,
        Err(error) => {
            tracing::error!(delivery_id = %claimed.delivery.id, %error, "cannot work out a delivery outcome");
            return (Finished::Unrecorded, verdict);
        }
    };
    metrics::histogram!("tickler_notification_attempt_seconds", "channel" => kind)
        .record(took.as_secs_f64());
    let status = outcome.delivery.status;
    let finished = match finish(shared, &outcome, claimed_at).await {
        Finished::Status(status) => {
            metrics::counter!(
                "tickler_notification_deliveries_total",
                "channel" => kind,
                "outcome" => status.as_str(),
            )
            .increment(1);
            if status == DeliveryStatus::Delivered {
                let latency = (outcome.delivery.updated_at - claimed.notification.fire_at)
                    .to_std()
                    .unwrap_or_default();
                metrics::histogram!("tickler_notification_latency_seconds", "channel" => kind)
                    .record(latency.as_secs_f64());
            }
            tracing::debug!(delivery_id = %claimed.delivery.id, status = status.as_str(), attempts = outcome.delivery.attempts, "delivery attempt recorded");
            Finished::Status(status)
        }
        other => {
            tracing::debug!(delivery_id = %claimed.delivery.id, status = status.as_str(), "delivery attempt not recorded");
            other
        }
    };
    (finished, verdict)
}

/// Records an outcome, retrying while the database is unavailable (for about a minute; after
/// that the lease expires and the delivery is attempted again).
async fn finish(shared: &Shared, outcome: &DeliveryOutcome, claimed_at: Instant) -> Finished {
    let mut delay = Duration::from_millis(100);
    for _ in 0..10 {
        match shared.store.finish_delivery(outcome).await {
            Ok(()) => {
                if !outcome.events.is_empty() {
                    shared.signal.notify();
                }
                return Finished::Status(outcome.delivery.status);
            }
            Err(StoreError::Conflict(Conflict::ClaimLost)) => {
                tracing::warn!(delivery_id = %outcome.delivery.id, channel = outcome.delivery.channel_kind.as_str(), claim_age_ms = claimed_at.elapsed().as_millis(), "the claim on a delivery expired before its outcome was recorded");
                return Finished::Lost;
            }
            Err(StoreError::Unavailable(reason)) => {
                tracing::warn!(delivery_id = %outcome.delivery.id, %reason, "cannot record a delivery outcome; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(error) => {
                tracing::error!(delivery_id = %outcome.delivery.id, %error, "cannot record a delivery outcome");
                return Finished::Unrecorded;
            }
        }
    }
    Finished::Unrecorded
}

/// Sends a claimed delivery through its channel.
async fn send(shared: &Shared, claimed: &ClaimedDelivery, now: DateTime<Utc>) -> AttemptResult {
    let channel = match &claimed.channel {
        None => {
            return AttemptResult::Cancelled {
                reason: "the channel was deleted".to_owned(),
            };
        }
        Some(channel) if !channel.enabled => {
            return AttemptResult::Cancelled {
                reason: "the channel is disabled".to_owned(),
            };
        }
        // Its address changed since the delivery was queued and is not verified yet.
        Some(channel) if channel.verified_at.is_none() => {
            return AttemptResult::Cancelled {
                reason: "the channel's e-mail address is not verified".to_owned(),
            };
        }
        Some(channel) => channel,
    };
    // The reminder may no longer hold: checked just before every attempt, retries included.
    let notification = &claimed.notification;
    match stale_reason(
        shared.store.as_ref(),
        notification.owner,
        notification.task_id,
        &notification.reminder_id,
    )
    .await
    {
        Ok(None) => {}
        Ok(Some(staleness)) => {
            metrics::counter!(
                "tickler_notification_stale_total",
                "channel" => channel.kind.as_str(),
                "reason" => staleness.as_str(),
            )
            .increment(1);
            tracing::info!(delivery_id = %claimed.delivery.id, reason = staleness.as_str(), "stale delivery dropped");
            return AttemptResult::Cancelled {
                reason: staleness.reason().to_owned(),
            };
        }
        Err(error) => {
            return AttemptResult::Failed {
                status: None,
                error: format!("cannot check whether the reminder still holds: {error}"),
                retry_after: None,
            };
        }
    }
    match channel.kind {
        ChannelKind::InApp => AttemptResult::Delivered { status: None },
        ChannelKind::Webhook => send_webhook(shared, claimed, channel, now).await,
        ChannelKind::Email => match (&shared.email, channel.address.as_deref()) {
            (None, _) => AttemptResult::Failed {
                status: None,
                error: "e-mail is not configured on this server (notifier.smtp_url)".to_owned(),
                retry_after: None,
            },
            (Some(_), None) => AttemptResult::Rejected {
                status: None,
                error: "the channel has no address".to_owned(),
            },
            (Some(sender), Some(address)) => {
                sender
                    .send(claimed.delivery.id, address, &claimed.notification)
                    .await
            }
        },
    }
}

/// Returns the secrets a webhook is signed with now: the channel's, and the one it replaced
/// while that still signs.
fn signing_secrets(
    sealer: &SecretSealer,
    channel: &NotificationChannel,
    now: DateTime<Utc>,
) -> Vec<WebhookSecret> {
    let mut secrets = Vec::new();
    if let Some(sealed) = &channel.secret {
        secrets.extend(sealer.open(channel.id, sealed));
    }
    if let (Some(sealed), Some(until)) = (&channel.previous_secret, channel.previous_secret_until)
        && now < until
    {
        secrets.extend(sealer.open(channel.id, sealed));
    }
    secrets
}

async fn send_webhook(
    shared: &Shared,
    claimed: &ClaimedDelivery,
    channel: &NotificationChannel,
    now: DateTime<Utc>,
) -> AttemptResult {
    let Some(url) = channel.url.as_deref() else {
        return AttemptResult::Rejected {
            status: None,
            error: "the channel has no URL".to_owned(),
        };
    };
    let secrets = signing_secrets(&shared.sealer, channel, now);
    if secrets.is_empty() {
        return AttemptResult::Rejected {
            status: None,
            error: "the signing secret cannot be read (was the server secret changed?); rotate it"
                .to_owned(),
        };
    }
    let notification = &claimed.notification;
    let body = WebhookBody {
        event_type: REMINDER_WEBHOOK_TYPE.to_owned(),
        timestamp: now,
        data: ReminderWebhookData {
            notification_id: notification.id,
            delivery_id: claimed.delivery.id,
            channel_id: channel.id,
            reminder_id: notification.reminder_id.clone(),
            task_id: notification.task_id,
            task_title: notification.title.clone(),
            due_at: notification.due_at,
            fire_at: notification.fire_at,
            fired_at: notification.fired_at,
            body: notification.body.clone(),
        },
    };
    let body = match serde_json::to_vec(&body) {
        Ok(body) => body,
        Err(error) => {
            return AttemptResult::Rejected {
                status: None,
                error: format!("the body could not be written: {error}"),
            };
        }
    };
    let id = claimed.delivery.id.to_string();
    shared
        .webhooks
        .send(Webhook {
            url,
            id: &id,
            timestamp: now.timestamp(),
            body,
            secrets: &secrets,
        })
        .await
}

/// Returns a random number in `[0, 1]` for jitter (0.5 if the system has no randomness).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
        Err(_) => 0.5,
    }
}
