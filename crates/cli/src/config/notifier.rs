//! `[notifier]`: delivering notifications, their retries, webhooks and SMTP.

use std::time::Duration;

use anyhow::{Context, bail};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::values::{parse_duration, redact, string_or_list};

/// `[notifier]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NotifierConfig {
    /// Deliveries in flight at most.
    pub concurrency: usize,
    /// Deliveries of one channel in flight at most.
    pub per_channel_concurrency: usize,
    /// Delays between attempts (`250ms`, `5s`, `5m`, `2h`, `1d`).
    #[serde(deserialize_with = "string_or_list")]
    pub retry_schedule: Vec<String>,
    /// Spread of each delay, as a fraction.
    pub retry_jitter: f64,
    /// Longest `Retry-After` honoured.
    pub max_retry_after_seconds: u64,
    /// How long a claim on a delivery holds.
    pub lease_seconds: u64,
    /// Idle polling interval.
    pub poll_interval_ms: u64,
    /// Most channels per user.
    pub max_channels_per_user: u32,
    /// How long a rotated-out webhook secret keeps signing.
    pub secret_rotation_overlap_hours: u64,
    /// Hosts and networks webhooks may reach although not public.
    #[serde(deserialize_with = "string_or_list")]
    pub webhook_allow_hosts: Vec<String>,
    /// Webhook connect timeout.
    pub webhook_connect_timeout_ms: u64,
    /// Webhook exchange timeout.
    pub webhook_timeout_ms: u64,
    /// Most bytes of a webhook answer read.
    pub webhook_max_response_bytes: usize,
    /// `smtp://HOST:PORT` or `smtps://HOST:PORT`; empty: no e-mail.
    pub smtp_url: String,
    /// How `smtp://` is secured.
    pub smtp_tls: tickler_workers::delivery::email::SmtpTls,
    /// SMTP login.
    pub smtp_username: String,
    /// SMTP password.
    #[serde(serialize_with = "redact")]
    pub smtp_password: SecretString,
    /// The sender.
    pub smtp_from: String,
    /// SMTP exchange timeout.
    pub smtp_timeout_seconds: u64,
    /// SMTP connections kept open.
    pub smtp_connections: u32,
    /// How long the code mailed to verify an e-mail channel is valid (`24h`).
    pub verification_code_ttl: String,
    /// Wrong codes allowed per mailed code.
    pub verification_max_failures: u32,
    /// Verification mails one user may cause per hour.
    pub verification_mails_per_user: u32,
    /// Verification mails one address may receive per day, whoever asks.
    pub verification_mails_per_address: u32,
}

impl NotifierConfig {
    /// Returns how long a verification code is valid.
    pub fn verification_code_ttl(&self) -> anyhow::Result<Duration> {
        let ttl = parse_duration(&self.verification_code_ttl).with_context(|| {
            format!(
                "notifier.verification_code_ttl: {:?} is not a duration like 30m, 24h or 2d",
                self.verification_code_ttl
            )
        })?;
        if ttl.is_zero() {
            bail!("notifier.verification_code_ttl must be positive");
        }
        Ok(ttl)
    }

    /// Returns the retry delays.
    pub fn retry_delays(&self) -> anyhow::Result<Vec<Duration>> {
        self.retry_schedule
            .iter()
            .map(|text| {
                parse_duration(text).with_context(|| {
                    format!("notifier.retry_schedule: {text:?} is not a duration like 5s, 5m or 2h")
                })
            })
            .collect()
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 || self.per_channel_concurrency == 0 {
            bail!("notifier.concurrency and notifier.per_channel_concurrency must be positive");
        }
        self.verification_code_ttl()?;
        if self.verification_max_failures == 0
            || self.verification_mails_per_user == 0
            || self.verification_mails_per_address == 0
        {
            bail!(
                "notifier.verification_max_failures, verification_mails_per_user and \
                 verification_mails_per_address must be positive"
            );
        }
        self.retry_delays()?;
        if !(0.0..=0.5).contains(&self.retry_jitter) {
            bail!("notifier.retry_jitter must be between 0 and 0.5");
        }
        tickler_app::notifications::AllowList::parse(&self.webhook_allow_hosts)
            .map_err(|error| anyhow::anyhow!("notifier.webhook_allow_hosts: {error}"))?;
        if self.webhook_timeout_ms == 0 || self.webhook_connect_timeout_ms == 0 {
            bail!("notifier.webhook_timeout_ms and webhook_connect_timeout_ms must be positive");
        }
        let smtp_timeout_ms = if self.smtp_url.trim().is_empty() {
            0
        } else {
            self.smtp_timeout_seconds.saturating_mul(1_000)
        };
        let longest_attempt = self.webhook_timeout_ms.max(smtp_timeout_ms);
        if self.lease_seconds.saturating_mul(1_000) < longest_attempt.saturating_mul(2) {
            bail!(
                "notifier.lease_seconds must be at least twice the longest attempt (webhook or SMTP timeout)"
            );
        }
        let smtp = self.smtp_url.trim();
        if !smtp.is_empty() {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                bail!("notifier.smtp_url must be an smtp:// or smtps:// URL (or empty: no e-mail)");
            }
            if self.smtp_from.trim().is_empty() {
                bail!("notifier.smtp_from must be set with notifier.smtp_url (--smtp-from)");
            }
            if self.smtp_timeout_seconds == 0 {
                bail!("notifier.smtp_timeout_seconds must be positive");
            }
        }
        Ok(())
    }
}
