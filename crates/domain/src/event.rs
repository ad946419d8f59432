//! Domain events: what happened, in domain terms. The application layer turns each into a
//! versioned CloudEvent and writes it to the outbox in the transaction of the change.

use crate::ids::{TaskId, UserId};
use crate::tag::Tag;
use crate::task::TaskChange;

/// Something that happened to a user's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// A task was created, updated, completed, reopened or deleted.
    Task(TaskChange),
    /// A tag was renamed on every task of its owner (merging when `to` already existed).
    TagRenamed {
        /// Whose tag.
        owner: UserId,
        /// The old name.
        from: Tag,
        /// The new name.
        to: Tag,
        /// The tasks that carried it.
        task_ids: Vec<TaskId>,
    },
    /// A tag was removed from every task of its owner.
    TagDeleted {
        /// Whose tag.
        owner: UserId,
        /// The removed tag.
        tag: Tag,
        /// The tasks that carried it.
        task_ids: Vec<TaskId>,
    },
}

impl DomainEvent {
    /// Returns the event's short type name (`task.completed`, `tag.renamed`).
    pub fn type_name(&self) -> &'static str {
        match self {
            DomainEvent::Task(change) => match change.kind {
                crate::task::TaskChangeKind::Created => "task.created",
                crate::task::TaskChangeKind::Updated => "task.updated",
                crate::task::TaskChangeKind::Completed => "task.completed",
                crate::task::TaskChangeKind::Reopened => "task.reopened",
                crate::task::TaskChangeKind::Deleted => "task.deleted",
            },
            DomainEvent::TagRenamed { .. } => "tag.renamed",
            DomainEvent::TagDeleted { .. } => "tag.deleted",
        }
    }

    /// Returns the user whose data changed.
    pub fn owner(&self) -> UserId {
        match self {
            DomainEvent::Task(change) => change.task.owner,
            DomainEvent::TagRenamed { owner, .. } | DomainEvent::TagDeleted { owner, .. } => *owner,
        }
    }
}
