//! Recurring series (`migrations/0006`): advancing and ending a series inside the writer's
//! transaction, and reading a series' instances.

use rusqlite::{Connection, OptionalExtension, params};
use tickler_domain::{Task, TaskId, UserId};
use tickler_store::{Conflict, SeriesWrite, StoreError};

use crate::codec::{self, TASK_COLUMNS, micros};
use crate::error::ResultExt;

/// Applies one series write; [`Conflict::SeriesClosed`] when an advance is refused.
pub(crate) fn apply(connection: &Connection, write: &SeriesWrite) -> Result<(), StoreError> {
    match write {
        SeriesWrite::Advance {
            owner,
            series,
            sequence,
        } => {
            // The upsert updates (and returns) the row only while the series is open and
            // behind `sequence`; the writer's transaction serialises competing advances.
            let advanced: Option<i64> = connection
                .prepare_cached(
                    "INSERT INTO recurring_series (series_id, owner, last_sequence, ended_at)
                     VALUES (?1, ?2, ?3, NULL)
                     ON CONFLICT (series_id) DO UPDATE SET last_sequence = excluded.last_sequence
                     WHERE recurring_series.ended_at IS NULL
                         AND recurring_series.owner = excluded.owner
                         AND recurring_series.last_sequence < excluded.last_sequence
                     RETURNING last_sequence",
                )
                .store()?
                .query_row(
                    params![series.as_uuid(), owner.as_uuid(), sequence],
                    |row| row.get(0),
                )
                .optional()
                .store()?;
            match advanced {
                Some(_) => Ok(()),
                None => Err(StoreError::Conflict(Conflict::SeriesClosed)),
            }
        }
        SeriesWrite::End { owner, series, at } => {
            connection
                .prepare_cached(
                    "INSERT INTO recurring_series (series_id, owner, last_sequence, ended_at)
                     VALUES (?1, ?2, 0, ?3)
                     ON CONFLICT (series_id) DO UPDATE
                         SET ended_at = coalesce(recurring_series.ended_at, excluded.ended_at)
                     WHERE recurring_series.owner = excluded.owner",
                )
                .store()?
                .execute(params![series.as_uuid(), owner.as_uuid(), micros(*at)])
                .store()?;
            Ok(())
        }
    }
}

/// Reads the user's instances of a series, by sequence number.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    series: TaskId,
) -> Result<Vec<Task>, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t
         WHERE t.series_id = ?1 AND t.owner = (SELECT seq FROM users WHERE id = ?2)
         ORDER BY t.sequence"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![series.as_uuid(), owner.as_uuid()])
        .store()?;
    let mut tasks = Vec::new();
    while let Some(row) = rows.next().store()? {
        tasks.push(codec::task_from_row(row, *owner.as_uuid())?);
    }
    Ok(tasks)
}
