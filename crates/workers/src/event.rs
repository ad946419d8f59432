//! An event as a consumer receives it, read from a CloudEvent in JSON structured mode, and
//! the slim summaries published for live clients.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tickler_domain::{EventId, TaskId, UserId};
use tickler_protocol::event::{CloudEvent, DATA_SCHEMA_PREFIX};

/// The data schemas consumers accept, per event family: a version only gains optional fields,
/// a breaking change is a new version, and consumers accept both for one release.
pub const ACCEPTED_SCHEMAS: &[&str] = &[
    "task.v1.json",
    "tag.v1.json",
    "task-update.v1.json",
    "reminder.v1.json",
    "notification.v1.json",
];

/// A received event.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedEvent {
    /// The event id, the deduplication key.
    pub id: EventId,
    /// Its type, e.g. `tickler.task.created`.
    pub event_type: String,
    /// Its subject (task id or tag name).
    pub subject: String,
    /// When the change was committed.
    pub time: DateTime<Utc>,
    /// Whose data changed.
    pub user: UserId,
    /// The request id of the change.
    pub correlation_id: Option<String>,
    /// Where the change came from.
    pub origin: Option<String>,
    /// The W3C trace context of the change (`traceparent` extension), continued by whoever
    /// handles the event.
    pub traceparent: Option<String>,
    /// The `data` attribute.
    pub data: Value,
}

/// Why an event cannot be read. Always permanent: retrying will not make it readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedEvent {
    /// Not a CloudEvent of ours.
    #[error("not a tickler CloudEvent: {0}")]
    Unreadable(String),
    /// A schema version this build does not know.
    #[error("unsupported data schema {0:?}")]
    UnknownSchema(String),
}

impl ReceivedEvent {
    /// Reads a CloudEvent; brokers may add attributes (Dapr adds `topic`, `pubsubname`...),
    /// which are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, MalformedEvent> {
        let envelope: CloudEvent<Value> = serde_json::from_slice(payload)
            .map_err(|error| MalformedEvent::Unreadable(error.to_string()))?;
        if envelope.specversion != "1.0" || !envelope.event_type.starts_with("tickler.") {
            return Err(MalformedEvent::Unreadable(format!(
                "specversion {:?}, type {:?}",
                envelope.specversion, envelope.event_type
            )));
        }
        let schema = envelope
            .dataschema
            .strip_prefix(DATA_SCHEMA_PREFIX)
            .unwrap_or(&envelope.dataschema);
        if !ACCEPTED_SCHEMAS.contains(&schema) {
            return Err(MalformedEvent::UnknownSchema(envelope.dataschema));
        }
        Ok(Self {
            id: envelope.id,
            event_type: envelope.event_type,
            subject: envelope.subject,
            time: envelope.time,
            user: envelope.userid,
            correlation_id: envelope.correlationid,
            origin: envelope.origin,
            traceparent: envelope.traceparent,
            data: envelope.data,
        })
    }

    /// Returns every task the event names: a task event's subject and its task's id and series,
    /// a reminder's or delivery's `task_id`, a tag event's `task_ids`. A consumer must only
    /// act on an event whose user owns each of them (see [`crate::consumer::Processor`]).
    pub fn named_tasks(&self) -> Vec<TaskId> {
        let mut named = Vec::new();
        let mut add = |raw: Option<&str>| {
            if let Some(id) = raw.and_then(|raw| raw.parse::<TaskId>().ok())
                && !named.contains(&id)
            {
                named.push(id);
            }
        };
        if self.event_type.starts_with("tickler.task.") {
            add(Some(self.subject.as_str()));
        }
        add(self.data.pointer("/task/id").and_then(Value::as_str));
        add(self.data.pointer("/task/series_id").and_then(Value::as_str));
        add(self.data["task_id"].as_str());
        if let Some(ids) = self.data["task_ids"].as_array() {
            for id in ids {
                add(id.as_str());
            }
        }
        named
    }

    /// Reads only the `traceparent` of a payload (the relay's spans continue it).
    pub fn peek_traceparent(payload: &[u8]) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Trace {
            traceparent: Option<String>,
        }
        serde_json::from_slice::<Trace>(payload).ok()?.traceparent
    }

    /// Reads only the id and type of a payload, for dead-letter records of unreadable events.
    pub fn peek(payload: &[u8]) -> (Option<EventId>, Option<String>) {
        let Ok(value) = serde_json::from_slice::<Value>(payload) else {
            return (None, None);
        };
        (
            value["id"].as_str().and_then(|id| id.parse().ok()),
            value["type"].as_str().map(str::to_owned),
        )
    }
}

