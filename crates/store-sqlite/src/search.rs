//! The full-text index (`tasks_search`, FTS5): task writes queue their changes on the writer's
//! connection, and the writer applies the queue once per transaction, just before it commits.

use std::collections::BTreeSet;

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

/// The writer connection's own tables: the queue of full-text changes, and a scratch
/// full-text table with the index's tokenizer (migration 0001) whose vocabulary gives the
/// words of the tasks just indexed, for `search_terms` (migration 0024; see `record_terms`).
pub(crate) const WRITER_TABLES: &str = "
CREATE TEMP TABLE IF NOT EXISTS pending_search (
    seq INTEGER PRIMARY KEY,
    indexed INTEGER NOT NULL,
    title TEXT,
    tags TEXT,
    description TEXT
);
CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch USING fts5 (
    title, tags, description,
    content = '',
    detail = none,
    tokenize = \"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\"
);
CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch_terms
    USING fts5vocab (temp, search_scratch, 'row');
";

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
    ] {
        execute(connection, sql)?;
    }
    record_terms(connection)?;
    execute(connection, "DELETE FROM temp.pending_search")
}

fn execute(connection: &Connection, sql: &str) -> Result<(), StoreError> {
    connection
        .prepare_cached(sql)
        .store()?
        .execute([])
        .store()?;
    Ok(())
}

/// The words of an ASCII text as the full-text index's tokenizer finds them (before it
/// lowercases them): the runs of ASCII letters and digits.
pub(crate) fn ascii_words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// Adds the words of the tasks just indexed to `search_terms` (migration 0024), spelled as the
/// full-text index spells them. Text that is all ASCII is split here (its words are exactly
/// the runs of ASCII letters and digits, lowercased, for the index's tokenizer too, as a
/// property test checks), sparing the scratch table's insert, vocabulary scan and reset; when
/// any text of the transaction is not, the whole transaction's text goes through the scratch
/// full-text table, whose vocabulary is the index's own spelling.
fn record_terms(connection: &Connection) -> Result<(), StoreError> {
    let mut terms = BTreeSet::new();
    let mut beyond_ascii = false;
    {
        let mut statement = connection
            .prepare_cached(
                "SELECT title, tags, description FROM temp.pending_search WHERE title IS NOT NULL",
            )
            .store()?;
        let mut rows = statement.query([]).store()?;
        while let Some(row) = rows.next().store()? {
            for index in 0..3 {
                let text = row.get_ref(index).store()?.as_str().unwrap_or_default();
                if !text.is_ascii() {
                    beyond_ascii = true;
                    break;
                }
                terms.extend(ascii_words(text).map(str::to_ascii_lowercase));
            }
            if beyond_ascii {
                break;
            }
        }
    }
    if beyond_ascii {
        for sql in [
            "INSERT INTO temp.search_scratch (rowid, title, tags, description)
             SELECT seq, title, tags, description FROM temp.pending_search
             WHERE title IS NOT NULL",
            "INSERT OR IGNORE INTO search_terms (term) SELECT term FROM temp.search_scratch_terms",
            "INSERT INTO temp.search_scratch (search_scratch) VALUES ('delete-all')",
        ] {
            execute(connection, sql)?;
        }
        return Ok(());
    }
    if terms.is_empty() {
        return Ok(());
    }
    // One statement for all of them, in order (neighbouring keys of the index).
    let terms = serde_json::to_string(&terms)
        .map_err(|error| StoreError::Internal(format!("cannot encode search terms: {error}")))?;
    connection
        .prepare_cached("INSERT OR IGNORE INTO search_terms (term) SELECT value FROM json_each(?1)")
        .store()?
        .execute([terms])
        .store()?;
    Ok(())
}

/// Adds to `search_terms` every word of the full-text index it lacks, from the index's own
/// vocabulary: the writer keeps the list as it indexes, but a version without migration 0024
/// (a rollback) writes tasks without it, and a prefix search would then miss their words. Run
/// at every migration, so at every start by default: it reads the whole index (about 30 ms per
/// 100,000 tasks of the benchmark's data) and writes only what is missing.
pub(crate) fn refresh_terms(connection: &Connection) -> Result<(), StoreError> {
    connection
        .execute_batch(
            "CREATE VIRTUAL TABLE temp.tasks_search_vocabulary
                 USING fts5vocab (main, tasks_search, 'row');
             INSERT OR IGNORE INTO search_terms (term)
                 SELECT term FROM temp.tasks_search_vocabulary;
             DROP TABLE temp.tasks_search_vocabulary;",
        )
        .store()
}
