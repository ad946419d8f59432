//! Every error kind the API maps, reached through real requests: the status `ApiError` gives
//! it and a complete problem document (`support::Answer::problem` checks the media type and
//! every field). `Internal` cannot be caused from outside; `error.rs` tests it directly.

use http::{Method, StatusCode, header};
use serde_json::json;

use crate::support::{PASSWORD, TestRouter};

#[tokio::test]
async fn not_found_is_a_404() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let path = format!("/api/v1/tasks/{}", uuid::Uuid::now_v7());
    router
        .send_empty(&token, Method::GET, &path)
        .await
        .problem(StatusCode::NOT_FOUND, "task_not_found");
}

#[tokio::test]
async fn conflict_is_a_409() {
    let router = TestRouter::new().await;
    router.register("ada@example.org").await;
    let again = json!({"email": "ADA@example.org", "password": PASSWORD});
    router
        .send_anonymous(Method::POST, "/api/v1/auth/register", Some(&again))
        .await
        .problem(StatusCode::CONFLICT, "email_taken");
}

#[tokio::test]
async fn a_failed_precondition_is_a_412_and_changes_nothing() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let id = router.create_task(&token, "t").await;
    let path = format!("/api/v1/tasks/{id}");
    let answer = router
        .send(
            crate::support::authorized(&token, Method::PATCH, &path)
                .header(header::CONTENT_TYPE, "application/merge-patch+json")
                .header(header::IF_MATCH, "\"2\"")
                .body(axum::body::Body::from(r#"{"title": "late"}"#))
                .unwrap(),
        )
        .await;
    let problem = answer.problem(StatusCode::PRECONDITION_FAILED, "version_mismatch");
    assert_eq!(
        problem.detail.as_deref(),
        Some("the task has changed since version 2; it is now version 1")
    );
    let task = router.send_empty(&token, Method::GET, &path).await.json();
    assert_eq!(task["title"], "t");
}

#[tokio::test]
async fn invalid_input_is_a_422_listing_every_field() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let answer = router
        .send_json(
            &token,
            Method::POST,
            "/api/v1/tasks",
            &json!({"title": "", "timezone": "Mars/Olympus_Mons", "due_at": "soon"}),
        )
        .await;
    let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
    let mut fields: Vec<&str> = problem
        .errors
        .iter()
        .map(|error| error.field.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["due_at", "timezone", "title"], "{problem:?}");
    for error in &problem.errors {
        assert!(
            !error.code.is_empty() && !error.message.is_empty(),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_bad_request_is_a_400() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    router
        .send_empty(&token, Method::GET, "/api/v1/tasks?cursor=AAAA")
        .await
        .problem(StatusCode::BAD_REQUEST, "invalid_cursor");
}

#[tokio::test]
async fn unauthenticated_is_a_401_naming_the_scheme() {
    let router = TestRouter::new().await;
    let answer = router.send_anonymous(Method::GET, "/api/v1/me", None).await;
    answer.problem(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(
        answer.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"tickler\""
    );
    // A wrong password is the same kind, and says nothing of which part was wrong.
    let nobody = json!({"email": "nobody@example.org", "password": PASSWORD});
    let answer = router
        .send_anonymous(Method::POST, "/api/v1/auth/login", Some(&nobody))
        .await;
    let problem = answer.problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(problem.detail.as_deref(), Some("invalid email or password"));
}

#[tokio::test]
async fn forbidden_is_a_403() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let created = router
        .send_json(
            &token,
            Method::POST,
            "/api/v1/tokens",
            &json!({"name": "reader", "scopes": ["read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let reader = created.json()["token"].as_str().unwrap().to_owned();
    let answer = router
        .send_empty(&reader, Method::GET, "/api/v1/tasks")
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    router
        .send_json(
            &reader,
            Method::POST,
            "/api/v1/tasks",
            &json!({"title": "t"}),
        )
        .await
        .problem(StatusCode::FORBIDDEN, "insufficient_scope");
    // The refused write wrote nothing.
    let page = router
        .send_empty(&reader, Method::GET, "/api/v1/tasks")
        .await;
    assert_eq!(page.json()["items"], json!([]));
    // Operator routes are forbidden to accounts that are not operators.
    router
        .send_empty(&token, Method::GET, "/api/v1/admin/dead-letters")
        .await
        .problem(StatusCode::FORBIDDEN, "admin_required");
}

#[tokio::test]
async fn too_many_requests_is_a_429_with_retry_after() {
    let router = TestRouter::with(|settings| {
        settings.auth.throttle.failures_per_account = 1;
    })
    .await;
    router.register("ada@example.org").await;
    let wrong = json!({"email": "ada@example.org", "password": "wrong horse battery"});
    router
        .send_anonymous(Method::POST, "/api/v1/auth/login", Some(&wrong))
        .await
        .problem(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let answer = router
        .send_anonymous(Method::POST, "/api/v1/auth/login", Some(&wrong))
        .await;
    answer.problem(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let retry_after: u64 = answer.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
}

#[tokio::test]
async fn unavailable_is_a_503() {
    // This server has no SMTP server, so it cannot mail a verification code.
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let created = router
        .send_json(
            &token,
            Method::POST,
            "/api/v1/notification-channels",
            &json!({"kind": "email", "address": "ada@example.org"}),
        )
        .await;
    assert_eq!(
        created.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let id = created.json()["id"].as_str().unwrap().to_owned();
    router
        .send_empty(
            &token,
            Method::POST,
            &format!("/api/v1/notification-channels/{id}/verification"),
        )
        .await
        .problem(StatusCode::SERVICE_UNAVAILABLE, "email_unavailable");
}
