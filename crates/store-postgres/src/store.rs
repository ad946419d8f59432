//! [`PostgresStore`]: the [`Store`] implementation.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};
use tickler_domain::{
    ApiTokenId, CalendarFeedId, ChannelId, ConversationId, Email, NotificationId, Tag, Task,
    TaskId, User, UserId,
};
use tickler_store::backend::row::{headers_from_json, status_code};
use tickler_store::{
    ApiToken, AuditOf, AuditQuery, AuditRecord, ChangeSet, ClaimedDelivery, Conflict,
    ConsumerPosition, Conversation, ConversationMessage, DeadLetter, DeadLetterQuery,
    DeliveryClaim, DeliveryHistory, DeliveryOutcome, IdempotentResponse, LeaseRequest, NewApiToken,
    Notification, NotificationChannel, NotificationQuery, OutboxPosition, OutboxRecord,
    RegistrationRule, Store, StoreError, TagCount, TaskPage, TaskQuery, UserCredentials,
    UserUpdate,
};
use tickler_store::{AuditChainHead, ChainedAuditRecord};
use tickler_store::{
    AuthSession, NewAuthSession, RefreshOutcome, RefreshRotation, SessionId, SessionRevocation,
};
use tickler_store::{CalendarFeed, NewCalendarFeed};
use tickler_store::{
    FiredReminder, ReminderFiring, ReminderQuery, ReminderSnooze, ScheduledReminder,
};
use tickler_store::{VerificationLimits, VerificationMail};

use crate::config::PostgresConfig;
use crate::error::ResultExt;
use crate::rows::{self, token_columns, user_columns};
use crate::{
    conversations, deliveries, events, feeds, list, notifications, outbox, reminders, sessions,
    tasks, verification,
};

/// The advisory lock that serializes registrations, so "first user only" holds under races.
const REGISTRATION_LOCK: i64 = 0x7469_636b_6c65_7201;
/// How long a request waits for a pooled connection before `Unavailable`.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations of this build (`migrations/*.sql`).
fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    // A newer build may have applied migrations this one does not know; they only add.
    migrator.set_ignore_missing(true);
    migrator
}

