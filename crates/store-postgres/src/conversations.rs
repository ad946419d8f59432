//! Conversations with the chat assistant and their messages (`migrations/0003`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use tickler_domain::{ConversationId, UserId};
use tickler_store::{
    Conversation, ConversationMessage, ConversationStore, MessageRole, StoreError,
};

use crate::error::ResultExt;
use crate::store::PostgresStore;

const SELECT_CONVERSATION: &str =
    "SELECT id, user_id, title, state, created_at, updated_at FROM conversations";

fn conversation(row: &PgRow) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId::from_uuid(row.try_get(0).store()?),
        owner: UserId::from_uuid(row.try_get(1).store()?),
        title: row.try_get(2).store()?,
        state: row.try_get(3).store()?,
        created_at: row.try_get(4).store()?,
        updated_at: row.try_get(5).store()?,
    })
}

/// Inserts a conversation.
pub(crate) async fn insert(pool: &PgPool, conversation: &Conversation) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO conversations (id, user_id, title, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(*conversation.id.as_uuid())
    .bind(*conversation.owner.as_uuid())
    .bind(conversation.title.clone())
    .bind(conversation.state.clone())
    .bind(conversation.created_at)
    .bind(conversation.updated_at)
    .execute(pool)
    .await
    .store()?;
    Ok(())
}

/// Reads one of the owner's conversations.
pub(crate) async fn get(
    pool: &PgPool,
    owner: UserId,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let sql = format!("{SELECT_CONVERSATION} WHERE id = $1 AND user_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*id.as_uuid())
        .bind(*owner.as_uuid())
        .fetch_optional(pool)
        .await
        .store()?
        .ok_or(StoreError::NotFound)?;
    conversation(&row)
}

/// Lists the owner's conversations, most recently active first.
pub(crate) async fn list(
    pool: &PgPool,
    owner: UserId,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    let sql = format!(
        "{SELECT_CONVERSATION} WHERE user_id = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(*owner.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .store()?;
    rows.iter().map(conversation).collect()
}

/// Appends messages and sets the state, in one transaction.
pub(crate) async fn append(
    pool: &PgPool,
    owner: UserId,
    id: ConversationId,
    messages: &[ConversationMessage],
    state: Option<&str>,
    updated_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut transaction = pool.begin().await.store()?;
    let changed = sqlx::query(
        "UPDATE conversations SET state = $3, updated_at = $4 WHERE id = $1 AND user_id = $2",
    )
    .bind(*id.as_uuid())
    .bind(*owner.as_uuid())
    .bind(state.map(str::to_owned))
    .bind(updated_at)
    .execute(&mut *transaction)
    .await
    .store()?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    for message in messages {
        sqlx::query(
            "INSERT INTO conversation_messages (id, conversation_id, role, content, details, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(message.id)
        .bind(*id.as_uuid())
        .bind(message.role.as_str())
        .bind(message.content.clone())
        .bind(message.details.clone())
        .bind(message.created_at)
        .execute(&mut *transaction)
        .await
        .store()?;
    }
    transaction.commit().await.store()
}

/// Reads the last `limit` messages of one of the owner's conversations, oldest first.
pub(crate) async fn recent_messages(
    pool: &PgPool,
    owner: UserId,
    id: ConversationId,
    limit: u32,
) -> Result<Vec<ConversationMessage>, StoreError> {
    let rows = sqlx::query(
        "SELECT m.id, m.role, m.content, m.details, m.created_at
         FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE c.id = $1 AND c.user_id = $2
         ORDER BY m.id DESC LIMIT $3",
    )
    .bind(*id.as_uuid())
    .bind(*owner.as_uuid())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .store()?;
    if rows.is_empty() {
        // Tell an empty conversation from someone else's.
        get(pool, owner, id).await?;
    }
    let mut messages = rows
        .iter()
        .map(|row| {
            let role: String = row.try_get(1).store()?;
            Ok(ConversationMessage {
                id: row.try_get(0).store()?,
                role: MessageRole::parse(&role).ok_or_else(|| {
                    StoreError::Internal(format!("stored role {role:?} is unknown"))
                })?,
                content: row.try_get(2).store()?,
                details: row.try_get(3).store()?,
                created_at: row.try_get(4).store()?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    messages.reverse();
    Ok(messages)
}

#[async_trait]
impl ConversationStore for PostgresStore {
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        insert(&self.pool, conversation).await
    }

    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        get(&self.pool, owner, id).await
    }

    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        list(&self.pool, owner, limit).await
    }

    async fn append_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        messages: &[ConversationMessage],
        state: Option<&str>,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        append(&self.pool, owner, id, messages, state, updated_at).await
    }

    async fn recent_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        limit: u32,
    ) -> Result<Vec<ConversationMessage>, StoreError> {
        recent_messages(&self.pool, owner, id, limit).await
    }
}
