//! Settings of the SQLite store.

use std::path::PathBuf;

/// How hard a commit presses its data to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit waits for the write-ahead log to reach the disk (`fsync`): acknowledged
    /// writes survive a crash of the process and a loss of power. The default.
    #[default]
    Full,
    /// Commits reach the operating system but are flushed to disk only at checkpoints:
    /// acknowledged writes survive a crash of the process (even `kill -9`) but the last ones may
    /// be lost if the machine loses power. Faster.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Where and how to open the database.
#[derive(Debug, Clone)]
pub struct SqliteConfig {
    /// The database file (its directory must exist); `-wal` and `-shm` files sit beside it.
    pub path: PathBuf,
    /// Durability of commits.
    pub synchronous: Synchronous,
    /// How many read-only connections serve reads concurrently (at least 1).
    pub read_connections: usize,
    /// Page cache per connection (the writer, the checkpointer and each reader), in KiB. A
    /// reader's cache is emptied whenever another connection commits, so under writes it holds
    /// little for long; the operating system's file cache serves the rest.
    pub cache_kib: u32,
    /// A soft limit on the memory SQLite allocates in this process, all connections together,
    /// in KiB (0: none). Past it, SQLite reuses the least recently used unpinned page of any
    /// connection's cache before allocating another. It is process-wide (SQLite's
    /// `soft_heap_limit`): the last store opened sets it.
    pub memory_limit_kib: u32,
}

impl SqliteConfig {
    /// Default settings for the database at `path`: FULL durability, four readers, 8 MiB of
    /// page cache per connection, no memory limit.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous: Synchronous::Full,
            read_connections: 4,
            cache_kib: 8 * 1024,
            memory_limit_kib: 0,
        }
    }
}
