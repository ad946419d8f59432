//! The audit consumer: appends every event to the append-only audit trail, recording who
//! changed what, when, through which front door (`origin`) and under which request id.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_store::{AuditRecord, ChangeSet};

use crate::consumer::{Consumer, HandleError};
use crate::event::ReceivedEvent;
use crate::topic::Topic;

/// Records events in the audit trail.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditConsumer;

#[async_trait]
impl Consumer for AuditConsumer {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::AuditEvents]
    }

    fn accepts(&self, _event_type: &str) -> bool {
        true
    }

    /// Appends for one user queue on that user's chain head: a batch's appends go in one
    /// transaction, so they take each head once.
    fn commits_together(&self) -> bool {
        true
    }

    async fn handle(
        &self,
        event: &ReceivedEvent,
        now: DateTime<Utc>,
    ) -> Result<ChangeSet, HandleError> {
        let task_id = if event.event_type.starts_with("tickler.task.") {
            Some(event.subject.parse().map_err(|_| {
                HandleError::Permanent(format!(
                    "task event with a subject that is not a task id: {:?}",
                    event.subject
                ))
            })?)
        } else {
            event.data["task_id"]
                .as_str()
                .and_then(|id| id.parse().ok())
        };
        let data = serde_json::to_string(&event.data)
            .map_err(|error| HandleError::Permanent(error.to_string()))?;
        Ok(ChangeSet {
            audit: vec![AuditRecord {
                event_id: event.id,
                owner: event.user,
                task_id,
                event_type: event.event_type.clone(),
                origin: event.origin.clone(),
                correlation_id: event.correlation_id.clone(),
                occurred_at: event.time,
                recorded_at: now,
                data,
            }],
            ..ChangeSet::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(event_type: &str, subject: &str) -> ReceivedEvent {
        ReceivedEvent {
            id: uuid::Uuid::from_u128(1).into(),
            event_type: event_type.into(),
            subject: subject.into(),
            time: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            user: uuid::Uuid::from_u128(2).into(),
            correlation_id: Some("req-9".into()),
            origin: Some("mcp".into()),
            traceparent: None,
            data: json!({"changed_fields": ["title"]}),
        }
    }

    #[tokio::test]
    async fn a_task_event_becomes_one_audit_record_with_its_origin() {
        let now = DateTime::from_timestamp(1_790_000_001, 0).unwrap();
        let task = uuid::Uuid::from_u128(3).to_string();
        let changes = AuditConsumer
            .handle(&event("tickler.task.updated", &task), now)
            .await
            .unwrap();
        let [record] = changes.audit.as_slice() else {
            panic!("expected one record")
        };
        assert_eq!(record.task_id.map(|id| id.to_string()), Some(task));
        assert_eq!(record.origin.as_deref(), Some("mcp"));
        assert_eq!(record.correlation_id.as_deref(), Some("req-9"));
        assert_eq!(record.recorded_at, now);
        assert!(changes.tasks.is_empty() && changes.events.is_empty());
    }

    #[tokio::test]
    async fn a_task_event_whose_subject_is_not_a_task_id_is_a_permanent_failure() {
        let now = DateTime::from_timestamp(1_790_000_001, 0).unwrap();
        let error = AuditConsumer
            .handle(&event("tickler.task.updated", "home"), now)
            .await
            .unwrap_err();
        assert!(matches!(error, HandleError::Permanent(_)));
        assert!(
            AuditConsumer
                .handle(&event("tickler.tag.renamed", "home"), now)
                .await
                .is_ok()
        );
    }
}
