//! Background retention of request records: remembered responses of `Idempotency-Key`s are
//! deleted once their retention has passed (a retry after that is a new request).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tickler_app::Clock;
use tickler_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Deletes remembered idempotent responses older than their retention, periodically.
#[derive(Debug)]
pub struct IdempotencyRetention {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    retention: Duration,
}

impl IdempotencyRetention {
    /// Keeps responses for `retention`.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, retention: Duration) -> Self {
        Self {
            store,
            clock,
            retention,
        }
    }

    /// Deletes the responses older than the retention at `now`; returns how many.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let retention =
            chrono::TimeDelta::from_std(self.retention).unwrap_or(chrono::TimeDelta::MAX);
        let cutoff = now
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        self.store.purge_idempotent_responses(cutoff).await
    }

    /// Purges every `min(retention, 1 h)` until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let interval = self
            .retention
            .clamp(Duration::from_secs(1), Duration::from_secs(3600));
        loop {
            match self.run_once(self.clock.now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged expired idempotency records"),
                Err(error) => tracing::warn!(%error, "cannot purge idempotency records"),
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = shutdown.cancelled() => return Ok(()),
            }
        }
    }
}
