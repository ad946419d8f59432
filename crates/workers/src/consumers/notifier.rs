//! The notifier consumer: hands each `tickler.reminder.due` to the fan-out use case
//! (`tickler_app::notifications::fan_out`), which decides the notification for the task's
//! owner and its deliveries, and returns its change set for the framework to commit with the
//! processed-event marker; the delivery worker then sends the pending deliveries.
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
use tickler_app::notifications::{DueReminder, notify_reminder};
use tickler_domain::{ChannelId, NotificationId};
use tickler_protocol::event::{NotificationEventData, ReminderEventData};
use tickler_store::{ChangeSet, NotificationWrite, Store};

use crate::consumer::{Consumer, HandleError};
use crate::delivery::outcome::DELIVERY_CONSUMER;
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
        let due = DueReminder {
            event_id: event.id,
            owner: event.user,
            data: &data,
        };
        notify_reminder(self.store.as_ref(), &self.events, due, now)
            .await
            .map_err(|error| HandleError::Transient(error.to_string()))
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
