//! Who is acting and through which front door; carried into every use case and every event.

use tickler_domain::User;

use crate::auth::Scopes;

/// Which front door a change came through; recorded on events and in the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The REST API.
    Api,
    /// The chat assistant.
    Chat,
    /// An MCP client.
    Mcp,
    /// An import of another task manager's file (or of a tickler export).
    Import,
    /// tickler itself (a consumer creating the next recurring instance, ...).
    System,
}

impl Origin {
    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Origin::Api => "api",
            Origin::Chat => "chat",
            Origin::Mcp => "mcp",
            Origin::Import => "import",
            Origin::System => "system",
        }
    }
}

/// An authenticated caller and the context of its request.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The authenticated user; every query is scoped to them.
    pub user: User,
    /// The front door.
    pub origin: Origin,
    /// The request id, copied into events as `correlationid`.
    pub correlation_id: Option<String>,
    /// The W3C `traceparent` of the request, copied into events.
    pub traceparent: Option<String>,
    /// What the credential may do (every scope for a signed-in session).
    pub scopes: Scopes,
}

impl Actor {
    /// An actor for `user` through `origin`, with no request context.
    pub fn new(user: User, origin: Origin) -> Self {
        Self {
            user,
            origin,
            correlation_id: None,
            traceparent: None,
            scopes: Scopes::ALL,
        }
    }
}
