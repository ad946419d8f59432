//! The chat assistant: `POST /api/v1/chat` and the conversations it keeps.
//!
//! Each message is answered by the rule-based engine (`engine`), which reads it with the
//! natural-language parser and acts through the tool registry as the caller with origin `chat`
//! (so its changes are validated, evented and audited like REST calls). Messages the rules do
//! not understand go to the optional language model (`model`), offered the same tools; without
//! one, the assistant says what it can do. Replies follow the message's language (`language`).
//! The conversation, its messages and the pending question are stored after every turn.

mod answer;
mod engine;
mod language;
pub mod model;
mod summary;
mod turn;

use serde::{Deserialize, Serialize};
use tickler_domain::ConversationId;
use tickler_protocol::chat::{
    ChatAction, ChatRequest, ChatResponse, Clarification, ConversationBody, ConversationSummary,
    MessageBody, MessageRole as WireRole,
};
use tickler_store::{Conversation, ConversationMessage, MessageRole, StoreError};

use crate::error::{AppError, AppResult};
use crate::nl::check_text;
use crate::{Actor, App, Origin};
pub use language::{Language, detect as detect_language};
use turn::{Outcome, Pending, Turn};

/// Most conversations listed.
const DEFAULT_CONVERSATIONS: u32 = 50;
const MAX_CONVERSATIONS: u32 = 200;
/// Most messages returned with a conversation (the most recent ones).
pub const MAX_MESSAGES: u32 = 200;
/// Longest conversation title, in characters.
const MAX_TITLE_CHARS: usize = 80;

/// What is stored with a message besides its text.
#[derive(Debug, Default, Serialize, Deserialize)]
struct MessageDetails {
    #[serde(default)]
    actions: Vec<ChatAction>,
    #[serde(default)]
    clarification: Option<Clarification>,
}

impl App {
    /// Answers a chat message, starting a conversation or continuing the given one.
    pub async fn chat(&self, actor: &Actor, request: ChatRequest) -> AppResult<ChatResponse> {
        let message = check_text("message", &request.message)?.to_owned();
        let actor = Actor {
            origin: Origin::Chat,
            ..actor.clone()
        };
        let now = self.now();
        let conversation = match request.conversation_id.as_deref() {
            Some(id) => self.find_conversation(&actor, id).await?,
            None => {
                let conversation = Conversation {
                    id: ConversationId::from_uuid(self.new_uuid()),
                    owner: actor.user.id,
                    title: message.chars().take(MAX_TITLE_CHARS).collect(),
                    state: None,
                    created_at: now,
                    updated_at: now,
                };
                self.store.insert_conversation(&conversation).await?;
                conversation
            }
        };
        let pending: Option<Pending> = conversation
            .state
            .as_deref()
            .and_then(|state| serde_json::from_str(state).ok());

        let language = language::detect(&message);
        let mut turn = Turn::new(self, &actor, language);
        let outcome = match turn.respond(&message, pending).await {
            Some(outcome) => outcome,
            None => self.fallback(&mut turn, &message).await,
        };
        let Turn { actions, .. } = turn;

        let state = match &outcome.pending {
            Some(pending) => Some(serde_json::to_string(pending).map_err(|error| {
                AppError::Internal(format!("failed to serialise a pending question: {error}"))
            })?),
            None => None,
        };
        let details = MessageDetails {
            actions,
            clarification: outcome.clarification.clone(),
        };
        let stored = [
            ConversationMessage {
                id: self.new_uuid(),
                role: MessageRole::User,
                content: message,
                details: "{}".to_owned(),
                created_at: now,
            },
            ConversationMessage {
                id: self.new_uuid(),
                role: MessageRole::Assistant,
                content: outcome.reply.clone(),
                details: serde_json::to_string(&details).map_err(|error| {
                    AppError::Internal(format!("failed to serialise a message: {error}"))
                })?,
                created_at: self.now(),
            },
        ];
        self.store
            .append_messages(
                actor.user.id,
                conversation.id,
                &stored,
                state.as_deref(),
                self.now(),
            )
            .await
            .map_err(conversation_error)?;
        Ok(ChatResponse {
            conversation_id: conversation.id.to_string(),
            reply: outcome.reply,
            actions: details.actions,
            clarification: outcome.clarification,
        })
    }

