//! The backend-independent conformance suite, run against SQLite.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tickler_store::Store;
use tickler_store::testing::TestBackend;
use tickler_store_sqlite::{SqliteConfig, SqliteStore};

/// A fresh database file in its own temporary directory.
struct SqliteBackend {
    directory: tempfile::TempDir,
    opened: Mutex<Vec<Arc<SqliteStore>>>,
}

#[async_trait]
impl TestBackend for SqliteBackend {
    async fn open(&self) -> Arc<dyn Store> {
        let config = SqliteConfig::new(self.directory.path().join("tickler.db"));
        let store = Arc::new(SqliteStore::open(config).await.unwrap());
        store.migrate().await.unwrap();
        self.opened.lock().unwrap().push(Arc::clone(&store));
        store
    }

    async fn close(&self, store: Arc<dyn Store>) {
        drop(store);
        let opened = std::mem::take(&mut *self.opened.lock().unwrap());
        for store in opened {
            store.close().await;
        }
    }
}

async fn fresh() -> Option<Box<dyn TestBackend>> {
    Some(Box::new(SqliteBackend {
        directory: tempfile::tempdir().unwrap(),
        opened: Mutex::new(Vec::new()),
    }))
}

tickler_store::conformance_tests!(fresh);
