//! The domain model of tickler: tasks and their fields, tags, reminders, recurrence rules,
//! users, and the events their changes produce.
//!
//! Everything here is pure: no IO, no async, no clock reads (`now` is always a parameter), no
//! id generation. Storage, HTTP and messaging live in other crates and depend on this one,
//! never the reverse.

pub mod event;
pub mod ids;
pub mod notification;
pub mod recurrence;
pub mod reminder;
pub mod schedule;
pub mod series;
pub mod tag;
pub mod task;
pub mod time;
pub mod user;
pub mod validation;

pub use event::DomainEvent;
pub use ids::{
    ApiTokenId, CalendarFeedId, ChannelId, ConversationId, DeliveryId, EventId, NotificationId,
    SeriesPosition, TaskId, UserId,
};
pub use notification::{ChannelKind, DeliveryStatus, RetrySchedule};
pub use recurrence::{Recurrence, RecurrenceError};
pub use reminder::{Offset, ReminderError, ReminderSpec};
pub use schedule::{PlannedReminder, ReminderState};
pub use tag::{Tag, TagError, Tags};
pub use task::{
    Due, Priority, RecurrenceMode, Task, TaskChange, TaskChangeKind, TaskFields, TaskInput,
    TaskStatus, Title, validate_series_start,
};
pub use time::{TimeZone, UnknownTimeZone};
pub use user::{Email, User};
pub use validation::{FieldError, ValidationErrors};
