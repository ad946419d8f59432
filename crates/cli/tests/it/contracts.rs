//! The event contract: every event the system emits, and every slim summary the relay
//! derives, validates against its JSON Schema in `contracts/events/`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use tickler_store::OutboxPosition;

use crate::helpers::{Backend, TestApp};

crate::on_both_backends!(every_emitted_event_matches_its_published_schema);

fn schemas() -> BTreeMap<String, jsonschema::Validator> {
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contracts/events");
    let mut validators = BTreeMap::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|error| panic!("{} does not compile: {error}", path.display()));
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        validators.insert(format!("urn:tickler:events:{name}"), validator);
    }
    validators
}

fn check(validators: &BTreeMap<String, jsonschema::Validator>, event: &Value) {
    let schema = event["dataschema"].as_str().unwrap();
    let validator = validators
        .get(schema)
        .unwrap_or_else(|| panic!("no schema file for {schema}"));
    let errors: Vec<String> = validator
        .iter_errors(event)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{event:#}");
}

async fn every_emitted_event_matches_its_published_schema(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        crate::notifications::peers::local_notifier(config);
        // One attempt: a webhook to a closed port fails for good at once.
        config.notifier.retry_schedule = Vec::new();
    })
    .await
    else {
        return;
    };
    let user = app.register_in("ada@example.org", "Asia/Karachi").await;
    let closed = crate::notifications::peers::free_port();
    let webhook = app
        .post(
            &user,
            "/api/v1/notification-channels",
            &json!({"kind": "webhook", "url": format!("http://127.0.0.1:{closed}/")}),
        )
        .await;
    assert_eq!(webhook.status(), reqwest::StatusCode::CREATED);
    crate::notifications::peers::fire_reminder(
        &app,
        &user,
        "rent",
        tickler_app::Clock::now(&tickler_app::SystemClock),
    )
    .await;
    let task = app
        .create_task(
            &user,
            json!({"title": "rent", "due_at": "2026-12-01", "all_day": true, "tags": ["home"],
                   "recurrence": "FREQ=MONTHLY", "reminders": ["-P1D"], "priority": "high"}),
        )
        .await;
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    app.patch(&user, &path, &json!({"description": "landlord"}))
        .await;
    app.post(&user, &format!("{path}/complete"), &json!({}))
        .await;
    app.post(&user, &format!("{path}/reopen"), &json!({})).await;
    app.patch(&user, "/api/v1/tags/home", &json!({"name": "house"}))
        .await;
    app.delete(&user, "/api/v1/tags/house").await;
    app.delete(&user, &path).await;

    let validators = schemas();
    // On PostgreSQL a record becomes readable once every older transaction on the server has
    // ended, so the newest ones may take a moment to show up.
    let store = app.store();
    let records = crate::helpers::eventually(20, || async {
        let records = store
            .outbox_after(OutboxPosition::default(), 1_000)
            .await
            .unwrap();
        let has = |event_type: &str| {
            records
                .iter()
                .any(|record| record.message.event_type == event_type)
        };
        (has("tickler.task.deleted") && has("tickler.notification.failed")).then_some(records)
    })
    .await;
    let mut types = BTreeSet::new();
    for record in &records {
        let event: Value = serde_json::from_str(&record.message.payload).unwrap();
        check(&validators, &event);
        assert_eq!(event["type"], record.message.event_type);
        assert_eq!(event["subject"], record.message.subject);
        if record.message.event_type.starts_with("tickler.task.") {
            let summary =
                tickler_workers::event::task_update_summary(record.message.payload.as_bytes())
                    .unwrap();
            check(&validators, &serde_json::from_slice(&summary).unwrap());
        }
        types.insert(record.message.event_type.clone());
    }
    let expected: BTreeSet<String> = [
        "tickler.task.created",
        "tickler.task.updated",
        "tickler.task.completed",
        "tickler.task.reopened",
        "tickler.task.deleted",
        "tickler.tag.renamed",
        "tickler.tag.deleted",
        "tickler.reminder.due",
        "tickler.notification.delivered",
        "tickler.notification.failed",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(types, expected);
}
