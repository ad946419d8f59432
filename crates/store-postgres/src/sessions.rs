//! Sign-in sessions and their rotating refresh tokens (migration 0010). A rotation locks the
//! presented token's row (`FOR UPDATE`), so of two concurrent refreshes with one token the
//! second waits, then finds it rotated.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use tickler_domain::{User, UserId};
use tickler_store::{
    AuditOf, AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId,
    SessionRevocation, StoreError,
};
use uuid::Uuid;

use crate::audit;
use crate::error::ResultExt;
use crate::rows::{self, user_columns};

/// The session columns, in the order [`session_from_row`] reads them.
macro_rules! session_columns {
    () => {
        "s.id, s.user_id, s.created_at, s.refreshed_at, s.expires_at, s.revoked_at, s.revoked_reason"
    };
}

fn session_from_row(row: &PgRow) -> Result<AuthSession, StoreError> {
    let reason: Option<String> = row.try_get(6).store()?;
    Ok(AuthSession {
        id: SessionId(row.try_get(0).store()?),
        owner: UserId::from_uuid(row.try_get(1).store()?),
        created_at: row.try_get(2).store()?,
        refreshed_at: row.try_get(3).store()?,
        expires_at: row.try_get(4).store()?,
        revoked_at: row.try_get(5).store()?,
        revoked_reason: reason
            .map(|reason| {
                SessionRevocation::parse(&reason).ok_or_else(|| {
                    StoreError::Internal(format!("stored revocation {reason:?} is unknown"))
                })
            })
            .transpose()?,
    })
}

pub(crate) async fn insert(
    transaction: &mut PgConnection,
    new: &NewAuthSession,
) -> Result<(), StoreError> {
    let session = &new.session;
    sqlx::query(
        "DELETE FROM auth_sessions WHERE id IN (
             SELECT id FROM auth_sessions WHERE user_id = $1 AND expires_at < $2 LIMIT 100)",
    )
    .bind(*session.owner.as_uuid())
    .bind(session.created_at)
    .execute(&mut *transaction)
    .await
    .store()?;
    sqlx::query(
        "INSERT INTO auth_sessions (id, user_id, created_at, refreshed_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(session.id.0)
    .bind(*session.owner.as_uuid())
    .bind(session.created_at)
    .bind(session.refreshed_at)
    .bind(session.expires_at)
    .execute(&mut *transaction)
    .await
    .store()?;
    insert_token(
        transaction,
        &new.refresh_hash,
        session.id,
        session.created_at,
    )
    .await
}

async fn insert_token(
    connection: &mut PgConnection,
    hash: &[u8],
    session: SessionId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO auth_refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)",
    )
    .bind(hash.to_vec())
    .bind(session.0)
    .bind(at)
    .execute(connection)
    .await
    .store()?;
    Ok(())
}

pub(crate) async fn get(
    connection: &mut PgConnection,
    id: SessionId,
) -> Result<AuthSession, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_sessions s WHERE s.id = $1"
    );
    let row = sqlx::query(SQL)
        .bind(id.0)
        .fetch_optional(connection)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    session_from_row(&row)
}

pub(crate) async fn find_by_refresh(
    pool: &PgPool,
    hash: &[u8],
) -> Result<Option<AuthSession>, StoreError> {
    const SQL: &str = concat!(
        "SELECT ",
        session_columns!(),
        " FROM auth_refresh_tokens r JOIN auth_sessions s ON s.id = r.session_id",
        " WHERE r.token_hash = $1"
    );
    let row = sqlx::query(SQL)
        .bind(hash.to_vec())
        .fetch_optional(pool)
        .await
        .store()?;
    row.as_ref().map(session_from_row).transpose()
}

