//! Client mistakes: each gets a problem document with the right status and code, never a 500.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_fields, problem};

crate::on_both_backends!(
    each_invalid_task_field_is_named_in_a_422,
    unknown_and_privileged_fields_are_refused,
    malformed_json_is_a_400,
    a_body_that_is_not_json_is_a_415,
    a_body_over_one_mebibyte_is_a_413,
    a_patch_that_is_not_an_object_is_a_422,
    hostile_inputs_never_cause_a_server_error,
);

async fn each_invalid_task_field_is_named_in_a_422(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "title", "required"),
        (json!({"title": "   "}), "title", "required"),
        (json!({"title": "x".repeat(501)}), "title", "too_long"),
        (
            json!({"title": "t", "description": "d".repeat(20_001)}),
            "description",
            "too_long",
        ),
        (
            json!({"title": "t", "status": "later"}),
            "status",
            "invalid_type",
        ),
        (
            json!({"title": "t", "priority": "p0"}),
            "priority",
            "invalid_type",
        ),
        (
            json!({"title": "t", "due_at": "next tuesday"}),
            "due_at",
            "invalid_format",
        ),
        (
            json!({"title": "t", "due_at": "2026-11-25"}),
            "due_at",
            "missing_time",
        ),
        (
            json!({"title": "t", "all_day": true}),
            "all_day",
            "requires_due_at",
        ),
        (
            json!({"title": "t", "timezone": "Europe/Atlantis"}),
            "timezone",
            "unknown_time_zone",
        ),
        (
            json!({"title": "t", "tags": ["ok", "not ok"]}),
            "tags[1]",
            "invalid_character",
        ),
        (
            json!({"title": "t", "tags": ["x".repeat(65)]}),
            "tags[0]",
            "too_long",
        ),
        (
            json!({"title": "t", "tags": (0..51).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "tags",
            "too_many",
        ),
        (
            json!({"title": "t", "due_at": "2026-11-25T10:00:00Z", "recurrence": "FREQ=FORTNIGHTLY"}),
            "recurrence",
            "invalid_rrule",
        ),
        (
            json!({"title": "t", "recurrence": "FREQ=DAILY"}),
            "recurrence",
            "requires_due_at",
        ),
        (
            json!({"title": "t", "reminders": ["soon"]}),
            "reminders[0]",
            "invalid_format",
        ),
        (
            json!({"title": "t", "reminders": ["-PT30M"]}),
            "reminders[0]",
            "requires_due_at",
        ),
        (
            json!({"title": "t", "recurrence_mode": "sometimes"}),
            "recurrence_mode",
            "invalid_type",
        ),
        (json!({"title": 42}), "title", "invalid_type"),
        (
            json!({"title": "t", "tags": "home"}),
            "tags",
            "invalid_type",
        ),
    ];
    for (body, field, code) in cases {
        let response = app.post(&user, "/api/v1/tasks", &body).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(problem["code"], "validation_failed");
        let error = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == field)
            .unwrap_or_else(|| panic!("no error on {field} for {body}: {problem}"));
        assert_eq!(error["code"], code, "for {body}: {problem}");
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Several bad fields are reported together.
    let response = app
        .post(
            &user,
            "/api/v1/tasks",
            &json!({"title": "", "timezone": "Nowhere", "tags": ["a b"]}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&body), ["title", "timezone", "tags[0]"]);
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(
        page["items"],
        json!([]),
        "an invalid request created a task"
    );
}

async fn unknown_and_privileged_fields_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app.create_task(&user, json!({"title": "t"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    for field in [
        "owner_id",
        "user_id",
        "id",
        "created_at",
        "updated_at",
        "version",
        "completed_at",
        "is_admin",
        "created_by",
    ] {
        let body = json!({"title": "t", field: "00000000-0000-0000-0000-000000000000"});
        let created = problem(
            app.post(&user, "/api/v1/tasks", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&created), [field]);
        let patched = problem(
            app.patch(&user, &path, &json!({field: "x"})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&patched), [field]);
    }
    let unchanged: Value = app.get(&user, &path).await.json().await.unwrap();
    assert_eq!(unchanged, task);
}

async fn malformed_json_is_a_400(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for body in ["{", "{\"title\": }", "[1,", "nul", "\u{feff}{}"] {
        let response = app
            .request(&user, Method::POST, "/api/v1/tasks")
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(problem["code"], "malformed_json", "for {body:?}");
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::BAD_REQUEST).await;
}

async fn a_body_that_is_not_json_is_a_415(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut request = app
            .request(&user, Method::POST, "/api/v1/tasks")
            .body(r#"{"title": "t"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let body = problem(
            request.send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        )
        .await;
        assert_eq!(body["code"], "unsupported_media_type");
    }
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"title": "t"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

async fn a_body_over_one_mebibyte_is_a_413(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let huge = format!(
        r#"{{"title": "t", "description": "{}"}}"#,
        "x".repeat(1024 * 1024 + 10)
    );
    // The server answers before reading the whole body and closes the connection; a pooled
    // connection reused for the next request would fail with a broken pipe.
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("content-type", "application/json")
        .header("connection", "close")
        .body(huge)
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["code"], "body_too_large");
    // Just under the limit is a validation question, not a size one.
    let big = format!(
        r#"{{"title": "t", "description": "{}"}}"#,
        "x".repeat(1000 * 1000)
    );
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn a_patch_that_is_not_an_object_is_a_422(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app.create_task(&user, json!({"title": "t"})).await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    for body in [json!([1, 2]), json!("title"), json!(null)] {
        problem(
            app.patch(&user, &path, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
}

async fn hostile_inputs_never_cause_a_server_error(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let titles = [
        "'; DROP TABLE tasks; --",
        "\"quoted\" AND NEAR(x y) OR *",
        "emoji 🎉🔥 and RTL عربی",
        "null\u{0}byte",
        "%s%n%x",
    ];
    for title in titles {
        let response = app
            .post(
                &user,
                "/api/v1/tasks",
                &json!({"title": title, "description": title}),
            )
            .await;
        assert!(
            response.status() == StatusCode::CREATED
                || response.status() == StatusCode::UNPROCESSABLE_ENTITY,
            "{title:?}: {}",
            response.status()
        );
    }
    let queries = [
        "\"", "*", "AND", "NEAR(", ":", "&|!", "'", "\\", "(((", "a:*", "🎉", "title:x", "-x",
        "\u{0}",
    ];
    for q in queries {
        let response = app
            .request(&user, Method::GET, "/api/v1/tasks")
            .query(&[("q", q)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "q={q:?}");
    }
    for path in [
        "/api/v1/tasks/not-a-uuid",
        "/api/v1/tasks/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000",
    ] {
        problem(app.get(&user, path).await, StatusCode::NOT_FOUND).await;
    }
}
