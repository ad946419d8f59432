//! What the extractors refuse before a use case runs: bodies of the wrong media type or not
//! JSON, missing or bad credentials, ids that name nothing, query parameters out of range.

use axum::body::Body;
use http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::{TestRouter, authorized};

#[tokio::test]
async fn a_body_is_read_only_with_a_json_media_type() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let refused = [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        // A merge patch is a PATCH body; a create takes plain JSON.
        Some("application/merge-patch+json"),
    ];
    for content_type in refused {
        let mut request = authorized(&token, Method::POST, "/api/v1/tasks");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let answer = router
            .send(request.body(Body::from(r#"{"title": "t"}"#)).unwrap())
            .await;
        let problem = answer.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        assert_eq!(
            problem.detail.as_deref(),
            Some("send the body as application/json"),
            "for {content_type:?}"
        );
    }
    // Parameters and case do not matter.
    for content_type in ["application/json; charset=utf-8", "Application/JSON"] {
        let answer = router
            .send(
                authorized(&token, Method::POST, "/api/v1/tasks")
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(r#"{"title": "t"}"#))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "for {content_type:?}");
    }
}

#[tokio::test]
async fn a_patch_takes_a_merge_patch_or_json_and_nothing_else() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let id = router.create_task(&token, "t").await;
    let path = format!("/api/v1/tasks/{id}");
    for (content_type, status) in [
        ("application/merge-patch+json", StatusCode::OK),
        ("application/json", StatusCode::OK),
        ("text/plain", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let answer = router
            .send(
                authorized(&token, Method::PATCH, &path)
                    .header(header::CONTENT_TYPE, content_type)
                    .body(Body::from(r#"{"title": "renamed"}"#))
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, status, "for {content_type}");
    }
    let answer = router
        .send(
            authorized(&token, Method::PATCH, &path)
                .body(Body::from(r#"{"title": "renamed"}"#))
                .unwrap(),
        )
        .await;
    let problem = answer.problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert_eq!(
        problem.detail.as_deref(),
        Some("send the body as application/merge-patch+json or application/json")
    );
}

#[tokio::test]
async fn broken_json_is_a_400_and_json_of_the_wrong_shape_a_422_naming_the_field() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    for body in [
        "{",
        "{\"title\": }",
        "[1,",
        "nul",
        "{\"title\": \"t\"} trailing",
    ] {
        let answer = router
            .send(
                authorized(&token, Method::POST, "/api/v1/tasks")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        let problem = answer.problem(StatusCode::BAD_REQUEST, "malformed_json");
        assert!(problem.errors.is_empty(), "for {body:?}: {problem:?}");
    }
    let cases = [
        (json!({"title": 5}), "title", "invalid_type"),
        (
            json!({"title": "t", "colour": "red"}),
            "colour",
            "unknown_field",
        ),
        (
            json!({"title": "t", "tags": ["a", 7]}),
            "tags[1]",
            "invalid_type",
        ),
        (json!(["t"]), "", "invalid_type"),
    ];
    for (body, field, code) in cases {
        let answer = router
            .send_json(&token, Method::POST, "/api/v1/tasks", &body)
            .await;
        let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let named: Vec<(&str, &str)> = problem
            .errors
            .iter()
            .map(|error| (error.field.as_str(), error.code.as_str()))
            .collect();
        assert_eq!(named, [(field, code)], "for {body}");
    }
}

#[tokio::test]
async fn a_request_without_a_valid_bearer_credential_is_a_401_with_a_challenge() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    // The token with its signature's last character changed.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let cases: Vec<(Option<HeaderValue>, &str)> = vec![
        (None, "no header"),
        (
            Some(HeaderValue::from_static("Basic YWRhOnB3")),
            "another scheme",
        ),
        (Some(HeaderValue::from_static("Bearer")), "no credential"),
        (
            Some(HeaderValue::from_static("Bearer    ")),
            "a blank credential",
        ),
        (
            Some(HeaderValue::from_static("Bearer not-a-token")),
            "garbage",
        ),
        (
            Some(HeaderValue::from_static(
                "Bearer tkl_0000000000000000000000000000",
            )),
            "an unknown API token",
        ),
        (
            Some(HeaderValue::from_str(&format!("Bearer {tampered}")).unwrap()),
            "a forged signature",
        ),
        (
            Some(HeaderValue::from_bytes(b"Bearer \xfftoken").unwrap()),
            "bytes that are not text",
        ),
    ];
    for (authorization, case) in cases {
        let mut request = Request::get("/api/v1/tasks");
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        let answer = router.send(request.body(Body::empty()).unwrap()).await;
        answer.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(
            answer.headers.get(header::WWW_AUTHENTICATE),
            Some(&HeaderValue::from_static("Bearer realm=\"tickler\"")),
            "for {case}"
        );
    }
    // The scheme is case-insensitive (RFC 9110 §11.1) and surrounding space is ignored.
    for authorization in [format!("Bearer {token}"), format!("bearer  {token} ")] {
        let answer = router
            .send(
                Request::get("/api/v1/tasks")
                    .header(header::AUTHORIZATION, authorization.as_str())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "for {authorization:?}");
    }
}

#[tokio::test]
async fn an_id_that_names_nothing_of_the_caller_is_a_404_on_every_route() {
    let router = TestRouter::new().await;
    let ada = router.register("ada@example.org").await;
    let grace = router.register("grace@example.org").await;
    let graces_task = router.create_task(&grace, "hers").await;
    let absent = uuid::Uuid::now_v7();
    for id in ["not-a-uuid", "0", &absent.to_string(), &graces_task] {
        let task_routes = [
            (Method::GET, format!("/api/v1/tasks/{id}")),
            (Method::DELETE, format!("/api/v1/tasks/{id}")),
            (Method::POST, format!("/api/v1/tasks/{id}/complete")),
            (Method::POST, format!("/api/v1/tasks/{id}/reopen")),
            (Method::GET, format!("/api/v1/tasks/{id}/history")),
            (Method::GET, format!("/api/v1/tasks/{id}/series")),
            (Method::GET, format!("/api/v1/tasks/{id}/occurrences")),
        ];
        for (method, path) in task_routes {
            let answer = router.send_empty(&ada, method.clone(), &path).await;
            let problem = answer.problem(StatusCode::NOT_FOUND, "task_not_found");
            assert_eq!(
                problem.detail.as_deref(),
                Some("task not found"),
                "{method} {path}"
            );
        }
        let answer = router
            .send_json(
                &ada,
                Method::PATCH,
                &format!("/api/v1/tasks/{id}"),
                &json!({"title": "mine now"}),
            )
            .await;
        answer.problem(StatusCode::NOT_FOUND, "task_not_found");
    }
    // The other resources' ids are checked the same way.
    let others = [
        (Method::DELETE, "/api/v1/tokens/nope", "api_token_not_found"),
        (
            Method::GET,
            "/api/v1/notification-channels/nope",
            "notification_channel_not_found",
        ),
        (
            Method::GET,
            "/api/v1/conversations/nope",
            "conversation_not_found",
        ),
        (
            Method::DELETE,
            "/api/v1/calendar-feeds/nope",
            "calendar_feed_not_found",
        ),
        (Method::GET, "/api/v1/tasks/resolve/xyz", "task_not_found"),
    ];
    for (method, path, code) in others {
        router
            .send_empty(&ada, method, path)
            .await
            .problem(StatusCode::NOT_FOUND, code);
    }
    // Grace's task is untouched by Ada's attempts.
    let answer = router
        .send_empty(&grace, Method::GET, &format!("/api/v1/tasks/{graces_task}"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["title"], "hers");
    assert_eq!(answer.json()["status"], "todo");
}

#[tokio::test]
async fn query_parameters_out_of_range_are_a_422_naming_the_parameter() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let cases = [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("status=later", "status"),
        ("priority=huge", "priority"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2026-13-01T00:00:00Z", "due_after"),
        ("overdue=maybe", "overdue"),
        ("sort=colour", "sort"),
    ];
    for (query, field) in cases {
        let answer = router
            .send_empty(&token, Method::GET, &format!("/api/v1/tasks?{query}"))
            .await;
        let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        let fields: Vec<&str> = problem
            .errors
            .iter()
            .map(|error| error.field.as_str())
            .collect();
        assert_eq!(fields, [field], "for ?{query}");
    }
    // A cursor this server did not issue is malformed rather than invalid.
    router
        .send_empty(&token, Method::GET, "/api/v1/tasks?cursor=not-a-cursor")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_cursor");
    let id = router.create_task(&token, "t").await;
    let answer = router
        .send_empty(
            &token,
            Method::DELETE,
            &format!("/api/v1/tasks/{id}?scope=everything"),
        )
        .await;
    let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    assert_eq!(problem.errors[0].field, "scope");
    // The refused delete deleted nothing.
    let answer = router
        .send_empty(&token, Method::GET, &format!("/api/v1/tasks/{id}"))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    // In range, the same parameters are accepted.
    let answer = router
        .send_empty(
            &token,
            Method::GET,
            "/api/v1/tasks?limit=200&status=todo&priority=high&overdue=false&sort=-due_at",
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_route_or_method_is_a_problem_document_too() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    router
        .send_empty(&token, Method::GET, "/api/v1/nothing-here")
        .await
        .problem(StatusCode::NOT_FOUND, "route_not_found");
    router
        .send_empty(&token, Method::PUT, "/api/v1/tasks")
        .await
        .problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn a_sane_request_id_is_kept_and_an_unsafe_one_replaced() {
    let router = TestRouter::new().await;
    for (sent, kept) in [
        ("req-42.a:b_c", true),
        ("has space", false),
        ("", false),
        (&"x".repeat(129) as &str, false),
    ] {
        let answer = router
            .send(
                Request::get("/api/v1/tasks")
                    .header("x-request-id", sent)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let problem = answer.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let echoed = problem.request_id.unwrap();
        if kept {
            assert_eq!(echoed, sent);
        } else {
            assert_ne!(echoed, sent);
            assert!(uuid::Uuid::parse_str(&echoed).is_ok(), "{echoed:?}");
        }
    }
}
