//! What an attempt came to, and what follows from it: delivered, tried again later with
//! backoff and jitter, or given up on (a dead letter and a `tickler.notification.failed`
//! event), and for a 410 the channel disabled.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tickler_app::notifications::delivery_event;
use tickler_app::{AppResult, EventSettings};
use tickler_domain::{DeliveryStatus, RetrySchedule};
use tickler_store::{
    ClaimedDelivery, DeadLetter, Delivery, DeliveryAttempt, DeliveryOutcome, OutboxMessage,
};

/// The consumer name of dead letters of deliveries (their replay makes the delivery pending
/// again: see `consumers::notifier::DeliveryRedrive`).
pub const DELIVERY_CONSUMER: &str = "notifier-delivery";
/// The topic named in dead letters of deliveries.
pub const DELIVERY_TOPIC: &str = "deliveries";
/// Longest error text kept with an attempt.
const MAX_ERROR_CHARS: usize = 500;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The channel accepted it (a 2xx, or the SMTP server queued the mail).
    Delivered {
        /// The HTTP status or SMTP reply code.
        status: Option<u16>,
    },
    /// It failed in a way that may pass: retried on the schedule.
    Failed {
        /// The HTTP status or SMTP reply code, when there was an answer.
        status: Option<u16>,
        /// What went wrong.
        error: String,
        /// How long the receiver asked us to wait (429 with `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// It failed for good (an SMTP 5xx, a forbidden address): given up on at once.
    Rejected {
        /// The HTTP status or SMTP reply code, when there was an answer.
        status: Option<u16>,
        /// What went wrong.
        error: String,
    },
    /// The endpoint is gone (410): given up on, and the channel is disabled.
    Gone,
    /// Not attempted: the channel was deleted or disabled meanwhile, or the reminder no
    /// longer holds (stale).
    Cancelled {
        /// Why.
        reason: String,
    },
}

/// How an outcome is worked out.
#[derive(Debug, Clone)]
pub struct OutcomePolicy {
    /// Delays between attempts.
    pub schedule: RetrySchedule,
    /// Longest `Retry-After` honoured; longer requests wait this long.
    pub max_retry_after: Duration,
    /// Envelopes of the events emitted.
    pub events: EventSettings,
}

fn truncate(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

impl OutcomePolicy {
    /// Works out the outcome of an attempt that started at `started` and took `took`;
    /// `unit` is a random number in `[0, 1]` for the jitter.
    pub fn outcome(
        &self,
        claimed: &ClaimedDelivery,
        token: uuid::Uuid,
        result: AttemptResult,
        started: DateTime<Utc>,
        took: Duration,
        unit: f64,
    ) -> AppResult<DeliveryOutcome> {
        let now = started + chrono::TimeDelta::from_std(took).unwrap_or_default();
        let mut delivery = claimed.delivery.clone();
        delivery.updated_at = now;
        delivery.next_attempt_at = None;
        if let AttemptResult::Cancelled { reason } = result {
            delivery.status = DeliveryStatus::Cancelled;
            delivery.last_error = Some(reason);
            return Ok(DeliveryOutcome {
                token,
                attempt: None,
                delivery,
                disable_channel: None,
                events: Vec::new(),
                dead_letter: None,
            });
        }
        delivery.attempts += 1;
        let (status, error, succeeded) = match &result {
            AttemptResult::Delivered { status } => (*status, None, true),
            AttemptResult::Failed { status, error, .. }
            | AttemptResult::Rejected { status, error } => (*status, Some(truncate(error)), false),
            AttemptResult::Gone => (
                Some(410),
                Some("the endpoint answered 410 Gone".to_owned()),
                false,
            ),
            AttemptResult::Cancelled { .. } => (None, None, false),
        };
        delivery.last_status_code = status;
        delivery.last_error = error.clone();
        let attempt = DeliveryAttempt {
            delivery_id: delivery.id,
            attempt: delivery.attempts,
            attempted_at: started,
            duration_ms: u32::try_from(took.as_millis()).unwrap_or(u32::MAX),
            status_code: status,
            error: error.clone(),
            succeeded,
        };
        let mut outcome = DeliveryOutcome {
            token,
            attempt: Some(attempt),
            delivery,
            disable_channel: None,
            events: Vec::new(),
            dead_letter: None,
        };
        match result {
            AttemptResult::Delivered { .. } => {
                outcome.delivery.status = DeliveryStatus::Delivered;
                outcome.delivery.delivered_at = Some(now);
                let event = self.event(claimed, &outcome.delivery, "delivered", now)?;
                outcome.events.push(event);
            }
            AttemptResult::Failed { retry_after, .. } => {
                let delay = match retry_after {
                    Some(asked) => Some(asked.min(self.max_retry_after)),
                    None => self.schedule.delay_after(outcome.delivery.attempts, unit),
                };
                let delay = delay
                    .filter(|_| outcome.delivery.attempts < self.schedule.max_attempts())
                    .and_then(|delay| chrono::TimeDelta::from_std(delay).ok());
                match delay {
                    Some(delay) => {
                        outcome.delivery.status = DeliveryStatus::Pending;
                        outcome.delivery.next_attempt_at = Some(now + delay);
                    }
                    None => self.give_up(claimed, &mut outcome, now)?,
                }
            }
            AttemptResult::Rejected { .. } => self.give_up(claimed, &mut outcome, now)?,
            AttemptResult::Gone => {
                outcome.disable_channel = Some(format!(
                    "the endpoint answered 410 Gone on {}",
                    now.to_rfc3339()
                ));
                self.give_up(claimed, &mut outcome, now)?;
            }
            AttemptResult::Cancelled { .. } => {}
        }
        Ok(outcome)
    }

    /// Marks the delivery dead, emits `tickler.notification.failed` and records a dead letter
    /// whose payload is that event (replaying it makes the delivery pending again).
    fn give_up(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &mut DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        outcome.delivery.status = DeliveryStatus::Dead;
        let event = self.event(claimed, &outcome.delivery, "failed", now)?;
        outcome.dead_letter = Some(DeadLetter {
            id: uuid::Uuid::now_v7(),
            consumer: DELIVERY_CONSUMER.to_owned(),
            event_id: Some(event.id),
            event_type: Some(event.event_type.clone()),
            topic: DELIVERY_TOPIC.to_owned(),
            payload: event.payload.clone(),
            error: outcome
                .delivery
                .last_error
                .clone()
                .unwrap_or_else(|| "gave up".to_owned()),
            attempts: outcome.delivery.attempts,
            failed_at: now,
            replayed_at: None,
        });
        outcome.events.push(event);
        Ok(())
    }

    fn event(
        &self,
        claimed: &ClaimedDelivery,
        delivery: &Delivery,
        what: &str,
        now: DateTime<Utc>,
    ) -> AppResult<OutboxMessage> {
        delivery_event(&self.events, &claimed.notification, delivery, what, now)
    }
}

#[cfg(test)]
mod tests;
