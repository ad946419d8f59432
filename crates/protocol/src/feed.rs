//! Calendar feeds: `/api/v1/calendar-feeds` and the secret `/feeds/<token>.ics` address.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::CalendarFeedId;
use utoipa::ToSchema;

/// The body of `POST /api/v1/calendar-feeds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCalendarFeedRequest {
    /// The calendar's name in calendar apps (1 to 100 characters once trimmed, no control
    /// characters).
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// Which tasks the feed shows, in the task list's query-string syntax, for example
    /// `tag=work&status=open` (parameters `q`, `status`, `priority`, `tag`, `due_before`,
    /// `due_after`, `overdue`, with the same meaning as on `GET /api/v1/tasks`). Every task
    /// with a due date when absent.
    #[serde(default)]
    pub filter: Option<String>,
}

/// A calendar feed, without its secret address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarFeedBody {
    /// The feed id (for revoking it).
    pub id: CalendarFeedId,
    /// Its name.
    pub name: String,
    /// Its filter, if any.
    pub filter: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A newly created feed: the only time its secret address is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedCalendarFeedBody {
    /// The feed's metadata.
    #[serde(flatten)]
    pub details: CalendarFeedBody,
    /// The secret feed address, `/feeds/<token>.ics`: absolute when the server knows its
    /// public URL (`http.public_url`), a path otherwise. Anyone holding it can read the feed;
    /// it cannot be retrieved later.
    pub url: String,
}
