use chrono::TimeZone as _;
use tickler_domain::TaskId;

use super::*;

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, minute, 0).unwrap()
}

fn owner() -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(1))
}

fn data(due_at: Option<DateTime<Utc>>) -> ReminderEventData {
    ReminderEventData {
        reminder_id: "0193a000-0000-7000-8000-000000000001".to_owned(),
        task_id: TaskId::from_uuid(uuid::Uuid::from_u128(7)),
        task_title: "Pay rent".to_owned(),
        due_at,
        fire_at: at(0),
        fired_at: at(1),
        late_ms: 60_000,
        spec: "-PT30M".to_owned(),
    }
}

fn channel(id: u128, kind: ChannelKind, enabled: bool, verified: bool) -> NotificationChannel {
    NotificationChannel {
        id: ChannelId::from_uuid(uuid::Uuid::from_u128(id)),
        owner: owner(),
        kind,
        url: (kind == ChannelKind::Webhook).then(|| "https://hooks.example.org/".to_owned()),
        address: (kind == ChannelKind::Email).then(|| "ada@example.org".to_owned()),
        secret: None,
        previous_secret: None,
        previous_secret_until: None,
        enabled,
        disabled_reason: None,
        created_at: at(0),
        updated_at: at(0),
        verified_at: verified.then(|| at(0)),
        verification_code_hash: None,
        verification_expires_at: None,
        verification_failures: 0,
    }
}

/// Fans out and returns the notification, its deliveries (channel, status), its attempts and
/// the types of its events.
fn fan_out_to(
    channels: &[NotificationChannel],
    data: &ReminderEventData,
) -> (
    Notification,
    Vec<(ChannelId, DeliveryStatus)>,
    usize,
    Vec<String>,
) {
    let due = DueReminder {
        event_id: EventId::from_uuid(uuid::Uuid::from_u128(5)),
        owner: owner(),
        data,
    };
    let changes = fan_out(&EventSettings::default(), due, channels, at(2)).unwrap();
    let types = changes
        .events
        .iter()
        .map(|event| event.event_type.clone())
        .collect();
    let [
        NotificationWrite::Create {
            notification,
            deliveries,
            attempts,
        },
    ] = <[NotificationWrite; 1]>::try_from(changes.notifications).unwrap()
    else {
        panic!("expected one notification to create")
    };
    let summary = deliveries
        .iter()
        .map(|delivery| (delivery.channel_id, delivery.status))
        .collect();
    (notification, summary, attempts.len(), types)
}

#[test]
fn every_channel_that_accepts_notifications_gets_a_delivery_and_in_app_is_delivered_at_once() {
    let webhook = channel(10, ChannelKind::Webhook, true, true);
    let email = channel(11, ChannelKind::Email, true, true);
    let disabled = channel(12, ChannelKind::Webhook, false, true);
    let unverified = channel(13, ChannelKind::Email, true, false);
    let (notification, deliveries, attempts, events) = fan_out_to(
        &[webhook.clone(), disabled, unverified, email.clone()],
        &data(Some(at(30))),
    );
    assert_eq!(
        deliveries,
        [
            (in_app_channel_id(owner()), DeliveryStatus::Delivered),
            (webhook.id, DeliveryStatus::Pending),
            (email.id, DeliveryStatus::Pending),
        ]
    );
    assert_eq!(attempts, 1);
    assert_eq!(events, ["tickler.notification.delivered"]);
    assert!(notification.in_app);
    assert_eq!(notification.title, "Pay rent");
    assert_eq!(
        notification.body,
        "Reminder: \"Pay rent\" is due 2026-11-21 09:30 UTC."
    );
    assert_eq!(notification.created_at, at(2));
}

#[test]
fn a_stored_in_app_channel_is_used_and_when_turned_off_nothing_is_delivered_in_app() {
    let in_app = channel(20, ChannelKind::InApp, true, true);
    let (_, deliveries, _, _) = fan_out_to(std::slice::from_ref(&in_app), &data(None));
    assert_eq!(deliveries, [(in_app.id, DeliveryStatus::Delivered)]);

    let off = channel(20, ChannelKind::InApp, false, true);
    let webhook = channel(21, ChannelKind::Webhook, true, true);
    let (notification, deliveries, attempts, events) =
        fan_out_to(&[off, webhook.clone()], &data(None));
    assert!(!notification.in_app);
    assert_eq!(deliveries, [(webhook.id, DeliveryStatus::Pending)]);
    assert_eq!(attempts, 0);
    assert!(events.is_empty());
    assert_eq!(notification.body, "Reminder: \"Pay rent\".");
}

#[test]
fn the_delivered_event_names_the_notification_and_the_in_app_channel() {
    let data = data(None);
    let due = DueReminder {
        event_id: EventId::from_uuid(uuid::Uuid::from_u128(5)),
        owner: owner(),
        data: &data,
    };
    let changes = fan_out(&EventSettings::default(), due, &[], at(2)).unwrap();
    let [NotificationWrite::Create { notification, .. }] = changes.notifications.as_slice() else {
        panic!("expected one notification to create")
    };
    let event: serde_json::Value = serde_json::from_str(&changes.events[0].payload).unwrap();
    assert_eq!(event["subject"], data.task_id.to_string());
    assert_eq!(
        event["data"]["notification_id"],
        notification.id.to_string()
    );
    assert_eq!(
        event["data"]["channel_id"],
        in_app_channel_id(owner()).to_string()
    );
    assert_eq!(event["data"]["channel_kind"], "in_app");
}
