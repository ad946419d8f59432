//! Crashes and replicas: with `kill -9` of the writing process at random moments, and with
//! several replicas of every role, each acknowledged creation reaches the audit trail exactly
//! once. Figures are printed for `docs/`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tickler_store_postgres::testing::TestDatabase;

use crate::durability::load_until_killed;
use crate::helpers::eventually;
use crate::process::{Broker, ServerProcess, all_pages, kafka_config, login, register};

/// Counts audited `tickler.task.created` events per task id.
async fn audited_creations(base: &str, token: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for item in all_pages(base, token, "/api/v1/audit?limit=500").await {
        if item["type"] == "tickler.task.created" {
            *counts
                .entry(item["task_id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    counts
}

/// Waits until every acknowledged creation is audited, then checks each exactly once.
async fn assert_audited_exactly_once(base: &str, token: &str, acknowledged: &HashSet<String>) {
    let counts = eventually(180, || async {
        let counts = audited_creations(base, token).await;
        let missing = acknowledged
            .iter()
            .filter(|id| !counts.contains_key(*id))
            .count();
        if missing > 0 {
            eprintln!(
                "waiting: {} audited, {missing} acknowledged creations missing",
                counts.len()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        (missing == 0).then_some(counts)
    })
    .await;
    let duplicated = counts.values().filter(|count| **count > 1).count();
    assert_eq!(duplicated, 0, "{duplicated} events audited more than once");
    eprintln!(
        "acknowledged {} creations; audited {} (lost 0, duplicated 0)",
        acknowledged.len(),
        counts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_embedded_process_loses_no_event_and_audits_each_once() {
    crate::helpers::init();
    let data_dir = tempfile::tempdir().unwrap();
    let mut acknowledged = HashSet::new();
    let mut token = String::new();
    for round in 0..3u64 {
        let mut server = ServerProcess::start(data_dir.path(), &[], &[]);
        if round == 0 {
            token = register(&server.base, "ada@example.org").await;
        }
        let ids = load_until_killed(
            &mut server,
            &token,
            Duration::from_millis(600 + 250 * round),
        )
        .await;
        acknowledged.extend(ids);
    }
    let server = ServerProcess::start(data_dir.path(), &[], &[]);
    assert_audited_exactly_once(&server.base, &token, &acknowledged).await;
}

fn kafka_brokers() -> Option<String> {
    std::env::var("TICKLER_TEST_KAFKA_BROKERS")
        .ok()
        .filter(|brokers| !brokers.is_empty())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_api_and_relay_on_kafka_loses_no_event_and_audits_each_once() {
    crate::helpers::init();
    let Some(base_url) = TestDatabase::base_url_from_env() else {
        return;
    };
    let Some(broker) = Broker::start().await else {
        return;
    };
    let database = TestDatabase::create(&base_url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("c{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let config = kafka_config(dir.path(), &broker.address, &prefix);
    let config = config.to_str().unwrap();
    let url = database.url();
    let audit_dir = tempfile::tempdir().unwrap();
    let _audit = ServerProcess::start(
        audit_dir.path(),
        &[
            "--config",
            config,
            "--database-url",
            url,
            "--roles",
            "audit",
        ],
        &[],
    );
    let api_dir = tempfile::tempdir().unwrap();
    let mut acknowledged = HashSet::new();
    let mut token = String::new();
    for round in 0..3u64 {
        let mut api = ServerProcess::start(
            api_dir.path(),
            &[
                "--config",
                config,
                "--database-url",
                url,
                "--roles",
                "api,relay",
            ],
            &[],
        );
        if round == 0 {
            token = register(&api.base, "ada@example.org").await;
        }
        acknowledged.extend(
            load_until_killed(&mut api, &token, Duration::from_millis(800 + 300 * round)).await,
        );
    }
    let api = ServerProcess::start(
        api_dir.path(),
        &[
            "--config",
            config,
            "--database-url",
            url,
            "--roles",
            "api,relay",
        ],
        &[],
    );
    assert_audited_exactly_once(&api.base, &token, &acknowledged).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_every_role_audit_each_event_exactly_once() {
    crate::helpers::init();
    let Some(base_url) = TestDatabase::base_url_from_env() else {
        return;
    };
    let Some(brokers) = kafka_brokers() else {
        assert!(std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"));
        eprintln!("skipped: set TICKLER_TEST_KAFKA_BROKERS");
        return;
    };
    let database = TestDatabase::create(&base_url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("m{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let config = kafka_config(dir.path(), &brokers, &prefix);
    let config = config.to_str().unwrap();
    let url = database.url();
    // Replicas share the signing key, as a deployment behind a load balancer must.
    let secret = [(
        "TICKLER_AUTH__JWT_SECRET",
        "a shared signing key of at least 32 bytes",
    )];
    let mut processes = Vec::new();
    let mut dirs = Vec::new();
    for role in ["api", "api", "relay", "relay", "audit", "audit"] {
        let data = tempfile::tempdir().unwrap();
        processes.push((
            role,
            ServerProcess::start(
                data.path(),
                &["--config", config, "--database-url", url, "--roles", role],
                &secret,
            ),
        ));
        dirs.push(data);
    }
    let apis: Vec<String> = processes
        .iter()
        .filter(|(role, _)| *role == "api")
        .map(|(_, process)| process.base.clone())
        .collect();
    let token = register(&apis[0], "ada@example.org").await;
    let other_token = login(&apis[1], "ada@example.org").await;
    let client = reqwest::Client::new();
    let mut requests = Vec::new();
    for index in 0..200 {
        let (base, token) = if index % 2 == 0 {
            (&apis[0], &token)
        } else {
            (&apis[1], &other_token)
        };
        requests.push(
            client
                .post(format!("{base}/api/v1/tasks"))
                .bearer_auth(token)
                .json(&json!({"title": format!("replica {index}")}))
                .send(),
        );
    }
    let mut acknowledged = HashSet::new();
    for response in futures::future::join_all(requests).await {
        let body: Value = response.unwrap().json().await.unwrap();
        acknowledged.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(acknowledged.len(), 200);
    assert_audited_exactly_once(&apis[1], &other_token, &acknowledged).await;
}
