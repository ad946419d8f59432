//! The backend-independent conformance suite, run against PostgreSQL when
//! `TICKLER_TEST_DATABASE_URL` is set (each test in a database of its own).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tickler_store::Store;
use tickler_store::testing::TestBackend;
use tickler_store_postgres::testing::TestDatabase;
use tickler_store_postgres::{PostgresConfig, PostgresStore};

struct PostgresBackend {
    database: TestDatabase,
    opened: Mutex<Vec<PostgresStore>>,
}

#[async_trait]
impl TestBackend for PostgresBackend {
    async fn open(&self) -> Arc<dyn Store> {
        let config = PostgresConfig {
            max_connections: 8,
            ..PostgresConfig::new(self.database.url())
        };
        let store = PostgresStore::connect(&config).await.unwrap();
        store.migrate().await.unwrap();
        self.opened.lock().unwrap().push(store.clone());
        Arc::new(store)
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
    let base_url = TestDatabase::base_url_from_env()?;
    Some(Box::new(PostgresBackend {
        database: TestDatabase::create(&base_url).await.unwrap(),
        opened: Mutex::new(Vec::new()),
    }))
}

tickler_store::conformance_tests!(fresh);
