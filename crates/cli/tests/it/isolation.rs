//! Every query is scoped to its user: another user's task, token or tag is a 404 everywhere,
//! never a 403 that would confirm it exists, and never appears in a list.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, ids, problem};

crate::on_both_backends!(
    another_users_task_is_a_404_on_every_route,
    lists_searches_and_tags_show_only_the_callers_data,
    another_users_api_token_cannot_be_revoked,
);

async fn another_users_task_is_a_404_on_every_route(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.register("alice@example.org").await;
    let bob = app.register("bob@example.org").await;
    let task = app
        .create_task(
            &alice,
            json!({"title": "secret plan", "due_at": "2026-12-01T09:00:00Z",
                   "recurrence": "FREQ=DAILY", "tags": ["private"]}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"title": "mine now"})),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/complete"), None),
        (Method::POST, format!("{path}/reopen"), None),
        (Method::GET, format!("{path}/occurrences"), None),
    ];
    let mut combinations = 0;
    for (method, route, body) in attempts {
        let mut request = app.request(&bob, method.clone(), &route);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/merge-patch+json")
                .body(body.to_string());
        }
        let problem = problem(request.send().await.unwrap(), StatusCode::NOT_FOUND).await;
        assert_eq!(problem["code"], "task_not_found", "{method} {route}");
        combinations += 1;
    }
    assert_eq!(combinations, 6);
    // Bob's tag routes do not see Alice's tag.
    problem(
        app.patch(&bob, "/api/v1/tags/private", &json!({"name": "stolen"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        app.delete(&bob, "/api/v1/tags/private").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // Alice's task is untouched.
    let unchanged: Value = app.get(&alice, &path).await.json().await.unwrap();
    assert_eq!(unchanged, task);
}

async fn lists_searches_and_tags_show_only_the_callers_data(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.register("alice@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mine = app
        .create_task(
            &bob,
            json!({"title": "dentist appointment", "tags": ["health"]}),
        )
        .await;
    app.create_task(
        &alice,
        json!({"title": "dentist bill", "tags": ["health", "money"]}),
    )
    .await;
    let page: Value = app.get(&bob, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(ids(&page), [mine["id"].as_str().unwrap()]);
    let search: Value = app
        .get(&bob, "/api/v1/tasks?q=dentist")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&search), [mine["id"].as_str().unwrap()]);
    let filtered: Value = app
        .get(&bob, "/api/v1/tasks?tag=money")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"], json!([]));
    let tags: Value = app.get(&bob, "/api/v1/tags").await.json().await.unwrap();
    assert_eq!(tags, json!([{"name": "health", "count": 1}]));
}

async fn another_users_api_token_cannot_be_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.register("alice@example.org").await;
    let bob = app.register("bob@example.org").await;
    let token: Value = app
        .post(&alice, "/api/v1/tokens", &json!({"name": "cli"}))
        .await
        .json()
        .await
        .unwrap();
    let path = format!("/api/v1/tokens/{}", token["id"].as_str().unwrap());
    problem(app.delete(&bob, &path).await, StatusCode::NOT_FOUND).await;
    let listed: Value = app.get(&bob, "/api/v1/tokens").await.json().await.unwrap();
    assert_eq!(listed, json!([]));
    let alices: Value = app
        .get(&alice, "/api/v1/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alices.as_array().unwrap().len(), 1);
}
