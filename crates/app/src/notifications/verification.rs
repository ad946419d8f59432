//! Verifying the address of an e-mail channel before anything is sent to it, so that tickler
//! cannot be used to mail people who never asked for it.
//!
//! Creating an e-mail channel (or changing its address) leaves it pending and mails a code to
//! the address; the owner posts the code back (`POST
//! /api/v1/notification-channels/{id}/verify`). The code is 8 digits, stored only as a keyed
//! hash bound to the channel, expires, is spent by its use, and allows a few wrong guesses
//! before a new one must be asked for. Verification mails are rate-limited per user and per
//! address (whoever asks), so the mails themselves cannot be used to flood an address.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use tickler_domain::{ChannelId, ChannelKind};
use tickler_store::{NotificationChannel, StoreError, VerificationLimits, VerificationMail};

use crate::audit::account_change;
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Sends verification mails (the notifier's SMTP client in a server; a recorder in tests).
#[async_trait]
pub trait VerificationMailer: Send + Sync + std::fmt::Debug {
    /// Mails `code` to `to`, saying it is valid for `valid_for`. No user-chosen text may go
    /// into a header.
    async fn send_code(&self, to: &str, code: &str, valid_for: Duration) -> Result<(), String>;
}

/// Settings of e-mail channel verification.
#[derive(Debug, Clone, Copy)]
pub struct VerificationSettings {
    /// How long a mailed code is valid.
    pub code_ttl: Duration,
    /// Wrong codes allowed per mailed code.
    pub max_failures: u32,
    /// Verification mails per user and window.
    pub per_user: u32,
    /// The user's window.
    pub user_window: Duration,
    /// Verification mails per address and window, whoever asks.
    pub per_address: u32,
    /// The address' window.
    pub address_window: Duration,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        Self {
            code_ttl: Duration::from_secs(24 * 3600),
            max_failures: 5,
            per_user: 10,
            user_window: Duration::from_secs(3600),
            per_address: 5,
            address_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// Digits in a code.
const CODE_DIGITS: u32 = 8;

/// Returns a uniformly random code of [`CODE_DIGITS`] digits.
fn generate_code() -> AppResult<String> {
    let bound = 10u64.pow(CODE_DIGITS);
    // Rejection sampling: the largest multiple of `bound` below 2^64 keeps the digits uniform.
    let zone = u64::MAX - (u64::MAX % bound);
    loop {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).map_err(|error| {
            AppError::Internal(format!("no randomness for a verification code: {error}"))
        })?;
        let value = u64::from_le_bytes(bytes);
        if value < zone {
            return Ok(format!(
                "{:0width$}",
                value % bound,
                width = CODE_DIGITS as usize
            ));
        }
    }
}

/// Returns a code with what a person may have typed around it removed (spaces, dashes).
fn normalize_code(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

fn to_delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Returns the state a channel's verification is in, as the API shows it.
pub fn verification_state(channel: &NotificationChannel) -> Option<&'static str> {
    (channel.kind == ChannelKind::Email).then(|| {
        if channel.verified_at.is_some() {
            "verified"
        } else {
            "pending"
        }
    })
}

impl App {
    /// Installs the mailer of verification codes. Without one, e-mail channels can be created
    /// but stay pending (nothing can be mailed).
    pub fn with_verification_mailer(mut self, mailer: Arc<dyn VerificationMailer>) -> Self {
        self.verification_mailer = Some(mailer);
        self
    }

    fn code_hash(&self, channel: ChannelId, code: &str) -> Vec<u8> {
        self.code_hasher.hash(&format!("{channel}:{code}"))
    }

    /// Prepares a pending e-mail channel for a new code: reserves a verification mail within
    /// the rate limits, and returns the code and the channel with its hash, to be stored
    /// before the code is mailed ([`App::mail_code`]).
    pub(super) async fn new_code(
        &self,
        actor: &Actor,
        channel: &mut NotificationChannel,
        now: DateTime<Utc>,
    ) -> AppResult<String> {
        let Some(address) = channel.address.clone() else {
            return Err(AppError::Internal(
                "an e-mail channel without address".into(),
            ));
        };
        let settings = self.notifications.verification;
        let limits = VerificationLimits {
            per_owner: settings.per_user,
            owner_window: to_delta(settings.user_window),
            per_address: settings.per_address,
            address_window: to_delta(settings.address_window),
        };
        let mail = VerificationMail {
            id: self.new_uuid(),
            owner: actor.user.id,
            address,
            sent_at: now,
        };
        if let Some(retry_at) = self.store.reserve_verification_mail(&mail, &limits).await? {
            metrics::counter!("tickler_verification_mails_refused_total").increment(1);
            let seconds = (retry_at - now).num_seconds().max(1);
            return Err(AppError::VerificationMailLimit {
                retry_after_seconds: u64::try_from(seconds).unwrap_or(1),
            });
        }
        let code = generate_code()?;
        channel.verified_at = None;
        channel.verification_code_hash = Some(self.code_hash(channel.id, &code));
        channel.verification_expires_at = Some(now + to_delta(settings.code_ttl));
        channel.verification_failures = 0;
        Ok(code)
    }

    /// Mails a stored channel's code in the background (the request does not wait for the
    /// SMTP server); a failure is logged and counted, and the owner can ask for a new code.
    pub(super) fn mail_code(&self, channel: &NotificationChannel, code: String) {
        let (Some(mailer), Some(address)) =
            (self.verification_mailer.clone(), channel.address.clone())
        else {
            tracing::warn!(channel_id = %channel.id, "no SMTP server: the verification code of an e-mail channel was not mailed");
            return;
        };
        let valid_for = self.notifications.verification.code_ttl;
        let channel_id = channel.id;
        tokio::spawn(async move {
            match mailer.send_code(&address, &code, valid_for).await {
                Ok(()) => {
                    metrics::counter!("tickler_verification_mails_total", "outcome" => "sent")
                        .increment(1);
                    tracing::info!(%channel_id, "verification code mailed");
                }
                Err(error) => {
                    metrics::counter!("tickler_verification_mails_total", "outcome" => "failed")
                        .increment(1);
                    tracing::warn!(%channel_id, %error, "failed to mail a verification code");
                }
            }
        });
    }

    /// Mails a new code to one of the caller's pending e-mail channels (the previous code
    /// stops working). Rate-limited: 429 with `Retry-After`.
    pub async fn resend_channel_verification(
        &self,
        actor: &Actor,
        id: &str,
    ) -> AppResult<NotificationChannel> {
        let mut channel = self.get_channel(actor, id).await?;
        if channel.kind != ChannelKind::Email {
            return Err(AppError::ChannelNeedsNoVerification);
        }
        if channel.verified_at.is_some() {
            return Err(AppError::ChannelAlreadyVerified);
        }
        if self.verification_mailer.is_none() {
            return Err(AppError::EmailUnavailable);
        }
        let now = self.now();
        let code = self.new_code(actor, &mut channel, now).await?;
        channel.updated_at = now;
        self.store
            .update_channel(&channel, &[])
            .await
            .map_err(super::channel_not_found)?;
        self.mail_code(&channel, code);
        Ok(channel)
    }

    /// Verifies one of the caller's pending e-mail channels with the code mailed to it.
    pub async fn verify_channel(
        &self,
        actor: &Actor,
        id: &str,
        code: &str,
    ) -> AppResult<NotificationChannel> {
        let channel = self.get_channel(actor, id).await?;
        if channel.kind != ChannelKind::Email {
            return Err(AppError::ChannelNeedsNoVerification);
        }
        if channel.verified_at.is_some() {
            return Err(AppError::ChannelAlreadyVerified);
        }
        let code = normalize_code(code);
        let settings = self.notifications.verification;
        let now = self.now();
        let hash = self.code_hash(channel.id, &code);
        let verified_channel = NotificationChannel {
            verified_at: Some(now),
            ..channel.clone()
        };
        let audit = self.channel_change(
            actor,
            account_change::CHANNEL_VERIFIED,
            &verified_channel,
            &["verified_at"],
        );
        let verified = self
            .store
            .verify_channel(
                actor.user.id,
                channel.id,
                &hash,
                now,
                settings.max_failures,
                &[audit],
            )
            .await
            .map_err(|error| match error {
                StoreError::NotFound => AppError::ChannelNotFound,
                other => other.into(),
            })?;
        if verified {
            tracing::info!(user_id = %actor.user.id, channel_id = %channel.id, "e-mail channel verified");
            return self.get_channel(actor, id).await;
        }
        let usable = channel.verification_code_hash.is_some()
            && channel.verification_expires_at.is_some_and(|at| at > now)
            && channel.verification_failures < settings.max_failures;
        if usable {
            Err(AppError::VerificationCodeInvalid)
        } else {
            Err(AppError::VerificationCodeExpired)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_eight_digits_and_vary() {
        let codes: Vec<String> = (0..50).map(|_| generate_code().unwrap()).collect();
        assert!(
            codes
                .iter()
                .all(|code| code.len() == 8 && code.chars().all(|c| c.is_ascii_digit()))
        );
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 45, "{codes:?}");
    }

    #[test]
    fn typed_separators_are_ignored() {
        assert_eq!(normalize_code(" 1234-5678 "), "12345678");
        assert_eq!(normalize_code("12 34 56 78"), "12345678");
    }
}
