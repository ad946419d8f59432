//! `/api/v1/tags`: usage counts, rename with merge, delete.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, error_fields, problem};

crate::on_both_backends!(
    tags_are_listed_by_usage_and_filtered_by_prefix,
    renaming_a_tag_merges_into_an_existing_one,
    deleting_a_tag_removes_it_from_every_task,
    unknown_tags_and_invalid_names_are_client_errors,
);

async fn tags_are_listed_by_usage_and_filtered_by_prefix(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    app.create_task(&user, json!({"title": "1", "tags": ["work", "home"]}))
        .await;
    app.create_task(&user, json!({"title": "2", "tags": ["work", "health"]}))
        .await;
    app.create_task(
        &user,
        json!({"title": "3", "tags": ["work", "home", "wishlist"]}),
    )
    .await;
    let all: Value = app.get(&user, "/api/v1/tags").await.json().await.unwrap();
    assert_eq!(
        all,
        json!([{"name": "work", "count": 3}, {"name": "home", "count": 2},
               {"name": "health", "count": 1}, {"name": "wishlist", "count": 1}])
    );
    let prefixed: Value = app
        .get(&user, "/api/v1/tags?prefix=W")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        prefixed,
        json!([{"name": "work", "count": 3}, {"name": "wishlist", "count": 1}])
    );
    let limited: Value = app
        .get(&user, "/api/v1/tags?limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(limited, json!([{"name": "work", "count": 3}]));
    // A prefix with LIKE wildcards matches literally.
    let literal: Value = app
        .get(&user, "/api/v1/tags?prefix=%25")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(literal, json!([]));
    let underscore: Value = app
        .get(&user, "/api/v1/tags?prefix=h_")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(underscore, json!([]));
}

async fn renaming_a_tag_merges_into_an_existing_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let both = app
        .create_task(&user, json!({"title": "both", "tags": ["job", "work"]}))
        .await;
    let old = app
        .create_task(&user, json!({"title": "old", "tags": ["job", "urgent"]}))
        .await;
    let response = app
        .patch(&user, "/api/v1/tags/job", &json!({"name": "Work"}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"name": "work", "tasks_changed": 2}));
    let both: Value = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}", both["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(both["tags"], json!(["work"]));
    assert_eq!(both["version"], 2);
    let old: Value = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}", old["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(old["tags"], json!(["work", "urgent"]));
    let tags: Value = app.get(&user, "/api/v1/tags").await.json().await.unwrap();
    assert_eq!(
        tags,
        json!([{"name": "work", "count": 2}, {"name": "urgent", "count": 1}])
    );
}

async fn deleting_a_tag_removes_it_from_every_task(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app
        .create_task(&user, json!({"title": "t", "tags": ["a", "b"]}))
        .await;
    app.create_task(&user, json!({"title": "u", "tags": ["b"]}))
        .await;
    let body: Value = app
        .delete(&user, "/api/v1/tags/b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, json!({"name": null, "tasks_changed": 2}));
    let task: Value = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(task["tags"], json!(["a"]));
    let listed: Value = app
        .get(&user, "/api/v1/tasks?tag=b")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
}

async fn unknown_tags_and_invalid_names_are_client_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    app.create_task(&user, json!({"title": "t", "tags": ["a"]}))
        .await;
    let body = problem(
        app.patch(&user, "/api/v1/tags/nope", &json!({"name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(body["code"], "tag_not_found");
    problem(
        app.delete(&user, "/api/v1/tags/nope").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let body = problem(
        app.patch(&user, "/api/v1/tags/a", &json!({"name": "has space"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&body), ["name"]);
    problem(
        app.patch(&user, "/api/v1/tags/a", &json!({"name": "b", "extra": 1}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
