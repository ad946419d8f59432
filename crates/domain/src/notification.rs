//! Notifications: the channels a user is told through, the states of a delivery, and the retry
//! schedule of failed deliveries.
//!
//! Pure rules only; sending, signing and storing live in `tickler-workers`, `tickler-app` and
//! the stores.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a user is notified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    /// Stored notifications the user reads in tickler (on unless the user turns it off).
    InApp,
    /// A signed HTTP POST to the user's URL (Standard Webhooks).
    Webhook,
    /// An e-mail to the user's address.
    Email,
}

impl ChannelKind {
    /// Returns the wire and storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ChannelKind::InApp => "in_app",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "in_app" => Some(ChannelKind::InApp),
            "webhook" => Some(ChannelKind::Webhook),
            "email" => Some(ChannelKind::Email),
            _ => None,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The channel accepted it.
    Delivered,
    /// Given up on: out of attempts, refused for good, or the endpoint is gone.
    Dead,
    /// Not sent because its channel was disabled or deleted before an attempt succeeded.
    Cancelled,
}

impl DeliveryStatus {
    /// Returns the wire and storage name.
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "dead" => Some(DeliveryStatus::Dead),
            "cancelled" => Some(DeliveryStatus::Cancelled),
            _ => None,
        }
    }
}

/// When failed deliveries are tried again: the delays after the first, second, ... failed
/// attempt, each spread by a jitter so that many failures do not retry in lockstep. After the
/// last delay's attempt fails, the delivery is given up on: `delays.len() + 1` attempts in all.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
    jitter: f64,
}

impl RetrySchedule {
    /// The schedule Standard Webhooks suggests: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
    /// 20 h, 24 h after the failures (ten attempts over about three days), ±10 %.
    pub fn standard() -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 3_600;
        let seconds = [
            5,
            5 * MINUTE,
            30 * MINUTE,
            2 * HOUR,
            5 * HOUR,
            10 * HOUR,
            14 * HOUR,
            20 * HOUR,
            24 * HOUR,
        ];
        Self {
            delays: seconds.into_iter().map(Duration::from_secs).collect(),
            jitter: 0.1,
        }
    }

    /// Builds a schedule from its delays and a jitter fraction (clamped to 0 to 0.5: each
    /// delay is spread uniformly over `delay × (1 ± jitter)`).
    pub fn new(delays: Vec<Duration>, jitter: f64) -> Self {
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 0.5)
        } else {
            0.0
        };
        Self { delays, jitter }
    }

    /// Returns the delays, without jitter.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// Returns how many attempts a delivery gets in all.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1)
    }

    /// Returns the delay before the next attempt after attempt number `attempts` (1-based)
    /// failed, or `None` when that was the last one. `unit` is a random number in `[0, 1]`
    /// (the caller draws it: this crate does no IO) that places the delay within its jitter.
    pub fn delay_after(&self, attempts: u32, unit: f64) -> Option<Duration> {
        let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
        let base = *self.delays.get(index)?;
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        Some(base.mul_f64(1.0 - self.jitter + 2.0 * self.jitter * unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_schedule_gives_ten_attempts_over_the_suggested_delays() {
        let schedule = RetrySchedule::standard();
        assert_eq!(schedule.max_attempts(), 10);
        assert_eq!(schedule.delay_after(1, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(schedule.delay_after(2, 0.5), Some(Duration::from_secs(300)));
        assert_eq!(
            schedule.delay_after(9, 0.5),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(schedule.delay_after(10, 0.5), None);
        assert_eq!(schedule.delay_after(0, 0.5), None);
    }

    #[test]
    fn jitter_spreads_a_delay_by_its_fraction_either_way() {
        let schedule = RetrySchedule::new(vec![Duration::from_secs(100)], 0.1);
        assert_eq!(schedule.delay_after(1, 0.0), Some(Duration::from_secs(90)));
        assert_eq!(schedule.delay_after(1, 1.0), Some(Duration::from_secs(110)));
        assert_eq!(schedule.delay_after(1, 7.0), Some(Duration::from_secs(110)));
        let flat = RetrySchedule::new(vec![Duration::from_millis(10)], f64::NAN);
        assert_eq!(flat.delay_after(1, 0.0), Some(Duration::from_millis(10)));
    }

    #[test]
    fn kinds_and_statuses_round_trip_through_their_names() {
        for kind in [ChannelKind::InApp, ChannelKind::Webhook, ChannelKind::Email] {
            assert_eq!(ChannelKind::parse(kind.as_str()), Some(kind));
        }
        for status in [
            DeliveryStatus::Pending,
            DeliveryStatus::Delivered,
            DeliveryStatus::Dead,
            DeliveryStatus::Cancelled,
        ] {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ChannelKind::parse("sms"), None);
    }
}
