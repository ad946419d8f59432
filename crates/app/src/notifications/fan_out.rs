//! Fan-out of a fired reminder: the notification of its owner and a delivery per channel.
//!
//! The `notifier` consumer (`tickler-workers`) reads `tickler.reminder.due` and commits the
//! change set [`notify_reminder`] returns with its processed-event marker; the delivery worker
//! then sends the pending deliveries. A reminder notifies once: an event handled twice meets
//! its processed marker, and a second event for the same reminder (a scheduler that fired it
//! twice) finds the notification and adds nothing.

use chrono::{DateTime, Utc};
use tickler_domain::{
    ChannelId, ChannelKind, DeliveryId, DeliveryStatus, EventId, NotificationId, UserId,
};
use tickler_protocol::event::{NotificationEventData, ReminderEventData};
use tickler_store::{
    ChangeSet, Delivery, DeliveryAttempt, Notification, NotificationChannel, NotificationWrite,
    OutboxMessage, Store,
};

use super::in_app_channel_id;
use crate::error::AppResult;
use crate::events::{EventSettings, system_event};

/// A reminder that fell due, as its `tickler.reminder.due` event tells it.
#[derive(Debug, Clone, Copy)]
pub struct DueReminder<'a> {
    /// The event's id, kept on the notification.
    pub event_id: EventId,
    /// Whose reminder.
    pub owner: UserId,
    /// The event's data.
    pub data: &'a ReminderEventData,
}

/// Returns the change set that notifies the owner of `due` at `now`, reading what it needs
/// from `store`: nothing when the reminder notified already, otherwise [`fan_out`] over the
/// owner's channels.
pub async fn notify_reminder(
    store: &dyn Store,
    settings: &EventSettings,
    due: DueReminder<'_>,
    now: DateTime<Utc>,
) -> AppResult<ChangeSet> {
    if store
        .find_notification_for_reminder(due.owner, &due.data.reminder_id)
        .await?
        .is_some()
    {
        // This reminder fired before (under another event id): nothing new to say.
        return Ok(ChangeSet::default());
    }
    let channels = store.list_channels(due.owner).await?;
    fan_out(settings, due, &channels, now)
}

/// Returns the change set of the notification of `due` at `now` to an owner with `channels`:
/// the notification, delivered in-app at once (with its `tickler.notification.delivered`
/// event) unless the owner turned in-app off, and one pending delivery per other channel that
/// accepts notifications (enabled; an e-mail address verified).
pub fn fan_out(
    settings: &EventSettings,
    due: DueReminder<'_>,
    channels: &[NotificationChannel],
    now: DateTime<Utc>,
) -> AppResult<ChangeSet> {
    let DueReminder {
        event_id,
        owner,
        data,
    } = due;
    let in_app = channels
        .iter()
        .find(|channel| channel.kind == ChannelKind::InApp);
    let in_app_on = in_app.is_none_or(|channel| channel.enabled);
    let notification = Notification {
        id: NotificationId::from_uuid(uuid::Uuid::now_v7()),
        owner,
        reminder_id: data.reminder_id.clone(),
        event_id,
        task_id: data.task_id,
        title: data.task_title.clone(),
        body: notification_text(data),
        due_at: data.due_at,
        fire_at: data.fire_at,
        fired_at: data.fired_at,
        in_app: in_app_on,
        created_at: now,
        read_at: None,
        // The current span: each delivery of the notification continues the trace.
        traceparent: crate::trace::current(),
    };
    let pending = |channel: ChannelId, kind: ChannelKind| Delivery {
        id: DeliveryId::from_uuid(uuid::Uuid::now_v7()),
        notification_id: notification.id,
        owner,
        channel_id: channel,
        channel_kind: kind,
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: Some(now),
        last_status_code: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        delivered_at: None,
    };
    let mut deliveries = Vec::new();
    let mut attempts = Vec::new();
    let mut events = Vec::new();
    if in_app_on {
        let channel = in_app.map_or_else(|| in_app_channel_id(owner), |channel| channel.id);
        let delivered = Delivery {
            status: DeliveryStatus::Delivered,
            attempts: 1,
            next_attempt_at: None,
            delivered_at: Some(now),
            ..pending(channel, ChannelKind::InApp)
        };
        attempts.push(DeliveryAttempt {
            delivery_id: delivered.id,
            attempt: 1,
            attempted_at: now,
            duration_ms: 0,
            status_code: None,
            error: None,
            succeeded: true,
        });
        events.push(delivery_event(
            settings,
            &notification,
            &delivered,
            "delivered",
            now,
        )?);
        deliveries.push(delivered);
    }
    deliveries.extend(
        channels
            .iter()
            // A pending e-mail channel gets nothing until its owner verified the address.
            .filter(|channel| channel.accepts_notifications() && channel.kind != ChannelKind::InApp)
            .map(|channel| pending(channel.id, channel.kind)),
    );
    Ok(ChangeSet {
        notifications: vec![NotificationWrite::Create {
            notification,
            deliveries,
            attempts,
        }],
        events,
        ..ChangeSet::default()
    })
}

/// Builds `tickler.notification.<what>` (`delivered` or `failed`) for a delivery of
/// `notification`.
pub fn delivery_event(
    settings: &EventSettings,
    notification: &Notification,
    delivery: &Delivery,
    what: &str,
    now: DateTime<Utc>,
) -> AppResult<OutboxMessage> {
    let data = NotificationEventData {
        notification_id: notification.id.to_string(),
        reminder_id: notification.reminder_id.clone(),
        task_id: notification.task_id,
        channel_id: delivery.channel_id.to_string(),
        channel_kind: delivery.channel_kind.as_str().to_owned(),
        attempts: delivery.attempts,
        status_code: delivery.last_status_code,
        error: (delivery.status != DeliveryStatus::Delivered)
            .then(|| delivery.last_error.clone())
            .flatten(),
    };
    system_event(
        settings,
        &format!("notification.{what}"),
        &notification.task_id.to_string(),
        notification.owner,
        "notification.v1.json",
        now,
        data,
    )
}

/// Returns the text of a reminder's notification.
fn notification_text(data: &ReminderEventData) -> String {
    match data.due_at {
        Some(due) => format!(
            "Reminder: \"{}\" is due {}.",
            data.task_title,
            due.format("%Y-%m-%d %H:%M UTC")
        ),
        None => format!("Reminder: \"{}\".", data.task_title),
    }
}

#[cfg(test)]
mod tests;
