//! Recurring series (`migrations/0006`): advancing and ending a series inside a change set's
//! transaction, and reading a series' instances.

use sqlx::{PgConnection, PgPool};
use tickler_domain::{Task, TaskId, UserId};
use tickler_store::{Conflict, SeriesWrite, StoreError};

use crate::error::ResultExt;
use crate::rows::{self, TASK_COLUMNS};

/// Applies one series write; [`Conflict::SeriesClosed`] when an advance is refused.
pub(crate) async fn apply(
    connection: &mut PgConnection,
    write: &SeriesWrite,
) -> Result<(), StoreError> {
    match write {
        SeriesWrite::Advance {
            owner,
            series,
            sequence,
        } => {
            // The upsert takes the series row's lock: a competing advance or end waits for
            // this transaction and then sees its outcome (READ COMMITTED re-checks the WHERE
            // on the new row version), so only one of them can win.
            let sequence = i32::try_from(*sequence)
                .map_err(|_| StoreError::Internal(format!("sequence {sequence} too large")))?;
            let advanced = sqlx::query(
                "INSERT INTO recurring_series (series_id, user_id, last_sequence, ended_at)
                 VALUES ($1, $2, $3, NULL)
                 ON CONFLICT (series_id) DO UPDATE SET last_sequence = excluded.last_sequence
                 WHERE recurring_series.ended_at IS NULL
                     AND recurring_series.user_id = excluded.user_id
                     AND recurring_series.last_sequence < excluded.last_sequence
                 RETURNING last_sequence",
            )
            .bind(*series.as_uuid())
            .bind(*owner.as_uuid())
            .bind(sequence)
            .fetch_optional(&mut *connection)
            .await
            .store()?;
            match advanced {
                Some(_) => Ok(()),
                None => Err(StoreError::Conflict(Conflict::SeriesClosed)),
            }
        }
        SeriesWrite::End { owner, series, at } => {
            sqlx::query(
                "INSERT INTO recurring_series (series_id, user_id, last_sequence, ended_at)
                 VALUES ($1, $2, 0, $3)
                 ON CONFLICT (series_id) DO UPDATE
                     SET ended_at = coalesce(recurring_series.ended_at, excluded.ended_at)
                 WHERE recurring_series.user_id = excluded.user_id",
            )
            .bind(*series.as_uuid())
            .bind(*owner.as_uuid())
            .bind(*at)
            .execute(&mut *connection)
            .await
            .store()?;
            Ok(())
        }
    }
}

/// Reads the user's instances of a series, by sequence number.
pub(crate) async fn list(
    pool: &PgPool,
    owner: UserId,
    series: TaskId,
) -> Result<Vec<Task>, StoreError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks t
         WHERE t.series_id = $1 AND t.user_id = $2 ORDER BY t.sequence"
    );
    let found = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*series.as_uuid())
        .bind(*owner.as_uuid())
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(rows::task).collect()
}
