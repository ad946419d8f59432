//! Records of notifications: a user's channels, the notifications fired reminders become, their
//! deliveries through each channel and every attempt of those deliveries.
//!
//! A delivery is a small job queue row: the notifier claims due rows with a lease and a fencing
//! token, sends, and finishes the attempt only if its token still holds the row.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{
    ChannelId, ChannelKind, DeliveryId, DeliveryStatus, EventId, NotificationId, TaskId, UserId,
};

use crate::error::StoreError;
use crate::events::{AuditRecord, DeadLetter};
use crate::outbox::OutboxMessage;

/// Largest page of notifications a read returns (one more than the API's largest page, so a
/// use case can learn whether another page follows).
pub const MAX_NOTIFICATION_PAGE_SIZE: u32 = 201;

/// Most deliveries one claim hands out.
pub const MAX_CLAIM: u32 = 1_000;

/// A channel a user is notified through.
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationChannel {
    /// Its id.
    pub id: ChannelId,
    /// Whose channel.
    pub owner: UserId,
    /// In-app, webhook or e-mail.
    pub kind: ChannelKind,
    /// Where webhooks are posted (webhook channels).
    pub url: Option<String>,
    /// Where e-mails go (e-mail channels).
    pub address: Option<String>,
    /// The webhook signing secret, sealed by the application (the store never sees it in
    /// clear).
    pub secret: Option<Vec<u8>>,
    /// The secret before the last rotation, still used to sign until
    /// `previous_secret_until`.
    pub previous_secret: Option<Vec<u8>>,
    /// When the previous secret stops being used.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Whether notifications go out through it.
    pub enabled: bool,
    /// Why tickler disabled it (a webhook answered 410 Gone), if it did.
    pub disabled_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When its owner proved the address theirs (e-mail channels): until then the channel is
    /// pending and nothing but the verification mail goes to it. Other kinds are verified
    /// when created.
    pub verified_at: Option<DateTime<Utc>>,
    /// The keyed hash of the last code mailed (a pending e-mail channel); `None` once spent.
    pub verification_code_hash: Option<Vec<u8>>,
    /// When that code expires.
    pub verification_expires_at: Option<DateTime<Utc>>,
    /// Wrong codes posted since the last code was mailed.
    pub verification_failures: u32,
}

impl NotificationChannel {
    /// Returns whether notifications may go out through it: enabled and, for e-mail,
    /// verified.
    pub fn accepts_notifications(&self) -> bool {
        self.enabled && self.verified_at.is_some()
    }
}

/// A verification mail about to be sent, as the rate limit counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationMail {
    /// Its id.
    pub id: uuid::Uuid,
    /// Who asked for it.
    pub owner: UserId,
    /// Where it goes (lowercase).
    pub address: String,
    /// When.
    pub sent_at: DateTime<Utc>,
}

/// How many verification mails are allowed: per user and per address, each in a window
/// ending at the mail's `sent_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerificationLimits {
    /// Mails one user may have sent within `owner_window`.
    pub per_owner: u32,
    /// The user's window.
    pub owner_window: chrono::TimeDelta,
    /// Mails one address may receive within `address_window`, whoever asks.
    pub per_address: u32,
    /// The address' window.
    pub address_window: chrono::TimeDelta,
}

impl std::fmt::Debug for NotificationChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The sealed secrets are not shown, not even sealed.
        f.debug_struct("NotificationChannel")
            .field("id", &self.id)
            .field("owner", &self.owner)
            .field("kind", &self.kind)
            .field("enabled", &self.enabled)
            .field("verified_at", &self.verified_at)
            .finish_non_exhaustive()
    }
}

