//! Conversations with the chat assistant and their messages (`migrations/0003`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row, params};
use tickler_domain::{ConversationId, UserId};
use tickler_store::{
    Conversation, ConversationMessage, ConversationStore, MessageRole, StoreError,
};

use crate::codec::{self, micros};
use crate::error::ResultExt;
use crate::store::SqliteStore;

const CONVERSATION_COLUMNS: &str = "id, user_id, title, state, created_at, updated_at";

fn conversation_from_row(row: &Row<'_>) -> Result<Conversation, StoreError> {
    Ok(Conversation {
        id: ConversationId::from_uuid(codec::value(row, 0)?),
        owner: UserId::from_uuid(codec::value(row, 1)?),
        title: codec::value(row, 2)?,
        state: codec::value(row, 3)?,
        created_at: codec::instant_column(row, 4)?,
        updated_at: codec::instant_column(row, 5)?,
    })
}

/// Inserts a conversation (a writer command).
pub(crate) fn insert(
    connection: &Connection,
    conversation: &Conversation,
) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "INSERT INTO conversations (id, user_id, title, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .store()?
        .execute(params![
            conversation.id.as_uuid(),
            conversation.owner.as_uuid(),
            conversation.title,
            conversation.state,
            micros(conversation.created_at),
            micros(conversation.updated_at),
        ])
        .map_err(|error| match crate::error::convert(error) {
            StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                StoreError::NotFound
            }
            other => other,
        })?;
    Ok(())
}

/// Reads one of the owner's conversations.
pub(crate) fn get(
    connection: &Connection,
    owner: UserId,
    id: ConversationId,
) -> Result<Conversation, StoreError> {
    let sql =
        format!("SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE id = ?1 AND user_id = ?2");
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement
        .query(params![id.as_uuid(), owner.as_uuid()])
        .store()?;
    match rows.next().store()? {
        Some(row) => conversation_from_row(row),
        None => Err(StoreError::NotFound),
    }
}

/// Lists the owner's conversations, most recently active first.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    limit: u32,
) -> Result<Vec<Conversation>, StoreError> {
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE user_id = ?1
         ORDER BY updated_at DESC, id DESC LIMIT ?2"
    );
    let mut statement = connection.prepare_cached(&sql).store()?;
    let mut rows = statement.query(params![owner.as_uuid(), limit]).store()?;
    let mut conversations = Vec::new();
    while let Some(row) = rows.next().store()? {
        conversations.push(conversation_from_row(row)?);
    }
    Ok(conversations)
}

/// Appends messages and sets the state (a writer command).
pub(crate) fn append(
    connection: &Connection,
    owner: UserId,
    id: ConversationId,
    messages: &[ConversationMessage],
    state: Option<&str>,
    updated_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let changed = connection
        .prepare_cached(
            "UPDATE conversations SET state = ?3, updated_at = ?4 WHERE id = ?1 AND user_id = ?2",
        )
        .store()?
        .execute(params![
            id.as_uuid(),
            owner.as_uuid(),
            state,
            micros(updated_at)
        ])
        .store()?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO conversation_messages (id, conversation_id, role, content, details, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .store()?;
    for message in messages {
        insert
            .execute(params![
                message.id,
                id.as_uuid(),
                message.role.as_str(),
                message.content,
                message.details,
                micros(message.created_at),
            ])
            .store()?;
    }
    Ok(())
}

/// Reads the last `limit` messages of one of the owner's conversations, oldest first.
pub(crate) fn recent_messages(
    connection: &Connection,
    owner: UserId,
    id: ConversationId,
    limit: u32,
) -> Result<Vec<ConversationMessage>, StoreError> {
    get(connection, owner, id)?;
    let mut statement = connection
        .prepare_cached(
            "SELECT id, role, content, details, created_at FROM conversation_messages
             WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2",
        )
        .store()?;
    let mut rows = statement.query(params![id.as_uuid(), limit]).store()?;
    let mut messages = Vec::new();
    while let Some(row) = rows.next().store()? {
        let role: String = codec::value(row, 1)?;
        messages.push(ConversationMessage {
            id: codec::value(row, 0)?,
            role: MessageRole::parse(&role)
                .ok_or_else(|| StoreError::Internal(format!("stored role {role:?} is unknown")))?,
            content: codec::value(row, 2)?,
            details: codec::value(row, 3)?,
            created_at: codec::instant_column(row, 4)?,
        });
    }
    messages.reverse();
    Ok(messages)
}

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let conversation = conversation.clone();
        self.writer
            .write(move |connection| insert(connection, &conversation))
            .await
    }

    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError> {
        self.readers
            .read_now(|connection| get(connection, owner, id))
            .await
    }

    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError> {
        self.readers
            .read_now(|connection| list(connection, owner, limit))
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
                append(
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
            .read_now(|connection| recent_messages(connection, owner, id, limit))
            .await
    }
}
