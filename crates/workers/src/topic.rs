//! Topics and the routing of event types to them.

use serde::{Deserialize, Serialize};

/// A logical topic. Its broker name comes from configuration ([`TopicNames`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Every task and tag lifecycle event, full CloudEvents.
    TaskEvents,
    /// Reminder events.
    Reminders,
    /// What live clients receive: slim change summaries of tasks, and in-app notifications.
    TaskUpdates,
    /// Every event, for the audit trail.
    AuditEvents,
}

impl Topic {
    /// Every topic.
    pub const ALL: [Topic; 4] = [
        Topic::TaskEvents,
        Topic::Reminders,
        Topic::TaskUpdates,
        Topic::AuditEvents,
    ];

    /// Returns the topics an event type is published to. Unknown `tickler.` types still reach
    /// the audit trail, so nothing the system emits goes unrecorded.
    pub fn routes(event_type: &str) -> &'static [Topic] {
        if event_type.starts_with("tickler.task.") {
            &[Topic::TaskEvents, Topic::TaskUpdates, Topic::AuditEvents]
        } else if event_type.starts_with("tickler.tag.") {
            &[Topic::TaskEvents, Topic::AuditEvents]
        } else if event_type.starts_with("tickler.reminder.") {
            &[Topic::Reminders, Topic::AuditEvents]
        } else if event_type == "tickler.notification.delivered" {
            // In-app notifications show up live (the relay publishes only those to
            // task-updates; see `tickler_app::live::live_event`).
            &[Topic::TaskUpdates, Topic::AuditEvents]
        } else {
            &[Topic::AuditEvents]
        }
    }
}

/// Broker names of the topics (configuration `[bus.topics]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicNames {
    /// Name of [`Topic::TaskEvents`].
    pub task_events: String,
    /// Name of [`Topic::Reminders`].
    pub reminders: String,
    /// Name of [`Topic::TaskUpdates`].
    pub task_updates: String,
    /// Name of [`Topic::AuditEvents`].
    pub audit_events: String,
}

impl Default for TopicNames {
    fn default() -> Self {
        Self {
            task_events: "task-events".to_owned(),
            reminders: "reminders".to_owned(),
            task_updates: "task-updates".to_owned(),
            audit_events: "audit-events".to_owned(),
        }
    }
}

impl TopicNames {
    /// Returns the broker name of a topic.
    pub fn name(&self, topic: Topic) -> &str {
        match topic {
            Topic::TaskEvents => &self.task_events,
            Topic::Reminders => &self.reminders,
            Topic::TaskUpdates => &self.task_updates,
            Topic::AuditEvents => &self.audit_events,
        }
    }

    /// Returns the topic a broker name designates.
    pub fn topic(&self, name: &str) -> Option<Topic> {
        Topic::ALL
            .into_iter()
            .find(|topic| self.name(*topic) == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_events_reach_live_clients_and_the_audit_trail() {
        assert_eq!(
            Topic::routes("tickler.task.completed"),
            [Topic::TaskEvents, Topic::TaskUpdates, Topic::AuditEvents]
        );
        assert_eq!(
            Topic::routes("tickler.reminder.due"),
            [Topic::Reminders, Topic::AuditEvents]
        );
        assert_eq!(
            Topic::routes("tickler.notification.delivered"),
            [Topic::TaskUpdates, Topic::AuditEvents]
        );
        assert_eq!(Topic::routes("tickler.something.new"), [Topic::AuditEvents]);
    }

    #[test]
    fn names_map_both_ways() {
        let names = TopicNames {
            audit_events: "prod.audit".into(),
            ..TopicNames::default()
        };
        for topic in Topic::ALL {
            assert_eq!(names.topic(names.name(topic)), Some(topic));
        }
        assert_eq!(names.topic("nope"), None);
    }
}
