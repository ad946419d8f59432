//! Notification use cases: a user's channels (in-app, webhook, e-mail), the in-app list, the
//! delivery history of each notification, and the fan-out of a fired reminder into a
//! notification and its deliveries ([`fan_out`], which the notifier role of `tickler-workers`
//! runs for each `tickler.reminder.due` before its delivery worker sends them).
//!
//! In-app notifications are on unless the user turns them off: a user who never configured
//! the in-app channel has a default one, with a stable id derived from theirs
//! ([`in_app_channel_id`]), which is stored the first time it is changed.

pub mod fan_out;
pub mod policy;
pub mod signing;
mod verification;
mod views;

use std::time::Duration;

use sha2::{Digest, Sha256};
use tickler_domain::{ChannelId, ChannelKind, Email, FieldError, NotificationId, User, UserId};
use tickler_protocol::notification::{CreateChannelRequest, UpdateChannelRequest};
use tickler_store::{
    Conflict, DeliveryHistory, Notification, NotificationChannel, NotificationQuery, StoreError,
};

use crate::audit::{ChangedBy, account_change};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

pub use fan_out::{DueReminder, delivery_event, notify_reminder};
pub use policy::AllowList;
pub use signing::{SecretSealer, WebhookSecret};
pub use verification::{VerificationMailer, VerificationSettings, verification_state};
pub use views::{channel_body, delivery_body, notification_body};

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 200;

/// Settings of the notification use cases.
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// Hosts and networks webhooks may reach although they are not public.
    pub webhook_allow_hosts: AllowList,
    /// Most channels a user may have.
    pub max_channels_per_user: u32,
    /// How long a rotated-out webhook secret keeps signing beside the new one.
    pub secret_rotation_overlap: Duration,
    /// E-mail channel verification: code lifetime, guesses, rate limits.
    pub verification: VerificationSettings,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            webhook_allow_hosts: AllowList::default(),
            max_channels_per_user: 20,
            secret_rotation_overlap: Duration::from_secs(24 * 3600),
            verification: VerificationSettings::default(),
        }
    }
}

/// Query parameters of `GET /api/v1/notifications`, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationParams {
    /// `true`: only unread ones.
    pub unread: Option<String>,
    /// Page size.
    pub limit: Option<String>,
    /// From a previous page.
    pub cursor: Option<String>,
}

