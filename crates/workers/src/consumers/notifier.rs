//! The notifier consumer: turns each `tickler.reminder.due` into a notification for the task's
//! owner — in-app (delivered at once, unless the user turned in-app off) and one pending
//! delivery per enabled webhook and verified e-mail channel, which the delivery worker then
//! sends.
//!
//! A reminder notifies once: an event handled twice meets its processed marker, and a second
//! event for the same reminder (a scheduler that fired it twice) finds the notification and
//! adds nothing.
//!
//! Also here: [`DeliveryRedrive`], which a replayed dead letter of a delivery reaches (its
//! payload is the `tickler.notification.failed` event) and which makes that delivery pending
//! again.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_app::EventSettings;
use tickler_app::notifications::in_app_channel_id;
use tickler_domain::{ChannelId, ChannelKind, DeliveryId, DeliveryStatus, NotificationId};
use tickler_protocol::event::{NotificationEventData, ReminderEventData};
use tickler_store::{
    ChangeSet, ClaimedDelivery, Delivery, DeliveryAttempt, Notification, NotificationWrite, Store,
};

use crate::consumer::{Consumer, HandleError};
use crate::delivery::outcome::{DELIVERY_CONSUMER, notification_event};
use crate::event::ReceivedEvent;
use crate::topic::Topic;

/// The event type the notifier acts on.
pub const REMINDER_DUE: &str = "tickler.reminder.due";

/// Creates notifications and their deliveries from fired reminders.
#[derive(Debug, Clone)]
pub struct NotifierConsumer {
    store: Arc<dyn Store>,
    events: EventSettings,
}

impl NotifierConsumer {
    /// Builds the consumer; `events` sets the envelope of the in-app deliveries' events.
    pub fn new(store: Arc<dyn Store>, events: EventSettings) -> Self {
        Self { store, events }
    }
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

#[async_trait]
impl Consumer for NotifierConsumer {
    fn name(&self) -> &'static str {
        "notifier"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::Reminders]
    }

    fn accepts(&self, event_type: &str) -> bool {
        event_type == REMINDER_DUE
    }

    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError> {
        let data: ReminderEventData = serde_json::from_value(event.data.clone())
            .map_err(|error| HandleError::Permanent(format!("unreadable reminder: {error}")))?;
        let owner = event.user;
        if self
            .store
            .find_notification_for_reminder(owner, &data.reminder_id)
            .await?
            .is_some()
        {
            // This reminder fired before (under another event id): nothing new to say.
            return Ok(ChangeSet::default());
        }
        let channels = self.store.list_channels(owner).await?;
        let in_app = channels
            .iter()
            .find(|channel| channel.kind == ChannelKind::InApp);
        let in_app_on = in_app.is_none_or(|channel| channel.enabled);
        let notification = Notification {
            id: NotificationId::from_uuid(uuid::Uuid::now_v7()),
            owner,
            reminder_id: data.reminder_id.clone(),
            event_id: event.id,
            task_id: data.task_id,
            title: data.task_title.clone(),
            body: notification_text(&data),
            due_at: data.due_at,
            fire_at: data.fire_at,
            fired_at: data.fired_at,
            in_app: in_app_on,
            created_at: now,
            read_at: None,
            // This handling's span: each delivery of the notification continues the trace.
            traceparent: tickler_app::trace::current(),
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
            let claimed = ClaimedDelivery {
                delivery: delivered.clone(),
                notification: notification.clone(),
                channel: None,
            };
            events.push(
                notification_event(&self.events, &claimed, &delivered, "delivered", now)
                    .map_err(|error| HandleError::Transient(error.to_string()))?,
            );
            deliveries.push(delivered);
        }
        deliveries.extend(
            channels
                .iter()
                // A pending e-mail channel gets nothing until its owner verified the address.
                .filter(|channel| {
                    channel.accepts_notifications() && channel.kind != ChannelKind::InApp
                })
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
}

/// Makes a dead delivery pending again when its dead letter is replayed (`tickler dlq
/// replay`, `POST /api/v1/admin/dead-letters/{id}/replay`). It is never subscribed to a
/// topic: dead letters of deliveries reach it only through a replay.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveryRedrive;

#[async_trait]
impl Consumer for DeliveryRedrive {
    fn name(&self) -> &'static str {
        DELIVERY_CONSUMER
    }

    fn topics(&self) -> &'static [Topic] {
        &[]
    }

    fn accepts(&self, event_type: &str) -> bool {
        event_type == "tickler.notification.failed"
    }

    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError> {
        let data: NotificationEventData = serde_json::from_value(event.data.clone())
            .map_err(|error| HandleError::Permanent(format!("unreadable event: {error}")))?;
        let unreadable = |what: &str| HandleError::Permanent(format!("{what} is not an id"));
        let notification: NotificationId = data
            .notification_id
            .parse()
            .map_err(|_| unreadable("notification_id"))?;
        let channel: ChannelId = data
            .channel_id
            .parse()
            .map_err(|_| unreadable("channel_id"))?;
        Ok(ChangeSet {
            notifications: vec![NotificationWrite::Redeliver {
                notification,
                channel,
                at: now,
            }],
            ..ChangeSet::default()
        })
    }
}
