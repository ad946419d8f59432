use serde_json::json;

use super::*;

fn event(data: serde_json::Value) -> ReceivedEvent {
    ReceivedEvent {
        id: uuid::Uuid::from_u128(1).into(),
        event_type: TASK_COMPLETED.into(),
        subject: uuid::Uuid::from_u128(3).to_string(),
        time: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
        user: uuid::Uuid::from_u128(2).into(),
        correlation_id: None,
        origin: Some("api".into()),
        traceparent: None,
        data,
    }
}

fn completed_task(recurrence: Option<&str>) -> serde_json::Value {
    json!({
        "task": {
            "id": uuid::Uuid::from_u128(3).to_string(), "title": "Water the plants",
            "description": "", "status": "done", "priority": "none",
            "due_at": "2026-11-23T09:00:00Z", "all_day": false, "timezone": "UTC",
            "tags": [], "recurrence": recurrence, "recurrence_mode": "from_due",
            "reminders": [], "created_at": "2026-11-20T09:00:00Z",
            "updated_at": "2026-11-23T10:00:00Z", "completed_at": "2026-11-23T10:00:00Z",
            "version": 2, "series_id": uuid::Uuid::from_u128(9).to_string(), "sequence": 4
        },
        "changed_fields": ["status", "completed_at"]
    })
}

fn consumer() -> RecurringConsumer {
    RecurringConsumer::new(EventSettings::default())
}

#[tokio::test]
async fn a_completed_recurring_task_makes_the_next_instance_of_its_series() {
    let now = DateTime::from_timestamp(1_790_000_001, 0).unwrap();
    let changes = consumer()
        .handle(&event(completed_task(Some("FREQ=DAILY"))), now)
        .await
        .unwrap();
    let [tickler_store::TaskWrite::Insert(next)] = changes.tasks.as_slice() else {
        panic!("expected one insert: {changes:?}")
    };
    assert_eq!(next.series.id, uuid::Uuid::from_u128(9).into());
    assert_eq!(next.series.sequence, 5);
    assert_eq!(
        changes.series,
        [tickler_store::SeriesWrite::Advance {
            owner: uuid::Uuid::from_u128(2).into(),
            series: uuid::Uuid::from_u128(9).into(),
            sequence: 5,
        }]
    );
    let [created] = changes.events.as_slice() else {
        panic!("expected one event")
    };
    assert_eq!(created.event_type, "tickler.task.created");
    assert_eq!(created.subject, next.id.to_string());
}

#[tokio::test]
async fn a_task_without_recurrence_or_an_unreadable_event_makes_nothing() {
    let now = DateTime::from_timestamp(1_790_000_001, 0).unwrap();
    let changes = consumer()
        .handle(&event(completed_task(None)), now)
        .await
        .unwrap();
    assert_eq!(changes, ChangeSet::default());
    let error = consumer()
        .handle(&event(json!({"task": {"id": "x"}})), now)
        .await
        .unwrap_err();
    assert!(matches!(error, HandleError::Permanent(_)));
}
