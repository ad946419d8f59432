//! `[realtime]`: the live stream's hub.

use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[realtime]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RealtimeConfig {
    /// How often each connection is pinged, in milliseconds.
    pub ping_interval_ms: u64,
    /// A connection not heard from (no pong) for this long is closed, in milliseconds.
    pub pong_timeout_ms: u64,
    /// Events queued per connection; a client further behind is reset.
    pub client_queue: usize,
    /// Longest wait between looks at the outbox log without a wake-up, in milliseconds.
    pub poll_interval_ms: u64,
    /// Outbox records read per batch.
    pub batch: u32,
    /// Shortest time between two reads of the log while commits keep coming, in
    /// milliseconds (0: read on every wake-up).
    pub min_read_interval_ms: u64,
}

impl RealtimeConfig {
    /// Returns the hub's settings.
    pub fn settings(&self) -> tickler_api::live::LiveSettings {
        tickler_api::live::LiveSettings {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            pong_timeout: Duration::from_millis(self.pong_timeout_ms),
            client_queue: self.client_queue,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            batch: self.batch,
            min_read_interval: Duration::from_millis(self.min_read_interval_ms),
        }
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.ping_interval_ms == 0
            || self.pong_timeout_ms == 0
            || self.client_queue == 0
            || self.poll_interval_ms == 0
            || self.batch == 0
        {
            bail!(
                "realtime.ping_interval_ms, pong_timeout_ms, client_queue, poll_interval_ms and batch must be positive"
            );
        }
        Ok(())
    }
}
