//! The Kafka transport against a real Kafka-protocol broker (tansu, memory engine): events
//! reach the audit trail through consumer groups, an independent client (the pure-Python
//! kafka-python) reads them as CloudEvents keyed by task id, and the API keeps writing while
//! the broker is down.

use std::collections::{BTreeMap, HashSet};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_cli::config::{BusKind, Config};

use tickler_workers::topic::Topic;

use crate::helpers::{Backend, TestApp, TestUser, consumed_eventually, eventually};
use crate::process::Broker;

crate::on_both_backends!(
    the_kafka_bus_delivers_every_event_to_the_audit_trail_once,
    an_independent_kafka_client_reads_cloudevents_keyed_by_task_id,
);

pub fn shared_broker() -> Option<String> {
    match std::env::var("TICKLER_TEST_KAFKA_BROKERS") {
        Ok(brokers) if !brokers.is_empty() => Some(brokers),
        _ => {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "TICKLER_TEST_KAFKA_BROKERS is not set but TICKLER_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: set TICKLER_TEST_KAFKA_BROKERS to run the Kafka tests");
            None
        }
    }
}

/// Puts a configuration on the Kafka bus with topics and groups of its own.
pub fn on_kafka(config: &mut Config, brokers: &str, prefix: &str) {
    config.bus.kind = BusKind::Kafka;
    config.bus.kafka_brokers = brokers.to_owned();
    config.bus.consumer_group_prefix = prefix.to_owned();
    config.bus.poll_interval_ms = 50;
    config.bus.topics.task_events = format!("{prefix}-task-events");
    config.bus.topics.reminders = format!("{prefix}-reminders");
    config.bus.topics.task_updates = format!("{prefix}-task-updates");
    config.bus.topics.audit_events = format!("{prefix}-audit-events");
    // tansu's memory engine mis-reports offsets inside multi-record batches (test-only setting).
    config.bus.kafka_options = BTreeMap::from([("batch.num.messages".to_owned(), "1".to_owned())]);
}

fn prefix() -> String {
    format!("t{}", &uuid::Uuid::now_v7().simple().to_string()[20..])
}

