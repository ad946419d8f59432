//! The HTTP front door of tickler: the axum router under `/api/v1`, bearer authentication,
//! RFC 9457 problem responses, request ids, Prometheus metrics, health checks and the OpenAPI
//! document generated from the handlers.
//!
//! Handlers parse HTTP, call [`tickler_app::App`] and render its results; they never touch
//! storage. Every error goes through [`error::ApiError`], the one place that maps an
//! application error kind to a status code.

pub mod browser_session;
pub mod client_address;
pub mod error;
mod extract;
mod http;
pub mod live;
pub mod mcp;
mod metrics;
mod middleware;
mod openapi;

use std::sync::Arc;
use std::time::Duration;

use tickler_app::{App, DeadLetterReplayer};

pub use metrics::install_recorder;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest import upload (`POST /api/v1/imports`), which streams rather than being held.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Requests taking longer are answered with 503.
    pub request_timeout: Duration,
    /// Whether to serve `/api/v1` and `/mcp` (the `api` role); without it only health,
    /// readiness, metrics and the extension routes are served.
    pub serve_api: bool,
    /// The MCP endpoint.
    pub mcp: mcp::McpSettings,
    /// Whether `/metrics` is served here (false when it has a listener of its own,
    /// [`metrics_router`]).
    pub serve_metrics: bool,
    /// The address people reach this server by (`https://tickler.example.org`), which makes
    /// calendar feed addresses absolute; `None`: they are paths.
    pub public_url: Option<String>,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: client_address::TrustedProxies,
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            serve_api: true,
            mcp: mcp::McpSettings::default(),
            serve_metrics: true,
            public_url: None,
            trusted_proxies: client_address::TrustedProxies::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The use cases.
    pub app: Arc<App>,
    /// Renders the Prometheus metrics.
    pub metrics: metrics::MetricsHandle,
    /// Replays dead letters, when this process runs the consumers.
    pub replayer: Option<Arc<dyn DeadLetterReplayer>>,
    /// See [`ApiSettings::public_url`].
    pub public_url: Option<Arc<str>>,
    /// The live stream's fan-out, when this process has the realtime role.
    pub live: Option<Arc<live::LiveHub>>,
}

/// What the process adds to the API besides the use cases.
#[derive(Debug, Default)]
pub struct ApiExtensions {
    /// Replays dead letters (present when this process runs consumers).
    pub replayer: Option<Arc<dyn DeadLetterReplayer>>,
    /// Routes served beside the API, outside `/api/v1` and its authentication (the Dapr
    /// subscription routes).
    pub routes: Option<axum::Router>,
    /// The live stream's fan-out (the realtime role): serves `/api/v1/live` and its tickets.
    pub live: Option<Arc<live::LiveHub>>,
}

/// Builds the complete router: API, health, metrics and OpenAPI, with every middleware.
pub fn router(app: Arc<App>, settings: &ApiSettings, extensions: ApiExtensions) -> axum::Router {
    let state = ApiState {
        app,
        metrics: install_recorder(),
        replayer: extensions.replayer,
        public_url: settings.public_url.as_deref().map(Arc::from),
        live: extensions.live,
    };
    let mut routes = http::operations::router(settings.serve_metrics);
    let mut uploads = axum::Router::new();
    if settings.serve_api {
        let (api, mut openapi) = openapi::api_router().split_for_parts();
        let (upload_routes, upload_openapi) = openapi::upload_router().split_for_parts();
        openapi.merge(upload_openapi);
        openapi.merge(<live::LiveDoc as utoipa::OpenApi>::openapi());
        uploads = uploads.merge(upload_routes);
        let openapi = Arc::new(openapi::complete(&openapi));
        routes = routes.merge(api).route(
            "/api/v1/openapi.json",
            axum::routing::get(move || {
                let openapi = openapi.clone();
                async move { axum::Json(openapi.as_ref().clone()) }
            }),
        );
        routes = routes.merge(mcp::router(state.clone(), &settings.mcp));
    }
    if state.live.is_some() {
        routes = routes.merge(live::router());
    }
    let uploads = uploads.with_state(state.clone());
    let mut router = routes.with_state(state);
    if let Some(routes) = extensions.routes {
        router = router.merge(routes);
    }
    middleware::wrap(router, uploads, settings)
}

/// A router serving only `/metrics`, for a listener of its own (so the public port does not
/// expose them).
pub fn metrics_router() -> axum::Router {
    http::operations::metrics_router(install_recorder())
}
