//! [`SqliteStore`]: opening, migrating and closing the database, and its readiness; each area
//! trait of the port is implemented in the module of its SQL (`accounts`, `tasks`, `events`,
//! `notifications`, `reminders`, `conversations`).

use std::sync::Arc;

use async_trait::async_trait;
use tickler_store::{Store, StoreError};

use crate::config::SqliteConfig;
use crate::connection::{self, Role};
use crate::error::ResultExt;
use crate::reader::ReadPool;
use crate::writer::{Writer, WriterStats};
use crate::{migrate, search};

/// tickler's data in one SQLite file. Cheap to share behind an `Arc`; dropping the last
/// reference (or [`SqliteStore::close`]) lets the writer commit what is queued and stop.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) writer: Writer,
    pub(crate) readers: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, without migrating it: call
    /// [`SqliteStore::migrate`], or [`Store::check_ready`] reports it as not ready.
    pub async fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(move || {
            let writer = connection::open(&config, Role::Writer)?;
            let checkpointer = connection::open(&config, Role::Checkpointer)?;
            let readers = ReadPool::open(&config)?;
            writer.execute_batch(search::WRITER_TABLES).store()?;
            Ok(Self {
                writer: Writer::start(writer, checkpointer, search::flush_search)?,
                readers: Arc::new(readers),
            })
        })
        .await
        .map_err(|error| StoreError::Internal(format!("opening the database failed: {error}")))?
    }

    /// Applies pending schema migrations; returns the versions applied (none when up to date).
    /// Safe to run from two processes at once: the write lock serializes them.
    ///
    /// Also adds to `search_terms` the words of the full-text index it lacks, which a version
    /// that did not keep it (a rollback) may have written (see `search::refresh_terms`).
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.writer
            .write(|connection| {
                let applied = migrate::apply_pending(connection)?;
                search::refresh_terms(connection)?;
                Ok(applied)
            })
            .await
    }

    /// Lets the writer commit everything already queued, then stops it; later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close();
    }

    /// Returns how many transactions and commands the writer has committed (a batch of
    /// commands shares one transaction).
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        self.readers.read_now(migrate::check_applied).await
    }
}
