//! Notification tests that load the machine or kill processes, run alone: reminders reaching
//! webhooks while the notifier is busy (thousands fired at a steady rate to many users'
//! webhooks; each must arrive exactly once, and the test prints fire-to-receipt latency from
//! each reminder's fire time in the payload to its arrival, a figure that depends on the
//! machine and is judged by the benchmark in docs/benchmarks.md, not here), and a notifier
//! killed mid-send.

use std::time::Duration;

use serde_json::{Value, json};
use tickler_app::{Clock as _, SystemClock};

use super::peers::{WebhookReceiver, fire_reminder, local_notifier};
use crate::helpers::{Backend, TestApp, TestUser, eventually};

crate::on_both_backends!(every_reminder_fired_under_load_reaches_its_webhook_once);

const USERS: usize = 50;
const RATE_PER_SECOND: usize = 400;
const SECONDS: usize = 5;

async fn every_reminder_fired_under_load_reaches_its_webhook_once(backend: Backend) {
    let receiver = WebhookReceiver::start(|_, _| 200).await;
    let Some(app) = TestApp::spawn_with(backend, local_notifier).await else {
        return;
    };
    let mut users: Vec<TestUser> = Vec::new();
    for n in 0..USERS {
        let user = app.register(&format!("load{n}@example.org")).await;
        let body = json!({"kind": "webhook", "url": format!("{}/{n}", receiver.base)});
        let response = app
            .post(&user, "/api/v1/notification-channels", &body)
            .await;
        assert!(response.status().is_success());
        users.push(user);
    }
    let total = RATE_PER_SECOND * SECONDS;
    let started = std::time::Instant::now();
    let tick = Duration::from_millis(100);
    let per_tick = RATE_PER_SECOND / 10;
    let mut fired = 0;
    while fired < total {
        let tick_started = std::time::Instant::now();
        // Fired concurrently, as a scheduler with many due reminders commits them.
        let batch = (fired..fired + per_tick).map(|n| {
            let (app, user) = (&app, &users[n % USERS]);
            async move {
                fire_reminder(app, user, &format!("load {n}"), SystemClock.now()).await;
            }
        });
        futures::future::join_all(batch).await;
        fired += per_tick;
        tokio::time::sleep(tick.saturating_sub(tick_started.elapsed())).await;
    }
    let firing = started.elapsed();
    let received = eventually(120, || async {
        let received = receiver.received();
        (received.len() >= total).then_some(received)
    })
    .await;
    let mut latencies: Vec<f64> = received
        .iter()
        .map(|request| {
            let body: Value = serde_json::from_str(&request.body).unwrap();
            let fire_at: chrono::DateTime<chrono::Utc> =
                body["data"]["fire_at"].as_str().unwrap().parse().unwrap();
            (request.received_at - fire_at).num_milliseconds() as f64 / 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let at = |p: f64| latencies[((p / 100.0) * (latencies.len() - 1) as f64).round() as usize];
    let within = latencies.iter().filter(|l| **l <= 10.0).count();
    eprintln!(
        "{backend:?}: {total} reminders fired at {:.0}/s to {USERS} webhooks: fire-to-receipt p50 {:.2} s, p95 {:.2} s, p99 {:.2} s, max {:.2} s; within 10 s {:.1} %",
        total as f64 / firing.as_secs_f64(),
        at(50.0),
        at(95.0),
        at(99.0),
        at(100.0),
        100.0 * within as f64 / total as f64,
    );
    assert_eq!(received.len(), total, "no reminder delivered twice");
    let ids: std::collections::HashSet<&str> = received
        .iter()
        .filter_map(|request| request.headers.get("webhook-id").map(String::as_str))
        .collect();
    assert_eq!(ids.len(), total, "every reminder has its own webhook-id");
}

/// RELIABILITY #27: a notifier killed (`kill -9`) while a webhook is in flight loses nothing;
/// the next one sends it again after the lease, with the same `webhook-id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_killed_mid_send_resends_with_the_same_webhook_id() {
    crate::helpers::init();
    let Some(base_url) = tickler_store_postgres::testing::TestDatabase::base_url_from_env() else {
        return;
    };
    let database = tickler_store_postgres::testing::TestDatabase::create(&base_url)
        .await
        .unwrap();
    // The first request is never answered: the notifier is killed while it waits.
    let receiver = WebhookReceiver::start(|_, nth| if nth == 0 { 0 } else { 200 }).await;
    let data_dir = tempfile::tempdir().unwrap();
    let args = [
        "--database-url",
        database.url(),
        "--webhook-allow-hosts",
        "127.0.0.1",
    ];
    let env = [
        ("TICKLER_NOTIFIER__LEASE_SECONDS", "3"),
        ("TICKLER_NOTIFIER__WEBHOOK_TIMEOUT_MS", "1500"),
        ("TICKLER_NOTIFIER__POLL_INTERVAL_MS", "100"),
        ("TICKLER_BUS__POLL_INTERVAL_MS", "50"),
    ];
    let mut first = crate::process::ServerProcess::start(data_dir.path(), &args, &env);
    let token = crate::process::register(&first.base, "ada@example.org").await;
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{}/api/v1/me", first.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = client
        .post(format!("{}/api/v1/notification-channels", first.base))
        .bearer_auth(&token)
        .json(&json!({"kind": "webhook", "url": receiver.base}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let store = database.connect().await.unwrap();
    let (change, _) = super::peers::reminder_change(
        me["id"].as_str().unwrap(),
        "killed mid-send",
        SystemClock.now(),
    );
    tickler_store::TaskStore::commit(&store, change)
        .await
        .unwrap();
    eventually(20, || async {
        (!receiver.received().is_empty()).then_some(())
    })
    .await;
    first.kill();
    let killed_at = std::time::Instant::now();

    let second = crate::process::ServerProcess::start(data_dir.path(), &args, &env);
    let received = eventually(30, || async {
        let received = receiver.received();
        (received.len() >= 2).then_some(received)
    })
    .await;
    eprintln!(
        "resent {:.1} s after the kill (lease 3 s)",
        killed_at.elapsed().as_secs_f64()
    );
    assert_eq!(
        received.len(),
        2,
        "sent once before the kill and once after"
    );
    assert_eq!(
        received[0].headers["webhook-id"],
        received[1].headers["webhook-id"]
    );
    let page: Value = client
        .get(format!("{}/api/v1/notifications", second.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = page["items"][0]["id"].as_str().unwrap();
    let deliveries: Value = eventually(20, || async {
        let deliveries: Value = client
            .get(format!(
                "{}/api/v1/notifications/{id}/deliveries",
                second.base
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (deliveries[1]["status"] == "delivered").then_some(deliveries)
    })
    .await;
    assert_eq!(
        deliveries[1]["id"],
        received[1].headers["webhook-id"].as_str()
    );
    store.close().await;
}
