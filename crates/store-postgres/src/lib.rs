//! tickler's PostgreSQL storage backend: implements [`tickler_store::Store`] on a sqlx
//! connection pool.
//!
//! [`PostgresStore`] is the entry point, configured by [`PostgresConfig`]; the schema lives in
//! `migrations/*.sql` (applied by [`PostgresStore::migrate`]). With the `testing` feature,
//! [`testing::TestDatabase`] creates throw-away databases for integration tests.
//!
//! The event backbone's tables (`migrations/0002_event_backbone.sql`): `processed_events` (a
//! change set inserts its marker first; a conflict means a redelivery, refused before anything
//! else is written, and a concurrent delivery of the same event waits for the first one's
//! outcome), `consumer_positions` (an upsert that only moves forward), `audit_events`
//! (append-only: a statement trigger refuses `UPDATE`, `DELETE` and `TRUNCATE`), `dead_letters`
//! and `leases` (one upsert judged by the server's clock, so processes with skewed clocks
//! agree, and racing processes get exactly one holder). A partial index of the unpublished
//! outbox rows serves the relay, which needs no transaction-id guard: a row stays unpublished
//! until published, and MVCC never shows a row of a running transaction. Retention deletes
//! 5,000 rows per statement, so it never holds back the snapshot horizon `outbox_after` waits
//! for.
//!
//! Notifications (`migrations/0005_notifications.sql`): channels, notifications (unique per
//! user and reminder), deliveries (unique per notification and channel, the deduplication
//! key) and their attempts. The notifier claims due deliveries with `FOR UPDATE SKIP LOCKED`,
//! stamping a lease and a fencing token, so replicas pass each other's rows by and a crashed
//! worker's rows come back when the lease expires; finishing requires the token.
//!
//! Recurring series (`migrations/0006_recurring_series.sql`): `tasks (series_id, sequence)` is
//! unique, and `recurring_series` holds one row per series; an advance is an upsert that takes
//! the row's lock and updates it only while the series is open and behind the new sequence
//! number, so of two racing transactions the second waits and then finds nothing to update.
//!
//! Owns all SQL against PostgreSQL. Depends on the storage contract and the domain only; no
//! sqlx type appears in its public API.

mod accounts;
mod audit;
mod config;
mod conversations;
mod deliveries;
mod error;
mod events;
mod feeds;
mod list;
mod notifications;
mod outbox;
mod reminders;
mod rows;
mod series;
mod sessions;
mod store;
mod tasks;
#[cfg(feature = "testing")]
pub mod testing;
mod verification;

pub use config::PostgresConfig;
pub use store::PostgresStore;
