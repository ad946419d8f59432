//! Health, readiness, metrics, request ids, problem responses outside handlers, and the
//! OpenAPI document checked against real responses.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, problem};

crate::on_both_backends!(
    health_and_readiness_answer,
    metrics_count_requests_per_route,
    request_ids_are_echoed_or_generated,
    unknown_routes_and_methods_get_problem_documents,
    the_openapi_document_describes_the_real_responses,
);

async fn health_and_readiness_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    // Ready once the live hub (the server runs every role) has read its starting position:
    // until then 503, as a load balancer needs to know.
    let body = crate::helpers::eventually(30, || async {
        let response = app.client.get(app.url("/ready")).send().await.ok()?;
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        assert_eq!(response.status(), StatusCode::OK);
        response.json::<Value>().await.ok()
    })
    .await;
    assert_eq!(body["status"], "ready");
}

async fn metrics_count_requests_per_route(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app.create_task(&user, json!({"title": "t"})).await;
    app.get(
        &user,
        &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
    )
    .await;
    let text = app.metrics_text().await;
    assert!(
        text.lines()
            .any(|line| line.starts_with("tickler_http_requests_total")
                && line.contains("route=\"/api/v1/tasks/{id}\"")
                && line.contains("method=\"GET\"")),
        "{text}"
    );
    assert!(
        text.contains("tickler_http_request_duration_seconds_bucket"),
        "latency histogram missing"
    );
    // Task ids never become label values.
    assert!(!text.contains(task["id"].as_str().unwrap()));
}

async fn request_ids_are_echoed_or_generated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "client-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-42");
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    let generated = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok());
    // A hostile id is replaced, not logged or echoed.
    let response = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "evil\tid with spaces")
        .send()
        .await
        .unwrap();
    let replaced = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(uuid::Uuid::parse_str(&replaced).is_ok());
    let body = problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(body["request_id"], replaced);
}

async fn unknown_routes_and_methods_get_problem_documents(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let body = problem(
        app.client
            .get(app.url("/api/v1/nothing"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], "route_not_found");
    let body = problem(
        app.request(&user, Method::PUT, "/api/v1/tasks")
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    assert_eq!(body["code"], "method_not_allowed");
}

/// Validates `instance` against the component schema `name` of the OpenAPI document.
pub(crate) fn assert_matches_schema(openapi: &Value, name: &str, instance: &Value) {
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": format!("#/components/schemas/{name}"),
        "components": openapi["components"],
    });
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|error| panic!("schema {name} does not compile: {error}"));
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name} mismatch: {errors:?}\n{instance}");
}

/// Collects every `$ref` of `value` that names nothing in `document`.
fn unresolved_references(document: &Value, value: &Value, unresolved: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(reference) = fields.get("$ref").and_then(Value::as_str)
                && reference
                    .strip_prefix('#')
                    .and_then(|pointer| document.pointer(pointer))
                    .is_none()
            {
                unresolved.push(reference.to_owned());
            }
            for field in fields.values() {
                unresolved_references(document, field, unresolved);
            }
        }
        Value::Array(items) => {
            for item in items {
                unresolved_references(document, item, unresolved);
            }
        }
        _ => {}
    }
}

/// The server's OpenAPI document.
pub(crate) async fn openapi_document(app: &TestApp) -> Value {
    app.client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn the_openapi_document_describes_the_real_responses(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let openapi = openapi_document(&app).await;
    assert!(openapi["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut unresolved = Vec::new();
    unresolved_references(&openapi, &openapi, &mut unresolved);
    assert!(unresolved.is_empty(), "unresolvable: {unresolved:?}");
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/tokens/{id}",
        "/api/v1/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/complete",
        "/api/v1/tasks/{id}/reopen",
        "/api/v1/tasks/{id}/occurrences",
        "/api/v1/recurrence/preview",
        "/api/v1/tags",
        "/api/v1/tags/{name}",
        "/api/v1/live",
        "/api/v1/live/tickets",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} is not documented"
        );
    }

    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let session: Value = response.json().await.unwrap();
    assert_matches_schema(&openapi, "SessionBody", &session);
    let user = crate::helpers::TestUser {
        id: session["user"]["id"].as_str().unwrap().to_owned(),
        token: session["access_token"].as_str().unwrap().to_owned(),
    };
    let task = app
        .create_task(
            &user,
            json!({"title": "t", "due_at": "2026-12-01T09:00:00Z", "recurrence": "FREQ=DAILY",
                   "tags": ["x"], "reminders": ["-PT5M"]}),
        )
        .await;
    assert_matches_schema(&openapi, "TaskBody", &task);
    let done: Value = app
        .post(
            &user,
            &format!("/api/v1/tasks/{}/complete", task["id"].as_str().unwrap()),
            &json!({}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_matches_schema(&openapi, "TaskBody", &done);
    let page: Value = app
        .get(&user, "/api/v1/tasks?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_matches_schema(&openapi, "TaskPage", &page);
    let occurrences: Value = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}/occurrences", task["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_matches_schema(&openapi, "Occurrences", &occurrences);
    let preview = app
        .post(
            &user,
            "/api/v1/recurrence/preview",
            &json!({"recurrence": "FREQ=DAILY", "due_at": "2030-01-01T09:00:00Z", "timezone": "UTC", "limit": 2}),
        )
        .await;
    assert_eq!(preview.status(), 200);
    let preview: Value = preview.json().await.unwrap();
    assert_matches_schema(&openapi, "Occurrences", &preview);
    assert_eq!(
        preview["occurrences"],
        json!(["2030-01-01T09:00:00Z", "2030-01-02T09:00:00Z"])
    );
    let me: Value = app.get(&user, "/api/v1/me").await.json().await.unwrap();
    assert_matches_schema(&openapi, "UserBody", &me);
    let token: Value = app
        .post(&user, "/api/v1/tokens", &json!({"name": "cli"}))
        .await
        .json()
        .await
        .unwrap();
    assert_matches_schema(&openapi, "CreatedApiTokenBody", &token);
    let tokens: Value = app.get(&user, "/api/v1/tokens").await.json().await.unwrap();
    assert_matches_schema(&openapi, "ApiTokenBody", &tokens[0]);
    let tags: Value = app.get(&user, "/api/v1/tags").await.json().await.unwrap();
    assert_matches_schema(&openapi, "TagCountBody", &tags[0]);
    let problem_body: Value = app
        .post(&user, "/api/v1/tasks", &json!({"title": ""}))
        .await
        .json()
        .await
        .unwrap();
    assert_matches_schema(&openapi, "Problem", &problem_body);
}
