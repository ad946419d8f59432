//! Recurring tasks end to end (the `recurring` role on the embedded bus): completing a
//! recurring task creates exactly one next instance, deleting one occurrence skips it,
//! deleting the series ends it, and a series lists its instances.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, TestUser, consumed_eventually, consumer_caught_up, error_fields, eventually,
    problem,
};
use tickler_workers::topic::Topic;

crate::on_both_backends!(
    completing_a_recurring_task_creates_exactly_one_next_instance_with_the_same_fields,
    complete_reopen_complete_creates_one_next_instance,
    count_ends_the_series_with_its_last_instance,
    deleting_one_occurrence_skips_it_and_deleting_the_series_ends_it,
    another_users_series_is_not_found,
);

async fn series(app: &TestApp, user: &TestUser, id: &str) -> Vec<Value> {
    let response = app.get(user, &format!("/api/v1/tasks/{id}/series")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

/// Waits until the series of `id` has `count` instances, then until the recurring consumer has
/// handled every event written so far, to show that no further one appears.
async fn series_settles_at(app: &TestApp, user: &TestUser, id: &str, count: usize) -> Vec<Value> {
    eventually(10, || async {
        let items = series(app, user, id).await;
        (items.len() >= count).then_some(())
    })
    .await;
    consumer_caught_up(app, "recurring").await;
    let items = series(app, user, id).await;
    assert_eq!(items.len(), count, "{items:#?}");
    items
}

async fn complete(app: &TestApp, user: &TestUser, id: &str) {
    let response = app
        .post(user, &format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

fn weekly_task() -> Value {
    json!({
        "title": "Water the plants", "description": "the ferns too", "priority": "high",
        "due_at": "2099-11-23T09:00:00+01:00", "timezone": "Europe/Berlin",
        "tags": ["home"], "recurrence": "FREQ=WEEKLY", "reminders": ["-PT30M"]
    })
}

async fn completing_a_recurring_task_creates_exactly_one_next_instance_with_the_same_fields(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let first = app.create_task(&user, weekly_task()).await;
    let id = first["id"].as_str().unwrap();
    assert_eq!(first["series_id"], first["id"]);
    assert_eq!(first["sequence"], 1);
    complete(&app, &user, id).await;
    let items = series_settles_at(&app, &user, id, 2).await;
    assert_eq!(items[0]["id"], first["id"]);
    assert_eq!(items[0]["status"], "done");
    let next = &items[1];
    assert_eq!(next["series_id"], first["id"]);
    assert_eq!(next["sequence"], 2);
    assert_eq!(next["status"], "todo");
    assert_eq!(next["due_at"], "2099-11-30T08:00:00Z");
    for field in [
        "title",
        "description",
        "priority",
        "timezone",
        "tags",
        "recurrence",
        "recurrence_mode",
        "reminders",
        "all_day",
    ] {
        assert_eq!(next[field], first[field], "{field}");
    }
    // The next instance is an ordinary task, created through the outbox like any other.
    let created = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}", next["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    // It has its own reminder; the completed instance's was cancelled.
    let response = app.get(&user, "/api/v1/reminders?upcoming=true").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let upcoming = body["items"].as_array().unwrap();
    assert_eq!(upcoming.len(), 1, "{upcoming:#?}");
    assert_eq!(upcoming[0]["task_id"], next["id"]);
    assert_eq!(upcoming[0]["fire_at"], "2099-11-30T07:30:00Z");
}

async fn complete_reopen_complete_creates_one_next_instance(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let first = app.create_task(&user, weekly_task()).await;
    let id = first["id"].as_str().unwrap();
    complete(&app, &user, id).await;
    let reopened = app
        .post(&user, &format!("/api/v1/tasks/{id}/reopen"), &json!({}))
        .await;
    assert_eq!(reopened.status(), StatusCode::OK);
    complete(&app, &user, id).await;
    let items = series_settles_at(&app, &user, id, 2).await;
    assert_eq!(items[1]["sequence"], 2);
}

async fn count_ends_the_series_with_its_last_instance(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut body = weekly_task();
    body["recurrence"] = json!("FREQ=DAILY;COUNT=2");
    let first = app.create_task(&user, body).await;
    let id = first["id"].as_str().unwrap();
    complete(&app, &user, id).await;
    let items = series_settles_at(&app, &user, id, 2).await;
    assert_eq!(items[1]["due_at"], "2099-11-24T08:00:00Z");
    complete(&app, &user, items[1]["id"].as_str().unwrap()).await;
    let items = series_settles_at(&app, &user, id, 2).await;
    assert!(items.iter().all(|task| task["status"] == "done"));
}

async fn deleting_one_occurrence_skips_it_and_deleting_the_series_ends_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let first = app.create_task(&user, weekly_task()).await;
    let id = first["id"].as_str().unwrap();
    let bad = app
        .delete(&user, &format!("/api/v1/tasks/{id}?scope=everything"))
        .await;
    let body = problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&body), ["scope"]);
    // The default scope of a recurring task is this occurrence: the next one is created at
    // once.
    let skipped = app.delete(&user, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(skipped.status(), StatusCode::NO_CONTENT);
    problem(
        app.get(&user, &format!("/api/v1/tasks/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let items = all_tasks(&app, &user).await;
    assert_eq!(items.len(), 1);
    let second = items[0].clone();
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(second["series_id"], first["id"]);
    assert_eq!(second["sequence"], 2);
    assert_eq!(second["due_at"], "2099-11-30T08:00:00Z");
    let again = app
        .delete(&user, &format!("/api/v1/tasks/{second_id}?scope=this"))
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    let open = all_tasks(&app, &user).await;
    assert_eq!(open.len(), 1);
    let third = series_settles_at(&app, &user, open[0]["id"].as_str().unwrap(), 1).await;
    assert_eq!(third[0]["sequence"], 3);
    assert_eq!(third[0]["due_at"], "2099-12-07T08:00:00Z");
    // Completing it, then ending the series: the history stays, nothing more is created.
    let third_id = third[0]["id"].as_str().unwrap().to_owned();
    complete(&app, &user, &third_id).await;
    let with_fourth = series_settles_at(&app, &user, &third_id, 2).await;
    let fourth_id = with_fourth[1]["id"].as_str().unwrap().to_owned();
    let ended = app
        .delete(&user, &format!("/api/v1/tasks/{fourth_id}?scope=series"))
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    let remaining = series_settles_at(&app, &user, &third_id, 1).await;
    assert_eq!(remaining[0]["status"], "done");
    // Reopening and completing the history creates nothing: the series ended.
    app.post(
        &user,
        &format!("/api/v1/tasks/{third_id}/reopen"),
        &json!({}),
    )
    .await;
    complete(&app, &user, &third_id).await;
    series_settles_at(&app, &user, &third_id, 1).await;
    // A task that does not recur ignores the scope.
    let plain = app.create_task(&user, json!({"title": "once"})).await;
    let plain_id = plain["id"].as_str().unwrap();
    let deleted = app
        .delete(&user, &format!("/api/v1/tasks/{plain_id}?scope=series"))
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

/// Returns the user's tasks.
async fn all_tasks(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let list: Value = app.get(user, "/api/v1/tasks").await.json().await.unwrap();
    list["items"].as_array().unwrap().clone()
}

async fn another_users_series_is_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let task = app.create_task(&ada, weekly_task()).await;
    let path = format!("/api/v1/tasks/{}/series", task["id"].as_str().unwrap());
    problem(app.get(&bob, &path).await, StatusCode::NOT_FOUND).await;
    let items = series(&app, &ada, task["id"].as_str().unwrap()).await;
    assert_eq!(items.len(), 1);
}

/// Two processes running the recurring role on one PostgreSQL database: both read every event
/// (each embedded consumer reads the whole outbox), and still every completed instance makes
/// exactly one next instance.
mod replicas {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_replicas_of_the_recurring_role_create_one_next_instance_each() {
        let Some(app) = TestApp::spawn(Backend::Postgres).await else {
            return;
        };
        let url = app.database_url().unwrap();
        let _replica = TestApp::spawn_with(Backend::Sqlite, |config| {
            config.database_url = url.into();
            config.roles = tickler_cli::config::Roles::parse(&["recurring"]).unwrap();
        })
        .await
        .unwrap();
        let user = app.register("ada@example.org").await;
        let mut ids = Vec::new();
        for _ in 0..5 {
            let task = app.create_task(&user, weekly_task()).await;
            ids.push(task["id"].as_str().unwrap().to_owned());
        }
        for id in &ids {
            complete(&app, &user, id).await;
            app.post(&user, &format!("/api/v1/tasks/{id}/reopen"), &json!({}))
                .await;
            complete(&app, &user, id).await;
        }
        for id in &ids {
            let items = series_settles_at(&app, &user, id, 2).await;
            assert_eq!(items[1]["sequence"], 2);
        }
    }
}

/// Scenario 8: `kill -9` of the process running the recurring consumer while it works
/// through a burst of completions; after restarts, every completed instance has exactly one
/// next instance (none lost, none duplicated).
mod kill_9 {
    use std::collections::HashMap;

    use tickler_store_postgres::testing::TestDatabase;

    use super::*;
    use crate::helpers::store_consumer_reached;
    use crate::process::{ServerProcess, all_pages, open_store, register};

    const TASKS: usize = 40;

    async fn burst_then_kill(extra: &[&str]) {
        crate::helpers::init();
        let data_dir = tempfile::tempdir().unwrap();
        let client = reqwest::Client::new();
        let mut server = ServerProcess::start(data_dir.path(), extra, &[]);
        let token = register(&server.base, "ada@example.org").await;
        let mut ids = Vec::new();
        for index in 0..TASKS {
            let response = client
                .post(format!("{}/api/v1/tasks", server.base))
                .bearer_auth(&token)
                .json(
                    &json!({"title": format!("chore {index}"), "due_at": "2099-01-01T09:00:00Z",
                              "recurrence": "FREQ=DAILY"}),
                )
                .send()
                .await
                .unwrap();
            let task: Value = response.json().await.unwrap();
            ids.push(task["id"].as_str().unwrap().to_owned());
        }
        // Complete every task concurrently and kill the process as soon as the last is
        // acknowledged: the consumer is then in the middle of the burst.
        let completions = ids.iter().map(|id| {
            let request = client
                .post(format!("{}/api/v1/tasks/{id}/complete", server.base))
                .bearer_auth(&token)
                .send();
            async move { request.await.unwrap().status() }
        });
        let statuses = futures::future::join_all(completions).await;
        assert!(statuses.iter().all(|status| *status == StatusCode::OK));
        server.kill();
        // Two more short lives, killed while they catch up.
        for life in 0..2u64 {
            let mut server = ServerProcess::start(data_dir.path(), extra, &[]);
            tokio::time::sleep(Duration::from_millis(30 + 40 * life)).await;
            server.kill();
        }
        let server = ServerProcess::start(data_dir.path(), extra, &[]);
        let per_series = || async {
            let tasks = all_pages(&server.base, &token, "/api/v1/tasks?limit=200").await;
            let mut counts: HashMap<String, usize> = HashMap::new();
            for task in &tasks {
                *counts
                    .entry(task["series_id"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            counts
        };
        eventually(60, || async {
            let counts = per_series().await;
            ids.iter()
                .all(|id| counts.get(id).copied().unwrap_or(0) >= 2)
                .then_some(())
        })
        .await;
        // Every completion handled (the recurring consumer reached the head of the outbox):
        // no further instance can appear.
        let store = open_store(data_dir.path(), extra).await;
        let head = store.as_store().outbox_head().await.unwrap();
        store_consumer_reached(store.as_store().as_ref(), "recurring", head).await;
        store.close().await;
        let counts = per_series().await;
        let duplicated = counts.values().filter(|count| **count > 2).count();
        assert_eq!(counts.len(), TASKS);
        assert_eq!(duplicated, 0, "{counts:?}");
        eprintln!(
            "recurring kill -9: {TASKS} completions, {} next instances, 0 lost, 0 duplicated",
            counts.values().map(|count| count - 1).sum::<usize>()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kill_9_mid_batch_creates_no_duplicate_next_instance_on_sqlite() {
        burst_then_kill(&[]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kill_9_mid_batch_creates_no_duplicate_next_instance_on_postgres() {
        let Some(base_url) = TestDatabase::base_url_from_env() else {
            return;
        };
        let database = TestDatabase::create(&base_url).await.unwrap();
        burst_then_kill(&["--database-url", database.url()]).await;
    }
}

/// The recurring role on the Kafka bus (consumer group `<prefix>-recurring` on `task-events`):
/// each completed instance still makes exactly one next instance.
mod on_kafka {
    use super::*;
    use crate::kafka::{on_kafka, shared_broker};

    crate::on_both_backends!(the_kafka_bus_creates_one_next_instance_per_completion);

    async fn the_kafka_bus_creates_one_next_instance_per_completion(backend: Backend) {
        let Some(brokers) = shared_broker() else {
            return;
        };
        let prefix = format!("r{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
        let Some(app) =
            TestApp::spawn_with(backend, |config| on_kafka(config, &brokers, &prefix)).await
        else {
            return;
        };
        let user = app.register("ada@example.org").await;
        let mut ids = Vec::new();
        for _ in 0..5 {
            let task = app.create_task(&user, weekly_task()).await;
            let id = task["id"].as_str().unwrap().to_owned();
            complete(&app, &user, &id).await;
            app.post(&user, &format!("/api/v1/tasks/{id}/reopen"), &json!({}))
                .await;
            complete(&app, &user, &id).await;
            ids.push(id);
        }
        for id in &ids {
            let items = eventually(60, || async {
                let items = series(&app, &user, id).await;
                (items.len() >= 2).then_some(items)
            })
            .await;
            assert_eq!(items[1]["sequence"], 2);
        }
        // Every completion (the repeated ones too) handled: still one next instance each.
        consumed_eventually(&app, "recurring", Topic::TaskEvents).await;
        for id in &ids {
            assert_eq!(series(&app, &user, id).await.len(), 2);
        }
    }
}
