//! Creating, reading, editing, completing, reopening and deleting tasks; idempotency and
//! conditional requests.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tickler_domain::{Priority, TaskStatus};
use tickler_protocol::task::{DeleteScope, TaskRequest};

use crate::helpers::{Backend, TestApp, problem, refused};

crate::on_both_backends!(
    creating_a_task_returns_201_with_location_etag_and_every_field,
    a_task_can_be_read_back_with_its_etag_and_a_304_when_unchanged,
    a_merge_patch_changes_only_what_it_names_and_null_resets_a_field,
    a_stale_if_match_is_refused_with_412_and_a_current_one_succeeds,
    completing_and_reopening_move_the_status_and_completed_at,
    setting_status_done_by_patch_completes_the_task,
    deleting_a_task_makes_it_gone,
    a_retry_with_the_same_idempotency_key_creates_one_task,
    an_idempotency_key_reused_with_another_body_is_refused,
    idempotency_records_are_purged_in_the_background_after_their_retention,
    concurrent_retries_with_one_idempotency_key_create_one_task,
    an_idempotency_record_holding_an_http_response_still_replays_in_full,
    concurrent_patches_without_if_match_all_apply,
);

async fn creating_a_task_returns_201_with_location_etag_and_every_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register_in("ada@example.org", "Asia/Karachi").await;
    let response = app
        .post(
            &user,
            "/api/v1/tasks",
            &json!({
                "title": "Pay rent",
                "description": "to the landlord",
                "priority": "high",
                "due_at": "2026-12-01T09:00:00+05:00",
                "tags": ["Home", "money"],
                "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1",
                "reminders": ["-P1D", "2026-11-30T08:00:00Z"]
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let task: Value = response.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/tasks/{id}"));
    assert_eq!(etag, "\"1\"");
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    assert_eq!(task["title"], "Pay rent");
    assert_eq!(task["description"], "to the landlord");
    assert_eq!(task["status"], "todo");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["due_at"], "2026-12-01T04:00:00Z");
    assert_eq!(task["all_day"], false);
    assert_eq!(task["timezone"], "Asia/Karachi");
    assert_eq!(task["tags"], json!(["home", "money"]));
    assert_eq!(task["recurrence"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(task["recurrence_mode"], "from_due");
    assert_eq!(task["reminders"], json!(["-P1D", "2026-11-30T08:00:00Z"]));
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(task["version"], 1);
    assert_eq!(task["created_at"], task["updated_at"]);
}

async fn a_task_can_be_read_back_with_its_etag_and_a_304_when_unchanged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let created = app
        .create_task(
            &user,
            json!({"title": "Buy milk", "due_at": "2026-11-25", "all_day": true}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}", created["id"].as_str().unwrap());
    let response = app.get(&user, &path).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"1\"");
    let task: Value = response.json().await.unwrap();
    assert_eq!(task, created);
    assert_eq!(task["due_at"], "2026-11-25T00:00:00Z");
    assert_eq!(task["all_day"], true);

    let response = app
        .request(&user, Method::GET, &path)
        .header("if-none-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = app
        .request(&user, Method::GET, &path)
        .header("if-none-match", "\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_merge_patch_changes_only_what_it_names_and_null_resets_a_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let client = app.client_of(&user);
    let created = client
        .create_task(&TaskRequest {
            title: Some("Draft".into()),
            priority: Some(Priority::Urgent),
            tags: Some(vec!["a".into()]),
            description: Some("d".into()),
            ..TaskRequest::default()
        })
        .await
        .unwrap();
    let id = created.id.to_string();
    let task = client
        .patch_task(
            &id,
            &json!({"title": "Final", "priority": null, "tags": ["a", "b"]}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(task.version, 2);
    assert_eq!(task.title, "Final");
    assert_eq!(task.priority, Priority::None);
    assert_eq!(task.tags, ["a", "b"]);
    assert_eq!(task.description, "d");
    assert_eq!(task.created_at, created.created_at);
    assert_ne!(task.updated_at, created.updated_at);

    // A patch that changes nothing does not bump the version.
    let task = client
        .patch_task(&id, &json!({"title": "Final"}), None)
        .await
        .unwrap();
    assert_eq!(task.version, 2);

    // Plain application/json is accepted too, and the answer's ETag is the new version.
    let response = app
        .request(&user, Method::PATCH, &format!("/api/v1/tasks/{id}"))
        .json(&json!({"description": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["etag"], "\"3\"");
    let task: Value = response.json().await.unwrap();
    assert_eq!(task["description"], "");
}

async fn a_stale_if_match_is_refused_with_412_and_a_current_one_succeeds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let client = app.client_of(&user);
    let created = client.create_task(&titled("t")).await.unwrap();
    let id = created.id.to_string();
    let path = format!("/api/v1/tasks/{id}");
    client
        .patch_task(&id, &json!({"title": "t2"}), None)
        .await
        .unwrap();
    let stale = client
        .patch_task(&id, &json!({"title": "lost update"}), Some(1))
        .await;
    assert_eq!(
        refused(stale, StatusCode::PRECONDITION_FAILED).code,
        "version_mismatch"
    );
    let current = client
        .patch_task(&id, &json!({"title": "t3"}), Some(2))
        .await
        .unwrap();
    assert_eq!(current.version, 3);
    for (method, suffix) in [(Method::POST, "/complete"), (Method::DELETE, "")] {
        let response = app
            .request(&user, method, &format!("{path}{suffix}"))
            .header("if-match", "\"1\"")
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::PRECONDITION_FAILED).await;
    }
    let garbage = app
        .request(&user, Method::DELETE, &path)
        .header("if-match", "not-an-etag")
        .send()
        .await
        .unwrap();
    problem(garbage, StatusCode::PRECONDITION_FAILED).await;
    let task = client.get_task(&id).await.unwrap();
    assert_eq!(task.title, "t3");
    assert_eq!(task.version, 3);
}

async fn completing_and_reopening_move_the_status_and_completed_at(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let client = app.client_of(&user);
    let id = client
        .create_task(&titled("t"))
        .await
        .unwrap()
        .id
        .to_string();
    let done = client.complete_task(&id).await.unwrap();
    assert_eq!(done.status, TaskStatus::Done);
    assert!(done.completed_at.is_some());
    assert_eq!(done.version, 2);
    // Completing again changes nothing.
    let again = client.complete_task(&id).await.unwrap();
    assert_eq!(again, done);
    let reopened = client.reopen_task(&id).await.unwrap();
    assert_eq!(reopened.status, TaskStatus::Todo);
    assert_eq!(reopened.completed_at, None);
    assert_eq!(reopened.version, 3);
    // With a body, as the API documents them: the same.
    let path = format!("/api/v1/tasks/{id}");
    let done: Value = app
        .post(&user, &format!("{path}/complete"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["status"], "done");
    assert_eq!(done["version"], 4);
}

async fn setting_status_done_by_patch_completes_the_task(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let client = app.client_of(&user);
    let created = client
        .create_task(&TaskRequest {
            status: Some(TaskStatus::InProgress),
            ..titled("t")
        })
        .await
        .unwrap();
    assert_eq!(created.status, TaskStatus::InProgress);
    let task = client
        .patch_task(&created.id.to_string(), &json!({"status": "done"}), None)
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Done);
    assert!(task.completed_at.is_some());
}

async fn deleting_a_task_makes_it_gone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let client = app.client_of(&user);
    let created = client
        .create_task(&TaskRequest {
            tags: Some(vec!["x".into()]),
            ..titled("t")
        })
        .await
        .unwrap();
    let id = created.id.to_string();
    client.delete_task(&id, DeleteScope::This).await.unwrap();
    let gone = refused(client.get_task(&id).await, StatusCode::NOT_FOUND);
    assert_eq!(gone.code, "task_not_found");
    refused(
        client.delete_task(&id, DeleteScope::This).await,
        StatusCode::NOT_FOUND,
    );
    let page = client.list_tasks().await.unwrap();
    assert_eq!(page.items, []);
    assert_eq!(page.next_cursor, None);
    let tags: Value = app.get(&user, "/api/v1/tags").await.json().await.unwrap();
    assert_eq!(tags, json!([]));
}

/// A creation naming only the title.
fn titled(title: &str) -> TaskRequest {
    TaskRequest {
        title: Some(title.into()),
        ..TaskRequest::default()
    }
}

async fn a_retry_with_the_same_idempotency_key_creates_one_task(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let body = r#"{"title": "only once"}"#;
    let send = || {
        app.request(&user, Method::POST, "/api/v1/tasks")
            .header("content-type", "application/json")
            .header("idempotency-key", "retry-123")
            .body(body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_location = first.headers()["location"].clone();
    let first_body: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["location"], first_location);
    assert_eq!(second.headers()["etag"], "\"1\"");
    let second_body: Value = second.json().await.unwrap();
    assert_eq!(first_body, second_body);
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // Keys are per user: another user's identical request creates their own task.
    let other = app.register("bob@example.org").await;
    let response = app
        .request(&other, Method::POST, "/api/v1/tasks")
        .header("content-type", "application/json")
        .header("idempotency-key", "retry-123")
        .body(body)
        .send()
        .await
        .unwrap();
    let other_body: Value = response.json().await.unwrap();
    assert_ne!(other_body["id"], first_body["id"]);
}

async fn an_idempotency_key_reused_with_another_body_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let send = |title: &'static str| {
        app.request(&user, Method::POST, "/api/v1/tasks")
            .header("idempotency-key", "key-1")
            .json(&json!({"title": title}))
            .send()
    };
    assert_eq!(send("first").await.unwrap().status(), StatusCode::CREATED);
    let body = problem(
        send("second").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["code"], "idempotency_key_reused");
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("idempotency-key", "x".repeat(300))
        .json(&json!({"title": "t"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

async fn concurrent_retries_with_one_idempotency_key_create_one_task(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let requests = (0..8).map(|_| {
        app.request(&user, Method::POST, "/api/v1/tasks")
            .header("idempotency-key", "storm")
            .json(&json!({"title": "once"}))
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut ids = Vec::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_patches_without_if_match_all_apply(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let created = app.create_task(&user, json!({"title": "t"})).await;
    let path = format!("/api/v1/tasks/{}", created["id"].as_str().unwrap());
    let patches = (0..6).map(|index| {
        let path = path.clone();
        let app = &app;
        let user = &user;
        async move {
            app.patch(
                user,
                &path,
                &json!({"description": format!("edit {index}")}),
            )
            .await
            .status()
        }
    });
    let statuses = futures::future::join_all(patches).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    let task: Value = app.get(&user, &path).await.json().await.unwrap();
    assert_eq!(task["version"], 7);
}

async fn idempotency_records_are_purged_in_the_background_after_their_retention(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.http.idempotency_retention = "1s".into();
    })
    .await
    else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("idempotency-key", "purge-me")
        .json(&json!({"title": "once"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let owner: tickler_domain::UserId = user.id.parse().unwrap();
    let store = app.store();
    assert!(
        store
            .find_idempotent_response(owner, "purge-me")
            .await
            .unwrap()
            .is_some(),
        "the response is remembered at first"
    );
    crate::helpers::eventually(30, || {
        let store = store.clone();
        async move {
            store
                .find_idempotent_response(owner, "purge-me")
                .await
                .unwrap()
                .is_none()
                .then_some(())
        }
    })
    .await;
}

/// Records written before the record held only the created task's body kept the HTTP status
/// and headers too (`201`, `Location`, `ETag`): a retry within the retention window still gets
/// the full answer from one.
async fn an_idempotency_record_holding_an_http_response_still_replays_in_full(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let body = r#"{"title": "paid once"}"#;
    let send = |key: &'static str| {
        app.request(&user, Method::POST, "/api/v1/tasks")
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let first = send("current").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first_body: Value = first.json().await.unwrap();
    let owner: tickler_domain::UserId = user.id.parse().unwrap();
    let store = app.store();
    let current = store
        .find_idempotent_response(owner, "current")
        .await
        .unwrap()
        .unwrap();
    // The same request's record as an earlier version wrote it, under another key.
    let earlier = tickler_store::IdempotentResponse {
        key: "earlier".to_owned(),
        status: 201,
        headers: vec![
            ("location".to_owned(), location.clone()),
            ("etag".to_owned(), "\"1\"".to_owned()),
        ],
        ..current
    };
    store
        .commit(tickler_store::ChangeSet {
            idempotency: Some(earlier),
            ..tickler_store::ChangeSet::default()
        })
        .await
        .unwrap();

    let replay = send("earlier").await.unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["location"], location.as_str());
    assert_eq!(replay.headers()["etag"], "\"1\"");
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(replay.headers()["content-type"], "application/json");
    let replay_body: Value = replay.json().await.unwrap();
    assert_eq!(replay_body, first_body);
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}
