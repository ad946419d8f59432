//! Reads: a small pool of read-only connections. In WAL mode readers never wait for the writer
//! and each statement sees every transaction committed before it started, so a read issued
//! after a write was acknowledged sees it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use metrics::{Gauge, Histogram};
use rusqlite::Connection;
use tickler_store::StoreError;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::config::SqliteConfig;
use crate::connection::{self, Role};

/// The read-only connections and a permit per connection.
#[derive(Debug)]
pub(crate) struct ReadPool {
    config: SqliteConfig,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    size: usize,
    /// Reads waiting for a connection (a gauge, for the metrics).
    waiting: AtomicUsize,
    metrics: PoolMetrics,
}

/// The pool's metric handles, taken from the recorder once when the pool opens (the server
/// installs its recorder before it opens the store) instead of looked up by name and labels
/// on every read: with the middleware's handles, 2,700 fewer instructions per GET of a task
/// (callgrind, `scripts/bench-instructions`).
#[derive(Debug)]
struct PoolMetrics {
    wait: Histogram,
    waiting: Gauge,
    in_use: Gauge,
}

impl PoolMetrics {
    fn new(size: usize) -> Self {
        metrics::gauge!("tickler_db_pool_max_connections", "pool" => "sqlite_read")
            .set(size as f64);
        Self {
            wait: metrics::histogram!("tickler_db_pool_wait_seconds", "pool" => "sqlite_read"),
            waiting: metrics::gauge!("tickler_db_pool_waiting", "pool" => "sqlite_read"),
            in_use: metrics::gauge!(
                "tickler_db_pool_connections",
                "pool" => "sqlite_read",
                "state" => "in_use"
            ),
        }
    }
}

impl ReadPool {
    /// Opens one read-only connection; up to `config.read_connections` (at least one) are
    /// opened as concurrent reads need them, so a quiet server holds only the memory of the
    /// connections its load has used (each keeps its own schema, statements and page cache).
    pub(crate) fn open(config: &SqliteConfig) -> Result<Self, StoreError> {
        let size = config.read_connections.max(1);
        let idle = vec![connection::open(config, Role::Reader)?];
        Ok(Self {
            config: config.clone(),
            idle: Mutex::new(idle),
            permits: Semaphore::new(size),
            size,
            waiting: AtomicUsize::new(0),
            metrics: PoolMetrics::new(size),
        })
    }

    /// Takes a permit for a connection, recording how many reads wait for one and how long.
    async fn permit(&self) -> Result<SemaphorePermit<'_>, StoreError> {
        let permit = match self.permits.try_acquire() {
            Ok(permit) => {
                self.metrics.wait.record(0.0);
                permit
            }
            Err(_) => {
                let started = Instant::now();
                let waiting = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
                self.metrics.waiting.set(waiting as f64);
                let permit = self.permits.acquire().await;
                let waiting = self.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
                self.metrics.waiting.set(waiting as f64);
                self.metrics.wait.record(started.elapsed().as_secs_f64());
                permit.map_err(|_| closed())?
            }
        };
        self.record_in_use();
        Ok(permit)
    }

    /// Records the connections in use.
    fn record_in_use(&self) {
        let in_use = self.size.saturating_sub(self.permits.available_permits());
        self.metrics.in_use.set(in_use as f64);
    }

    /// Runs a short read (a lookup by key, tens of microseconds) on the calling thread, which
    /// saves the hand-over to a blocking thread.
    pub(crate) async fn read_now<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let permit = self.permit().await?;
        let connection = self.take()?;
        let result = read(&connection);
        self.give_back(connection);
        drop(permit);
        self.record_in_use();
        result
    }

    /// Runs a read that may take milliseconds (listings, searches) on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let permit = self.permit().await?;
        let connection = self.take()?;
        let pool = Arc::clone(self);
        let result = tokio::task::spawn_blocking(move || {
            let result = read(&connection);
            pool.give_back(connection);
            result
        })
        .await
        .map_err(|error| StoreError::Internal(format!("a read failed: {error}")));
        drop(permit);
        self.record_in_use();
        result?
    }

    /// Takes an idle connection; opens a new one when every open one is in use (the permits
    /// bound how many exist) or a previous reader lost its connection (a panic).
    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match idle {
            Some(connection) => Ok(connection),
            None => connection::open(&self.config, Role::Reader),
        }
    }

    fn give_back(&self, connection: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(connection);
    }

    /// Refuses further reads.
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the database is closed".into())
}
