//! The OpenAPI 3.1 document, assembled from the handlers' `#[utoipa::path]` attributes.

use serde_json::{Map, Value, json};
use tickler_protocol::problem::PROBLEM_JSON;
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
    components(schemas(
        tickler_protocol::problem::Problem,
        tickler_protocol::task::DeleteScope,
        tickler_protocol::time_zone::TimeZoneName,
        tickler_protocol::tag::TagName,
        tickler_protocol::auth::TokenScope,
        tickler_protocol::task::StatusFilter,
        tickler_protocol::port::ExportFormat,
    )),
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
        .routes(routes!(tasks::preview_recurrence))
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

/// The methods a path item may hold an operation under.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Completes the assembled document with what the HTTP layer, the extractors and the
/// authentication give every route, so that each operation lists every status code it can
/// answer: 401 and 403 (`insufficient_scope`) on authenticated routes; 400, 413, 415 and 422 on
/// routes that read a body; 500 and 503 everywhere, with `Retry-After` where the server sends
/// it. A parameter is never `null` (it is absent instead), and an optional body is absent
/// rather than `null`. Returns the document as served at `/api/v1/openapi.json`.
pub fn complete(openapi: &utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(openapi).unwrap_or(Value::Null);
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        add_rules_between_fields(schemas);
    }
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, operation) in item.iter_mut() {
                if METHODS.contains(&method.as_str()) {
                    complete_operation(operation);
                }
            }
        }
    }
    document
}

/// States the rules between fields of request bodies, which the derived schemas cannot: a
/// field that another one needs, one field of a pair, the fields each channel kind takes.
fn add_rules_between_fields(schemas: &mut Map<String, Value>) {
    let rules = [
        (
            "SnoozeRequest",
            "oneOf",
            json!([
                {"required": ["minutes"], "properties": {"minutes": {"type": "integer"}}},
                {"required": ["until"], "properties": {"until": {"type": "string"}}}
            ]),
        ),
        (
            "UpdateMeRequest",
            "dependentSchemas",
            json!({"password": {
                "if": {"properties": {"password": {"type": "string"}}},
                "then": {"required": ["current_password"], "properties": {"current_password": {"type": "string"}}}
            }}),
        ),
        (
            "CreateChannelRequest",
            "oneOf",
            json!([
                {"required": ["kind", "url"], "properties": {
                    "kind": {"const": "webhook"}, "url": {"type": "string"}, "address": {"type": "null"}}},
                {"required": ["kind", "address"], "properties": {
                    "kind": {"const": "email"}, "address": {"type": "string"}, "url": {"type": "null"}}},
                {"required": ["kind"], "properties": {
                    "kind": {"const": "in_app"}, "url": {"type": "null"}, "address": {"type": "null"}}}
            ]),
        ),
    ];
    for (name, keyword, rule) in rules {
        if let Some(schema) = schemas.get_mut(name).and_then(Value::as_object_mut) {
            schema.insert(keyword.to_owned(), rule);
        }
    }
}

fn complete_operation(operation: &mut Value) {
    if let Some(parameters) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    {
        for parameter in parameters.iter_mut() {
            if let Some(schema) = parameter.get_mut("schema") {
                without_null(schema);
            }
        }
    }
    let mut body_types = Vec::new();
    let mut body_required = false;
    if let Some(body) = operation.get_mut("requestBody") {
        body_required = body.get("required").and_then(Value::as_bool) == Some(true);
        if let Some(content) = body.get_mut("content").and_then(Value::as_object_mut) {
            for (media_type, media) in content.iter_mut() {
                body_types.push(media_type.clone());
                if let Some(schema) = media.get_mut("schema") {
                    without_null(schema);
                }
            }
        }
    }
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|requirements| !requirements.is_empty());
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if secured {
        add_response(
            responses,
            "401",
            "No valid credentials: the bearer token (or the web app's cookie) is missing, \
             malformed, expired or revoked",
        );
        add_response(
            responses,
            "403",
            "The token lacks the scope this method needs (`insufficient_scope`): `read` for \
             GET, `write` for the others",
        );
    }
    let multipart = body_types
        .iter()
        .any(|media| media == "multipart/form-data");
    if multipart {
        add_response(
            responses,
            "400",
            "A malformed multipart body, or one cut short",
        );
        add_response(
            responses,
            "413",
            &format!("An upload larger than {} bytes", crate::MAX_IMPORT_BYTES),
        );
        add_response(responses, "415", "A body not sent as multipart/form-data");
    } else if !body_types.is_empty() {
        add_response(
            responses,
            "400",
            "Malformed JSON, or a body that could not be read",
        );
        add_response(
            responses,
            "413",
            &format!("A body larger than {} bytes", crate::MAX_BODY_BYTES),
        );
        add_response(
            responses,
            "415",
            &format!("A body not sent as {}", body_types.join(" or ")),
        );
        add_response(
            responses,
            "422",
            if body_required {
                "Invalid fields: a wrong type, a missing, unknown or invalid field"
            } else {
                "Invalid fields: a body that is not a JSON object, a wrong type, an unknown or \
                 invalid field"
            },
        );
    }
    add_response(
        responses,
        "500",
        "An internal error (logged; the problem says no more)",
    );
    add_response(
        responses,
        "503",
        "The database is unavailable, or the request took longer than \
         `server.request_timeout_seconds`",
    );
    for status in ["429", "503"] {
        if let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut) {
            let headers = response
                .entry("headers")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            if let Some(headers) = headers {
                headers.entry("Retry-After").or_insert_with(|| {
                    json!({
                        "description": "Seconds to wait before trying again (sent with 429, and with 503 when the server is busy hashing passwords)",
                        "schema": {"type": "integer", "minimum": 0}
                    })
                });
            }
        }
    }
    if let Some(response) = responses.get_mut("401").and_then(Value::as_object_mut) {
        let headers = response
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(headers) = headers {
            headers.entry("WWW-Authenticate").or_insert_with(|| {
                json!({
                    "description": "`Bearer realm=\"tickler\"`",
                    "required": true,
                    "schema": {"type": "string"}
                })
            });
        }
    }
}

/// Adds a problem response for `status`, or appends `description` to the one documented.
fn add_response(responses: &mut Map<String, Value>, status: &str, description: &str) {
    match responses.get_mut(status) {
        Some(existing) => {
            if let Some(text) = existing.get("description").and_then(Value::as_str)
                && !text.contains(description)
            {
                existing["description"] = Value::String(format!("{text}. Or: {description}"));
            }
        }
        None => {
            responses.insert(
                status.to_owned(),
                json!({
                    "description": description,
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                }),
            );
        }
    }
}

/// Removes `null` from a schema's types: `{"type": ["string", "null"]}` becomes
/// `{"type": "string"}`, `{"oneOf": [{"type": "null"}, X]}` becomes X.
fn without_null(schema: &mut Value) {
    if let Some(types) = schema.get_mut("type").and_then(Value::as_array_mut) {
        types.retain(|kind| kind != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
    }
    let replacement = schema
        .get("oneOf")
        .and_then(Value::as_array)
        .and_then(|variants| {
            let rest: Vec<&Value> = variants
                .iter()
                .filter(|variant| variant.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            (rest.len() == 1 && variants.len() == 2).then(|| rest[0].clone())
        });
    if let Some(replacement) = replacement
        && let Some(object) = schema.as_object_mut()
    {
        object.remove("oneOf");
        if let Some(fields) = replacement.as_object() {
            for (key, value) in fields {
                object.insert(key.clone(), value.clone());
            }
        }
    }
}