/// Builds the slim `task-updates` summary of a full task event (see
/// [`tickler_app::live::task_update_summary`]: live clients receive the same summary on every
/// bus).
pub fn task_update_summary(full: &[u8]) -> Option<Vec<u8>> {
    tickler_app::live::task_update_summary(full).map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "specversion": "1.0",
            "id": "01938f6e-7a3b-7c3d-8e4f-0a1b2c3d4e5f",
            "source": "urn:tickler:server",
            "type": "tickler.task.completed",
            "subject": "01938f6e-0000-7000-8000-000000000001",
            "time": "2026-11-21T12:00:00Z",
            "datacontenttype": "application/json",
            "dataschema": "urn:tickler:events:task.v1.json",
            "userid": "01938f6e-0000-7000-8000-000000000002",
            "correlationid": "req-1",
            "origin": "api",
            "data": {"task": {"id": "01938f6e-0000-7000-8000-000000000001", "version": 2,
                              "status": "done"}, "changed_fields": ["status", "completed_at"]}
        })
    }

    #[test]
    fn a_cloudevent_with_extra_broker_attributes_is_read() {
        let mut value = sample();
        value["pubsubname"] = json!("tickler-pubsub");
        value["topic"] = json!("task-events");
        let event = ReceivedEvent::parse(&serde_json::to_vec(&value).unwrap()).unwrap();
        assert_eq!(event.event_type, "tickler.task.completed");
        assert_eq!(event.correlation_id.as_deref(), Some("req-1"));
        assert_eq!(event.data["changed_fields"][0], "status");
    }

    #[test]
    fn garbage_foreign_types_and_unknown_schemas_are_malformed() {
        assert!(ReceivedEvent::parse(b"{").is_err());
        let mut foreign = sample();
        foreign["type"] = json!("com.example.thing");
        assert!(ReceivedEvent::parse(&serde_json::to_vec(&foreign).unwrap()).is_err());
        let mut future = sample();
        future["dataschema"] = json!("urn:tickler:events:task.v9.json");
        assert_eq!(
            ReceivedEvent::parse(&serde_json::to_vec(&future).unwrap()),
            Err(MalformedEvent::UnknownSchema(
                "urn:tickler:events:task.v9.json".into()
            ))
        );
        assert_eq!(ReceivedEvent::peek(b"nope"), (None, None));
    }

    #[test]
    fn an_event_names_its_subject_task_its_series_and_the_tasks_in_its_data() {
        let mut value = sample();
        value["data"]["task"]["series_id"] = json!("01938f6e-0000-7000-8000-000000000009");
        let event = ReceivedEvent::parse(&serde_json::to_vec(&value).unwrap()).unwrap();
        let named: Vec<String> = event
            .named_tasks()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            named,
            [
                "01938f6e-0000-7000-8000-000000000001",
                "01938f6e-0000-7000-8000-000000000009"
            ]
        );
        let mut tag = event.clone();
        tag.event_type = "tickler.tag.renamed".into();
        tag.subject = "work".into();
        tag.data = json!({"tag": "work", "task_ids": ["01938f6e-0000-7000-8000-000000000003",
                                                       "not an id"]});
        assert_eq!(tag.named_tasks().len(), 1);
        let mut reminder = event;
        reminder.event_type = "tickler.reminder.due".into();
        reminder.subject = "reminder-1".into();
        reminder.data = json!({"task_id": "01938f6e-0000-7000-8000-000000000004"});
        assert_eq!(
            reminder.named_tasks()[0].to_string(),
            "01938f6e-0000-7000-8000-000000000004"
        );
    }

    #[test]
    fn the_summary_keeps_the_envelope_and_slims_the_data() {
        let full = serde_json::to_vec(&sample()).unwrap();
        let summary: Value = serde_json::from_slice(&task_update_summary(&full).unwrap()).unwrap();
        assert_eq!(summary["id"], sample()["id"]);
        assert_eq!(
            summary["data"],
            json!({"task_id": "01938f6e-0000-7000-8000-000000000001", "version": 2,
                   "status": "done", "changed_fields": ["status", "completed_at"]})
        );
        assert_eq!(
            summary["dataschema"],
            "urn:tickler:events:task-update.v1.json"
        );
        assert!(ReceivedEvent::parse(&task_update_summary(&full).unwrap()).is_ok());
    }
}
