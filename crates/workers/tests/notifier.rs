//! The notifier consumer against a real SQLite store: a fired reminder becomes an in-app
//! notification and one pending delivery per enabled channel, once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use tickler_app::notifications::in_app_channel_id;
use tickler_app::{EventSettings, OutboxSignal, SystemClock};
use tickler_domain::{ChannelKind, DeliveryStatus};
use tickler_store::testing::{instant, register};
use tickler_store::{DeadLetterQuery, NotificationQuery, OutboxPosition, Store};
use tickler_workers::consumer::{Outcome, Processor, RetryPolicy};
use tickler_workers::consumers::NotifierConsumer;
use tokio_util::sync::CancellationToken;

use support::{channel, reminder_event, store};

fn processor(store: &Arc<dyn Store>) -> Processor {
    Processor::new(
        Arc::new(NotifierConsumer::new(
            store.clone(),
            EventSettings::default(),
        )),
        store.clone(),
        Arc::new(SystemClock),
        RetryPolicy {
            max_attempts: 3,
            base_delay: std::time::Duration::from_millis(1),
            max_delay: std::time::Duration::from_millis(5),
        },
        OutboxSignal::default(),
    )
}

async fn deliver(processor: &Processor, payload: &str) -> Outcome {
    processor
        .process(
            "reminders",
            payload.as_bytes(),
            true,
            &CancellationToken::new(),
        )
        .await
        .unwrap()
}

fn all() -> NotificationQuery {
    NotificationQuery {
        limit: 100,
        ..NotificationQuery::default()
    }
}

#[tokio::test]
async fn a_due_reminder_becomes_an_in_app_notification_and_a_delivery_per_enabled_channel() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let (webhook, _) = channel(
        &store,
        &user,
        ChannelKind::Webhook,
        "https://hooks.example.org/",
    )
    .await;
    let (email, _) = channel(&store, &user, ChannelKind::Email, "ada@example.org").await;
    let (mut off, _) = channel(
        &store,
        &user,
        ChannelKind::Webhook,
        "https://off.example.org/",
    )
    .await;
    off.enabled = false;
    store.update_channel(&off, &[]).await.unwrap();

    let (_, payload) = reminder_event(user.id, "0193a000-0000-7000-8000-000000000001", instant(0));
    assert_eq!(
        deliver(&processor(&store), &payload).await,
        Outcome::Handled
    );

    let listed = store.list_notifications(user.id, &all()).await.unwrap();
    let [notification] = listed.as_slice() else {
        panic!("expected one notification, got {listed:?}")
    };
    assert_eq!(notification.title, "Pay rent");
    assert!(notification.body.contains("Pay rent"));
    let deliveries = store
        .list_deliveries(user.id, notification.id)
        .await
        .unwrap();
    let summary: Vec<_> = deliveries
        .iter()
        .map(|h| (h.delivery.channel_id, h.delivery.status, h.attempts.len()))
        .collect();
    assert_eq!(
        summary,
        [
            (in_app_channel_id(user.id), DeliveryStatus::Delivered, 1),
            (webhook.id, DeliveryStatus::Pending, 0),
            (email.id, DeliveryStatus::Pending, 0),
        ]
    );
    let events = store
        .outbox_after(OutboxPosition::default(), 100)
        .await
        .unwrap();
    let types: Vec<_> = events
        .iter()
        .map(|r| r.message.event_type.as_str())
        .collect();
    assert_eq!(types, ["tickler.notification.delivered"]);
}

#[tokio::test]
async fn with_in_app_turned_off_the_notification_stays_out_of_the_list() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let (mut in_app, _) = channel(&store, &user, ChannelKind::InApp, "").await;
    in_app.enabled = false;
    store.update_channel(&in_app, &[]).await.unwrap();
    let (webhook, _) = channel(
        &store,
        &user,
        ChannelKind::Webhook,
        "https://hooks.example.org/",
    )
    .await;
    let (_, payload) = reminder_event(user.id, "0193a000-0000-7000-8000-000000000002", instant(0));
    assert_eq!(
        deliver(&processor(&store), &payload).await,
        Outcome::Handled
    );
    assert!(
        store
            .list_notifications(user.id, &all())
            .await
            .unwrap()
            .is_empty()
    );
    let found = store
        .find_notification_for_reminder(user.id, "0193a000-0000-7000-8000-000000000002")
        .await
        .unwrap()
        .unwrap();
    assert!(!found.in_app);
    let deliveries = store.list_deliveries(user.id, found.id).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].delivery.channel_id, webhook.id);
}

#[tokio::test]
async fn a_reminder_notifies_once_however_often_it_arrives() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    channel(
        &store,
        &user,
        ChannelKind::Webhook,
        "https://hooks.example.org/",
    )
    .await;
    let processor = processor(&store);
    let reminder = "0193a000-0000-7000-8000-000000000003";
    let (_, payload) = reminder_event(user.id, reminder, instant(0));
    assert_eq!(deliver(&processor, &payload).await, Outcome::Handled);
    assert_eq!(deliver(&processor, &payload).await, Outcome::Duplicate);
    // The same reminder fired again, under a new event id.
    let (_, again) = reminder_event(user.id, reminder, instant(5));
    assert_eq!(deliver(&processor, &again).await, Outcome::Handled);
    let listed = store.list_notifications(user.id, &all()).await.unwrap();
    assert_eq!(listed.len(), 1);
    let deliveries = store.list_deliveries(user.id, listed[0].id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    let events = store
        .outbox_after(OutboxPosition::default(), 100)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn an_unreadable_reminder_is_dead_lettered() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let (_, payload) = reminder_event(user.id, "r", instant(0));
    let mut broken: serde_json::Value = serde_json::from_str(&payload).unwrap();
    broken["data"]["task_id"] = serde_json::json!("not a task");
    assert_eq!(
        deliver(&processor(&store), &broken.to_string()).await,
        Outcome::DeadLettered
    );
    let letters = store
        .list_dead_letters(&DeadLetterQuery {
            consumer: Some("notifier".into()),
            limit: 10,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    assert!(letters[0].error.contains("unreadable reminder"));
}
