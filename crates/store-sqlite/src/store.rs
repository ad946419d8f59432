//! [`SqliteStore`]: the [`Store`] implementation.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use tickler_domain::{
    ApiTokenId, CalendarFeedId, ChannelId, ConversationId, Email, NotificationId, Tag, Task,
    TaskId, User, UserId,
};
use tickler_store::backend::row::{headers_from_json, status_code};
use tickler_store::{
    ApiToken, AuditQuery, AuditRecord, ChangeSet, ClaimedDelivery, Conflict, ConsumerPosition,
    Conversation, ConversationMessage, DeadLetter, DeadLetterQuery, DeliveryClaim, DeliveryHistory,
    DeliveryOutcome, IdempotentResponse, LeaseRequest, NewApiToken, Notification,
    NotificationChannel, NotificationQuery, OutboxPosition, OutboxRecord, RegistrationRule, Store,
    StoreError, TagCount, TaskPage, TaskQuery, UserCredentials,
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
use uuid::Uuid;

use crate::codec::{self, USER_COLUMN_COUNT, USER_COLUMNS, micros};
use crate::config::SqliteConfig;
use crate::connection::{self, Role};
use crate::error::ResultExt;
use crate::reader::ReadPool;
use crate::reminders;
use crate::writer::{Writer, WriterStats};
use crate::{
    conversations, deliveries, events, feeds, list, migrate, notifications, outbox, search,
    sessions, tasks, verification,
};

/// tickler's data in one SQLite file. Cheap to share behind an `Arc`; dropping the last
/// reference (or [`SqliteStore::close`]) lets the writer commit what is queued and stop.
#[derive(Debug)]
pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReadPool>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, without migrating it: call
    /// [`SqliteStore::migrate`], or [`Store::check_ready`] reports it as not ready.
    pub async fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(move || {
            let writer = connection::open(&config, Role::Writer)?;
            let checkpointer = connection::open(&config, Role::Checkpointer)?;
            let readers = ReadPool::open(&config)?;
            writer.execute_batch(search::PENDING_SEARCH_TABLE).store()?;
            Ok(Self {
                writer: Writer::start(writer, checkpointer, search::flush_search)?,
                readers: Arc::new(readers),
            })
        })
        .await
        .map_err(|error| StoreError::Internal(format!("opening the database failed: {error}")))?
    }

    /// Applies pending schema migrations; returns the versions applied (none when up to date).
    /// Safe to run from two processes at once: the write lock serializes them.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        self.writer.write(migrate::apply_pending).await
    }

    /// Lets the writer commit everything already queued, then stops it; later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close();
    }

    /// Returns how many transactions and commands the writer has committed (a batch of
    /// commands shares one transaction).
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_ready(&self) -> Result<(), StoreError> {
        self.readers.read_now(migrate::check_applied).await
    }

    async fn insert_user(
        &self,
        user: &User,
        password_hash: &str,
        rule: RegistrationRule,
    ) -> Result<(), StoreError> {
        let user = user.clone();
        let password_hash = password_hash.to_owned();
        self.writer
            .write(move |connection| {
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
            })
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
    ) -> Result<(), StoreError> {
        let user = user.clone();
        let password_hash = password_hash.map(str::to_owned);
        self.writer
            .write(move |connection| {
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
                Ok(())
            })
            .await
    }

    async fn set_operator(&self, email: &Email, operator: bool) -> Result<User, StoreError> {
        let email = email.as_str().to_owned();
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.email = ?1");
        self.writer
            .write(move |connection| {
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
            })
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

    async fn task_owner(&self, id: TaskId) -> Result<Option<UserId>, StoreError> {
        self.readers
            .read_now(|connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT u.id FROM tasks t JOIN users u ON u.seq = t.owner WHERE t.id = ?1",
                    )
                    .store()?;
                let mut rows = statement.query([id.as_uuid()]).store()?;
                match rows.next().store()? {
                    Some(row) => Ok(Some(UserId::from_uuid(codec::value(row, 0)?))),
                    None => Ok(None),
                }
            })
            .await
    }

    async fn insert_api_token(&self, token: &NewApiToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.writer
            .write(move |connection| {
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
            })
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

    async fn delete_api_token(&self, owner: UserId, id: ApiTokenId) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM api_tokens WHERE id = ?1 AND user_id = ?2")
                    .store()?
                    .execute(params![id.as_uuid(), owner.as_uuid()])
                    .store()?;
                if deleted == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            })
            .await
    }

    async fn delete_api_tokens(&self, owner: UserId) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM api_tokens WHERE user_id = ?1")
                    .store()?
                    .execute(params![owner.as_uuid()])
                    .store()?;
                Ok(deleted as u64)
            })
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

    async fn insert_calendar_feed(&self, feed: &NewCalendarFeed) -> Result<(), StoreError> {
        let feed = feed.clone();
        self.writer
            .write(move |connection| feeds::insert(connection, &feed))
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
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| feeds::delete(connection, owner, id))
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

    async fn insert_session(&self, session: &NewAuthSession) -> Result<(), StoreError> {
        let session = session.clone();
        self.writer
            .write(move |connection| sessions::insert(connection, &session))
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
    ) -> Result<RefreshOutcome, StoreError> {
        let rotation = rotation.clone();
        self.writer
            .write(move |connection| sessions::rotate(connection, &rotation))
            .await
    }

    async fn revoke_session(
        &self,
        owner: UserId,
        id: SessionId,
        at: DateTime<Utc>,
        reason: SessionRevocation,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| sessions::revoke(connection, owner, id, at, reason))
            .await
    }

    async fn revoke_all_sessions(
        &self,
        owner: UserId,
        at: DateTime<Utc>,
    ) -> Result<User, StoreError> {
        self.writer
            .write(move |connection| sessions::revoke_all(connection, owner, at))
            .await
    }

    async fn commit(&self, changes: ChangeSet) -> Result<(), StoreError> {
        let span = tracing::info_span!(
            "commit",
            events = changes.events.len(),
            "otel.name" = "store commit"
        );
        tracing::Instrument::instrument(
            self.writer
                .write(move |connection| tasks::apply(connection, &changes)),
            span,
        )
        .await
    }

    async fn get_task(&self, owner: UserId, id: TaskId) -> Result<Task, StoreError> {
        self.readers
            .read_now(|connection| tasks::get(connection, owner, id))
            .await
    }

    async fn list_tasks(&self, owner: UserId, query: &TaskQuery) -> Result<TaskPage, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| list::list(connection, owner, &query))
            .await
    }

    async fn tasks_with_tag(&self, owner: UserId, tag: &Tag) -> Result<Vec<Task>, StoreError> {
        let tag = tag.clone();
        self.readers
            .read(move |connection| tasks::with_tag(connection, owner, &tag))
            .await
    }

    async fn tasks_in_id_range(
        &self,
        owner: UserId,
        first: TaskId,
        last: TaskId,
        limit: u32,
    ) -> Result<Vec<Task>, StoreError> {
        self.readers
            .read_now(|connection| tasks::in_id_range(connection, owner, first, last, limit))
            .await
    }

    async fn tag_counts(
        &self,
        owner: UserId,
        prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<TagCount>, StoreError> {
        self.readers
            .read_now(|connection| tasks::tag_counts(connection, owner, prefix, limit))
            .await
    }

    async fn imported_tasks(
        &self,
        owner: UserId,
        source: &str,
        source_ids: &[String],
    ) -> Result<Vec<(String, TaskId)>, StoreError> {
        let source = source.to_owned();
        let source_ids = source_ids.to_vec();
        self.readers
            .read_now(move |connection| {
                let mut statement = connection
                    .prepare_cached(
                        "SELECT task_id FROM import_ledger
                         WHERE user_id = ?1 AND source = ?2 AND source_id = ?3",
                    )
                    .store()?;
                let mut found = Vec::new();
                for source_id in source_ids {
                    let task: Option<uuid::Uuid> = statement
                        .query_row(params![owner.as_uuid(), source, source_id], |row| {
                            row.get(0)
                        })
                        .map(Some)
                        .or_else(|error| match error {
                            rusqlite::Error::QueryReturnedNoRows => Ok(None),
                            other => Err(other),
                        })
                        .store()?;
                    if let Some(task) = task {
                        found.push((source_id, TaskId::from_uuid(task)));
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn find_idempotent_response(
        &self,
        owner: UserId,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        self.readers
            .read_now(|connection| find_idempotent(connection, owner, key))
            .await
    }

    async fn purge_idempotent_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.writer
            .write(move |connection| {
                let deleted = connection
                    .prepare_cached("DELETE FROM idempotent_responses WHERE created_at < ?1")
                    .store()?
                    .execute([micros(before)])
                    .store()?;
                Ok(deleted as u64)
            })
            .await
    }

    async fn insert_live_ticket(
        &self,
        ticket_hash: &[u8],
        owner: UserId,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let hash = ticket_hash.to_vec();
        self.writer
            .write(move |connection| {
                connection
                    .prepare_cached("DELETE FROM live_tickets WHERE expires_at <= ?1")
                    .store()?
                    .execute([micros(now)])
                    .store()?;
                connection
                    .prepare_cached(
                        "INSERT INTO live_tickets (ticket_hash, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    )
                    .store()?
                    .execute(params![hash, owner.as_uuid(), micros(expires_at)])
                    .store()?;
                Ok(())
            })
            .await
    }

    async fn redeem_live_ticket(
        &self,
        ticket_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>, StoreError> {
        let hash = ticket_hash.to_vec();
        self.writer
            .write(move |connection| {
                let owner: Option<(Uuid, i64)> = connection
                    .prepare_cached(
                        "DELETE FROM live_tickets WHERE ticket_hash = ?1 RETURNING user_id, expires_at",
                    )
                    .store()?
                    .query_row([hash], |row| Ok((row.get(0)?, row.get(1)?)))
                    .map(Some)
                    .or_else(|error| match error {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })
                    .store()?;
                Ok(owner
                    .filter(|(_, expires_at)| *expires_at > micros(now))
                    .map(|(owner, _)| UserId::from_uuid(owner)))
            })
            .await
    }

    async fn outbox_after(
        &self,
        position: OutboxPosition,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.readers
            .read(move |connection| outbox::after(connection, position, limit))
            .await
    }

    async fn outbox_held_back(&self, _position: OutboxPosition) -> Result<bool, StoreError> {
        // One writer: a committed record is readable at once.
        Ok(false)
    }

    async fn outbox_unpublished(&self, limit: u32) -> Result<Vec<OutboxRecord>, StoreError> {
        self.readers
            .read(move |connection| outbox::unpublished(connection, limit))
            .await
    }

    async fn mark_published(&self, sequences: &[i64], at: DateTime<Utc>) -> Result<(), StoreError> {
        if sequences.is_empty() {
            return Ok(());
        }
        let sequences = sequences.to_vec();
        self.writer
            .write(move |connection| outbox::mark_published(connection, &sequences, at))
            .await
    }

    async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        self.readers.read(outbox::backlog).await
    }

    async fn outbox_head(&self) -> Result<OutboxPosition, StoreError> {
        self.readers.read_now(outbox::head).await
    }

    async fn purge_outbox(
        &self,
        before: DateTime<Utc>,
        require_published: bool,
    ) -> Result<u64, StoreError> {
        // In steps of their own, so other commands are committed in between.
        let mut deleted = 0;
        let mut after = outbox::PurgeCursor::START;
        loop {
            let step = self
                .writer
                .write(move |connection| {
                    outbox::purge_step(connection, before, require_published, after)
                })
                .await?;
            deleted += step.deleted;
            match step.next {
                Some(next) => after = next,
                None => return Ok(deleted),
            }
        }
    }

    async fn consumer_position(&self, consumer: &str) -> Result<OutboxPosition, StoreError> {
        self.readers
            .read_now(|connection| events::position(connection, consumer))
            .await
    }

    async fn list_consumer_positions(&self) -> Result<Vec<ConsumerPosition>, StoreError> {
        self.readers.read_now(events::positions).await
    }

    async fn save_consumer_position(&self, position: &ConsumerPosition) -> Result<(), StoreError> {
        let position = position.clone();
        self.writer
            .write(move |connection| events::save_position(connection, &position))
            .await
    }

    async fn list_audit(
        &self,
        owner: UserId,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| events::list_audit(connection, owner, &query))
            .await
    }

    async fn audit_owners(&self) -> Result<Vec<UserId>, StoreError> {
        self.readers.read(events::audit_owners).await
    }

    async fn audit_chain_head(&self, owner: UserId) -> Result<Option<AuditChainHead>, StoreError> {
        self.readers
            .read(move |connection| events::chain_head(connection, owner))
            .await
    }

    async fn audit_unchained(&self, owner: UserId) -> Result<Vec<AuditRecord>, StoreError> {
        self.readers
            .read(move |connection| events::unchained_audit(connection, owner))
            .await
    }

    async fn audit_chain(
        &self,
        owner: UserId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<ChainedAuditRecord>, StoreError> {
        self.readers
            .read(move |connection| events::audit_chain_page(connection, owner, after, limit))
            .await
    }

    async fn insert_dead_letter(&self, letter: &DeadLetter) -> Result<(), StoreError> {
        let letter = letter.clone();
        self.writer
            .write(move |connection| events::insert_dead_letter(connection, &letter))
            .await
    }

    async fn list_dead_letters(
        &self,
        query: &DeadLetterQuery,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| events::list_dead_letters(connection, &query))
            .await
    }

    async fn get_dead_letter(&self, id: Uuid) -> Result<DeadLetter, StoreError> {
        self.readers
            .read_now(|connection| events::get_dead_letter(connection, id))
            .await
    }

    async fn mark_dead_letter_replayed(
        &self,
        id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| events::mark_dead_letter_replayed(connection, id, at))
            .await
    }

    async fn acquire_lease(&self, request: &LeaseRequest) -> Result<bool, StoreError> {
        let request = request.clone();
        self.writer
            .write(move |connection| events::acquire_lease(connection, &request))
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer
            .write(move |connection| events::release_lease(connection, &name, &holder))
            .await
    }

    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let conversation = conversation.clone();
        self.writer
            .write(move |connection| conversations::insert(connection, &conversation))
            .await
    }

    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        self.readers
            .read_now(|connection| conversations::get(connection, owner, id))
            .await
    }

    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.readers
            .read_now(|connection| conversations::list(connection, owner, limit))
            .await
    }

    async fn append_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        messages: &[ConversationMessage],
        state: Option<&str>,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let messages = messages.to_vec();
        let state = state.map(str::to_owned);
        self.writer
            .write(move |connection| {
                conversations::append(
                    connection,
                    owner,
                    id,
                    &messages,
                    state.as_deref(),
                    updated_at,
                )
            })
            .await
    }

    async fn recent_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        limit: u32,
    ) -> Result<Vec<ConversationMessage>, StoreError> {
        self.readers
            .read_now(|connection| conversations::recent_messages(connection, owner, id, limit))
            .await
    }

    async fn insert_channel(
        &self,
        channel: &NotificationChannel,
        max_per_owner: u32,
    ) -> Result<(), StoreError> {
        let channel = channel.clone();
        self.writer
            .write(move |connection| {
                notifications::insert_channel(connection, &channel, max_per_owner)
            })
            .await
    }

    async fn list_channels(&self, owner: UserId) -> Result<Vec<NotificationChannel>, StoreError> {
        self.readers
            .read_now(|connection| notifications::list_channels(connection, owner))
            .await
    }

    async fn get_channel(
        &self,
        owner: UserId,
        id: ChannelId,
    ) -> Result<NotificationChannel, StoreError> {
        self.readers
            .read_now(|connection| notifications::get_channel(connection, owner, id))
            .await
    }

    async fn update_channel(&self, channel: &NotificationChannel) -> Result<(), StoreError> {
        let channel = channel.clone();
        self.writer
            .write(move |connection| notifications::update_channel(connection, &channel))
            .await
    }

    async fn reserve_verification_mail(
        &self,
        mail: &VerificationMail,
        limits: &VerificationLimits,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let (mail, limits) = (mail.clone(), *limits);
        self.writer
            .write(move |connection| verification::reserve_mail(connection, &mail, &limits))
            .await
    }

    async fn verify_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        code_hash: &[u8],
        now: DateTime<Utc>,
        max_failures: u32,
    ) -> Result<bool, StoreError> {
        let code_hash = code_hash.to_vec();
        self.writer
            .write(move |connection| {
                verification::verify_channel(connection, owner, id, &code_hash, now, max_failures)
            })
            .await
    }

    async fn delete_channel(&self, owner: UserId, id: ChannelId) -> Result<(), StoreError> {
        self.writer
            .write(move |connection| notifications::delete_channel(connection, owner, id))
            .await
    }

    async fn find_notification_for_reminder(
        &self,
        owner: UserId,
        reminder_id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        self.readers
            .read_now(|connection| notifications::find_for_reminder(connection, owner, reminder_id))
            .await
    }

    async fn list_notifications(
        &self,
        owner: UserId,
        query: &NotificationQuery,
    ) -> Result<Vec<Notification>, StoreError> {
        let query = query.clone();
        self.readers
            .read(move |connection| notifications::list_notifications(connection, owner, &query))
            .await
    }

    async fn get_notification(
        &self,
        owner: UserId,
        id: NotificationId,
    ) -> Result<Notification, StoreError> {
        self.readers
            .read_now(|connection| notifications::get_notification(connection, owner, id))
            .await
    }

    async fn mark_notification_read(
        &self,
        owner: UserId,
        id: NotificationId,
        at: DateTime<Utc>,
    ) -> Result<Notification, StoreError> {
        self.writer
            .write(move |connection| notifications::mark_read(connection, owner, id, at))
            .await
    }

    async fn list_deliveries(
        &self,
        owner: UserId,
        notification: NotificationId,
    ) -> Result<Vec<DeliveryHistory>, StoreError> {
        self.readers
            .read(move |connection| deliveries::history(connection, owner, notification))
            .await
    }

    async fn claim_deliveries(
        &self,
        claim: &DeliveryClaim,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        // Polling an idle queue is a read; only a claim that can succeed takes the writer.
        if !self
            .readers
            .read_now(|connection| deliveries::any_due(connection, claim))
            .await?
        {
            return Ok(Vec::new());
        }
        let claim = claim.clone();
        self.writer
            .write(move |connection| deliveries::claim(connection, &claim))
            .await
    }

    async fn finish_delivery(&self, outcome: &DeliveryOutcome) -> Result<(), StoreError> {
        let outcome = outcome.clone();
        self.writer
            .write(move |connection| deliveries::finish(connection, &outcome))
            .await
    }

    async fn list_series(&self, owner: UserId, series: TaskId) -> Result<Vec<Task>, StoreError> {
        self.readers
            .read(move |connection| crate::series::list(connection, owner, series))
            .await
    }

    async fn next_reminder_due_in(&self) -> Result<Option<std::time::Duration>, StoreError> {
        let micros = self.readers.read_now(reminders::next_due_in).await?;
        Ok(micros.map(|micros| std::time::Duration::from_micros(micros.max(0).unsigned_abs())))
    }

    async fn fire_due_reminders(
        &self,
        firing: &ReminderFiring,
    ) -> Result<Vec<FiredReminder>, StoreError> {
        // An idle queue is a read; only a firing that can succeed takes the writer.
        match self.next_reminder_due_in().await? {
            Some(wait) if wait.is_zero() => {}
            _ => return Ok(Vec::new()),
        }
        let firing = firing.clone();
        self.writer
            .write(move |connection| reminders::fire(connection, &firing))
            .await
    }

    async fn list_reminders(
        &self,
        owner: UserId,
        query: &ReminderQuery,
    ) -> Result<Vec<ScheduledReminder>, StoreError> {
        let query = *query;
        self.readers
            .read(move |connection| reminders::list(connection, owner, &query))
            .await
    }

    async fn get_reminder(
        &self,
        owner: UserId,
        id: uuid::Uuid,
    ) -> Result<Option<ScheduledReminder>, StoreError> {
        self.readers
            .read(move |connection| reminders::get(connection, owner, id))
            .await
    }

    async fn snooze_reminder(
        &self,
        snooze: &ReminderSnooze,
    ) -> Result<ScheduledReminder, StoreError> {
        let snooze = snooze.clone();
        self.writer
            .write(move |connection| reminders::snooze(connection, &snooze))
            .await
    }
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

fn find_idempotent(
    connection: &Connection,
    owner: UserId,
    key: &str,
) -> Result<Option<IdempotentResponse>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT request_hash, status, headers, body, created_at
             FROM idempotent_responses WHERE user_id = ?1 AND key = ?2",
        )
        .store()?;
    let mut rows = statement.query(params![owner.as_uuid(), key]).store()?;
    let Some(row) = rows.next().store()? else {
        return Ok(None);
    };
    Ok(Some(IdempotentResponse {
        owner,
        key: key.to_owned(),
        request_hash: codec::value(row, 0)?,
        status: status_code(codec::value(row, 1)?)?,
        headers: headers_from_json(&codec::value::<String>(row, 2)?)?,
        body: codec::value(row, 3)?,
        created_at: codec::instant_column(row, 4)?,
    }))
}