/// A fired reminder as its user is told about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its id.
    pub id: NotificationId,
    /// Whose notification.
    pub owner: UserId,
    /// The reminder that fired; a user has at most one notification per reminder.
    pub reminder_id: String,
    /// The `tickler.reminder.due` event it came from.
    pub event_id: EventId,
    /// The task concerned.
    pub task_id: TaskId,
    /// The task's title when the reminder fired.
    pub title: String,
    /// The text shown to the user.
    pub body: String,
    /// The task's due date, if any.
    pub due_at: Option<DateTime<Utc>>,
    /// When the reminder was meant to fire.
    pub fire_at: DateTime<Utc>,
    /// When it fired.
    pub fired_at: DateTime<Utc>,
    /// Whether it shows in the user's in-app list (in-app notifications were on).
    pub in_app: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When the user marked it read, if they did.
    pub read_at: Option<DateTime<Utc>>,
    /// The W3C `traceparent` of the span that created it (the notifier handling the
    /// reminder), which each delivery's span continues; `None` when traces are not exported.
    pub traceparent: Option<String>,
}

/// The delivery of a notification through one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Its id, the same on every attempt (a webhook's `webhook-id`).
    pub id: DeliveryId,
    /// What is delivered.
    pub notification_id: NotificationId,
    /// Whose notification.
    pub owner: UserId,
    /// Through which channel; unique per notification.
    pub channel_id: ChannelId,
    /// The channel's kind.
    pub channel_kind: ChannelKind,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last HTTP status (webhooks) or SMTP reply code (e-mail).
    pub last_status_code: Option<u16>,
    /// The last error.
    pub last_error: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the channel accepted it.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The delivery.
    pub delivery_id: DeliveryId,
    /// 1 for the first attempt; unique per delivery.
    pub attempt: u32,
    /// When it started.
    pub attempted_at: DateTime<Utc>,
    /// How long it took, in milliseconds.
    pub duration_ms: u32,
    /// The HTTP status or SMTP reply code, when there was an answer.
    pub status_code: Option<u16>,
    /// What went wrong, when it failed.
    pub error: Option<String>,
    /// Whether the channel accepted the notification.
    pub succeeded: bool,
}

/// A delivery with every attempt made, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryHistory {
    /// The delivery.
    pub delivery: Delivery,
    /// Its attempts, in order.
    pub attempts: Vec<DeliveryAttempt>,
}

/// Notification writes inside a [`crate::ChangeSet`].
// A change set holds one or two of these, briefly: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationWrite {
    /// Stores a notification with its deliveries and the attempts already made (in-app ones
    /// are delivered at once). [`crate::Conflict::AlreadyExists`] if the user already has a
    /// notification of that reminder.
    Create {
        /// The notification.
        notification: Notification,
        /// One per channel it goes out through.
        deliveries: Vec<Delivery>,
        /// Attempts already made.
        attempts: Vec<DeliveryAttempt>,
    },
    /// Makes a dead delivery pending again, due at `at` (an operator replayed its dead
    /// letter); it keeps its attempts, so it gets one more. [`crate::StoreError::NotFound`]
    /// if no such delivery exists; a delivery that is not dead is left as it is.
    Redeliver {
        /// The notification delivered.
        notification: NotificationId,
        /// The channel it was delivered through (with the notification, the delivery's key).
        channel: ChannelId,
        /// When to try again.
        at: DateTime<Utc>,
    },
}

/// Which in-app notifications to read: the user's, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NotificationQuery {
    /// Only those not marked read.
    pub unread_only: bool,
    /// Continue strictly after (older than) this `(created_at, id)`.
    pub after: Option<(DateTime<Utc>, NotificationId)>,
    /// Page size, 1 to [`MAX_NOTIFICATION_PAGE_SIZE`] (clamped).
    pub limit: u32,
}

impl NotificationQuery {
    /// Returns the page size clamped to 1 to [`MAX_NOTIFICATION_PAGE_SIZE`].
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_NOTIFICATION_PAGE_SIZE)
    }
}

/// Asks for due deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryClaim {
    /// The worker's clock: deliveries due at or before it, whose lease (if any) expired by it.
    pub now: DateTime<Utc>,
    /// At most this many, oldest due first (clamped to [`MAX_CLAIM`]).
    pub limit: u32,
    /// At most this many of one channel.
    pub per_channel: u32,
    /// Channels whose deliveries are not wanted now (the worker is busy with them).
    pub skip_channels: Vec<ChannelId>,
    /// When given, only deliveries of these channels are wanted (the worker has room only for
    /// channels it knows to be healthy).
    pub only_channels: Option<Vec<ChannelId>>,
    /// How long the claim holds: after `now + lease` another worker may claim the delivery.
    pub lease: Duration,
    /// The claim's fencing token: only its holder can finish the attempt.
    pub token: uuid::Uuid,
}

