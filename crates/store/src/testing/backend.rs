//! What a backend provides to run the suite.

use std::sync::Arc;

use async_trait::async_trait;

use crate::Store;

/// A fresh database of one backend, for one test.
#[async_trait]
pub trait TestBackend: Send + Sync {
    /// Opens a migrated store on this test's database (again, after [`TestBackend::close`]).
    async fn open(&self) -> Arc<dyn Store>;

    /// Closes a store opened by [`TestBackend::open`], waiting until its writes are flushed;
    /// the database stays for the next `open`.
    async fn close(&self, store: Arc<dyn Store>);
}
