//! The MCP endpoint: the Model Context Protocol over streamable HTTP at `/mcp`, served by the
//! official Rust SDK (`rmcp`).
//!
//! The tools are `tickler_app::tools`, the registry the chat assistant uses too: this module
//! only translates. `tools/list` renders the registry's definitions as MCP tools, `tools/call`
//! runs [`tickler_app::App::call_tool`] as the authenticated user with origin `mcp`, and an
//! application error becomes an MCP tool error (`isError: true`) whose text is the message the
//! REST API puts in a problem's `detail`.
//!
//! Authentication is the REST API's: a middleware verifies the bearer credential before rmcp
//! sees the request (401 problem otherwise) and leaves the [`Actor`] in the request's
//! extensions, which rmcp hands to the handler with the request parts. The server runs
//! stateless with JSON responses, so any replica answers any request and no session outlives
//! its request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tickler_app::tools::{self, ToolError};
use tickler_app::{Actor, App, Origin};

use crate::ApiState;
use crate::extract::request_actor;

/// Settings of the MCP endpoint.
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// Host names (or `host:port`) accepted in the `Host` header: rmcp refuses others, which
    /// guards a server on localhost against DNS rebinding. A deployment behind a public name
    /// must list that name.
    pub allowed_hosts: Vec<String>,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
        }
    }
}

/// The caller of an MCP request, left by the authentication middleware.
#[derive(Debug, Clone)]
struct McpCaller(Actor);

/// Builds the `/mcp` router: authentication, then rmcp's streamable HTTP service.
pub fn router(state: ApiState, settings: &McpSettings) -> axum::Router<ApiState> {
    let app = Arc::clone(&state.app);
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_allowed_hosts(settings.allowed_hosts.clone());
    let service = StreamableHttpService::new(
        move || Ok(ToolServer::new(Arc::clone(&app))),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    axum::Router::new()
        .route_service("/mcp", service)
        // `route_layer`, not `layer`: a layer would also wrap the fallback of the merged
        // router and answer every unknown route with 401.
        .route_layer(axum::middleware::from_fn_with_state(state, authenticate))
}

/// Verifies the bearer credential like every REST route, as origin `mcp`.
async fn authenticate(State(state): State<ApiState>, mut request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match request_actor(&parts, &state, Origin::Mcp).await {
        Ok(actor) => {
            parts.extensions.insert(McpCaller(actor));
            request = Request::from_parts(parts, body);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

/// The MCP server handler: the tool registry, run as the request's caller.
#[derive(Debug, Clone)]
struct ToolServer {
    app: Arc<App>,
}

impl ToolServer {
    fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// Renders a registry entry as an MCP tool.
fn mcp_tool(definition: &tools::ToolDefinition) -> Tool {
    let schema = definition
        .input_schema
        .as_object()
        .cloned()
        .unwrap_or_default();
    Tool::new(definition.name, definition.description, Arc::new(schema)).with_annotations(
        ToolAnnotations::new()
            .read_only(definition.read_only)
            .destructive(definition.destructive),
    )
}

impl ServerHandler for ToolServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("tickler", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "tickler is the user's task manager. Use quick_add for a sentence, create_task for \
                 explicit fields, list_tasks to find task ids, then get/update/complete/reopen/delete \
                 by id. Instants are RFC 3339; dates are read in the user's time zone.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(
            tools::definitions().iter().map(mcp_tool).collect(),
        ))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::definition(name).map(mcp_tool)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let caller = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<McpCaller>())
            .cloned()
            .ok_or_else(|| ErrorData::invalid_request("the request is not authenticated", None))?;
        let arguments = request
            .arguments
            .map(serde_json::Value::Object)
            .unwrap_or(serde_json::Value::Null);
        let result = match self
            .app
            .call_tool(&caller.0, &request.name, arguments)
            .await
        {
            Ok(value) => CallToolResult::structured(value),
            Err(ToolError::UnknownTool(name)) => {
                return Err(ErrorData::invalid_params(
                    format!("unknown tool {name:?}"),
                    None,
                ));
            }
            Err(ToolError::Failed(error)) => {
                let status = crate::error::status_of(error.kind());
                if status.is_server_error() {
                    tracing::error!(error = %error, code = error.code(), "tool call failed");
                }
                CallToolResult::error(vec![ContentBlock::text(error.public_message())])
            }
        };
        Ok(result.into())
    }
}