/// Returns the id of a user's in-app channel: stable, so the channel has the same id before
/// and after the user first changes it.
pub fn in_app_channel_id(user: UserId) -> ChannelId {
    let digest = Sha256::new()
        .chain_update(b"tickler in-app channel v1")
        .chain_update(user.as_uuid().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    ChannelId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// Returns the in-app channel a user has until they change it: on.
pub fn default_in_app_channel(user: &User) -> NotificationChannel {
    NotificationChannel {
        id: in_app_channel_id(user.id),
        owner: user.id,
        kind: ChannelKind::InApp,
        url: None,
        address: None,
        secret: None,
        previous_secret: None,
        previous_secret_until: None,
        enabled: true,
        disabled_reason: None,
        created_at: user.created_at,
        updated_at: user.created_at,
        verified_at: Some(user.created_at),
        verification_code_hash: None,
        verification_expires_at: None,
        verification_failures: 0,
    }
}

pub(crate) fn channel_not_found(error: StoreError) -> AppError {
    match error {
        StoreError::NotFound => AppError::ChannelNotFound,
        other => other.into(),
    }
}

fn notification_not_found(error: StoreError) -> AppError {
    match error {
        StoreError::NotFound => AppError::NotificationNotFound,
        other => other.into(),
    }
}

fn not_allowed(field: &str, kind: ChannelKind) -> FieldError {
    FieldError::new(
        field,
        "not_allowed",
        format!("{field} does not apply to {} channels", kind.as_str()),
    )
}

fn required(field: &str, kind: ChannelKind) -> FieldError {
    FieldError::new(
        field,
        "required",
        format!("{field} is required for {} channels", kind.as_str()),
    )
}

fn parse_address(raw: &str) -> Result<String, FieldError> {
    Email::parse(raw)
        .map(|email| email.as_str().to_owned())
        .map_err(|error| {
            FieldError::new(
                "address",
                error.code,
                error.message.replace("email", "address"),
            )
        })
}

impl App {
    /// Returns the sealer of webhook secrets, for the notifier that signs with them.
    pub fn secret_sealer(&self) -> std::sync::Arc<SecretSealer> {
        self.sealer.clone()
    }

    /// Creates a channel; for a webhook, also its signing secret (returned only here).
    pub async fn create_channel(
        &self,
        actor: &Actor,
        request: CreateChannelRequest,
    ) -> AppResult<(NotificationChannel, Option<WebhookSecret>)> {
        let kind = request.kind;
        let (url, address) =
            self.checked_channel_target(kind, request.url.as_deref(), request.address.as_deref())?;
        let now = self.now();
        let id = match kind {
            ChannelKind::InApp => in_app_channel_id(actor.user.id),
            _ => ChannelId::from_uuid(self.new_uuid()),
        };
        let secret = match kind {
            ChannelKind::Webhook => Some(WebhookSecret::generate()?),
            _ => None,
        };
        let mut channel = NotificationChannel {
            id,
            owner: actor.user.id,
            kind,
            url,
            address,
            secret: secret
                .as_ref()
                .map(|secret| self.sealer.seal(id, secret))
                .transpose()?,
            previous_secret: None,
            previous_secret_until: None,
            enabled: request.enabled.unwrap_or(true),
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            // Only an e-mail address needs its owner's consent before anything is sent.
            verified_at: (kind != ChannelKind::Email).then_some(now),
            verification_code_hash: None,
            verification_expires_at: None,
            verification_failures: 0,
        };
        let code = if kind == ChannelKind::Email && self.verification_mailer.is_some() {
            Some(self.new_code(actor, &mut channel, now).await?)
        } else {
            None
        };
        // The one in-app channel does not count against the limit.
        let limit = match kind {
            ChannelKind::InApp => u32::MAX,
            _ => self.notifications.max_channels_per_user,
        };
        self.store
            .insert_channel(&channel, limit)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(Conflict::LimitReached) => AppError::ChannelLimitReached {
                    limit: self.notifications.max_channels_per_user,
                },
                StoreError::Conflict(Conflict::AlreadyExists) => AppError::InAppChannelExists,
                other => other.into(),
            })?;
        tracing::info!(user_id = %actor.user.id, channel_id = %channel.id, kind = kind.as_str(), "notification channel created");
        if kind == ChannelKind::Email {
            self.mail_code(&channel, code.unwrap_or_default());
        }
        self.record_channel_change(actor, account_change::CHANNEL_CREATED, &channel, &[])
            .await;
        Ok((channel, secret))
    }

    /// Checks where a new channel of `kind` would send (a webhook's URL, an e-mail address)
    /// as creating it does; returns them normalized.
    pub(crate) fn checked_channel_target(
        &self,
        kind: ChannelKind,
        url: Option<&str>,
        address: Option<&str>,
    ) -> AppResult<(Option<String>, Option<String>)> {
        let allow = &self.notifications.webhook_allow_hosts;
        let url = match (kind, url) {
            (ChannelKind::Webhook, Some(raw)) => {
                policy::validate_webhook_url(raw, allow).map(|url| Some(url.to_string()))
            }
            (ChannelKind::Webhook, None) => Err(required("url", kind)),
            (_, Some(_)) => Err(not_allowed("url", kind)),
            (_, None) => Ok(None),
        };
        let address = match (kind, address) {
            (ChannelKind::Email, Some(raw)) => parse_address(raw).map(Some),
            (ChannelKind::Email, None) => Err(required("address", kind)),
            (_, Some(_)) => Err(not_allowed("address", kind)),
            (_, None) => Ok(None),
        };
        Ok(tickler_domain::all_valid!(url, address)?)
    }

    /// Lists the caller's channels, oldest first, with the in-app channel even if never
    /// configured.
    pub async fn list_channels(&self, actor: &Actor) -> AppResult<Vec<NotificationChannel>> {
        let mut channels = self.store.list_channels(actor.user.id).await?;
        if !channels.iter().any(|c| c.kind == ChannelKind::InApp) {
            channels.insert(0, default_in_app_channel(&actor.user));
        }
        Ok(channels)
    }

    /// Reads one of the caller's channels; the second value says whether it is stored.
    async fn find_channel(
        &self,
        actor: &Actor,
        id: &str,
    ) -> AppResult<(NotificationChannel, bool)> {
        let id: ChannelId = id.parse().map_err(|_| AppError::ChannelNotFound)?;
        match self.store.get_channel(actor.user.id, id).await {
            Ok(channel) => Ok((channel, true)),
            Err(StoreError::NotFound) if id == in_app_channel_id(actor.user.id) => {
                Ok((default_in_app_channel(&actor.user), false))
            }
            Err(error) => Err(channel_not_found(error)),
        }
    }

    /// Reads one of the caller's channels.
    pub async fn get_channel(&self, actor: &Actor, id: &str) -> AppResult<NotificationChannel> {
        Ok(self.find_channel(actor, id).await?.0)
    }

    /// Changes one of the caller's channels: on or off, its URL or address.
    pub async fn update_channel(
        &self,
        actor: &Actor,
        id: &str,
        request: UpdateChannelRequest,
    ) -> AppResult<NotificationChannel> {
        let (mut channel, stored) = self.find_channel(actor, id).await?;
        let kind = channel.kind;
        let url = match (kind, request.url.as_deref()) {
            (_, None) => Ok(channel.url.clone()),
            (ChannelKind::Webhook, Some(raw)) => {
                policy::validate_webhook_url(raw, &self.notifications.webhook_allow_hosts)
                    .map(|url| Some(url.to_string()))
            }
            (_, Some(_)) => Err(not_allowed("url", kind)),
        };
        let address = match (kind, request.address.as_deref()) {
            (_, None) => Ok(channel.address.clone()),
            (ChannelKind::Email, Some(raw)) => parse_address(raw).map(Some),
            (_, Some(_)) => Err(not_allowed("address", kind)),
        };
        let (url, address) = tickler_domain::all_valid!(url, address)?;
        let mut changed_fields = Vec::new();
        if url != channel.url {
            changed_fields.push("url");
        }
        if address != channel.address {
            changed_fields.push("address");
        }
        if request
            .enabled
            .is_some_and(|enabled| enabled != channel.enabled)
        {
            changed_fields.push("enabled");
        }
        channel.url = url;
        // A new address is pending until its owner posts the code mailed to it.
        let new_address = kind == ChannelKind::Email && address != channel.address;
        channel.address = address;
        let now = self.now();
        let code = if new_address {
            channel.verified_at = None;
            channel.verification_code_hash = None;
            channel.verification_expires_at = None;
            if self.verification_mailer.is_some() {
                Some(self.new_code(actor, &mut channel, now).await?)
            } else {
                None
            }
        } else {
            None
        };
        if let Some(enabled) = request.enabled {
            channel.enabled = enabled;
            if enabled {
                channel.disabled_reason = None;
            }
        }
        channel.updated_at = now;
        if stored {
            self.store
                .update_channel(&channel)
                .await
                .map_err(channel_not_found)?;
        } else {
            channel.created_at = channel.updated_at;
            match self.store.insert_channel(&channel, u32::MAX).await {
                Ok(()) => {}
                // Stored concurrently: change that one.
                Err(StoreError::Conflict(Conflict::AlreadyExists)) => {
                    self.store
                        .update_channel(&channel)
                        .await
                        .map_err(channel_not_found)?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        if new_address {
            self.mail_code(&channel, code.unwrap_or_default());
        }
        self.record_channel_change(
            actor,
            account_change::CHANNEL_UPDATED,
            &channel,
            &changed_fields,
        )
        .await;
        Ok(channel)
    }

    /// Deletes one of the caller's channels (the in-app channel returns to its default: on).
    pub async fn delete_channel(&self, actor: &Actor, id: &str) -> AppResult<()> {
        let (channel, stored) = self.find_channel(actor, id).await?;
        if stored {
            self.store
                .delete_channel(actor.user.id, channel.id)
                .await
                .map_err(channel_not_found)?;
            self.record_channel_change(actor, account_change::CHANNEL_DELETED, &channel, &[])
                .await;
        }
        Ok(())
    }

    /// Gives a webhook channel a new signing secret (returned only here); the old one keeps
    /// signing beside it for the configured overlap, so receivers can switch without losing
    /// deliveries.
    pub async fn rotate_channel_secret(
        &self,
        actor: &Actor,
        id: &str,
    ) -> AppResult<(NotificationChannel, WebhookSecret)> {
        let (mut channel, _) = self.find_channel(actor, id).await?;
        if channel.kind != ChannelKind::Webhook {
            return Err(AppError::ChannelHasNoSecret);
        }
        let now = self.now();
        let secret = WebhookSecret::generate()?;
        channel.previous_secret = channel.secret.take();
        channel.previous_secret_until =
            chrono::TimeDelta::from_std(self.notifications.secret_rotation_overlap)
                .ok()
                .map(|overlap| now + overlap);
        channel.secret = Some(self.sealer.seal(channel.id, &secret)?);
        channel.updated_at = now;
        self.store
            .update_channel(&channel)
            .await
            .map_err(channel_not_found)?;
        tracing::info!(user_id = %actor.user.id, channel_id = %channel.id, "webhook secret rotated");
        self.record_channel_change(actor, account_change::CHANNEL_SECRET_ROTATED, &channel, &[])
            .await;
        Ok((channel, secret))
    }

    /// Lists the caller's in-app notifications, newest first.
    pub async fn list_notifications(
        &self,
        actor: &Actor,
        params: NotificationParams,
    ) -> AppResult<(Vec<Notification>, Option<String>)> {
        let unread = crate::query::flag("unread", params.unread.as_deref());
        let limit = crate::query::page_size(params.limit.as_deref(), DEFAULT_PAGE, MAX_PAGE);
        let (unread, limit) = tickler_domain::all_valid!(unread, limit)?;
        let after = params
            .cursor
            .as_deref()
            .map(crate::cursor::decode)
            .transpose()?;
        let mut items = self
            .store
            .list_notifications(
                actor.user.id,
                &NotificationQuery {
                    unread_only: unread,
                    after,
                    limit: limit + 1,
                },
            )
            .await?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|last| crate::cursor::encode(last.created_at, last.id))
        } else {
            None
        };
        Ok((items, next))
    }

    /// Marks one of the caller's in-app notifications read (again: no change).
    pub async fn mark_notification_read(&self, actor: &Actor, id: &str) -> AppResult<Notification> {
        let id: NotificationId = id.parse().map_err(|_| AppError::NotificationNotFound)?;
        self.store
            .mark_notification_read(actor.user.id, id, self.now())
            .await
            .map_err(notification_not_found)
    }

    /// Reads every delivery of one of the caller's notifications with every attempt.
    pub async fn notification_deliveries(
        &self,
        actor: &Actor,
        id: &str,
    ) -> AppResult<Vec<DeliveryHistory>> {
        let id: NotificationId = id.parse().map_err(|_| AppError::NotificationNotFound)?;
        self.store
            .list_deliveries(actor.user.id, id)
            .await
            .map_err(notification_not_found)
    }
}

impl App {
    /// Records a channel change in the audit trail: the channel's id, kind and state, and
    /// which fields changed, never its URL (a webhook URL often carries a credential) nor
    /// its secret.
    async fn record_channel_change(
        &self,
        actor: &Actor,
        event_type: &str,
        channel: &NotificationChannel,
        changed_fields: &[&str],
    ) {
        self.record_account_change(
            actor.user.id,
            ChangedBy::Actor(actor),
            event_type,
            None,
            serde_json::json!({
                "channel_id": channel.id.to_string(),
                "kind": channel.kind.as_str(),
                "enabled": channel.enabled,
                "changed_fields": changed_fields,
            }),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_app_channel_id_is_stable_per_user_and_distinct_between_users() {
        let ada = UserId::from_uuid(uuid::Uuid::from_u128(1));
        let grace = UserId::from_uuid(uuid::Uuid::from_u128(2));
        assert_eq!(in_app_channel_id(ada), in_app_channel_id(ada));
        assert_ne!(in_app_channel_id(ada), in_app_channel_id(grace));
    }
}
