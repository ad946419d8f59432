//! Identifier newtypes, and a task's place in its recurring series. Ids are UUIDv7
//! (time-ordered, good index locality); the domain never generates them itself because that
//! would read the clock: the application layer does.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = Uuid))]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Returns the underlying UUID.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.as_hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

id_type!(
    /// Identifies a user account.
    UserId
);
id_type!(
    /// Identifies a task.
    TaskId
);
id_type!(
    /// Identifies a personal API token (not the secret itself).
    ApiTokenId
);
id_type!(
    /// Identifies a calendar feed (not its secret token).
    CalendarFeedId
);
id_type!(
    /// Identifies a domain event (and the CloudEvent built from it).
    EventId
);
id_type!(
    /// Identifies a conversation with the chat assistant.
    ConversationId
);
id_type!(
    /// Identifies a notification channel (in-app, webhook or e-mail) of a user.
    ChannelId
);
id_type!(
    /// Identifies a notification: one fired reminder as its user is told about it.
    NotificationId
);
id_type!(
    /// Identifies the delivery of a notification through one channel; a webhook receives it
    /// as `webhook-id`, the same on every attempt.
    DeliveryId
);

/// Where a task stands in its recurring series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesPosition {
    /// The series: the id of its first instance.
    pub id: TaskId,
    /// The instance's number in the series, from 1.
    pub sequence: u32,
}

impl SeriesPosition {
    /// Returns the position of a task that starts its own series.
    pub fn first(id: TaskId) -> Self {
        Self { id, sequence: 1 }
    }

    /// Returns the position of the instance after this one, `None` past `u32::MAX`.
    pub fn next(&self) -> Option<Self> {
        Some(Self {
            id: self.id,
            sequence: self.sequence.checked_add(1)?,
        })
    }
}