async fn audited_creations(app: &TestApp, user: &TestUser) -> Vec<String> {
    let page: Value = app
        .get(user, "/api/v1/audit?limit=500")
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "tickler.task.created")
        .map(|item| item["task_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_kafka_bus_delivers_every_event_to_the_audit_trail_once(backend: Backend) {
    let Some(brokers) = shared_broker() else {
        return;
    };
    let prefix = prefix();
    let Some(app) =
        TestApp::spawn_with(backend, |config| on_kafka(config, &brokers, &prefix)).await
    else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut created = HashSet::new();
    for index in 0..25 {
        let task = app
            .create_task(&user, json!({"title": format!("k{index}")}))
            .await;
        created.insert(task["id"].as_str().unwrap().to_owned());
    }
    let audited = eventually(60, || async {
        let audited = audited_creations(&app, &user).await;
        (audited.len() >= 25).then_some(audited)
    })
    .await;
    // Once the audit consumer has handled every event, a duplicate would show.
    consumed_eventually(&app, "audit", Topic::AuditEvents).await;
    assert_eq!(
        audited_creations(&app, &user).await.len(),
        25,
        "an event was audited twice"
    );
    assert_eq!(audited.into_iter().collect::<HashSet<_>>(), created);
    assert_eq!(app.store().outbox_backlog().await.unwrap(), 0);
}

async fn an_independent_kafka_client_reads_cloudevents_keyed_by_task_id(backend: Backend) {
    let Some(brokers) = shared_broker() else {
        return;
    };
    let Some(python) = std::env::var("TICKLER_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        assert!(std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"));
        eprintln!("skipped: set TICKLER_TEST_PYTHON (a python with kafka-python)");
        return;
    };
    let prefix = prefix();
    let Some(app) =
        TestApp::spawn_with(backend, |config| on_kafka(config, &brokers, &prefix)).await
    else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut tasks = Vec::new();
    for index in 0..5 {
        let task = app
            .create_task(&user, json!({"title": format!("interop {index}")}))
            .await;
        let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
        app.post(&user, &format!("{path}/complete"), &json!({}))
            .await;
        tasks.push(task["id"].as_str().unwrap().to_owned());
    }
    eventually(30, || async {
        (app.store().outbox_backlog().await.ok()? == 0).then_some(())
    })
    .await;
    let output = tokio::process::Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/kafka_reader.py"
        ))
        .args([&brokers, &format!("{prefix}-task-events"), "10", "60"])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 10, "{records:#?}");
    let mut partition_of = BTreeMap::new();
    for record in &records {
        let event = &record["value"];
        assert_eq!(record["key"], event["subject"], "the key is the task id");
        assert_eq!(
            record["headers"]["content-type"],
            "application/cloudevents+json"
        );
        assert_eq!(event["specversion"], "1.0");
        assert_eq!(event["datacontenttype"], "application/json");
        assert_eq!(event["dataschema"], "urn:tickler:events:task.v1.json");
        assert_eq!(event["userid"], json!(user.id));
        assert!(tasks.contains(&event["subject"].as_str().unwrap().to_owned()));
        // One task's events share a partition.
        let previous = partition_of.insert(
            event["subject"].as_str().unwrap().to_owned(),
            record["partition"].clone(),
        );
        if let Some(previous) = previous {
            assert_eq!(previous, record["partition"]);
        }
    }
    // Per task, created comes before completed.
    for task in &tasks {
        let types: Vec<&str> = records
            .iter()
            .filter(|r| r["key"] == task.as_str())
            .map(|r| r["value"]["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["tickler.task.created", "tickler.task.completed"]);
    }
}

/// With the broker unreachable (every connection reset and refused by the harness's link; the
/// broker itself keeps its topics and group offsets, as a real cluster does across a network
/// outage) the API keeps accepting writes; the outbox grows, and drains once the broker is
/// reachable again, and every event committed meanwhile reaches the audit consumer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_continue_while_the_broker_is_down_and_the_backlog_drains_after() {
    let Some(broker) = Broker::start_behind_link().await else {
        return;
    };
    let prefix = prefix();
    let address = broker.address.clone();
    let app = TestApp::spawn_with(Backend::Sqlite, |config| {
        on_kafka(config, &address, &prefix)
    })
    .await
    .unwrap();
    let user = app.register("ada@example.org").await;
    let mut before = Vec::new();
    for index in 0..10 {
        let task = app
            .create_task(&user, json!({"title": format!("before {index}")}))
            .await;
        before.push(task["id"].as_str().unwrap().to_owned());
    }
    eventually(60, || async {
        (audited_creations(&app, &user).await.len() >= 10).then_some(())
    })
    .await;

    broker.cut();
    let mut during = Vec::new();
    let outage = std::time::Instant::now();
    for index in 0..40 {
        let response = app
            .post(
                &user,
                "/api/v1/tasks",
                &json!({"title": format!("during {index}")}),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "the API stopped writing"
        );
        let task: Value = response.json().await.unwrap();
        during.push(task["id"].as_str().unwrap().to_owned());
    }
    let peak = eventually(10, || async {
        let backlog = app.store().outbox_backlog().await.ok()?;
        (backlog >= 40).then_some(backlog)
    })
    .await;
    let outage_seconds = outage.elapsed().as_secs_f64();
    broker.restore().await;
    let drained = std::time::Instant::now();
    eventually(120, || async {
        let backlog = app.store().outbox_backlog().await.ok()?;
        if backlog > 0 {
            eprintln!("backlog {backlog}");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        (backlog == 0).then_some(())
    })
    .await;
    let drain_seconds = drained.elapsed().as_secs_f64();
    let audited = eventually(120, || async {
        let audited: HashSet<String> = audited_creations(&app, &user).await.into_iter().collect();
        let missing = during.iter().filter(|id| !audited.contains(*id)).count();
        if missing > 0 {
            eprintln!("{missing} creations of the outage not audited yet");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        (missing == 0).then_some(audited)
    })
    .await;
    assert!(before.iter().all(|id| audited.contains(id)));
    assert_eq!(
        audited_creations(&app, &user).await.len(),
        before.len() + during.len(),
        "an event was audited twice"
    );
    eprintln!(
        "broker unreachable for {outage_seconds:.1} s: {} writes accepted meanwhile, outbox \
         peak {peak}, drained {drain_seconds:.1} s after it returned; lost 0",
        during.len()
    );
}
