//! The live stream's use cases: reading the outbox log as the events live clients receive
//! (every `tickler.task.*` as its `task-update.v1` summary, and in-app
//! `tickler.notification.delivered`), cursors (outbox positions, opaque to clients), and the
//! one-time tickets that authenticate a WebSocket upgrade without a header or cookie.
//!
//! The fan-out itself (one reader per process, per-user queues) lives with the WebSocket in
//! `tickler-api`; this module only decides what a live client may see and in which order.

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::{Value, json};
use tickler_domain::{User, UserId};
use tickler_protocol::event::DATA_SCHEMA_PREFIX;
use tickler_protocol::live::LiveTicketBody;
pub use tickler_store::OutboxPosition;
use tickler_store::{OutboxRecord, StoreError};

use crate::auth::api_token;
use crate::{Actor, App, AppError, AppResult};

/// How long a live ticket is accepted.
pub const TICKET_TTL: TimeDelta = TimeDelta::seconds(30);
/// Every live ticket starts with this.
pub const TICKET_PREFIX: &str = "tlt_";

/// An event for live clients, at its position in the outbox log.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveEvent {
    /// Its position: the cursor after it.
    pub position: OutboxPosition,
    /// Whose event it is: only this user's connections receive it.
    pub owner: UserId,
    /// The CloudEvent as live clients receive it (JSON).
    pub event: Arc<str>,
}

/// What one read of the log found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveRead {
    /// The events for live clients, in log order.
    pub events: Vec<LiveEvent>,
    /// The position of the last record read (of any type), if any was read: the next read
    /// continues after it.
    pub last: Option<OutboxPosition>,
    /// As many records were read (of any type) as the limit allowed: more may be readable
    /// already. Otherwise the read reached every record readable then.
    pub full: bool,
    /// Fewer records than the limit were read, and records after the last of them (or after
    /// the position, if none) have committed but wait behind an older transaction still running
    /// (see [`tickler_store::EventStore::outbox_held_back`]): they become readable when it ends,
    /// with no further wake-up.
    pub held_back: bool,
}

/// Formats a position as the cursor clients hold.
pub fn format_cursor(position: OutboxPosition) -> String {
    format!("{}-{}", position.transaction, position.sequence)
}

/// Reads a cursor a client sent back.
pub fn parse_cursor(cursor: &str) -> AppResult<OutboxPosition> {
    let (transaction, sequence) = cursor
        .split_once('-')
        .ok_or(AppError::InvalidCursor("not a live stream cursor"))?;
    let number = |text: &str| {
        text.parse::<i64>()
            .ok()
            .filter(|value| *value >= 0 && !text.starts_with('+'))
            .ok_or(AppError::InvalidCursor("not a live stream cursor"))
    };
    Ok(OutboxPosition {
        transaction: number(transaction)?,
        sequence: number(sequence)?,
    })
}

/// Returns the event a live client receives for an outbox record, if any: the
/// `task-update.v1` summary of a task event, or an in-app notification's delivery.
pub fn live_event(record: &OutboxRecord) -> Option<LiveEvent> {
    let event_type = record.message.event_type.as_str();
    let event = if event_type.starts_with("tickler.task.") {
        task_update_summary(record.message.payload.as_bytes())?
    } else if event_type == "tickler.notification.delivered" {
        let event: Value = serde_json::from_str(&record.message.payload).ok()?;
        if event["data"]["channel_kind"] != "in_app" {
            return None;
        }
        record.message.payload.clone()
    } else {
        return None;
    };
    Some(LiveEvent {
        position: record.position,
        owner: record.message.owner,
        event: Arc::from(event),
    })
}

/// Builds the slim `task-updates` summary of a full task event: the same envelope (and id)
/// with `data` reduced to what a live client needs to refresh one task.
pub fn task_update_summary(full: &[u8]) -> Option<String> {
    let mut event: Value = serde_json::from_slice(full).ok()?;
    let task = &event["data"]["task"];
    let summary = json!({
        "task_id": task["id"],
        "version": task["version"],
        "status": task["status"],
        "changed_fields": event["data"]["changed_fields"],
    });
    event["data"] = summary;
    event["dataschema"] = json!(format!("{DATA_SCHEMA_PREFIX}task-update.v1.json"));
    serde_json::to_string(&event).ok()
}

impl App {
    /// Reads up to `limit` outbox records after `after` and returns the events among them
    /// that live clients receive, of every user (the realtime role fans them out).
    pub async fn live_read(&self, after: OutboxPosition, limit: u32) -> AppResult<LiveRead> {
        let records = self.store.outbox_after(after, limit).await?;
        let last = records.last().map(|record| record.position);
        let full = records.len() >= limit as usize;
        let held_back = !full && self.store.outbox_held_back(last.unwrap_or(after)).await?;
        Ok(LiveRead {
            last,
            full,
            events: records.iter().filter_map(live_event).collect(),
            held_back,
        })
    }

    /// Returns the position of the newest readable outbox record: where a live reader that
    /// starts now begins.
    pub async fn live_head(&self) -> AppResult<OutboxPosition> {
        Ok(self.store.outbox_head().await?)
    }

    /// Returns whether the history after `cursor` is still retained (the outbox keeps records
    /// for `bus.outbox_retention_hours`): true when the record at the cursor, or an older one,
    /// is still stored. The start of the log (an empty outbox's cursor) is always retained.
    pub async fn live_history_retained(&self, cursor: OutboxPosition) -> AppResult<bool> {
        if cursor == OutboxPosition::default() {
            return Ok(true);
        }
        let oldest = self
            .store
            .outbox_after(OutboxPosition::default(), 1)
            .await?;
        Ok(oldest
            .first()
            .is_some_and(|record| record.position <= cursor))
    }

    /// Issues a one-time ticket for the caller's live stream (`?ticket=`), valid
    /// [`TICKET_TTL`]. Only its keyed hash is stored, so any process can redeem it.
    pub async fn create_live_ticket(&self, actor: &Actor) -> AppResult<LiveTicketBody> {
        let ticket = api_token::random_secret(TICKET_PREFIX)?;
        let now = self.now();
        let expires_at = now + TICKET_TTL;
        self.store
            .insert_live_ticket(
                &self.auth.ticket_hasher.hash(&ticket),
                actor.user.id,
                expires_at,
                now,
            )
            .await?;
        Ok(LiveTicketBody { ticket, expires_at })
    }

    /// Spends a live ticket and returns its user; unknown, expired and used tickets are all
    /// refused alike.
    pub async fn redeem_live_ticket(&self, ticket: &str) -> AppResult<User> {
        const REFUSED: AppError =
            AppError::Unauthenticated("the live ticket is invalid, expired or already used");
        if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > 128 {
            return Err(REFUSED);
        }
        let owner = self
            .store
            .redeem_live_ticket(&self.auth.ticket_hasher.hash(ticket), self.now())
            .await?
            .ok_or(REFUSED)?;
        match self.store.get_user(owner).await {
            Ok(user) => Ok(user),
            Err(StoreError::NotFound) => Err(REFUSED),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let position = OutboxPosition {
            transaction: 123_456,
            sequence: 42,
        };
        assert_eq!(parse_cursor(&format_cursor(position)).unwrap(), position);
        assert_eq!(parse_cursor("0-0").unwrap(), OutboxPosition::default());
        for garbage in [
            "",
            "1",
            "a-b",
            "-1-2",
            "1--2",
            "1-+2",
            "99999999999999999999-1",
        ] {
            assert!(parse_cursor(garbage).is_err(), "{garbage}");
        }
    }
}