/// A claimed delivery, with what is needed to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// What to deliver.
    pub notification: Notification,
    /// Where to: `None` when the channel was deleted meanwhile.
    pub channel: Option<NotificationChannel>,
}

/// The outcome of one attempt, committed atomically: the attempt's record, the delivery's new
/// state, and whatever it causes.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    /// The claim's token; [`crate::Conflict::ClaimLost`] (and nothing written) if the delivery
    /// is no longer pending under this claim.
    pub token: uuid::Uuid,
    /// The attempt made, if one was (a cancelled delivery makes none).
    pub attempt: Option<DeliveryAttempt>,
    /// The delivery after the attempt (`attempts`, `status`, `next_attempt_at`,
    /// `last_status_code`, `last_error`, `updated_at`, `delivered_at` are written).
    pub delivery: Delivery,
    /// Disables the delivery's channel with this reason (a webhook answered 410 Gone).
    pub disable_channel: Option<String>,
    /// Events describing the outcome.
    pub events: Vec<OutboxMessage>,
    /// A dead letter, when the delivery was given up on.
    pub dead_letter: Option<DeadLetter>,
}

/// Notification channels (with the verification of e-mail addresses), in-app notifications and
/// the delivery queue. Channels, notifications and delivery histories are scoped to their
/// owner: another user's is `NotFound`. Claiming and finishing deliveries is the notifier's,
/// across all users.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// Stores a new channel, unless its owner already has `max_per_owner` channels
    /// ([`Conflict::LimitReached`](crate::Conflict::LimitReached), checked atomically with the insert) or an in-app channel
    /// when this is one ([`Conflict::AlreadyExists`](crate::Conflict::AlreadyExists), as for a reused id).
    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Lists the user's channels, oldest first.
    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError>;

    /// Reads one of the user's channels.
    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError>;

    /// Saves a changed channel of `channel.owner` (everything but its kind and creation time).
    async fn update_channel(
        &self,
        channel: &NotificationChannel,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Records a verification mail unless its owner or its address had as many as
    /// `limits` allow within their windows: then records nothing and returns when the oldest
    /// of the mails that fill the window leaves it (the earliest a retry can succeed).
    /// Checked atomically with the insert; mails older than both windows are forgotten.
    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Spends a pending channel's verification code: if `code_hash` is the channel's current
    /// code, unexpired at `now`, and fewer than `max_failures` wrong codes were posted since
    /// it was mailed, the channel is verified at `now` and the code forgotten (`true`);
    /// otherwise a pending channel counts one more wrong code (`false`). `NotFound` for
    /// another user's channel. `audit` is written only when the channel is verified.
    async fn verify_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        code_hash: &[u8],
        now: DateTime<Utc>,
        max_failures: u32,
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError>;

    /// Deletes one of the user's channels. Its deliveries stay (with their history); those
    /// still pending are cancelled when next claimed.
    async fn delete_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;

    /// Finds the user's notification of a reminder, if one was created.
    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError>;

    /// Lists the user's in-app notifications, newest first (by `(created_at, id)`).
    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError>;

    /// Reads one of the user's notifications (in-app or not).
    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError>;

    /// Marks one of the user's in-app notifications read at `at` (a notification already read
    /// keeps its first `read_at`); returns it as stored.
    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError>;

    /// Reads the deliveries of one of the user's notifications with their attempts, in the
    /// order the deliveries were created.
    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError>;

    /// Claims due pending deliveries (see [`DeliveryClaim`]): each is leased to the claim's
    /// token until `now + lease`, so a crashed worker's claims come back.
    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records an attempt's outcome, if the claim still holds the delivery
    /// ([`Conflict::ClaimLost`](crate::Conflict::ClaimLost) otherwise, and nothing is written).
    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError>;
}
