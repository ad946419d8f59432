//! Calendar feeds: secret iCalendar addresses of a user's tasks (migration 0011). Only a keyed
//! hash of a feed's token is stored, as for API tokens; revoking a feed deletes it.

use chrono::{DateTime, Utc};
use tickler_domain::{CalendarFeedId, UserId};

/// A calendar feed as stored, without its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    /// Its id.
    pub id: CalendarFeedId,
    /// Whose tasks it shows.
    pub owner: UserId,
    /// Its display name (the calendar's name in a calendar app).
    pub name: String,
    /// The task-list filter it applies, in the list's query-string syntax (`tag=work&status=open`),
    /// or `None` for every task with a due date.
    pub filter: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A feed to store, with the keyed hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCalendarFeed {
    /// The feed.
    pub feed: CalendarFeed,
    /// HMAC-SHA256 of the token under a key derived from the server secret; unique.
    pub token_hash: Vec<u8>,
}
