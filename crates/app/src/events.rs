//! Turns domain events into CloudEvents written to the outbox in the transaction of the change.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickler_domain::{DomainEvent, EventId};
use tickler_protocol::event::{
    CloudEvent, DATA_CONTENT_TYPE, DATA_SCHEMA_PREFIX, SPEC_VERSION, TYPE_PREFIX, TagEventData,
    TaskEventData,
};
use tickler_protocol::task::TaskBody;
use tickler_store::OutboxMessage;

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Settings of event envelopes.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// The CloudEvents `source` of every event this instance emits.
    pub source: String,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            source: "urn:tickler:server".to_owned(),
        }
    }
}

impl App {
    /// Builds the outbox message of a domain event caused by `actor` at `time`.
    pub(crate) fn outbox_message(
        &self,
        actor: &Actor,
        event: &DomainEvent,
        time: DateTime<Utc>,
    ) -> AppResult<OutboxMessage> {
        self.outbox_message_with_body(actor, event, None, time)
    }

    /// Builds the outbox message of a domain event, given the wire body of the changed task
    /// when the caller has already built it for its own answer (task events only; built here
    /// when `None`).
    pub(crate) fn outbox_message_with_body(
        &self,
        actor: &Actor,
        event: &DomainEvent,
        task_body: Option<TaskBody>,
        time: DateTime<Utc>,
    ) -> AppResult<OutboxMessage> {
        let id = EventId::from_uuid(self.new_uuid());
        let event_type = format!("{TYPE_PREFIX}{}", event.type_name());
        let (subject, payload) = match event {
            DomainEvent::Task(change) => {
                let data = TaskEventData {
                    task: task_body.unwrap_or_else(|| TaskBody::from(&change.task)),
                    changed_fields: change
                        .changed_fields
                        .iter()
                        .map(|field| (*field).to_owned())
                        .collect(),
                };
                let subject = change.task.id.to_string();
                let envelope =
                    self.envelope(actor, id, &event_type, &subject, "task.v1.json", time, data);
                (subject, serialize(&envelope)?)
            }
            DomainEvent::TagRenamed {
                from, to, task_ids, ..
            } => {
                let data = TagEventData {
                    tag: from.as_str().to_owned(),
                    renamed_to: Some(to.as_str().to_owned()),
                    task_ids: task_ids.clone(),
                };
                let subject = from.as_str().to_owned();
                let envelope =
                    self.envelope(actor, id, &event_type, &subject, "tag.v1.json", time, data);
                (subject, serialize(&envelope)?)
            }
            DomainEvent::TagDeleted { tag, task_ids, .. } => {
                let data = TagEventData {
                    tag: tag.as_str().to_owned(),
                    renamed_to: None,
                    task_ids: task_ids.clone(),
                };
                let subject = tag.as_str().to_owned();
                let envelope =
                    self.envelope(actor, id, &event_type, &subject, "tag.v1.json", time, data);
                (subject, serialize(&envelope)?)
            }
        };
        Ok(OutboxMessage {
            id,
            event_type,
            subject,
            owner: event.owner(),
            occurred_at: time,
            payload,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn envelope<T>(
        &self,
        actor: &Actor,
        id: EventId,
        event_type: &str,
        subject: &str,
        schema_file: &str,
        time: DateTime<Utc>,
        data: T,
    ) -> CloudEvent<T> {
        CloudEvent {
            specversion: SPEC_VERSION.to_owned(),
            id,
            source: self.events.source.clone(),
            event_type: event_type.to_owned(),
            subject: subject.to_owned(),
            time,
            datacontenttype: DATA_CONTENT_TYPE.to_owned(),
            dataschema: format!("{DATA_SCHEMA_PREFIX}{schema_file}"),
            userid: actor.user.id,
            correlationid: actor.correlation_id.clone(),
            // The request's span; for changes tickler makes itself (a consumer's), the span
            // handling the event that caused them.
            traceparent: actor.traceparent.clone().or_else(crate::trace::current),
            origin: Some(actor.origin.as_str().to_owned()),
            data,
        }
    }
}

fn serialize<T: Serialize>(envelope: &CloudEvent<T>) -> AppResult<String> {
    serde_json::to_string(envelope)
        .map_err(|error| AppError::Internal(format!("failed to serialise an event: {error}")))
}

/// Builds the outbox message of an event tickler emits by itself (origin `system`, no request
/// context): `tickler.<event_type>` about `subject` of `owner` at `time`, with `data` of
/// schema `schema_file` (e.g. `notification.v1.json`).
pub fn system_event<T: Serialize>(
    settings: &EventSettings,
    event_type: &str,
    subject: &str,
    owner: tickler_domain::UserId,
    schema_file: &str,
    time: DateTime<Utc>,
    data: T,
) -> AppResult<OutboxMessage> {
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let event_type = format!("{TYPE_PREFIX}{event_type}");
    let envelope = CloudEvent {
        specversion: SPEC_VERSION.to_owned(),
        id,
        source: settings.source.clone(),
        event_type: event_type.clone(),
        subject: subject.to_owned(),
        time,
        datacontenttype: DATA_CONTENT_TYPE.to_owned(),
        dataschema: format!("{DATA_SCHEMA_PREFIX}{schema_file}"),
        userid: owner,
        correlationid: None,
        traceparent: crate::trace::current(),
        origin: Some(crate::Origin::System.as_str().to_owned()),
        data,
    };
    Ok(OutboxMessage {
        id,
        event_type,
        subject: subject.to_owned(),
        owner,
        occurred_at: time,
        payload: serialize(&envelope)?,
    })
}