pub(crate) async fn rotate(
    pool: &PgPool,
    rotation: &RefreshRotation,
    on_reuse: &AuditOf<AuthSession>,
) -> Result<RefreshOutcome, StoreError> {
    let mut transaction = pool.begin().await.store()?;
    let found = sqlx::query(
        "SELECT session_id, rotated_at FROM auth_refresh_tokens WHERE token_hash = $1 FOR UPDATE",
    )
    .bind(rotation.presented_hash.clone())
    .fetch_optional(&mut *transaction)
    .await
    .store()?;
    let Some(found) = found else {
        return Ok(RefreshOutcome::Unknown);
    };
    let session_id: Uuid = found.try_get(0).store()?;
    let rotated_at: Option<DateTime<Utc>> = found.try_get(1).store()?;
    let session = get(&mut transaction, SessionId(session_id)).await?;
    if !session.is_active(rotation.now) {
        return Ok(RefreshOutcome::Inactive);
    }
    if let Some(rotated_at) = rotated_at {
        if rotation.now - rotated_at < rotation.reuse_grace {
            return Ok(RefreshOutcome::Superseded);
        }
        revoke_in(
            &mut transaction,
            session.owner,
            session.id,
            rotation.now,
            SessionRevocation::Reuse,
        )
        .await?;
        let revoked = get(&mut transaction, session.id).await?;
        audit::append_audit(&mut transaction, &on_reuse(&revoked)).await?;
        transaction.commit().await.store()?;
        return Ok(RefreshOutcome::ReuseDetected(session.id));
    }
    sqlx::query("UPDATE auth_refresh_tokens SET rotated_at = $2 WHERE token_hash = $1")
        .bind(rotation.presented_hash.clone())
        .bind(rotation.now)
        .execute(&mut *transaction)
        .await
        .store()?;
    insert_token(
        &mut transaction,
        &rotation.successor_hash,
        session.id,
        rotation.now,
    )
    .await?;
    sqlx::query("UPDATE auth_sessions SET refreshed_at = $2, expires_at = $3 WHERE id = $1")
        .bind(session.id.0)
        .bind(rotation.now)
        .bind(rotation.expires_at)
        .execute(&mut *transaction)
        .await
        .store()?;
    let user = user(&mut transaction, session.owner).await?;
    transaction.commit().await.store()?;
    Ok(RefreshOutcome::Rotated(
        AuthSession {
            refreshed_at: rotation.now,
            expires_at: rotation.expires_at,
            ..session
        },
        Box::new(user),
    ))
}

pub(crate) async fn user(connection: &mut PgConnection, id: UserId) -> Result<User, StoreError> {
    const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
    let row = sqlx::query(SQL)
        .bind(*id.as_uuid())
        .fetch_optional(connection)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    rows::user(&row, 0)
}

pub(crate) async fn revoke_in(
    connection: &mut PgConnection,
    owner: UserId,
    id: SessionId,
    at: DateTime<Utc>,
    reason: SessionRevocation,
) -> Result<(), StoreError> {
    let found = sqlx::query(
        "UPDATE auth_sessions SET revoked_at = coalesce(revoked_at, $3),
             revoked_reason = coalesce(revoked_reason, $4)
         WHERE id = $1 AND user_id = $2",
    )
    .bind(id.0)
    .bind(*owner.as_uuid())
    .bind(at)
    .bind(reason.as_str())
    .execute(connection)
    .await
    .store()?
    .rows_affected();
    if found == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Signs a user out everywhere (see [`tickler_store::AccountStore::revoke_all_sessions`]), in the
/// caller's transaction.
pub(crate) async fn revoke_all(
    transaction: &mut PgConnection,
    owner: UserId,
    at: DateTime<Utc>,
) -> Result<User, StoreError> {
    let changed = sqlx::query(
        "UPDATE users SET credentials_version = credentials_version + 1, updated_at = $2
         WHERE id = $1",
    )
    .bind(*owner.as_uuid())
    .bind(at)
    .execute(&mut *transaction)
    .await
    .store()?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    sqlx::query(
        "UPDATE auth_sessions SET revoked_at = $2, revoked_reason = 'sign_out_everywhere'
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(*owner.as_uuid())
    .bind(at)
    .execute(&mut *transaction)
    .await
    .store()?;
    user(transaction, owner).await
}
