//! Opening connections with the pragmas each role needs.

use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tickler_store::StoreError;

use crate::config::SqliteConfig;
use crate::error::ResultExt;
use crate::matching;

/// Prepared statements kept per connection: listings build one statement per combination of
/// filters and sort keys, so keep plenty.
const STATEMENT_CACHE: usize = 256;
/// How long a connection waits for a lock held by another process before `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest write-ahead log kept on disk after a checkpoint resets it.
const JOURNAL_SIZE_LIMIT: i64 = 32 * 1024 * 1024;

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes.
    Writer,
    /// A read-only connection.
    Reader,
    /// The background connection that copies the log into the database file.
    Checkpointer,
}

/// Opens a connection to the configured file (creating it for the writer).
pub(crate) fn open(config: &SqliteConfig, role: Role) -> Result<Connection, StoreError> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    if role == Role::Writer {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let connection = Connection::open_with_flags(&config.path, flags).map_err(|error| {
        StoreError::Unavailable(format!(
            "cannot open the database {}: {error}",
            config.path.display()
        ))
    })?;
    connection.busy_timeout(BUSY_TIMEOUT).store()?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let cache = -i64::from(config.cache_kib);
    connection
        .pragma_update(None, "cache_size", cache)
        .store()?;
    connection
        .pragma_update(None, "temp_store", "MEMORY")
        .store()?;
    connection
        .pragma_update(None, "foreign_keys", true)
        .store()?;
    matching::register(&connection).store()?;
    match role {
        Role::Writer => {
            // Process-wide; the writer opens first, before any reader allocates a cache.
            connection
                .pragma_update(
                    None,
                    "soft_heap_limit",
                    i64::from(config.memory_limit_kib) * 1024,
                )
                .store()?;
            let mode: String = connection
                .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
                .store()?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Unavailable(format!(
                    "the database {} cannot use write-ahead logging (journal mode {mode})",
                    config.path.display()
                )));
            }
            connection
                .pragma_update(None, "synchronous", config.synchronous.pragma_value())
                .store()?;
            // The checkpointer thread copies the log in the background instead of the writer
            // doing it inside a commit.
            connection
                .pragma_update(None, "wal_autocheckpoint", 0)
                .store()?;
            connection
                .pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
                .store()?;
        }
        Role::Checkpointer => {
            connection
                .pragma_update(None, "synchronous", config.synchronous.pragma_value())
                .store()?;
        }
        Role::Reader => {
            connection.pragma_update(None, "query_only", true).store()?;
        }
    }
    Ok(connection)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: failures panic

    use super::*;

    fn soft_heap_limit() -> i64 {
        Connection::open_in_memory()
            .unwrap()
            .pragma_query_value(None, "soft_heap_limit", |row| row.get(0))
            .unwrap()
    }

    /// The limit is SQLite's, for the whole process: the writer sets it when it opens, and 0
    /// lifts it again. (Each test runs in a process of its own under nextest.)
    #[test]
    fn the_writer_sets_sqlites_memory_limit_for_the_process() {
        let directory = tempfile::tempdir().unwrap();
        let mut config = SqliteConfig::new(directory.path().join("tickler.db"));
        config.memory_limit_kib = 12 * 1024;
        let writer = open(&config, Role::Writer).unwrap();
        assert_eq!(soft_heap_limit(), 12 * 1024 * 1024);
        let reader = open(&config, Role::Reader).unwrap();
        assert_eq!(soft_heap_limit(), 12 * 1024 * 1024, "a reader leaves it");
        drop((writer, reader));

        config.memory_limit_kib = 0;
        let _writer = open(&config, Role::Writer).unwrap();
        assert_eq!(soft_heap_limit(), 0);
    }
}
