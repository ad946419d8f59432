use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;
use tickler_domain::{
    ChannelId, ChannelKind, DeliveryId, DeliveryStatus, EventId, NotificationId, RetrySchedule,
    TaskId, UserId,
};
use tickler_store::{ClaimedDelivery, Delivery, Notification};
use uuid::Uuid;

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
}

fn claimed(attempts: u32) -> ClaimedDelivery {
    let owner = UserId::from_uuid(Uuid::from_u128(1));
    let notification = Notification {
        id: NotificationId::from_uuid(Uuid::from_u128(2)),
        owner,
        reminder_id: Uuid::from_u128(3).to_string(),
        event_id: EventId::from_uuid(Uuid::from_u128(4)),
        task_id: TaskId::from_uuid(Uuid::from_u128(5)),
        title: "Pay rent".into(),
        body: "Pay rent is due".into(),
        due_at: None,
        fire_at: at(0),
        fired_at: at(0),
        in_app: true,
        created_at: at(0),
        read_at: None,
        traceparent: None,
    };
    ClaimedDelivery {
        delivery: Delivery {
            id: DeliveryId::from_uuid(Uuid::from_u128(6)),
            notification_id: notification.id,
            owner,
            channel_id: ChannelId::from_uuid(Uuid::from_u128(7)),
            channel_kind: ChannelKind::Webhook,
            status: DeliveryStatus::Pending,
            attempts,
            next_attempt_at: Some(at(0)),
            last_status_code: None,
            last_error: None,
            created_at: at(0),
            updated_at: at(0),
            delivered_at: None,
        },
        notification,
        channel: None,
    }
}

fn policy() -> OutcomePolicy {
    OutcomePolicy {
        schedule: RetrySchedule::standard(),
        max_retry_after: Duration::from_secs(3600),
        events: EventSettings::default(),
    }
}

fn failed(status: u16) -> AttemptResult {
    AttemptResult::Failed {
        status: Some(status),
        error: format!("answered {status}"),
        retry_after: None,
    }
}

fn outcome(attempts: u32, result: AttemptResult) -> DeliveryOutcome {
    policy()
        .outcome(
            &claimed(attempts),
            Uuid::from_u128(99),
            result,
            at(100),
            Duration::from_millis(250),
            0.5,
        )
        .unwrap()
}

fn event_data(outcome: &DeliveryOutcome) -> (String, Value) {
    let [event] = outcome.events.as_slice() else {
        panic!("expected one event, got {:?}", outcome.events)
    };
    let value: Value = serde_json::from_str(&event.payload).unwrap();
    (event.event_type.clone(), value["data"].clone())
}

#[test]
fn a_delivered_attempt_is_recorded_and_announced() {
    let outcome = outcome(0, AttemptResult::Delivered { status: Some(204) });
    assert_eq!(outcome.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(outcome.delivery.attempts, 1);
    assert_eq!(outcome.delivery.next_attempt_at, None);
    let attempt = outcome.attempt.clone().unwrap();
    assert!(attempt.succeeded);
    assert_eq!((attempt.attempt, attempt.duration_ms), (1, 250));
    assert_eq!(attempt.attempted_at, at(100));
    let (event_type, data) = event_data(&outcome);
    assert_eq!(event_type, "tickler.notification.delivered");
    assert_eq!(data["attempts"], 1);
    assert_eq!(data["status_code"], 204);
    assert!(data.get("error").is_none());
    assert!(outcome.dead_letter.is_none());
}

#[test]
fn failures_wait_the_scheduled_delay_and_the_last_one_gives_up() {
    let expected = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
    for (previous, seconds) in expected.into_iter().enumerate() {
        let outcome = outcome(previous as u32, failed(503));
        assert_eq!(outcome.delivery.status, DeliveryStatus::Pending);
        let finished = at(100) + TimeDelta::milliseconds(250);
        assert_eq!(
            outcome.delivery.next_attempt_at,
            Some(finished + TimeDelta::seconds(seconds)),
            "after attempt {}",
            previous + 1
        );
        assert!(outcome.events.is_empty() && outcome.dead_letter.is_none());
    }
    let last = outcome(9, failed(503));
    assert_eq!(last.delivery.status, DeliveryStatus::Dead);
    assert_eq!(last.delivery.attempts, 10);
    let (event_type, data) = event_data(&last);
    assert_eq!(event_type, "tickler.notification.failed");
    assert_eq!(data["error"], "answered 503");
    let letter = last.dead_letter.unwrap();
    assert_eq!(letter.consumer, DELIVERY_CONSUMER);
    assert_eq!(letter.attempts, 10);
    assert_eq!(letter.payload, last.events[0].payload);
}

#[test]
fn retry_after_is_honoured_up_to_its_bound() {
    let asked = |seconds| AttemptResult::Failed {
        status: Some(429),
        error: "answered 429".into(),
        retry_after: Some(Duration::from_secs(seconds)),
    };
    let finished = at(100) + TimeDelta::milliseconds(250);
    assert_eq!(
        outcome(0, asked(120)).delivery.next_attempt_at,
        Some(finished + TimeDelta::seconds(120))
    );
    assert_eq!(
        outcome(0, asked(86_400)).delivery.next_attempt_at,
        Some(finished + TimeDelta::seconds(3_600))
    );
    assert_eq!(outcome(9, asked(1)).delivery.status, DeliveryStatus::Dead);
}

#[test]
fn gone_disables_the_channel_and_rejected_gives_up_at_once() {
    let gone = outcome(0, AttemptResult::Gone);
    assert_eq!(gone.delivery.status, DeliveryStatus::Dead);
    assert_eq!(gone.delivery.last_status_code, Some(410));
    assert!(gone.disable_channel.unwrap().contains("410"));
    assert!(gone.dead_letter.is_some());
    let rejected = outcome(
        0,
        AttemptResult::Rejected {
            status: Some(550),
            error: "mailbox unavailable".into(),
        },
    );
    assert_eq!(rejected.delivery.status, DeliveryStatus::Dead);
    assert_eq!(rejected.delivery.attempts, 1);
    assert!(rejected.disable_channel.is_none());
    assert_eq!(event_data(&rejected).1["status_code"], 550);
}

#[test]
fn a_cancelled_delivery_makes_no_attempt_and_no_noise() {
    let cancelled = outcome(
        2,
        AttemptResult::Cancelled {
            reason: "the channel was deleted".into(),
        },
    );
    assert_eq!(cancelled.delivery.status, DeliveryStatus::Cancelled);
    assert_eq!(cancelled.delivery.attempts, 2);
    assert!(cancelled.attempt.is_none() && cancelled.events.is_empty());
    assert!(cancelled.dead_letter.is_none());
}
