//! Opens the configured store: SQLite in the data directory, or PostgreSQL.

use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use tickler_store::Store;
use tickler_store_postgres::{PostgresConfig, PostgresStore};
use tickler_store_sqlite::{SqliteConfig, SqliteStore, Synchronous};

use crate::config::{Config, SyncMode};

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "tickler.db";

/// An open store of either backend.
#[derive(Debug, Clone)]
pub enum OpenStore {
    /// Embedded SQLite.
    Sqlite(Arc<SqliteStore>),
    /// PostgreSQL.
    Postgres(Arc<PostgresStore>),
}

/// Opens (without migrating) the store the configuration names, creating the data directory.
pub async fn open(config: &Config) -> anyhow::Result<OpenStore> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    if config.uses_postgres() {
        let store = PostgresStore::connect(&PostgresConfig {
            url: config.database_url.expose_secret().to_owned(),
            max_connections: config.database.max_connections,
        })
        .await
        .with_context(|| {
            format!(
                "cannot connect to {}",
                crate::config::redacted_url(config.database_url.expose_secret())
            )
        })?;
        return Ok(OpenStore::Postgres(Arc::new(store)));
    }
    let path = config.data_dir.join(SQLITE_FILE);
    let mut sqlite = SqliteConfig::new(&path);
    sqlite.synchronous = match config.database.sync {
        SyncMode::Full => Synchronous::Full,
        SyncMode::Normal => Synchronous::Normal,
    };
    sqlite.read_connections = config.database.max_connections.clamp(1, 64) as usize;
    sqlite.cache_kib = config.database.sqlite_cache_mib.saturating_mul(1024);
    sqlite.memory_limit_kib = config.database.sqlite_memory_mib.saturating_mul(1024);
    let store = SqliteStore::open(sqlite)
        .await
        .with_context(|| format!("cannot open {}", path.display()))?;
    Ok(OpenStore::Sqlite(Arc::new(store)))
}

impl OpenStore {
    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            OpenStore::Sqlite(store) => store.migrate().await.map(|_| ()),
            OpenStore::Postgres(store) => store.migrate().await.map(|_| ()),
        }
        .context("migration failed")
    }

    /// Returns the store behind the storage contract.
    pub fn as_store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(store) => store.clone(),
            OpenStore::Postgres(store) => store.clone(),
        }
    }

    /// Records the connection pool's state as metrics every few seconds until `shutdown`
    /// (PostgreSQL; SQLite's read pool records its own as it changes).
    pub async fn record_pool_metrics(self, shutdown: tokio_util::sync::CancellationToken) {
        let OpenStore::Postgres(store) = self else {
            shutdown.cancelled().await;
            return;
        };
        loop {
            store.record_pool_metrics();
            tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    /// Flushes and closes: queued writes finish, connections close.
    pub async fn close(&self) {
        match self {
            OpenStore::Sqlite(store) => store.close().await,
            OpenStore::Postgres(store) => store.close().await,
        }
    }
}
