//! OpenAI's chat completions format: the request we send and the part of the answer we read.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tickler_app::chat::model::{ModelError, ModelMessage, ModelReply, ModelRole, ModelToolCall};
use tickler_app::tools::ToolDefinition;

/// Builds the request body.
pub(crate) fn request(model: &str, messages: &[ModelMessage], tools: &[ToolDefinition]) -> Value {
    let messages: Vec<Value> = messages.iter().map(message).collect();
    let tools: Vec<Value> = tools
        .iter()
        .map(|tool| {
            json!({
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.input_schema,
                },
            })
        })
        .collect();
    json!({
        "model": model,
        "messages": messages,
        "tools": tools,
        "tool_choice": "auto",
        "temperature": 0,
        "stream": false,
    })
}

fn message(message: &ModelMessage) -> Value {
    match message.role {
        ModelRole::System => json!({"role": "system", "content": message.content}),
        ModelRole::User => json!({"role": "user", "content": message.content}),
        ModelRole::Assistant => {
            let mut value = json!({
                "role": "assistant",
                "content": if message.content.is_empty() { Value::Null } else { json!(message.content) },
            });
            if !message.tool_calls.is_empty() {
                let calls: Vec<Value> = message
                    .tool_calls
                    .iter()
                    .map(|call| {
                        json!({
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments},
                        })
                    })
                    .collect();
                value["tool_calls"] = json!(calls);
            }
            value
        }
        ModelRole::Tool => json!({
            "role": "tool",
            "tool_call_id": message.tool_call_id,
            "content": message.content,
        }),
    }
}

#[derive(Debug, Deserialize, Serialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Debug, Deserialize, Serialize)]
struct Choice {
    message: AssistantMessage,
}

#[derive(Debug, Deserialize, Serialize)]
struct AssistantMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
}

#[derive(Debug, Deserialize, Serialize)]
struct ToolCall {
    #[serde(default)]
    id: Option<String>,
    function: FunctionCall,
}

#[derive(Debug, Deserialize, Serialize)]
struct FunctionCall {
    name: String,
    /// JSON text per the format; some servers send an object instead, which is accepted.
    #[serde(default)]
    arguments: Value,
}

/// Reads the first choice of a completion.
pub(crate) fn reply(body: &str) -> Result<ModelReply, ModelError> {
    let completion: Completion = serde_json::from_str(body)
        .map_err(|error| ModelError::Malformed(format!("not a chat completion: {error}")))?;
    let choice = completion
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ModelError::Malformed("the completion has no choices".into()))?;
    let tool_calls = choice
        .message
        .tool_calls
        .into_iter()
        .enumerate()
        .map(|(index, call)| ModelToolCall {
            id: call.id.unwrap_or_else(|| format!("call_{index}")),
            name: call.function.name,
            arguments: match call.function.arguments {
                Value::String(text) => text,
                Value::Null => String::new(),
                other => other.to_string(),
            },
        })
        .collect();
    Ok(ModelReply {
        content: choice.message.content,
        tool_calls,
    })
}
