//! Throw-away databases for tests (feature `testing`): each test creates its own database on a
//! server given by a base URL (`TICKLER_TEST_DATABASE_URL`), which is dropped afterwards.

use sqlx::{Connection, PgConnection};
use tickler_store::StoreError;

use crate::error::ResultExt;
use crate::{PostgresConfig, PostgresStore};

/// The variable naming the server tests use, e.g. `postgres://postgres@127.0.0.1:5432/postgres`.
pub const DATABASE_URL_VARIABLE: &str = "TICKLER_TEST_DATABASE_URL";

/// A database created for one test; dropped (best effort, `WITH (FORCE)`) when this value is.
#[derive(Debug)]
pub struct TestDatabase {
    base_url: String,
    url: String,
    name: String,
}

impl TestDatabase {
    /// Returns the base URL from [`DATABASE_URL_VARIABLE`], or `None` (after printing a one-line
    /// notice) when it is not set, so tests can skip.
    ///
    /// # Panics
    ///
    /// When `TICKLER_REQUIRE_SERVICES=1` (the project's test command sets it), a missing URL
    /// fails the test instead: a suite that silently skips would pass without testing.
    pub fn base_url_from_env() -> Option<String> {
        match std::env::var(DATABASE_URL_VARIABLE) {
            Ok(url) if !url.is_empty() => Some(url),
            _ => {
                assert!(
                    std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                    "{DATABASE_URL_VARIABLE} is not set but TICKLER_REQUIRE_SERVICES=1"
                );
                eprintln!("skipped: set {DATABASE_URL_VARIABLE} to run the PostgreSQL tests");
                None
            }
        }
    }

    /// Creates an empty database `tickler_test_<random>` on the server of `base_url`.
    pub async fn create(base_url: &str) -> Result<Self, StoreError> {
        let name = format!("tickler_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(base_url).await.store()?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .store()?;
        admin.close().await.store()?;
        Ok(Self {
            base_url: base_url.to_owned(),
            url: with_database(base_url, &name),
            name,
        })
    }

    /// Returns the URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Connects a store to the new database with the default settings (not migrated).
    pub async fn connect(&self) -> Result<PostgresStore, StoreError> {
        PostgresStore::connect(&PostgresConfig::new(self.url())).await
    }

    /// Drops the database now (connections still open to it are terminated).
    pub async fn drop_database(mut self) -> Result<(), StoreError> {
        let name = std::mem::take(&mut self.name);
        drop_database(&self.base_url, &name).await
    }
}

/// A transaction left open on a connection of its own, holding a transaction id. Until it
/// ends, outbox readers of every database on the server stop before records of later
/// transactions (transaction ids are server-wide): what another test's `CREATE DATABASE`, a
/// migration or any slow write does to them.
#[derive(Debug)]
pub struct OpenTransaction {
    connection: PgConnection,
}

impl OpenTransaction {
    /// Begins the transaction on the database of `url` and takes its transaction id.
    pub async fn begin(url: &str) -> Result<Self, StoreError> {
        let mut connection = PgConnection::connect(url).await.store()?;
        sqlx::query("BEGIN")
            .execute(&mut connection)
            .await
            .store()?;
        sqlx::query("SELECT pg_current_xact_id()")
            .execute(&mut connection)
            .await
            .store()?;
        Ok(Self { connection })
    }

    /// Ends the transaction (it wrote nothing) and closes its connection.
    pub async fn end(mut self) -> Result<(), StoreError> {
        sqlx::query("ROLLBACK")
            .execute(&mut self.connection)
            .await
            .store()?;
        self.connection.close().await.store()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.name.is_empty() {
            return;
        }
        // No async context to rely on here: drop from a thread with its own small runtime.
        let base_url = self.base_url.clone();
        let name = std::mem::take(&mut self.name);
        let dropper = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if let Err(error) = runtime.block_on(drop_database(&base_url, &name)) {
                eprintln!("failed to drop test database {name}: {error}");
            }
        });
        let _ = dropper.join();
    }
}

async fn drop_database(base_url: &str, name: &str) -> Result<(), StoreError> {
    let mut admin = PgConnection::connect(base_url).await.store()?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .store()?;
    admin.close().await.store()
}

/// Replaces the database in a `postgres://` URL, keeping credentials, host and parameters.
fn with_database(base_url: &str, database: &str) -> String {
    let (without_query, query) = match base_url.split_once('?') {
        Some((url, query)) => (url, Some(query)),
        None => (base_url, None),
    };
    let (scheme, rest) = without_query
        .split_once("://")
        .unwrap_or(("postgres", without_query));
    let authority = rest.split('/').next().unwrap_or_default();
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced_keeping_everything_else() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://a:b@h/db?sslmode=disable", "t2"),
            "postgresql://a:b@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
