//! The optional language model behind the chat assistant, for messages the rules do not
//! understand. [`ChatModel`] is the seam: `tickler-llm` implements it for any
//! OpenAI-compatible `/v1/chat/completions` endpoint, tests with scripted replies.
//!
//! The model is offered the registry's tools (the MCP tools). Before anything runs, every tool
//! call of a reply is checked: the tool must exist and its arguments must be JSON that passes
//! the tool's schema. One bad call and none of them run; the person gets a clear reply that
//! nothing changed. Several deletions in one reply are not run either: they become the same
//! confirmation question the rules ask. The system prompt is `prompts/chat-assistant.md`.

use std::fmt::Debug;

use async_trait::async_trait;
use serde_json::Value;

use super::turn::{Outcome, Pending, TaskAction, Turn};
use crate::tools::{self, ToolDefinition};
use tickler_protocol::chat::Clarification;

/// The system prompt, kept as a file so it can be read and reviewed as prose.
pub const SYSTEM_PROMPT: &str = include_str!("../../../../prompts/chat-assistant.md");
/// Most model round trips for one message (a tool call and its result make one).
const MAX_ROUNDS: usize = 4;

/// Who said a message of the model's conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelRole {
    /// Instructions.
    System,
    /// The person.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelToolCall {
    /// The call's id, echoed with its result.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not yet trusted.
    pub arguments: String,
}

/// One message of the model's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMessage {
    /// Who said it.
    pub role: ModelRole,
    /// Its text.
    pub content: String,
    /// The tool calls of an assistant message.
    pub tool_calls: Vec<ModelToolCall>,
    /// For a tool result: the call it answers.
    pub tool_call_id: Option<String>,
}

impl ModelMessage {
    fn new(role: ModelRole, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// What the model answered: text, tool calls, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelReply {
    /// Its text.
    pub content: Option<String>,
    /// The tools it wants run.
    pub tool_calls: Vec<ModelToolCall>,
}

/// Why the model gave no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// It could not be reached, timed out or answered with an error status.
    #[error("the language model is unavailable: {0}")]
    Unavailable(String),
    /// It answered with something that is not the documented format.
    #[error("the language model answered in an unexpected format: {0}")]
    Malformed(String),
}

/// A language model that can call tools.
#[async_trait]
pub trait ChatModel: Send + Sync + Debug {
    /// Continues the conversation, offering `tools`.
    async fn complete(
        &self,
        messages: &[ModelMessage],
        tools: &[ToolDefinition],
    ) -> Result<ModelReply, ModelError>;
}

/// Answers a message with the model's help.
pub(crate) async fn answer(model: &dyn ChatModel, turn: &mut Turn<'_>, message: &str) -> Outcome {
    let mut conversation = vec![
        ModelMessage::new(ModelRole::System, system_prompt(turn)),
        ModelMessage::new(ModelRole::User, message),
    ];
    for _ in 0..MAX_ROUNDS {
        let reply = match model.complete(&conversation, tools::definitions()).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::warn!(%error, "language model failed; answering without it");
                return Outcome::say(turn.replies.model_failed());
            }
        };
        if reply.tool_calls.is_empty() {
            let text = reply.content.unwrap_or_default();
            return match text.trim() {
                "" => Outcome::say(turn.replies.help(false)),
                text => Outcome::say(text.to_owned()),
            };
        }
        let calls = match checked(&reply.tool_calls) {
            Ok(calls) => calls,
            Err(problem) => {
                tracing::warn!(%problem, "language model asked for an invalid tool call; nothing run");
                return Outcome::say(turn.replies.model_failed());
            }
        };
        let deletions: Vec<String> = calls
            .iter()
            .filter(|(call, _)| call.name == "delete_task")
            .filter_map(|(_, arguments)| arguments["id"].as_str().map(str::to_owned))
            .collect();
        if deletions.len() > 1 {
            let question = turn.replies.confirm_delete(deletions.len());
            return Outcome {
                reply: question.clone(),
                clarification: Some(Clarification {
                    question,
                    options: turn.replies.yes_no(),
                }),
                pending: Some(Pending::Confirm {
                    action: TaskAction::Delete,
                    task_ids: deletions,
                }),
            };
        }
        conversation.push(ModelMessage {
            role: ModelRole::Assistant,
            content: reply.content.unwrap_or_default(),
            tool_calls: reply.tool_calls.clone(),
            tool_call_id: None,
        });
        for (call, arguments) in calls {
            let result = match turn.tool(&call.name, arguments).await {
                Ok(value) => value.to_string(),
                Err(message) => serde_json::json!({"error": message}).to_string(),
            };
            conversation.push(ModelMessage {
                role: ModelRole::Tool,
                content: result,
                tool_calls: Vec::new(),
                tool_call_id: Some(call.id.clone()),
            });
        }
    }
    Outcome::say(turn.replies.model_failed())
}

/// The system prompt with the turn's context: the time, the zone, the language.
fn system_prompt(turn: &Turn<'_>) -> String {
    let now = turn.zone.local_datetime(turn.app.now());
    format!(
        "{}\nNow: {} ({}, the user's time zone). Reply in {}.",
        SYSTEM_PROMPT.trim_end(),
        now.format("%A %Y-%m-%d %H:%M"),
        turn.zone.name(),
        turn.replies.language_name()
    )
}

/// Checks every call of a reply: a known tool, arguments that are JSON and fit its schema.
fn checked(calls: &[ModelToolCall]) -> Result<Vec<(&ModelToolCall, Value)>, String> {
    calls
        .iter()
        .map(|call| {
            let arguments: Value = if call.arguments.trim().is_empty() {
                Value::Object(Default::default())
            } else {
                serde_json::from_str(&call.arguments)
                    .map_err(|error| format!("{}: arguments are not JSON: {error}", call.name))?
            };
            tools::validate_arguments(&call.name, &arguments)
                .map_err(|problems| format!("{}: {problems}", call.name))?;
            Ok((call, arguments))
        })
        .collect()
}
