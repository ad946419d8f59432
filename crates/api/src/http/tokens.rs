//! `/api/v1/tokens`: personal API tokens.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use tickler_app::{ApiToken, AppError};
use tickler_domain::ApiTokenId;
use tickler_protocol::auth::{ApiTokenBody, CreateApiTokenRequest, CreatedApiTokenBody};
use tickler_protocol::problem::Problem;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, JsonBody};
use crate::http::json;

fn token_body(token: &ApiToken) -> ApiTokenBody {
    ApiTokenBody {
        id: token.id,
        name: token.name.clone(),
        prefix: token.prefix.clone(),
        created_at: token.created_at,
        last_used_at: token.last_used_at,
        expires_at: token.expires_at,
        scopes: token.scopes.clone(),
    }
}

/// Creates a personal API token. Its secret is in this response only.
///
/// `scopes` limits what it may do: `read` (GET and read-only MCP tools), `write` (every other
/// method and tool), `mcp` (the `/mcp` endpoint); default all three. A request the token's
/// scopes do not allow is a 403 problem with code `insufficient_scope`.
#[utoipa::path(
    post, path = "/api/v1/tokens", tag = "tokens",
    request_body = CreateApiTokenRequest,
    responses(
        (status = 201, description = "Created; the secret is shown once", body = CreatedApiTokenBody),
        (status = 403, description = "The caller's token lacks `write`, or a scope it asks for (`insufficient_scope`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (an unknown scope, an empty list)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn create_token(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    body: JsonBody<CreateApiTokenRequest>,
) -> Result<Response, ApiError> {
    let (secret, token) = state.app.create_api_token(&actor, body.value).await?;
    Ok(json(
        StatusCode::CREATED,
        &CreatedApiTokenBody {
            token: secret,
            details: token_body(&token),
        },
    ))
}

/// Lists the caller's API tokens (without their secrets), newest first.
#[utoipa::path(
    get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, description = "The tokens", body = Vec<ApiTokenBody>)),
    security(("bearer" = []))
)]
pub async fn list_tokens(
    State(state): State<ApiState>,
    Caller(actor): Caller,
) -> Result<Response, ApiError> {
    let tokens = state.app.list_api_tokens(&actor).await?;
    let bodies: Vec<ApiTokenBody> = tokens.iter().map(token_body).collect();
    Ok(json(StatusCode::OK, &bodies))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn delete_token(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: ApiTokenId = id.parse().map_err(|_| AppError::ApiTokenNotFound)?;
    state.app.revoke_api_token(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
