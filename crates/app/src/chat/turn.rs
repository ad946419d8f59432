//! One turn of a conversation: who asks, in which language, the tools run on their behalf,
//! and the outcome: the reply, the question asked and what to remember for the next message.
//! The rule engine (`engine`) and the language model (`model`) both answer through a `Turn`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tickler_domain::TimeZone;
use tickler_protocol::chat::{ChatAction, Clarification};

use super::language::{Language, Replies};
use crate::tools::ToolError;
use crate::{Actor, App};

/// What the assistant is waiting for, kept with the conversation between messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Pending {
    /// Which of these tasks the person meant.
    Choose {
        /// What to do with the chosen task.
        action: TaskAction,
        /// The tasks offered, in the order shown.
        candidates: Vec<Candidate>,
    },
    /// Whether to go ahead with an action on several tasks.
    Confirm {
        /// What to do.
        action: TaskAction,
        /// The tasks it applies to.
        task_ids: Vec<String>,
    },
}

/// An action on a task that names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum TaskAction {
    /// Mark it done.
    Complete,
    /// Delete it.
    Delete,
    /// Change these fields (a merge patch).
    Update {
        /// The fields to set.
        changes: Map<String, Value>,
    },
}

/// A task offered in a clarification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Candidate {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
}

/// The assistant's answer to one message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outcome {
    /// The reply.
    pub reply: String,
    /// The question asked, if any.
    pub clarification: Option<Clarification>,
    /// What to remember for the next message.
    pub pending: Option<Pending>,
}

impl Outcome {
    /// A reply that asks nothing and remembers nothing.
    pub(crate) fn say(reply: String) -> Self {
        Self {
            reply,
            clarification: None,
            pending: None,
        }
    }
}

/// One turn of a conversation: the caller, the language of the message and the tools run.
pub(crate) struct Turn<'a> {
    pub(crate) app: &'a App,
    pub(crate) actor: &'a Actor,
    pub(crate) zone: TimeZone,
    pub(crate) replies: Replies,
    pub(crate) actions: Vec<ChatAction>,
}

impl<'a> Turn<'a> {
    pub(crate) fn new(app: &'a App, actor: &'a Actor, language: Language) -> Self {
        Self {
            app,
            actor,
            zone: actor.user.timezone,
            replies: Replies(language),
            actions: Vec::new(),
        }
    }

    /// Runs a tool, records it as an action, and returns its result or the API's message.
    pub(crate) async fn tool(&mut self, name: &str, arguments: Value) -> Result<Value, String> {
        let outcome = self
            .app
            .call_tool(self.actor, name, arguments.clone())
            .await;
        let (result, answer) = match outcome {
            Ok(value) => (value.clone(), Ok(value)),
            Err(error) => {
                let (code, message) = match &error {
                    ToolError::UnknownTool(_) => ("unknown_tool", error.to_string()),
                    ToolError::Failed(failure) => (failure.code(), failure.public_message()),
                };
                (
                    json!({"error": {"code": code, "message": message}}),
                    Err(message),
                )
            }
        };
        self.actions.push(ChatAction {
            tool: name.to_owned(),
            arguments,
            result,
        });
        answer
    }
}
