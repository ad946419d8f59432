//! tickler's embedded storage backend: one SQLite file in WAL mode implementing
//! [`tickler_store::Store`].
//!
//! Writes go through a single writer thread that commits the commands queued meanwhile in one
//! transaction (group commit: one `fsync` acknowledges many writes); reads use a small pool of
//! read-only connections. [`SqliteStore`] is the entry point, configured by [`SqliteConfig`];
//! `design.md` beside this crate explains the writer, the schema and the indexes.
//!
//! Owns the SQLite schema (`migrations/*.sql`) and all SQL against it. Depends on the storage
//! contract and the domain only; no driver type appears in its public API.

mod accounts;
mod audit;
pub mod backup;
mod codec;
mod config;
mod connection;
mod conversations;
mod deliveries;
mod error;
mod events;
mod feeds;
mod list;
mod matching;
mod migrate;
mod notifications;
mod numbering;
mod outbox;
mod reader;
mod reminders;
mod search;
mod series;
mod sessions;
mod store;
mod tasks;
mod verification;
mod writer;

pub use config::{SqliteConfig, Synchronous};
pub use store::SqliteStore;
pub use writer::WriterStats;
