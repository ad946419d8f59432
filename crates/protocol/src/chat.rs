//! Chat bodies: `POST /api/v1/chat` and the stored conversations
//! (`GET /api/v1/conversations`, `GET /api/v1/conversations/{id}`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The body of `POST /api/v1/chat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// What the user says, in English, Urdu script or Roman Urdu (not blank, at most 2,000
    /// characters).
    #[schema(max_length = 2000, pattern = "\\S")]
    pub message: String,
    /// The conversation to continue; a new one starts when absent.
    #[serde(default)]
    pub conversation_id: Option<String>,
}

/// The assistant's answer to one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChatResponse {
    /// The conversation this message belongs to (pass it with the next message).
    pub conversation_id: String,
    /// The reply, in the language of the message.
    pub reply: String,
    /// The tools the assistant ran for this message, in order.
    pub actions: Vec<ChatAction>,
    /// Set when the assistant needs an answer before acting (which task, or a confirmation).
    pub clarification: Option<Clarification>,
}

/// One tool the assistant ran: the same tools MCP clients call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChatAction {
    /// The tool's name (`create_task`, `complete_task`, `list_tasks`, ...).
    pub tool: String,
    /// Its arguments.
    #[schema(value_type = Object)]
    pub arguments: Value,
    /// What it returned: the tool's result, or `{"error": {"code", "message"}}`.
    #[schema(value_type = Object)]
    pub result: Value,
}

/// A question the assistant asks before acting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Clarification {
    /// The question.
    pub question: String,
    /// The answers it understands, in order ("the second one" picks the second).
    pub options: Vec<String>,
}

/// A conversation in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationSummary {
    /// Its id.
    pub id: String,
    /// The start of its first message.
    pub title: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When its last message was written.
    pub updated_at: DateTime<Utc>,
}

/// The caller's conversations, most recently active first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConversationList {
    /// The conversations.
    pub items: Vec<ConversationSummary>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// The person.
    User,
    /// The assistant.
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MessageBody {
    /// Who wrote it.
    pub role: MessageRole,
    /// Its text.
    pub content: String,
    /// The tools the assistant ran for it (assistant messages only).
    pub actions: Vec<ChatAction>,
    /// The question it asked, if any (assistant messages only).
    pub clarification: Option<Clarification>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A conversation with its most recent messages (at most 200), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversationBody {
    /// Its id.
    pub id: String,
    /// The start of its first message.
    pub title: String,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When its last message was written.
    pub updated_at: DateTime<Utc>,
    /// The messages, oldest first.
    pub messages: Vec<MessageBody>,
}