/// tickler's data in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects a pool to the database, without migrating it: call
    /// [`PostgresStore::migrate`], or [`Store::check_ready`] reports it as not ready. Every
    /// connection commits synchronously (`synchronous_commit=on`) whatever the server default.
    pub async fn connect(config: &PostgresConfig) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(&config.url)
            .map_err(|error| {
                StoreError::Unavailable(format!(
                    "invalid database url {}: {error}",
                    crate::config::redacted(&config.url)
                ))
            })?
            .application_name("tickler")
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .store()?;
        Ok(Self { pool })
    }

    /// Applies pending migrations. Safe when several processes start together: sqlx holds an
    /// advisory lock while migrating.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await.map_err(|error| {
            StoreError::Internal(format!("migrating the database failed: {error}"))
        })
    }

    /// Records the pool's connections in use and idle, and its size, as metrics (sqlx does
    /// not expose how many tasks wait for a connection).
    pub fn record_pool_metrics(&self) {
        let size = self.pool.size() as f64;
        let idle = self.pool.num_idle() as f64;
        metrics::gauge!("tickler_db_pool_connections", "pool" => "postgres", "state" => "in_use")
            .set(size - idle);
        metrics::gauge!("tickler_db_pool_connections", "pool" => "postgres", "state" => "idle")
            .set(idle);
        metrics::gauge!("tickler_db_pool_max_connections", "pool" => "postgres")
            .set(f64::from(self.pool.options().get_max_connections()));
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl PostgresStore {
    /// Commits a change set (the body of [`Store::commit`], inside its span).
    async fn commit_changes(&self, changes: ChangeSet) -> Result<(), StoreError> {
        // An embedded consumer skipping events saves only its position: one statement, which
        // needs no transaction around it.
        if let ChangeSet {
            tasks,
            events: appended,
            idempotency: None,
            processed: None,
            consumer_position: Some(position),
            audit,
            notifications,
            series,
            imports,
        } = &changes
            && tasks.is_empty()
            && appended.is_empty()
            && audit.is_empty()
            && notifications.is_empty()
            && series.is_empty()
            && imports.is_empty()
        {
            return events::save_position(&self.pool, position).await;
        }
        let mut transaction = self.pool.begin().await.store()?;
        tasks::apply(&mut transaction, &changes).await?;
        transaction.commit().await.store()
    }
}

/// Appends an account change's audit rows in the change's transaction, then commits both.
async fn commit_audited(
    mut transaction: Transaction<'_, Postgres>,
    audit: &[AuditRecord],
) -> Result<(), StoreError> {
    events::append_audit(&mut transaction, audit).await?;
    transaction.commit().await.store()
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

#[async_trait]
impl Store for PostgresStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(|error| match crate::error::convert(error) {
                    StoreError::Unavailable(message) => StoreError::Unavailable(message),
                    other => StoreError::Unavailable(format!("not ready: {other}")),
                })?;
        if migrator()
            .iter()
            .all(|migration| applied.contains(&migration.version))
        {
            Ok(())
        } else {
            Err(StoreError::Unavailable(
                "the database schema is not migrated; run `tickler migrate`".into(),
            ))
        }
    }

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

    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError> {
        let owner: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT user_id FROM tasks WHERE id = $1")
                .bind(*id.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .store()?;
        Ok(owner.map(UserId::from_uuid))
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

    async fn delete_api_tokens(&self, owner: UserId) -> Result<u64, StoreError> {
        let mut connection = self.pool.acquire().await.store()?;
        delete_api_tokens(&mut connection, owner).await
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

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        let span = tracing::info_span!(
            "commit",
            events = changes.events.len(),
            "otel.name" = "store commit"
        );
        tracing::Instrument::instrument(self.commit_changes(changes), span).await
    }

    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
        tasks::get(&self.pool, owner, id).await
    }

    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        list::list(&self.pool, owner, query).await
    }

    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError> {
        tasks::with_tag(&self.pool, owner, tag).await
    }

    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        tasks::in_id_range(&self.pool, owner, first, last, limit).await
    }

    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError> {
        tasks::tag_counts(&self.pool, owner, prefix, limit).await
    }

    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError> {
        let rows = sqlx::query(
            "SELECT source_id, task_id FROM import_ledger
             WHERE user_id = $1 AND source = $2 AND source_id = ANY($3)",
        )
        .bind(*owner.as_uuid())
        .bind(source.to_owned())
        .bind(source_ids.to_vec())
        .fetch_all(&self.pool)
        .await
        .store()?;
        rows.iter()
            .map(|row| {
                let source_id: String = row.try_get(0).store()?;
                let task: uuid::Uuid = row.try_get(1).store()?;
                Ok((source_id, TaskId::from_uuid(task)))
            })
            .collect()
    }

    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        let Some(row) = sqlx::query(
            "SELECT request_hash, status, headers, body, created_at
             FROM idempotent_responses WHERE user_id = $1 AND key = $2",
        )
        .bind(*owner.as_uuid())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await
        .store()?
        else {
            return Ok(None);
        };
        Ok(Some(IdempotentResponse {
            owner,
            key: key.to_owned(),
            request_hash: row.try_get(0).store()?,
            status: status_code(i64::from(row.try_get::<i32, _>(1).store()?))?,
            headers: headers_from_json(&row.try_get::<String, _>(2).store()?)?,
            body: row.try_get(3).store()?,
            created_at: row.try_get(4).store()?,
        }))
    }

    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM idempotent_responses WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .store()?
            .rows_affected();
        Ok(deleted)
    }

    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM live_tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .store()?;
        sqlx::query(
            "INSERT INTO live_tickets (ticket_hash, user_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(ticket_hash)
        .bind(*owner.as_uuid())
        .bind(expires_at)
        .execute(&self.pool)
        .await
        .store()?;
        Ok(())
    }

    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        // DELETE ... RETURNING spends the ticket atomically: of racing redeemers one gets the row.
        let row: Option<(uuid::Uuid, DateTime<Utc>)> = sqlx::query_as(
            "DELETE FROM live_tickets WHERE ticket_hash = $1 RETURNING user_id, expires_at",
        )
        .bind(ticket_hash)
        .fetch_optional(&self.pool)
        .await
        .store()?;
        Ok(row
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(owner, _)| UserId::from_uuid(owner)))
    }

    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        outbox::after(&self.pool, position, limit).await
    }

    async fn outbox_held_back(&self, position: OutboxPosition) -> Result<bool, StoreError> {
        outbox::held_back(&self.pool, position).await
    }

    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        outbox::unpublished(&self.pool, limit).await
    }

    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        outbox::mark_published(&self.pool, sequences, at).await
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        outbox::backlog(&self.pool).await
    }

    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError> {
        outbox::head(&self.pool).await
    }

    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError> {
        outbox::purge(&self.pool, before, require_published).await
    }

    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError> {
        events::position(&self.pool, consumer).await
    }

    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError> {
        events::positions(&self.pool).await
    }

    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError> {
        events::save_position(&self.pool, position).await
    }

    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        events::list_audit(&self.pool, owner, query).await
    }

    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError> {
        events::audit_owners(&self.pool).await
    }

    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError> {
        events::chain_head(&self.pool, owner).await
    }

    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError> {
        events::unchained_audit(&self.pool, owner).await
    }

    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError> {
        events::audit_chain_page(&self.pool, owner, after, limit).await
    }

    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        events::insert_dead_letter(&self.pool, letter).await
    }

    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        events::list_dead_letters(&self.pool, query).await
    }

    async fn get_dead_letter(&self, id: uuid::Uuid) -> Result<DeadLetter, StoreError> {
        events::get_dead_letter(&self.pool, id).await
    }

    async fn mark_dead_letter_replayed(
        &self,
        id: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        events::mark_dead_letter_replayed(&self.pool, id, at).await
    }

    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError> {
        events::acquire_lease(&self.pool, request).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        events::release_lease(&self.pool, name, holder).await
    }

    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        conversations::insert(&self.pool, conversation).await
    }

    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        conversations::get(&self.pool, owner, id).await
    }

    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        conversations::list(&self.pool, owner, limit).await
    }

    async fn append_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        messages: &[ConversationMessage],
        state: Option<&str>,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        conversations::append(&self.pool, owner, id, messages, state, updated_at).await
    }

    async fn recent_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        limit: u32,
    ) -> Result<Vec<ConversationMessage>, StoreError> {
        conversations::recent_messages(&self.pool, owner, id, limit).await
    }

    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        notifications::insert_channel(&mut transaction, channel, max_per_owner).await?;
        commit_audited(transaction, audit).await
    }

    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError> {
        notifications::list_channels(&self.pool, owner).await
    }

    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError> {
        notifications::get_channel(&self.pool, owner, id).await
    }

    async fn update_channel(
        &self,
        channel: &NotificationChannel,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        notifications::update_channel(&mut transaction, channel).await?;
        commit_audited(transaction, audit).await
    }

    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        verification::reserve_mail(&self.pool, mail, limits).await
    }

    async fn verify_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        code_hash: &[u8],
        now: DateTime<Utc>,
        max_failures: u32,
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let verified =
            verification::verify_channel(&mut transaction, owner, id, code_hash, now, max_failures)
                .await?;
        // A wrong code is counted, not audited.
        commit_audited(transaction, if verified { audit } else { &[] }).await?;
        Ok(verified)
    }

    async fn delete_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        audit: &[AuditRecord],
    ) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        notifications::delete_channel(&mut transaction, owner, id).await?;
        commit_audited(transaction, audit).await
    }

    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        notifications::find_for_reminder(&self.pool, owner, reminder_id).await
    }

    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        notifications::list_notifications(&self.pool, owner, query).await
    }

    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError> {
        notifications::get_notification(&self.pool, owner, id).await
    }

    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        notifications::mark_read(&self.pool, owner, id, at).await
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError> {
        deliveries::history(&self.pool, owner, notification).await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        deliveries::claim(&self.pool, claim).await
    }

    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
        deliveries::finish(&self.pool, outcome).await
    }

    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError> {
        crate::series::list(&self.pool, owner, series).await
    }

    async fn next_reminder_due_in(&self) -> Result<Option<std::time::Duration>, StoreError> {
        let micros = reminders::next_due_in(&self.pool).await?;
        Ok(micros.map(|micros| std::time::Duration::from_micros(micros.max(0).unsigned_abs())))
    }

    async fn fire_due_reminders(
        &self,
        firing: &ReminderFiring,
    ) -> Result<Vec<FiredReminder>, StoreError> {
        reminders::fire(&self.pool, firing).await
    }

    async fn list_reminders(
        &self,
        owner: UserId,
        query: &ReminderQuery,
    ) -> Result<Vec<ScheduledReminder>, StoreError> {
        reminders::list(&self.pool, owner, query).await
    }

    async fn get_reminder(
        &self,
        owner: UserId,
        id: uuid::Uuid,
    ) -> Result<Option<ScheduledReminder>, StoreError> {
        reminders::find(&self.pool, owner, id).await
    }

    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
        audit: AuditOf<ScheduledReminder>,
    ) -> Result<ScheduledReminder, StoreError> {
        let mut transaction = self.pool.begin().await.store()?;
        let snoozed = reminders::snooze(&mut transaction, snooze).await?;
        commit_audited(transaction, &audit(&snoozed)).await?;
        Ok(snoozed)
    }
}
