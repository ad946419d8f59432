//! Reads: a small pool of read-only connections. In WAL mode readers never wait for the writer
//! and each statement sees every transaction committed before it started, so a read issued
//! after a write was acknowledged sees it.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tickler_store::StoreError;
use tokio::sync::Semaphore;

use crate::config::SqliteConfig;
use crate::connection::{self, Role};

/// The read-only connections and a permit per connection.
#[derive(Debug)]
pub(crate) struct ReadPool {
    config: SqliteConfig,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReadPool {
    /// Opens `config.read_connections` (at least one) read-only connections.
    pub(crate) fn open(config: &SqliteConfig) -> Result<Self, StoreError> {
        let size = config.read_connections.max(1);
        let idle = (0..size)
            .map(|_| connection::open(config, Role::Reader))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            config: config.clone(),
            idle: Mutex::new(idle),
            permits: Semaphore::new(size),
        })
    }

    /// Runs a short read (a lookup by key, tens of microseconds) on the calling thread, which
    /// saves the hand-over to a blocking thread.
    pub(crate) async fn read_now<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let connection = self.take()?;
        let result = read(&connection);
        self.give_back(connection);
        result
    }

    /// Runs a read that may take milliseconds (listings, searches) on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        let connection = self.take()?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let result = read(&connection);
            pool.give_back(connection);
            result
        })
        .await
        .map_err(|error| StoreError::Internal(format!("a read failed: {error}")))?
    }

    /// Takes an idle connection; opens a new one if a previous reader lost its connection (a
    /// panic), so the pool keeps its size.
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
