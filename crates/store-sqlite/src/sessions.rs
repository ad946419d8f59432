//! Sign-in sessions and their rotating refresh tokens (migration 0010). Every write runs as a
//! command of the single writer, so a rotation's read and its update cannot interleave with
//! another rotation of the same token.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};
use tickler_domain::UserId;
use tickler_store::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
    StoreError,
};
use uuid::Uuid;

use crate::codec::{self, USER_COLUMNS, micros};
use crate::error::ResultExt;

/// The session columns, in the order [`session_from_row`] reads them.
const SESSION_COLUMNS: &str =
    "s.id, s.user_id, s.created_at, s.refreshed_at, s.expires_at, s.revoked_at, s.revoked_reason";

fn session_from_row(row: &Row<'_>) -> Result<AuthSession, StoreError> {
    let reason: Option<String> = codec::value(row, 6)?;
    Ok(AuthSession {
        id: SessionId(codec::value::<Uuid>(row, 0)?),
        owner: UserId::from_uuid(codec::value::<Uuid>(row, 1)?),
        created_at: codec::instant_column(row, 2)?,
        refreshed_at: codec::instant_column(row, 3)?,
        expires_at: codec::instant_column(row, 4)?,
        revoked_at: codec::optional_instant_column(row, 5)?,
        revoked_reason: reason
            .map(|reason| {
                SessionRevocation::parse(&reason).ok_or_else(|| {
                    StoreError::Internal(format!("stored revocation {reason:?} is unknown"))
                })
            })
            .transpose()?,
    })
}

pub(crate) fn insert(connection: &Connection, new: &NewAuthSession) -> Result<(), StoreError> {
    let session = &new.session;
    connection
        .prepare_cached(
            "DELETE FROM auth_sessions WHERE id IN (
                 SELECT id FROM auth_sessions WHERE user_id = ?1 AND expires_at < ?2 LIMIT 100)",
        )
        .store()?
        .execute(params![session.owner.as_uuid(), micros(session.created_at)])
        .store()?;
    connection
        .prepare_cached(
            "INSERT INTO auth_sessions (id, user_id, created_at, refreshed_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .store()?
        .execute(params![
            session.id.0,
            session.owner.as_uuid(),
            micros(session.created_at),
            micros(session.refreshed_at),
            micros(session.expires_at),
        ])
        .map_err(|error| match crate::error::convert(error) {
            // The owner does not exist.
            StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                StoreError::NotFound
            }
            other => other,
        })?;
    insert_token(
        connection,
        &new.refresh_hash,
        session.id,
        session.created_at,
    )
}

fn insert_token(
    connection: &Connection,
    hash: &[u8],
    session: SessionId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id, issued_at)
             VALUES (?1, ?2, ?3)",
        )
        .store()?
        .execute(params![hash, session.0, micros(at)])
        .store()?;
    Ok(())
}

pub(crate) fn get(connection: &Connection, id: SessionId) -> Result<AuthSession, StoreError> {
    let sql = format!("SELECT {SESSION_COLUMNS} FROM auth_sessions s WHERE s.id = ?1");
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query([id.0]).store()?;
    match rows.next().store()? {
        Some(row) => session_from_row(row),
        None => Err(StoreError::NotFound),
    }
}

pub(crate) fn find_by_refresh(
    connection: &Connection,
    hash: &[u8],
) -> Result<Option<AuthSession>, StoreError> {
    let sql = format!(
        "SELECT {SESSION_COLUMNS} FROM auth_refresh_tokens r
         JOIN auth_sessions s ON s.id = r.session_id WHERE r.token_hash = ?1"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query([hash]).store()?;
    match rows.next().store()? {
        Some(row) => Ok(Some(session_from_row(row)?)),
        None => Ok(None),
    }
}

pub(crate) fn rotate(
    connection: &Connection,
    rotation: &RefreshRotation,
) -> Result<RefreshOutcome, StoreError> {
    let found: Option<(Uuid, Option<i64>)> = connection
        .prepare_cached(
            "SELECT session_id, rotated_at FROM auth_refresh_tokens WHERE token_hash = ?1",
        )
        .store()?
        .query_row([&rotation.presented_hash], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()
        .store()?;
    let Some((session_id, rotated_at)) = found else {
        return Ok(RefreshOutcome::Unknown);
    };
    let session = get(connection, SessionId(session_id))?;
    if !session.is_active(rotation.now) {
        return Ok(RefreshOutcome::Inactive);
    }
    if let Some(rotated_at) = rotated_at {
        if rotation.now - codec::instant(rotated_at)? < rotation.reuse_grace {
            return Ok(RefreshOutcome::Superseded);
        }
        revoke(
            connection,
            session.owner,
            session.id,
            rotation.now,
            SessionRevocation::Reuse,
        )?;
        return Ok(RefreshOutcome::ReuseDetected(session.id));
    }
    connection
        .prepare_cached("UPDATE auth_refresh_tokens SET rotated_at = ?2 WHERE token_hash = ?1")
        .store()?
        .execute(params![rotation.presented_hash, micros(rotation.now)])
        .store()?;
    insert_token(
        connection,
        &rotation.successor_hash,
        session.id,
        rotation.now,
    )?;
    connection
        .prepare_cached("UPDATE auth_sessions SET refreshed_at = ?2, expires_at = ?3 WHERE id = ?1")
        .store()?
        .execute(params![
            session.id.0,
            micros(rotation.now),
            micros(rotation.expires_at)
        ])
        .store()?;
    let user = user(connection, session.owner)?;
    Ok(RefreshOutcome::Rotated(
        AuthSession {
            refreshed_at: rotation.now,
            expires_at: rotation.expires_at,
            ..session
        },
        Box::new(user),
    ))
}

pub(crate) fn user(
    connection: &Connection,
    id: UserId,
) -> Result<tickler_domain::User, StoreError> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query([id.as_uuid()]).store()?;
    match rows.next().store()? {
        Some(row) => codec::user_from_row(row, 0),
        None => Err(StoreError::NotFound),
    }
}

pub(crate) fn revoke(
    connection: &Connection,
    owner: UserId,
    id: SessionId,
    at: DateTime<Utc>,
    reason: SessionRevocation,
) -> Result<(), StoreError> {
    let found = connection
        .prepare_cached(
            "UPDATE auth_sessions SET revoked_at = coalesce(revoked_at, ?3),
                 revoked_reason = coalesce(revoked_reason, ?4)
             WHERE id = ?1 AND user_id = ?2",
        )
        .store()?
        .execute(params![id.0, owner.as_uuid(), micros(at), reason.as_str()])
        .store()?;
    if found == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) fn revoke_all(
    connection: &Connection,
    owner: UserId,
    at: DateTime<Utc>,
) -> Result<tickler_domain::User, StoreError> {
    let changed = connection
        .prepare_cached(
            "UPDATE users SET credentials_version = credentials_version + 1, updated_at = ?2
             WHERE id = ?1",
        )
        .store()?
        .execute(params![owner.as_uuid(), micros(at)])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    connection
        .prepare_cached(
            "UPDATE auth_sessions SET revoked_at = ?2, revoked_reason = 'sign_out_everywhere'
             WHERE user_id = ?1 AND revoked_at IS NULL",
        )
        .store()?
        .execute(params![owner.as_uuid(), micros(at)])
        .store()?;
    user(connection, owner)
}
