//! The event backbone end to end on the embedded bus: every change reaches the audit trail
//! exactly once, with its origin and request id, scoped to its owner.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, consumer_caught_up, eventually, problem};

crate::on_both_backends!(
    a_tasks_history_records_every_change_with_its_origin_and_request_id,
    the_audit_trail_is_scoped_filtered_and_paged,
    every_event_of_a_burst_is_audited_exactly_once,
    dead_letters_are_visible_to_operators_only,
);

/// The items of a page that record task and tag events (the trail also holds the account's
/// own changes: its registration, sign-ins, ...).
fn event_items(page: &Value) -> Vec<Value> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| {
            let kind = item["type"].as_str().unwrap();
            kind.starts_with("tickler.task.") || kind.starts_with("tickler.tag.")
        })
        .cloned()
        .collect()
}

async fn history(app: &TestApp, user: &TestUser, id: &str, expected: usize) -> Value {
    eventually(10, || async {
        let response = app.get(user, &format!("/api/v1/tasks/{id}/history")).await;
        if response.status() != StatusCode::OK {
            return None;
        }
        let page: Value = response.json().await.unwrap();
        (page["items"].as_array().unwrap().len() >= expected).then_some(page)
    })
    .await
}

async fn a_tasks_history_records_every_change_with_its_origin_and_request_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .request(&user, Method::POST, "/api/v1/tasks")
        .header("x-request-id", "create-req-1")
        .json(&json!({"title": "write report"}))
        .send()
        .await
        .unwrap();
    let task: Value = response.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    let path = format!("/api/v1/tasks/{id}");
    app.patch(&user, &path, &json!({"title": "write the report"}))
        .await;
    app.post(&user, &format!("{path}/complete"), &json!({}))
        .await;
    app.delete(&user, &path).await;
    let page = history(&app, &user, id, 4).await;
    let items = page["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "tickler.task.created",
            "tickler.task.updated",
            "tickler.task.completed",
            "tickler.task.deleted"
        ]
    );
    assert_eq!(items[0]["correlation_id"], "create-req-1");
    assert!(
        items
            .iter()
            .all(|i| i["origin"] == "api" && i["task_id"] == id)
    );
    assert_eq!(items[1]["data"]["changed_fields"], json!(["title"]));
    assert_eq!(items[1]["data"]["task"]["title"], "write the report");
    assert_eq!(items[2]["data"]["task"]["status"], "done");
    // The history outlives the task.
    problem(app.get(&user, &path).await, StatusCode::NOT_FOUND).await;
}

async fn the_audit_trail_is_scoped_filtered_and_paged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.register("alice@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut ids = Vec::new();
    for index in 0..5 {
        let task = app
            .create_task(&alice, json!({"title": format!("t{index}"), "tags": ["x"]}))
            .await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    app.patch(&alice, "/api/v1/tags/x", &json!({"name": "y"}))
        .await;
    // 5 creations, 5 tag updates, 1 tag rename.
    history(&app, &alice, &ids[4], 2).await;
    let all = eventually(10, || async {
        let page: Value = app
            .get(&alice, "/api/v1/audit?limit=500")
            .await
            .json()
            .await
            .unwrap();
        (event_items(&page).len() == 11).then_some(page)
    })
    .await;
    assert!(
        event_items(&all)
            .iter()
            .any(|i| i["type"] == "tickler.tag.renamed")
    );

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/audit?limit=4".to_owned();
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = app.get(&alice, &path).await.json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["event_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["event_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, expected);

    let one: Value = app
        .get(&alice, &format!("/api/v1/audit?task_id={}", ids[0]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["items"].as_array().unwrap().len(), 2);
    let later: Value = app
        .get(&alice, "/api/v1/audit?since=2099-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(later["items"], json!([]));

    // Bob sees nothing of Alice's: only his own account's rows.
    let bobs: Value = app.get(&bob, "/api/v1/audit").await.json().await.unwrap();
    assert_eq!(event_items(&bobs), Vec::<Value>::new());
    assert!(
        bobs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["task_id"].is_null())
    );
    problem(
        app.get(&bob, &format!("/api/v1/tasks/{}/history", ids[0]))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for query in [
        "task_id=nope",
        "since=yesterday",
        "limit=0",
        "limit=501",
        "cursor=%%",
    ] {
        let response = app.get(&alice, &format!("/api/v1/audit?{query}")).await;
        assert!(
            response.status().is_client_error(),
            "{query}: {}",
            response.status()
        );
    }
}

async fn every_event_of_a_burst_is_audited_exactly_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let creations = (0..60).map(|index| {
        let app = &app;
        let user = &user;
        async move {
            app.create_task(user, json!({"title": format!("burst {index}")}))
                .await
        }
    });
    let created = futures::future::join_all(creations).await;
    let trail = eventually(15, || async {
        let page: Value = app
            .get(&user, "/api/v1/audit?limit=500")
            .await
            .json()
            .await
            .unwrap();
        let items = event_items(&page);
        (items.len() >= 60).then_some(items)
    })
    .await;
    // Once the audit consumer has handled every event, a duplicate would show.
    consumer_caught_up(&app, "audit").await;
    let page: Value = app
        .get(&user, "/api/v1/audit?limit=500")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(event_items(&page).len(), 60);
    let mut task_ids: Vec<&str> = trail
        .iter()
        .map(|i| i["task_id"].as_str().unwrap())
        .collect();
    task_ids.sort_unstable();
    let mut expected: Vec<&str> = created.iter().map(|t| t["id"].as_str().unwrap()).collect();
    expected.sort_unstable();
    assert_eq!(task_ids, expected);
}

async fn dead_letters_are_visible_to_operators_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let operator = app.register("ops@example.org").await;
    app.grant_operator("ops@example.org").await;
    // A malformed event lands in the outbox (as a buggy older release could have written).
    app.store()
        .commit(tickler_store::ChangeSet {
            events: vec![tickler_store::OutboxMessage {
                id: tickler_domain::EventId::from_uuid(uuid::Uuid::now_v7()),
                event_type: "tickler.task.created".into(),
                subject: "x".into(),
                owner: user.id.parse().unwrap(),
                occurred_at: tickler_store::testing::instant(0),
                payload: "{\"specversion\": \"0.3\"}".into(),
            }],
            ..tickler_store::ChangeSet::default()
        })
        .await
        .unwrap();
    // Wake the consumer with a real change.
    app.create_task(&user, json!({"title": "t"})).await;
    let letters = eventually(10, || async {
        let letters: Value = app
            .get(&operator, "/api/v1/admin/dead-letters")
            .await
            .json()
            .await
            .unwrap();
        (letters.as_array().is_some_and(|l| !l.is_empty())).then_some(letters)
    })
    .await;
    assert_eq!(letters[0]["consumer"], "audit");
    assert_eq!(letters[0]["payload"], "{\"specversion\": \"0.3\"}");
    let id = letters[0]["id"].as_str().unwrap();
    let body = problem(
        app.get(&user, "/api/v1/admin/dead-letters").await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "admin_required");
    let body = problem(
        app.post(
            &operator,
            &format!("/api/v1/admin/dead-letters/{id}/replay"),
            &json!({}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(body["code"], "replay_failed");
    problem(
        app.post(
            &operator,
            "/api/v1/admin/dead-letters/nope/replay",
            &json!({}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
