//! The live stream (`GET /api/v1/live`, a WebSocket served by the `realtime` role): the text
//! frames the server sends, and the one-time tickets that authenticate an upgrade where no
//! header or cookie can (`POST /api/v1/live/tickets`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `reason` of a reset: the cursor is older than the retained history.
pub const RESET_CURSOR_EXPIRED: &str = "cursor_expired";
/// `reason` of a reset: the client read too slowly and its queue overflowed.
pub const RESET_TOO_FAR_BEHIND: &str = "too_far_behind";

/// One text frame of the live stream: a JSON object whose `type` says which.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveFrame {
    /// One of the caller's events: every `tickler.task.*` as its `task-update.v1` summary, and
    /// `tickler.notification.delivered` for in-app notifications.
    Event {
        /// The position after this event; reconnect with `?cursor=` to resume after it.
        cursor: String,
        /// The CloudEvent.
        event: Value,
    },
    /// Sent once, when the connection is live (after any replay): the current position.
    Ready {
        /// The position the stream continues from.
        cursor: String,
    },
    /// The client must refetch what it shows (its cursor is older than the retained history,
    /// or it fell too far behind); the server closes the connection after it.
    Reset {
        /// `cursor_expired` or `too_far_behind`.
        reason: String,
    },
}

/// A one-time ticket for `GET /api/v1/live?ticket=`: valid 30 seconds, used once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiveTicketBody {
    /// The ticket (`tlt_` followed by 43 characters).
    pub ticket: String,
    /// When it stops being accepted.
    pub expires_at: DateTime<Utc>,
}
