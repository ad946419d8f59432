//! Calendar feeds (migration 0011): stored by the keyed hash of their token.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{CalendarFeedId, User, UserId};
use tickler_store::{CalendarFeed, NewCalendarFeed, StoreError};

use crate::error::ResultExt;
use crate::rows::{self, user_columns};

/// The feed columns, in the order [`feed_from_row`] reads them.
macro_rules! feed_columns {
    () => {
        "f.id, f.user_id, f.name, f.filter, f.created_at"
    };
}
/// How many columns `feed_columns!` has.
const FEED_COLUMN_COUNT: usize = 5;

fn feed_from_row(row: &PgRow) -> Result<CalendarFeed, StoreError> {
    Ok(CalendarFeed {
        id: CalendarFeedId::from_uuid(row.try_get(0).store()?),
        owner: UserId::from_uuid(row.try_get(1).store()?),
        name: row.try_get(2).store()?,
        filter: row.try_get(3).store()?,
        created_at: row.try_get(4).store()?,
    })
}

pub(crate) async fn insert(
    connection: &mut PgConnection,
    new: &NewCalendarFeed,
) -> Result<(), StoreError> {
    let feed = &new.feed;
    sqlx::query(
        "INSERT INTO calendar_feeds (id, user_id, token_hash, name, filter, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(*feed.id.as_uuid())
    .bind(*feed.owner.as_uuid())
    .bind(new.token_hash.clone())
    .bind(feed.name.clone())
    .bind(feed.filter.clone())
    .bind(feed.created_at)
    .execute(connection)
    .await
    .store()?;
    Ok(())
}

pub(crate) async fn list(pool: &PgPool, owner: UserId) -> Result<Vec<CalendarFeed>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        feed_columns!(),
        " FROM calendar_feeds f WHERE f.user_id = $1 ORDER BY f.created_at DESC, f.id DESC"
    );
    let found = sqlx::query(SQL)
        .bind(*owner.as_uuid())
        .fetch_all(pool)
        .await
        .store()?;
    found.iter().map(feed_from_row).collect()
}

pub(crate) async fn delete(
    connection: &mut PgConnection,
    owner: UserId,
    id: CalendarFeedId,
) -> Result<(), StoreError> {
    let deleted = sqlx::query("DELETE FROM calendar_feeds WHERE id = $1 AND user_id = $2")
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .execute(connection)
        .await
        .store()?
        .rows_affected();
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn find(
    pool: &PgPool,
    token_hash: &[u8],
) -> Result<Option<(CalendarFeed, User)>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        feed_columns!(),
        ", ",
        user_columns!(),
        " FROM calendar_feeds f JOIN users u ON u.id = f.user_id WHERE f.token_hash = $1"
    );
    let Some(row) = sqlx::query(SQL)
        .bind(token_hash.to_vec())
        .fetch_optional(pool)
        .await
        .store()?
    else {
        return Ok(None);
    };
    Ok(Some((
        feed_from_row(&row)?,
        rows::user(&row, FEED_COLUMN_COUNT)?,
    )))
}
