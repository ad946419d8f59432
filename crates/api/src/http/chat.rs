//! `/api/v1/chat` and `/api/v1/conversations`: the chat assistant and the conversations it
//! keeps.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use tickler_protocol::chat::{ChatRequest, ChatResponse, ConversationBody, ConversationList};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody, QueryPairs};
use crate::http::json;

/// Sends a message to the assistant. It acts through the same tools as MCP clients (recorded
/// with origin `chat`), asks when a task name is ambiguous or when deleting several tasks, and
/// replies in the message's language (English, Urdu script, Roman Urdu).
#[utoipa::path(
    post, path = "/api/v1/chat", tag = "chat",
    request_body = ChatRequest,
    responses(
        (status = 200, description = "The reply, the tools run and any question asked", body = ChatResponse),
        (status = 404, description = "No such conversation for this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Blank or too long message", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn chat(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<ChatRequest>,
) -> Result<Response, ApiError> {
    let response = state.app.chat(&actor, body.value).await?;
    Ok(json(StatusCode::OK, &response))
}

/// Lists the caller's conversations, most recently active first.
#[utoipa::path(
    get, path = "/api/v1/conversations", tag = "chat",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200, default 50")),
    responses(
        (status = 200, description = "The conversations", body = ConversationList),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list_conversations(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let limit = query.one("limit");
    let items = state
        .app
        .list_conversations(&actor, limit.as_deref())
        .await?;
    Ok(json(StatusCode::OK, &ConversationList { items }))
}

/// Reads a conversation with its most recent messages (at most 200), oldest first.
#[utoipa::path(
    get, path = "/api/v1/conversations/{id}", tag = "chat",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = ConversationBody),
        (status = 404, description = "No such conversation for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn get_conversation(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let conversation = state.app.get_conversation(&actor, &id).await?;
    Ok(json(StatusCode::OK, &conversation))
}