    /// Answers a message the rules did not understand: through the language model when one
    /// is configured, otherwise by saying what the assistant can do.
    async fn fallback(&self, turn: &mut Turn<'_>, message: &str) -> Outcome {
        let greeting = is_greeting(message);
        if !greeting && let Some(model) = &self.chat_model {
            return model::answer(model.as_ref(), turn, message).await;
        }
        Outcome {
            reply: turn.replies.help(greeting),
            clarification: None,
            pending: None,
        }
    }

    /// Lists the caller's conversations, most recently active first.
    pub async fn list_conversations(
        &self,
        actor: &Actor,
        limit: Option<&str>,
    ) -> AppResult<Vec<ConversationSummary>> {
        let limit = match limit {
            None => DEFAULT_CONVERSATIONS,
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_CONVERSATIONS).contains(n))
                .ok_or_else(|| {
                    tickler_domain::FieldError::new(
                        "limit",
                        "out_of_range",
                        format!("limit must be an integer from 1 to {MAX_CONVERSATIONS}"),
                    )
                })?,
        };
        let conversations = self.store.list_conversations(actor.user.id, limit).await?;
        Ok(conversations.iter().map(summary).collect())
    }

    /// Reads one of the caller's conversations with its most recent messages.
    pub async fn get_conversation(&self, actor: &Actor, id: &str) -> AppResult<ConversationBody> {
        let conversation = self.find_conversation(actor, id).await?;
        let messages = self
            .store
            .recent_messages(actor.user.id, conversation.id, MAX_MESSAGES)
            .await
            .map_err(conversation_error)?;
        let summary = summary(&conversation);
        Ok(ConversationBody {
            id: summary.id,
            title: summary.title,
            created_at: summary.created_at,
            updated_at: summary.updated_at,
            messages: messages.into_iter().map(message_body).collect(),
        })
    }

    async fn find_conversation(&self, actor: &Actor, id: &str) -> AppResult<Conversation> {
        let id: ConversationId = id
            .trim()
            .parse()
            .map_err(|_| AppError::ConversationNotFound)?;
        self.store
            .get_conversation(actor.user.id, id)
            .await
            .map_err(conversation_error)
    }
}

fn conversation_error(error: StoreError) -> AppError {
    match error {
        StoreError::NotFound => AppError::ConversationNotFound,
        other => other.into(),
    }
}

fn summary(conversation: &Conversation) -> ConversationSummary {
    ConversationSummary {
        id: conversation.id.to_string(),
        title: conversation.title.clone(),
        created_at: conversation.created_at,
        updated_at: conversation.updated_at,
    }
}

fn message_body(message: ConversationMessage) -> MessageBody {
    let details: MessageDetails = serde_json::from_str(&message.details).unwrap_or_default();
    MessageBody {
        role: match message.role {
            MessageRole::User => WireRole::User,
            MessageRole::Assistant => WireRole::Assistant,
        },
        content: message.content,
        actions: details.actions,
        clarification: details.clarification,
        created_at: message.created_at,
    }
}

/// Greetings and thanks, answered with what the assistant can do rather than sent to a model.
fn is_greeting(message: &str) -> bool {
    const GREETINGS: &[&str] = &[
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "salam",
        "assalam",
        "aoa",
        "shukriya",
        "السلام",
        "سلام",
        "شکریہ",
        "ہیلو",
    ];
    message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(2)
        .any(|word| GREETINGS.contains(&word.to_lowercase().as_str()))
}

#[cfg(test)]
mod tests;
