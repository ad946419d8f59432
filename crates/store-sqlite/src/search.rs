//! The full-text index (`tasks_search`, FTS5): task writes queue their changes on the writer's
//! connection, and the writer applies the queue once per transaction, just before it commits.

use rusqlite::{Connection, params};
use tickler_store::StoreError;
use tickler_store::backend::row::TaskColumns;

use crate::codec::string_list;
use crate::error::ResultExt;

/// Queues a change of the full-text index (`None`: remove the task), applied once per
/// transaction by [`flush_search`]; `indexed` says whether the index may hold the task.
pub(crate) fn queue_search(
    connection: &Connection,
    seq: i64,
    columns: Option<&TaskColumns>,
    indexed: bool,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO temp.pending_search (seq, indexed, title, tags, description)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (seq) DO UPDATE SET
                 title = excluded.title, tags = excluded.tags, description = excluded.description",
        )
        .store()?
        .execute(params![
            seq,
            indexed,
            columns.map(|c| c.title.as_str()),
            columns.map(|c| string_list(&c.tags)),
            columns.map(|c| c.description.as_str()),
        ])
        .store()?;
    Ok(())
}

/// The queue of full-text changes, on the writer's connection only.
pub(crate) const PENDING_SEARCH_TABLE: &str = "CREATE TEMP TABLE IF NOT EXISTS pending_search (
    seq INTEGER PRIMARY KEY,
    indexed INTEGER NOT NULL,
    title TEXT,
    tags TEXT,
    description TEXT
)";

/// Applies the queued full-text changes of the transaction, just before it commits: FTS5
/// writes its pending changes to disk at every savepoint, so updating it inside each
/// command's savepoint would write (and later merge) one small segment per command.
pub(crate) fn flush_search(connection: &Connection) -> Result<(), StoreError> {
    let pending: bool = connection
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM temp.pending_search)")
        .store()?
        .query_row([], |row| row.get(0))
        .store()?;
    if !pending {
        return Ok(());
    }
    for sql in [
        "DELETE FROM tasks_search
         WHERE rowid IN (SELECT seq FROM temp.pending_search WHERE indexed)",
        "INSERT INTO tasks_search (rowid, title, tags, description)
         SELECT seq, title, tags, description FROM temp.pending_search WHERE title IS NOT NULL",
        "DELETE FROM temp.pending_search",
    ] {
        connection
            .prepare_cached(sql)
            .store()?
            .execute([])
            .store()?;
    }
    Ok(())
}
