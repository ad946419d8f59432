//! How rows are numbered: a user's internal `seq`, and the rowid range that holds the user's
//! tasks (a task's rowid is its owner's `seq` in the high bits and its number among the
//! owner's tasks in the low ones), so one user's tasks sit together in the table.

use rusqlite::{Connection, OptionalExtension};
use tickler_store::StoreError;
use uuid::Uuid;

use crate::error::ResultExt;

/// Bits of a task's rowid that number it among its owner's tasks.
const TASK_NUMBER_BITS: u32 = 32;

/// Returns the internal number of a user, if the user exists.
pub(crate) fn user_seq(connection: &Connection, user: &Uuid) -> Result<Option<i64>, StoreError> {
    connection
        .prepare_cached("SELECT seq FROM users WHERE id = ?1")
        .store()?
        .query_row([user], |row| row.get(0))
        .optional()
        .store()
}

/// Returns the rowid range `[low, high)` that holds a user's tasks.
pub(crate) fn task_range(owner_seq: i64) -> (i64, i64) {
    (
        owner_seq << TASK_NUMBER_BITS,
        (owner_seq + 1) << TASK_NUMBER_BITS,
    )
}
