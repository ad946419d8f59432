//! Accounts: users and their credentials, operator rights and personal API tokens, with the
//! [`AccountStore`] implementation (calendar feeds and sign-in sessions have their own
//! modules).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use tickler_domain::{ApiTokenId, CalendarFeedId, Email, User, UserId};
use tickler_store::{
    AccountStore, ApiToken, AuditOf, AuditRecord, AuthSession, CalendarFeed, Conflict, NewApiToken,
    NewAuthSession, NewCalendarFeed, RefreshOutcome, RefreshRotation, RegistrationRule, SessionId,
    SessionRevocation, StoreError, UserCredentials, UserUpdate,
};

use crate::codec::{self, USER_COLUMN_COUNT, USER_COLUMNS, micros};
use crate::error::ResultExt;
use crate::store::SqliteStore;
use crate::{audit, feeds, sessions};

#[async_trait]
impl AccountStore for SqliteStore {
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        rule: RegistrationRule,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let user = user.clone();
        let password_hash = password_hash.to_owned();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| {
                if rule == RegistrationRule::FirstUserOnly {
                    let exists: bool = connection
                        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users)")
                        .store()?
                        .query_row([], |row| row.get(0))
                        .store()?;
                    if exists {
                        return Err(StoreError::Conflict(Conflict::UsersExist));
                    }
                }
                connection
                    .prepare_cached(
                        "INSERT INTO users (id, email, password_hash, name, timezone,
                             credentials_version, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .store()?
                    .execute(params![
                        user.id.as_uuid(),
                        user.email.as_str(),
                        password_hash,
                        user.name,
                        user.timezone.name(),
                        user.credentials_version,
                        micros(user.created_at),
                        micros(user.updated_at),
                    ])
                    .store()?;
                Ok(())
            },
            move |_| audit,
        )
        .await
    }

    async fn has_users(&self) -> Result<bool, StoreError> {
        self.readers
            .read_now(|connection| {
                connection
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM users)")
                    .store()?
                    .query_row([], |row| row.get(0))
                    .store()
            })
            .await
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.email = ?1");
        self.readers
            .read_now(|connection| {
                let mut statement = connection.prepare_cached(&sql).store()?;
                let mut rows = statement.query([email.as_str()]).store()?;
                let Some(row) = rows.next().store()? else {
                    return Ok(None);
                };
                Ok(Some(UserCredentials {
                    user: codec::user_from_row(row, 0)?,
                    password_hash: codec::value(row, USER_COLUMN_COUNT)?,
                }))
            })
            .await
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        self.readers
            .read_now(|connection| {
                let mut statement = connection.prepare_cached(&sql).store()?;
                let mut rows = statement.query([id.as_uuid()]).store()?;
                match rows.next().store()? {
                    Some(row) => codec::user_from_row(row, 0),
                    None => Err(StoreError::NotFound),
                }
            })
            .await
    }

    async fn update_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        audit: AuditOf<UserUpdate>,
    ) -> Result<UserUpdate, StoreError> {
        let user = user.clone();
        let password_hash = password_hash.map(str::to_owned);
        self.write_audited(
            move |connection| {
                let changed = connection
                    .prepare_cached(
                        "UPDATE users SET name = ?2, timezone = ?3, updated_at = ?4,
                             credentials_version = ?5,
                             password_hash = coalesce(?6, password_hash)
                         WHERE id = ?1",
                    )
                    .store()?
                    .execute(params![
                        user.id.as_uuid(),
                        user.name,
                        user.timezone.name(),
                        micros(user.updated_at),
                        user.credentials_version,
                        password_hash,
                    ])
                    .store()?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                if password_hash.is_none() {
                    return Ok(UserUpdate {
                        user: sessions::user(connection, user.id)?,
                        api_tokens_revoked: 0,
                    });
                }
                let api_tokens_revoked = delete_api_tokens(connection, user.id)?;
                Ok(UserUpdate {
                    user: sessions::revoke_all(connection, user.id, user.updated_at)?,
                    api_tokens_revoked,
                })
            },
            move |update| audit(update),
        )
        .await
    }

    async fn set_operator(
        &self,
        email: &Email,
        operator: bool,
        audit: AuditOf<User>,
    ) -> Result<User, StoreError> {
        let email = email.as_str().to_owned();
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?1");
        self.write_audited(
            move |connection| {
                let changed = connection
                    .prepare_cached("UPDATE users SET operator = ?2 WHERE email = ?1")
                    .store()?
                    .execute(params![email, operator])
                    .store()?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                let mut statement = connection.prepare_cached(&sql).store()?;
                let mut rows = statement.query([&email]).store()?;
                match rows.next().store()? {
                    Some(row) => codec::user_from_row(row, 0),
                    None => Err(StoreError::NotFound),
                }
            },
            move |user| audit(user),
        )
        .await
    }

    async fn list_operators(&self) -> Result<Vec<User>, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.operator ORDER BY u.email");
        self.readers
            .read_now(|connection| {
                let mut statement = connection.prepare_cached(&sql).store()?;
                let mut rows = statement.query([]).store()?;
                let mut users = Vec::new();
                while let Some(row) = rows.next().store()? {
                    users.push(codec::user_from_row(row, 0)?);
                }
                Ok(users)
            })
            .await
    }

    async fn insert_api_token(
        &self,
        token: &NewApiToken,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let token = token.clone();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| {
                let metadata = &token.token;
                connection
                    .prepare_cached(
                        "INSERT INTO api_tokens (id, user_id, secret_hash, name, prefix,
                             created_at, last_used_at, expires_at, scopes)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )
                    .store()?
                    .execute(params![
                        metadata.id.as_uuid(),
                        metadata.owner.as_uuid(),
                        token.secret_hash,
                        metadata.name,
                        metadata.prefix,
                        micros(metadata.created_at),
                        metadata.last_used_at.map(micros),
                        metadata.expires_at.map(micros),
                        metadata.scopes.join(" "),
                    ])
                    .map_err(|error| match crate::error::convert(error) {
                        // The owner does not exist.
                        StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                            StoreError::NotFound
                        }
                        other => other,
                    })?;
                Ok(())
            },
            move |_| audit,
        )
        .await
    }

    async fn list_api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>, StoreError> {
        self.readers
            .read_now(|connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT id, user_id, name, prefix, created_at, last_used_at, expires_at,
                             scopes
                         FROM api_tokens WHERE user_id = ?1
                         ORDER BY created_at DESC, id DESC",
                    )
                    .store()?;
                let mut rows = statement.query([owner.as_uuid()]).store()?;
                let mut tokens = Vec::new();
                while let Some(row) = rows.next().store()? {
                    tokens.push(token_from_row(row)?);
                }
                Ok(tokens)
            })
            .await
    }

    async fn delete_api_token(
        &self,
        owner: UserId,
        id: ApiTokenId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2")
                    .store()?
                    .execute(params![id.as_uuid(), owner.as_uuid()])
                    .store()?;
                if deleted == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            },
            move |_| audit,
        )
        .await
    }

    async fn find_api_token(
        &self,
        secret_hash: &[u8],
    ) -> Result<Option<(ApiToken, User)>, StoreError> {
        let sql = format!(
            "SELECT k.id, k.user_id, k.name, k.prefix, k.created_at, k.last_used_at,
                 k.expires_at, k.scopes, {USER_COLUMNS}
             FROM api_tokens k JOIN users u ON u.id = k.user_id
             WHERE k.secret_hash = ?1"
        );
        self.readers
            .read_now(|connection| {
                let mut statement = connection.prepare_cached(&sql).store()?;
                let mut rows = statement.query([secret_hash]).store()?;
                let Some(row) = rows.next().store()? else {
                    return Ok(None);
                };
                Ok(Some((token_from_row(row)?, codec::user_from_row(row, 8)?)))
            })
            .await
    }

    async fn touch_api_token(&self, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let changed = connection
                    .prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")
                    .store()?
                    .execute(params![id.as_uuid(), micros(at)])
                    .store()?;
                if changed == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn insert_calendar_feed(
        &self,
        feed: &NewCalendarFeed,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let feed = feed.clone();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| feeds::insert(connection, &feed),
            move |_| audit,
        )
        .await
    }

    async fn list_calendar_feeds(&self, owner: UserId) -> Result<Vec<CalendarFeed>, StoreError> {
        self.readers
            .read_now(|connection| feeds::list(connection, owner))
            .await
    }

    async fn delete_calendar_feed(
        &self,
        owner: UserId,
        id: CalendarFeedId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| feeds::delete(connection, owner, id),
            move |_| audit,
        )
        .await
    }

    async fn find_calendar_feed(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(CalendarFeed, User)>, StoreError> {
        self.readers
            .read_now(|connection| feeds::find(connection, token_hash))
            .await
    }

    async fn insert_session(
        &self,
        session: &NewAuthSession,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let session = session.clone();
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| sessions::insert(connection, &session),
            move |_| audit,
        )
        .await
    }

    async fn get_session(&self, id: SessionId) -> Result<AuthSession, StoreError> {
        self.readers
            .read_now(|connection| sessions::get(connection, id))
            .await
    }

    async fn find_session_by_refresh(
        &self,
        refresh_hash: &[u8],
    ) -> Result<Option<AuthSession>, StoreError> {
        self.readers
            .read_now(|connection| sessions::find_by_refresh(connection, refresh_hash))
            .await
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
        on_reuse: AuditOf<AuthSession>,
    ) -> Result<RefreshOutcome, StoreError> {
        let rotation = rotation.clone();
        self.writer
            .write(move |connection| {
                let outcome = sessions::rotate(connection, &rotation)?;
                if let RefreshOutcome::ReuseDetected(id) = outcome {
                    let revoked = sessions::get(connection, id)?;
                    audit::append_audits(connection, &on_reuse(&revoked))?;
                }
                Ok(outcome)
            })
            .await
    }

    async fn revoke_session(
        &self,
        owner: UserId,
        id: SessionId,
        at: DateTime<Utc>,
        reason: SessionRevocation,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| sessions::revoke(connection, owner, id, at, reason),
            move |_| audit,
        )
        .await
    }

    async fn revoke_all_sessions(
        &self,
        owner: UserId,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<User, StoreError> {
        let audit = audit.to_vec();
        self.write_audited(
            move |connection| sessions::revoke_all(connection, owner, at),
            move |_| audit,
        )
        .await
    }
}

/// Revokes (deletes) every API token of a user; returns how many.
fn delete_api_tokens(connection: &Connection, owner: UserId) -> Result<u64, StoreError> {
    let deleted = connection
        .prepare_cached("DELETE FROM api_tokens WHERE user_id = ?1")
        .store()?
        .execute(params![owner.as_uuid()])
        .store()?;
    Ok(deleted as u64)
}

fn token_from_row(row: &rusqlite::Row<'_>) -> Result<ApiToken, StoreError> {
    Ok(ApiToken {
        id: ApiTokenId::from_uuid(codec::value(row, 0)?),
        owner: UserId::from_uuid(codec::value(row, 1)?),
        name: codec::value(row, 2)?,
        prefix: codec::value(row, 3)?,
        created_at: codec::instant_column(row, 4)?,
        last_used_at: codec::optional_instant_column(row, 5)?,
        expires_at: codec::optional_instant_column(row, 6)?,
        scopes: codec::value::<String>(row, 7)?
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    })
}
