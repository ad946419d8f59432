//! Notifications: channels (`/api/v1/notification-channels`), in-app notifications
//! (`/api/v1/notifications`), their deliveries, and the body of the webhooks tickler sends.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::{ChannelId, ChannelKind, DeliveryId, DeliveryStatus, NotificationId, TaskId};
use utoipa::ToSchema;

/// The body of `POST /api/v1/notification-channels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChannelRequest {
    /// `webhook`, `email` or `in_app`.
    pub kind: ChannelKind,
    /// Webhooks: the `http`/`https` URL to post to (at most 2,048 characters, no user info).
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// E-mail: the address to write to.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f.](?:[^@\\s\\x00-\\x1f\\x7f-\\x9f]*[^@\\s\\x00-\\x1f\\x7f-\\x9f.])?\\s*$"
    )]
    pub address: Option<String>,
    /// Whether notifications go out through it; `true` when absent.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// The body of `PATCH /api/v1/notification-channels/{id}`: the fields to change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateChannelRequest {
    /// Turns the channel on or off (turning on clears the reason tickler disabled it for).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Webhooks: a new URL (at most 2,048 characters, no user info).
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// E-mail: a new address.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = "^\\s*[^@\\s\\x00-\\x1f\\x7f-\\x9f]+@[^@\\s\\x00-\\x1f\\x7f-\\x9f.](?:[^@\\s\\x00-\\x1f\\x7f-\\x9f]*[^@\\s\\x00-\\x1f\\x7f-\\x9f.])?\\s*$"
    )]
    pub address: Option<String>,
}

/// The body of `POST /api/v1/notification-channels/{id}/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyChannelRequest {
    /// The code mailed to the channel's address (8 digits; spaces and dashes are ignored).
    #[schema(max_length = 64)]
    pub code: String,
}

/// Where an e-mail channel's address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelVerification {
    /// A code was mailed to the address; nothing else goes to it until the code is posted.
    Pending,
    /// The owner posted the code: notifications go to the address.
    Verified,
}

/// A notification channel as the API shows it (never with its signing secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelBody {
    /// Its id.
    pub id: ChannelId,
    /// `webhook`, `email` or `in_app`.
    pub kind: ChannelKind,
    /// Webhooks: where they are posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// E-mail: where they are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Whether notifications go out through it.
    pub enabled: bool,
    /// Why tickler disabled it (the endpoint answered 410 Gone), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// E-mail: `pending` until its owner posts the code mailed to the address, `verified`
    /// after. Absent for other kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<ChannelVerification>,
    /// Webhooks: until when the secret before the last rotation still signs too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// When it was created (for the in-app channel never configured: the account's creation).
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A channel with its signing secret: the answer to creating a webhook channel or rotating its
/// secret, the only times the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChannelWithSecretBody {
    /// The channel.
    #[serde(flatten)]
    pub channel: ChannelBody,
    /// Webhooks: the Standard Webhooks signing secret (`whsec_` and base64), shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// An in-app notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationBody {
    /// Its id.
    pub id: NotificationId,
    /// The reminder that fired.
    pub reminder_id: String,
    /// The task it is about.
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub title: String,
    /// The text of the notification.
    pub body: String,
    /// The task's due date, if any.
    pub due_at: Option<DateTime<Utc>>,
    /// When the reminder was meant to fire.
    pub fire_at: DateTime<Utc>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was marked read, or null while unread.
    pub read_at: Option<DateTime<Utc>>,
}

/// A page of in-app notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications.
    pub items: Vec<NotificationBody>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryAttemptBody {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started.
    pub at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: u32,
    /// The HTTP status (webhooks) or SMTP reply code (e-mail), when there was an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// What went wrong, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the channel accepted the notification.
    pub succeeded: bool,
}

/// The delivery of a notification through one channel, with every attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryBody {
    /// Its id: a webhook's `webhook-id`, the same on every attempt.
    pub id: DeliveryId,
    /// The channel.
    pub channel_id: ChannelId,
    /// The channel's kind.
    pub channel_kind: ChannelKind,
    /// `pending`, `delivered`, `dead` or `cancelled`.
    pub status: DeliveryStatus,
    /// When the next attempt is due, while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When the channel accepted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<DeliveryAttemptBody>,
}

/// The `type` of the webhooks tickler sends for a reminder.
pub const REMINDER_WEBHOOK_TYPE: &str = "tickler.reminder.due";

/// The JSON body of a webhook, in the shape Standard Webhooks recommends (`type`,
/// `timestamp`, `data`). It is signed with the headers `webhook-id` (the delivery id),
/// `webhook-timestamp` and `webhook-signature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookBody {
    /// `tickler.reminder.due`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When this attempt was sent.
    pub timestamp: DateTime<Utc>,
    /// The reminder.
    pub data: ReminderWebhookData,
}

/// What a reminder webhook says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReminderWebhookData {
    /// The notification (see `GET /api/v1/notifications/{id}/deliveries`).
    pub notification_id: NotificationId,
    /// The delivery, also sent as `webhook-id`.
    pub delivery_id: DeliveryId,
    /// The channel it was sent through.
    pub channel_id: ChannelId,
    /// The reminder that fired.
    pub reminder_id: String,
    /// The task.
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub task_title: String,
    /// The task's due date, if any.
    pub due_at: Option<DateTime<Utc>>,
    /// When the reminder was meant to fire.
    pub fire_at: DateTime<Utc>,
    /// When it fired.
    pub fired_at: DateTime<Utc>,
    /// The notification's text.
    pub body: String,
}
