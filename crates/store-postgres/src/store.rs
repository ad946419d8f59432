//! [`PostgresStore`]: connecting, migrating and closing the pool, and its readiness; each area
//! trait of the port is implemented in the module of its SQL (`accounts`, `tasks`, `events`,
//! `notifications`, `reminders`, `conversations`).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection as _, PgPool};
use tickler_store::{Store, StoreError};

use crate::config::PostgresConfig;
use crate::error::ResultExt;

/// How long a request waits for a pooled connection before `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A pooled connection idle longer than this is pinged before it is handed out, so that one the
/// database dropped meanwhile (a restart, a network cut) is replaced before a query fails on
/// it. One in constant use is not: a ping is a round trip, and sqlx's default (a ping before
/// every acquire) made one extra round trip per query; under GET-by-id load a profile showed a
/// third of the server's samples in `send`.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// The migrations of this build (`migrations/*.sql`).
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    // A newer build may have applied migrations this one does not know; they only add.
    migrator.set_ignore_missing(true);
    migrator
}

/// tickler's data in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool to the database, without migrating it: call
    /// [`PostgresStore::migrate`], or [`Store::check_ready`] reports it as not ready. Every
    /// connection commits synchronously (`synchronous_commit=on`) whatever the server default.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(&config.url)
            .map_err(|error| {
                StoreError::Unavailable(format!(
                    "invalid database url {}: {error}",
                    crate::config::redacted(&config.url)
                ))
            })?
            .application_name("tickler")
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false)
            .before_acquire(|connection, metadata| {
                Box::pin(async move {
                    if metadata.idle_for > PING_IF_IDLE_FOR {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .store()?;
        Ok(Self { pool })
    }

    /// Applies pending migrations. Safe when several processes start together: sqlx holds an
    /// advisory lock while migrating.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await.map_err(|error| {
            StoreError::Internal(format!("migrating the database failed: {error}"))
        })
    }

    /// Records the pool's connections in use and idle, and its size, as metrics (sqlx does
    /// not expose how many tasks wait for a connection).
    pub fn record_pool_metrics(&self) {
        let size = self.pool.size() as f64;
        let idle = self.pool.num_idle() as f64;
        metrics::gauge!("tickler_db_pool_connections", "pool" => "postgres", "state" => "in_use")
            .set(size - idle);
        metrics::gauge!("tickler_db_pool_connections", "pool" => "postgres", "state" => "idle")
            .set(idle);
        metrics::gauge!("tickler_db_pool_max_connections", "pool" => "postgres")
            .set(f64::from(self.pool.options().get_max_connections()));
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(|error| match crate::error::convert(error) {
                    StoreError::Unavailable(message) => StoreError::Unavailable(message),
                    other => StoreError::Unavailable(format!("not ready: {other}")),
                })?;
        if migrator()
            .iter()
            .all(|migration| applied.contains(&migration.version))
        {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "the database schema is not migrated; run `tickler migrate`".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

    use sqlx::PgPool;

    use super::PING_IF_IDLE_FOR;
    use crate::testing::TestDatabase;

    /// A pooled connection that the database dropped while it sat idle is pinged and replaced
    /// before use, so the next query succeeds (pings happen only after `PING_IF_IDLE_FOR`
    /// idle, not before every query).
    #[tokio::test]
    async fn a_connection_dropped_while_idle_is_replaced_before_use() {
        let Some(base_url) = TestDatabase::base_url_from_env() else {
            return;
        };
        let database = TestDatabase::create(&base_url).await.unwrap();
        let store = database.connect().await.unwrap();
        sqlx::query("SELECT 1").execute(&store.pool).await.unwrap();

        // Drop every connection of the pool (they carry the application name "tickler").
        let admin = PgPool::connect(database.url()).await.unwrap();
        let dropped: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'tickler'",
        )
        .fetch_all(&admin)
        .await
        .unwrap();
        assert!(!dropped.is_empty() && dropped.iter().all(|done| *done));
        admin.close().await;

        // Idle long enough to be pinged before use: a lower bound, whatever the machine's load.
        tokio::time::sleep(PING_IF_IDLE_FOR * 2).await;
        let answer: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(answer, 1);
        store.pool.close().await;
    }
}
