//! One live connection: replay after the client's cursor, `ready`, then the live queue, with
//! pings; `reset` when the cursor is too old or the queue overflowed.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use tickler_app::live::{OutboxPosition, format_cursor};
use tickler_domain::UserId;
use tickler_protocol::live::{LiveFrame, RESET_CURSOR_EXPIRED, RESET_TOO_FAR_BEHIND};
use tokio::time::Instant;

use super::hub::{LiveHub, QueuedEvent, Received, Subscription};

/// Normal closure.
const CLOSE_NORMAL: u16 = 1000;
/// The server is going away (shutdown).
const CLOSE_GOING_AWAY: u16 = 1001;
/// The server could not continue (the database was unreachable during a replay).
const CLOSE_INTERNAL: u16 = 1011;

/// Counts the connection in `tickler_websocket_connections` while it lives.
struct Counted;

impl Counted {
    fn new() -> Self {
        metrics::gauge!("tickler_websocket_connections").increment(1.0);
        Self
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        metrics::gauge!("tickler_websocket_connections").decrement(1.0);
    }
}

/// Serves one connection until it closes.
pub(super) async fn serve(
    mut socket: WebSocket,
    hub: Arc<LiveHub>,
    user: UserId,
    cursor: Option<OutboxPosition>,
    mut subscription: Subscription,
) {
    let _counted = Counted::new();
    let mut connection = Connection {
        hub: &hub,
        user,
        last_sent: subscription.position,
    };
    if let Some(cursor) = cursor {
        match connection.replay(&mut socket, cursor, &subscription).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(code) => {
                close(&mut socket, code, "cannot read the history", &hub).await;
                return;
            }
        }
        connection.last_sent = connection.last_sent.max(cursor);
    }
    let ready = frame_text(&LiveFrame::Ready {
        cursor: format_cursor(connection.last_sent),
    });
    if !send(&mut socket, Message::Text(ready), &hub).await {
        return;
    }
    connection.live(&mut socket, &mut subscription).await;
}

struct Connection<'a> {
    hub: &'a LiveHub,
    user: UserId,
    /// The position of the last event sent (or the position the client already holds).
    last_sent: OutboxPosition,
}

impl Connection<'_> {
    /// Sends the user's events after `cursor` up to where the queue takes over. Returns
    /// false when the connection ended (a reset was sent, or the client went away).
    async fn replay(
        &mut self,
        socket: &mut WebSocket,
        cursor: OutboxPosition,
        subscription: &Subscription,
    ) -> Result<bool, u16> {
        let app = self.hub.app();
        let retained = app.live_history_retained(cursor).await.map_err(|error| {
            tracing::warn!(%error, "live stream: cannot check the retained history");
            CLOSE_INTERNAL
        })?;
        if !retained {
            reset(socket, RESET_CURSOR_EXPIRED, self.hub).await;
            return Ok(false);
        }
        let mut position = cursor;
        while position < subscription.position {
            let read = app
                .live_read(position, self.hub.settings().batch)
                .await
                .map_err(|error| {
                    tracing::warn!(%error, "live stream: cannot replay the history");
                    CLOSE_INTERNAL
                })?;
            for event in &read.events {
                if event.owner != self.user || event.position > subscription.position {
                    continue;
                }
                let frame = QueuedEvent::new(event).frame;
                if !send(socket, Message::Text(frame), self.hub).await {
                    return Ok(false);
                }
                self.last_sent = event.position;
            }
            match read.last {
                Some(last) => position = last,
                None => break,
            }
        }
        Ok(true)
    }

    /// Forwards the queue, pings, and watches for the client's answers, until the end.
    async fn live(&mut self, socket: &mut WebSocket, subscription: &mut Subscription) {
        let settings = self.hub.settings().clone();
        let mut ping = tokio::time::interval_at(
            Instant::now() + settings.ping_interval,
            settings.ping_interval,
        );
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                received = subscription.recv() => match received {
                    Received::Event(event) => {
                        // Already sent by the replay, or held by the client's cursor.
                        if event.position <= self.last_sent {
                            continue;
                        }
                        if !send(socket, Message::Text(event.frame.clone()), self.hub).await {
                            return;
                        }
                        self.last_sent = event.position;
                    }
                    Received::Overflowed => {
                        reset(socket, RESET_TOO_FAR_BEHIND, self.hub).await;
                        return;
                    }
                    Received::Closed => {
                        close(socket, CLOSE_GOING_AWAY, "the server is shutting down", self.hub).await;
                        return;
                    }
                },
                message = socket.recv() => match message {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    // A pong, or anything else: the client is there.
                    Some(Ok(_)) => heard = Instant::now(),
                },
                _ = ping.tick() => {
                    if !send(socket, Message::Ping(Default::default()), self.hub).await {
                        return;
                    }
                }
                () = tokio::time::sleep_until(heard + settings.pong_timeout) => {
                    tracing::debug!(user_id = %self.user, "live client stopped answering pings");
                    close(socket, CLOSE_NORMAL, "no answer to pings", self.hub).await;
                    return;
                }
            }
        }
    }
}

/// Sends a `reset` frame, then closes.
async fn reset(socket: &mut WebSocket, reason: &str, hub: &LiveHub) {
    let frame = frame_text(&LiveFrame::Reset {
        reason: reason.to_owned(),
    });
    if send(socket, Message::Text(frame), hub).await {
        close(socket, CLOSE_NORMAL, reason, hub).await;
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str, hub: &LiveHub) {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from(reason),
    };
    send(socket, Message::Close(Some(frame)), hub).await;
}

/// Sends one message; false when the client is gone or does not take it within the pong
/// timeout (a client that stopped reading cannot hold the connection's task forever).
async fn send(socket: &mut WebSocket, message: Message, hub: &LiveHub) -> bool {
    matches!(
        tokio::time::timeout(hub.settings().pong_timeout, socket.send(message)).await,
        Ok(Ok(()))
    )
}

fn frame_text(frame: &LiveFrame) -> Utf8Bytes {
    // Serialising these frames (strings only) cannot fail.
    Utf8Bytes::from(serde_json::to_string(frame).unwrap_or_default())
}
