//! The OpenAPI 3.1 document, assembled from the handlers' `#[utoipa::path]` attributes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ApiState;
use crate::http::{
    audit, auth, chat, feeds, notifications, parse, port, reminders, tags, tasks, tokens,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tickler",
        description = "Self-hosted task manager. Errors are RFC 9457 problem documents (`application/problem+json`) with a stable `code`.",
    ),
    modifiers(&BearerAuth),
    components(schemas(tickler_protocol::problem::Problem)),
    tags(
        (name = "accounts", description = "Registration, login and profile"),
        (name = "tokens", description = "Personal API tokens"),
        (name = "tasks", description = "Tasks"),
        (name = "tags", description = "Tags"),
        (name = "audit", description = "The audit trail"),
        (name = "operations", description = "Operator routes"),
        (name = "natural language", description = "Reading sentences and creating the tasks they describe"),
        (name = "chat", description = "The chat assistant and its conversations"),
        (name = "notifications", description = "Notification channels (in-app, webhook, e-mail), in-app notifications and their deliveries"),
        (name = "reminders", description = "Scheduled reminders: the upcoming list and snoozing"),
        (name = "import and export", description = "Importing Todoist, Taskwarrior, TickTick, iCalendar and tickler files; exporting everything"),
        (name = "calendar feeds", description = "Secret iCalendar addresses of a user's tasks, for calendar apps to subscribe to"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A JWT access token from /api/v1/auth/login or /refresh, or a personal API token (tkl_...). The web app authenticates with cookies instead (see ARCHITECTURE.md)",
                    ))
                    .build(),
            ),
        );
    }
}

/// Every documented API route.
pub fn api_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::logout_all))
        .routes(routes!(auth::me, auth::update_me))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(tasks::create_task, tasks::list_tasks))
        .routes(routes!(
            tasks::get_task,
            tasks::patch_task,
            tasks::delete_task
        ))
        .routes(routes!(tasks::resolve_task))
        .routes(routes!(tasks::complete_task))
        .routes(routes!(tasks::reopen_task))
        .routes(routes!(tasks::occurrences))
        .routes(routes!(tasks::series))
        .routes(routes!(parse::parse))
        .routes(routes!(parse::quick_add))
        .routes(routes!(chat::chat))
        .routes(routes!(chat::list_conversations))
        .routes(routes!(chat::get_conversation))
        .routes(routes!(tags::list_tags))
        .routes(routes!(port::export))
        .routes(routes!(tags::rename_tag, tags::delete_tag))
        .routes(routes!(audit::audit))
        .routes(routes!(audit::history))
        .routes(routes!(audit::dead_letters))
        .routes(routes!(audit::replay))
        .routes(routes!(
            notifications::create_channel,
            notifications::list_channels
        ))
        .routes(routes!(
            notifications::get_channel,
            notifications::update_channel,
            notifications::delete_channel
        ))
        .routes(routes!(notifications::rotate_secret))
        .routes(routes!(notifications::verify_channel))
        .routes(routes!(notifications::resend_verification))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::mark_read))
        .routes(routes!(notifications::deliveries))
        .routes(routes!(reminders::list_reminders))
        .routes(routes!(reminders::snooze_reminder))
        .routes(routes!(feeds::create_feed, feeds::list_feeds))
        .routes(routes!(feeds::delete_feed))
        .routes(routes!(feeds::serve_feed))
}

/// The upload routes (imports): documented with the others, served with their own body limit
/// and without the request timeout, since an import lasts as long as its upload.
pub fn upload_router() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(port::import))
}
