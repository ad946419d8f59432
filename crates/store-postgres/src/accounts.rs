//! Accounts: users and their credentials, operator rights and personal API tokens, with the
//! [`AccountStore`] implementation (calendar feeds and sign-in sessions have their own
//! modules).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};
use tickler_domain::{ApiTokenId, CalendarFeedId, Email, User, UserId};
use tickler_store::{
    AccountStore, ApiToken, AuditOf, AuditRecord, AuthSession, CalendarFeed, Conflict, NewApiToken,
    NewAuthSession, NewCalendarFeed, RefreshOutcome, RefreshRotation, RegistrationRule, SessionId,
    SessionRevocation, StoreError, UserCredentials, UserUpdate,
};

use crate::audit::commit_audited;
use crate::error::ResultExt;
use crate::rows::{self, token_columns, user_columns};
use crate::store::PostgresStore;
use crate::{feeds, sessions};

/// The advisory lock that serializes registrations, so "first user only" holds under races.
const REGISTRATION_LOCK: i64 = 0x7469_636b_6c65_7201;

#[async_trait]
impl AccountStore for PostgresStore {
    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        rule: RegistrationRule,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(REGISTRATION_LOCK)
            .execute(&mut *transaction)
            .await
            .store()?;
        if rule == RegistrationRule::FirstUserOnly {
            let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
                .fetch_one(&mut *transaction)
                .await
                .store()?;
            if exists {
                return Err(StoreError::Conflict(Conflict::UsersExist));
            }
        }
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, name, timezone, credentials_version,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(*user.id.as_uuid())
        .bind(user.email.as_str().to_owned())
        .bind(password_hash.to_owned())
        .bind(user.name.clone())
        .bind(user.timezone.name())
        .bind(user.credentials_version)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *transaction)
        .await
        .store()?;
        commit_audited(transaction, audit).await
    }

    async fn has_users(&self) -> Result<bool, StoreError> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users)")
            .fetch_one(&self.pool)
            .await
            .store()
    }

    async fn find_credentials(&self, email: &Email) -> Result<Option<UserCredentials>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            ", u.password_hash FROM users u WHERE u.email = $1"
        );
        let Some(row) = sqlx::query(SQL)
            .bind(email.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await
            .store()?
        else {
            return Ok(None);
        };
        Ok(Some(UserCredentials {
            user: rows::user(&row, 0)?,
            password_hash: row.try_get(8).store()?,
        }))
    }

    async fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        const SQL: &str = concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
        let row = sqlx::query(SQL)
            .bind(*id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .store()?
            .ok_or(StoreError::NotFound)?;
        rows::user(&row, 0)
    }

    async fn update_user(
        &self,
        user: &User,
        password_hash: Option<&str>,
        audit: AuditOf<UserUpdate>,
    ) -> Result<UserUpdate, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let changed = sqlx::query(
            "UPDATE users SET name = $2, timezone = $3, updated_at = $4, credentials_version = $5,
                 password_hash = coalesce($6, password_hash)
             WHERE id = $1",
        )
        .bind(*user.id.as_uuid())
        .bind(user.name.clone())
        .bind(user.timezone.name())
        .bind(user.updated_at)
        .bind(user.credentials_version)
        .bind(password_hash.map(str::to_owned))
        .execute(&mut *transaction)
        .await
        .store()?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        let update = if password_hash.is_some() {
            let api_tokens_revoked = delete_api_tokens(&mut transaction, user.id).await?;
            UserUpdate {
                user: sessions::revoke_all(&mut transaction, user.id, user.updated_at).await?,
                api_tokens_revoked,
            }
        } else {
            UserUpdate {
                user: sessions::user(&mut transaction, user.id).await?,
                api_tokens_revoked: 0,
            }
        };
        commit_audited(transaction, &audit(&update)).await?;
        Ok(update)
    }

    async fn set_operator(
        &self,
        email: &Email,
        operator: bool,
        audit: AuditOf<User>,
    ) -> Result<User, StoreError> {
        const SQL: &str = concat!(
            "UPDATE users u SET operator = $2 WHERE u.email = $1 RETURNING ",
            user_columns!()
        );
        let mut transaction = self.pool.begin().await.store()?;
        let row = sqlx::query(SQL)
            .bind(email.as_str().to_owned())
            .bind(operator)
            .fetch_optional(&mut *transaction)
            .await
            .store()?
            .ok_or(StoreError::NotFound)?;
        let user = rows::user(&row, 0)?;
        commit_audited(transaction, &audit(&user)).await?;
        Ok(user)
    }

    async fn list_operators(&self) -> Result<Vec<User>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u WHERE u.operator ORDER BY u.email"
        );
        sqlx::query(SQL)
            .fetch_all(&self.pool)
            .await
            .store()?
            .iter()
            .map(|row| rows::user(row, 0))
            .collect()
    }

    async fn insert_api_token(
        &self,
        token: &NewApiToken,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let metadata = &token.token;
        let mut transaction = self.pool.begin().await.store()?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, secret_hash, name, prefix, created_at,
                 last_used_at, expires_at, scopes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(*metadata.id.as_uuid())
        .bind(*metadata.owner.as_uuid())
        .bind(token.secret_hash.clone())
        .bind(metadata.name.clone())
        .bind(metadata.prefix.clone())
        .bind(metadata.created_at)
        .bind(metadata.last_used_at)
        .bind(metadata.expires_at)
        .bind(metadata.scopes.join(" "))
        .execute(&mut *transaction)
        .await
        .store()?;
        commit_audited(transaction, audit).await
    }

    async fn list_api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            " FROM api_tokens k WHERE k.user_id = $1 ORDER BY k.created_at DESC, k.id DESC"
        );
        let found = sqlx::query(SQL)
            .bind(*owner.as_uuid())
            .fetch_all(&self.pool)
            .await
            .store()?;
        found.iter().map(rows::api_token).collect()
    }

    async fn delete_api_token(
        &self,
        owner: UserId,
        id: ApiTokenId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let deleted = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(*id.as_uuid())
            .bind(*owner.as_uuid())
            .execute(&mut *transaction)
            .await
            .store()?
            .rows_affected();
        if deleted == 0 {
            return Err(StoreError::NotFound);
        }
        commit_audited(transaction, audit).await
    }

    async fn find_api_token(
        &self,
        secret_hash: &[u8],
    ) -> Result<Option<(ApiToken, User)>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            token_columns!(),
            ", ",
            user_columns!(),
            " FROM api_tokens k JOIN users u ON u.id = k.user_id WHERE k.secret_hash = $1"
        );
        let Some(row) = sqlx::query(SQL)
            .bind(secret_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .store()?
        else {
            return Ok(None);
        };
        Ok(Some((rows::api_token(&row)?, rows::user(&row, 8)?)))
    }

    async fn touch_api_token(&self, id: ApiTokenId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let changed = sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(*id.as_uuid())
            .bind(at)
            .execute(&self.pool)
            .await
            .store()?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn insert_calendar_feed(
        &self,
        feed: &NewCalendarFeed,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        feeds::insert(&mut transaction, feed).await?;
        commit_audited(transaction, audit).await
    }

    async fn list_calendar_feeds(&self, owner: UserId) -> Result<Vec<CalendarFeed>, StoreError> {
        feeds::list(&self.pool, owner).await
    }

    async fn delete_calendar_feed(
        &self,
        owner: UserId,
        id: CalendarFeedId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        feeds::delete(&mut transaction, owner, id).await?;
        commit_audited(transaction, audit).await
    }

    async fn find_calendar_feed(
        &self,
        token_hash: &[u8],
    ) -> Result<Option<(CalendarFeed, User)>, StoreError> {
        feeds::find(&self.pool, token_hash).await
    }

    async fn insert_session(
        &self,
        session: &NewAuthSession,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        sessions::insert(&mut transaction, session).await?;
        commit_audited(transaction, audit).await
    }

    async fn get_session(&self, id: SessionId) -> Result<AuthSession, StoreError> {
        let mut connection = self.pool.acquire().await.store()?;
        sessions::get(&mut connection, id).await
    }

    async fn find_session_by_refresh(
        &self,
        refresh_hash: &[u8],
    ) -> Result<Option<AuthSession>, StoreError> {
        sessions::find_by_refresh(&self.pool, refresh_hash).await
    }

    async fn rotate_refresh_token(
        &self,
        rotation: &RefreshRotation,
        on_reuse: AuditOf<AuthSession>,
    ) -> Result<RefreshOutcome, StoreError> {
        sessions::rotate(&self.pool, rotation, &on_reuse).await
    }

    async fn revoke_session(
        &self,
        owner: UserId,
        id: SessionId,
        at: DateTime<Utc>,
        reason: SessionRevocation,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        sessions::revoke_in(&mut transaction, owner, id, at, reason).await?;
        commit_audited(transaction, audit).await
    }

    async fn revoke_all_sessions(
        &self,
        owner: UserId,
        at: DateTime<Utc>,
        audit: &[AuditRecord],
    ) -> Result<User, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let user = sessions::revoke_all(&mut transaction, owner, at).await?;
        commit_audited(transaction, audit).await?;
        Ok(user)
    }
}

/// Revokes (deletes) every API token of a user; returns how many.
async fn delete_api_tokens(
    connection: &mut PgConnection,
    owner: UserId,
) -> Result<u64, StoreError> {
    Ok(sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
        .bind(*owner.as_uuid())
        .execute(connection)
        .await
        .store()?
        .rows_affected())
}
