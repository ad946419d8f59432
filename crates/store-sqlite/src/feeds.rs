//! Calendar feeds (migration 0011): stored by the keyed hash of their token.

use rusqlite::{Connection, Row, params};
use tickler_domain::{CalendarFeedId, User, UserId};
use tickler_store::{CalendarFeed, NewCalendarFeed, StoreError};

use crate::codec::{self, USER_COLUMNS, micros};
use crate::error::ResultExt;

/// The feed columns, in the order [`feed_from_row`] reads them.
const FEED_COLUMNS: &str = "f.id, f.user_id, f.name, f.filter, f.created_at";
/// How many columns [`FEED_COLUMNS`] has.
const FEED_COLUMN_COUNT: usize = 5;

fn feed_from_row(row: &Row<'_>) -> Result<CalendarFeed, StoreError> {
    Ok(CalendarFeed {
        id: CalendarFeedId::from_uuid(codec::value(row, 0)?),
        owner: UserId::from_uuid(codec::value(row, 1)?),
        name: codec::value(row, 2)?,
        filter: codec::value(row, 3)?,
        created_at: codec::instant_column(row, 4)?,
    })
}

pub(crate) fn insert(connection: &Connection, new: &NewCalendarFeed) -> Result<(), StoreError> {
    let feed = &new.feed;
    connection
        .prepare_cached(
            "INSERT INTO calendar_feeds (id, user_id, token_hash, name, filter, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .store()?
        .execute(params![
            feed.id.as_uuid(),
            feed.owner.as_uuid(),
            new.token_hash,
            feed.name,
            feed.filter,
            micros(feed.created_at),
        ])
        .map_err(|error| match crate::error::convert(error) {
            // The owner does not exist.
            StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                StoreError::NotFound
            }
            other => other,
        })?;
    Ok(())
}

pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
) -> Result<Vec<CalendarFeed>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {FEED_COLUMNS} FROM calendar_feeds f WHERE f.user_id = ?1
             ORDER BY f.created_at DESC, f.id DESC"
        ))
        .store()?;
    let mut rows = statement.query([owner.as_uuid()]).store()?;
    let mut feeds = Vec::new();
    while let Some(row) = rows.next().store()? {
        feeds.push(feed_from_row(row)?);
    }
    Ok(feeds)
}

pub(crate) fn delete(
    connection: &Connection,
    owner: UserId,
    id: CalendarFeedId,
) -> Result<(), StoreError> {
    let deleted = connection
        .prepare_cached("DELETE FROM calendar_feeds WHERE id = ?1 AND user_id = ?2")
        .store()?
        .execute(params![id.as_uuid(), owner.as_uuid()])
        .store()?;
    if deleted == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn find(
    connection: &Connection,
    token_hash: &[u8],
) -> Result<Option<(CalendarFeed, User)>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {FEED_COLUMNS}, {USER_COLUMNS}
             FROM calendar_feeds f JOIN users u ON u.id = f.user_id
             WHERE f.token_hash = ?1"
        ))
        .store()?;
    let mut rows = statement.query([token_hash]).store()?;
    let Some(row) = rows.next().store()? else {
        return Ok(None);
    };
    Ok(Some((
        feed_from_row(row)?,
        codec::user_from_row(row, FEED_COLUMN_COUNT)?,
    )))
}
