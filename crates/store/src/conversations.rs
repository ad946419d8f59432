//! The conversations part of the storage port: the chat assistant's conversations and their
//! messages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickler_domain::{ConversationId, UserId};

use crate::error::StoreError;
use crate::records::{Conversation, ConversationMessage};

/// Conversations with the chat assistant. Every read and write is scoped to the owner: another
/// user's conversation is `NotFound`.
#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Stores a new conversation (without messages).
    async fn insert_conversation(&self, conversation: &Conversation) -> Result<(), StoreError>;

    /// Reads one of the user's conversations.
    async fn get_conversation(
        &self,
        owner: UserId,
        id: ConversationId,
    ) -> Result<Conversation, StoreError>;

    /// Lists the user's conversations, most recently active first, at most `limit`.
    async fn list_conversations(
        &self,
        owner: UserId,
        limit: u32,
    ) -> Result<Vec<Conversation>, StoreError>;

    /// Appends messages to one of the user's conversations and sets its pending `state` and
    /// `updated_at`, atomically.
    async fn append_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        messages: &[ConversationMessage],
        state: Option<&str>,
        updated_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Reads the last `limit` messages of one of the user's conversations, oldest first.
    async fn recent_messages(
        &self,
        owner: UserId,
        id: ConversationId,
        limit: u32,
    ) -> Result<Vec<ConversationMessage>, StoreError>;
}
