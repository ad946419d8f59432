//! Notification records as the API and the tools show them.

use tickler_protocol::notification::{
    ChannelBody, ChannelVerification, DeliveryAttemptBody, DeliveryBody, NotificationBody,
};
use tickler_store::{DeliveryHistory, Notification, NotificationChannel};

/// Renders a channel (never its secret).
pub fn channel_body(channel: &NotificationChannel) -> ChannelBody {
    ChannelBody {
        id: channel.id,
        kind: channel.kind,
        url: channel.url.clone(),
        address: channel.address.clone(),
        enabled: channel.enabled,
        disabled_reason: channel.disabled_reason.clone(),
        verification: (channel.kind == tickler_domain::ChannelKind::Email).then_some(
            if channel.verified_at.is_some() {
                ChannelVerification::Verified
            } else {
                ChannelVerification::Pending
            },
        ),
        previous_secret_expires_at: channel
            .previous_secret
            .as_ref()
            .and(channel.previous_secret_until),
        created_at: channel.created_at,
        updated_at: channel.updated_at,
    }
}

/// Renders an in-app notification.
pub fn notification_body(notification: &Notification) -> NotificationBody {
    NotificationBody {
        id: notification.id,
        reminder_id: notification.reminder_id.clone(),
        task_id: notification.task_id,
        title: notification.title.clone(),
        body: notification.body.clone(),
        due_at: notification.due_at,
        fire_at: notification.fire_at,
        created_at: notification.created_at,
        read_at: notification.read_at,
    }
}

/// Renders a delivery with its attempts.
pub fn delivery_body(history: &DeliveryHistory) -> DeliveryBody {
    let delivery = &history.delivery;
    DeliveryBody {
        id: delivery.id,
        channel_id: delivery.channel_id,
        channel_kind: delivery.channel_kind,
        status: delivery.status,
        next_attempt_at: delivery.next_attempt_at,
        delivered_at: delivery.delivered_at,
        attempts: history
            .attempts
            .iter()
            .map(|attempt| DeliveryAttemptBody {
                attempt: attempt.attempt,
                at: attempt.attempted_at,
                duration_ms: attempt.duration_ms,
                status_code: attempt.status_code,
                error: attempt.error.clone(),
                succeeded: attempt.succeeded,
            })
            .collect(),
    }
}
