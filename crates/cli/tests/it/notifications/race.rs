//! Completion racing reminder firing (RELIABILITY #17), end to end on both databases: tasks
//! whose reminder falls due while the test completes them, from 200 ms before to 800 ms after
//! the fire time, through a running server with a real webhook receiver. For every trial
//! exactly one of these holds: the reminder was cancelled before it fired (no notification),
//! the delivery was cancelled as stale (nothing sent), or the webhook was sent once by an
//! attempt that started before the completion was committed. A webhook sent by an attempt
//! that started after the completion's commit (the stale delivery the recheck exists to stop)
//! fails the test, as does a second webhook for one task.

// Wall-clock races: in the `serial` test group, never beside other tests.
mod serial {
    use std::collections::HashMap;
    use std::time::Duration;

    use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
    use serde_json::{Value, json};
    use tickler_app::{Clock as _, SystemClock};

    use crate::helpers::{Backend, TestApp, TestUser, eventually};
    use crate::notifications::peers::{WebhookReceiver, local_notifier};
    use crate::process::all_pages;

    crate::on_both_backends!(
        completing_a_task_as_its_reminder_fires_never_sends_after_the_completion,
    );

    const TRIALS: usize = 500;
    /// Fire times of successive trials are this far apart.
    const SPACING_MS: i64 = 20;
    /// A task is created this long before its reminder is due.
    const LEAD_MS: i64 = 1_500;

    /// What the test saw of one trial.
    struct Trial {
        task_id: String,
        /// When the completion request left, and when its answer came back: the commit
        /// happened in between.
        completion_sent: DateTime<Utc>,
        completion_committed_by: DateTime<Utc>,
    }

    /// Creates task `n` with its reminder at `fire_at`, then completes it `offset_ms` from
    /// the fire time.
    async fn trial(
        app: &TestApp,
        user: &TestUser,
        n: usize,
        fire_at: DateTime<Utc>,
        offset_ms: i64,
    ) -> Trial {
        sleep_until(fire_at - TimeDelta::milliseconds(LEAD_MS)).await;
        let task = app
            .create_task(
                user,
                json!({"title": format!("race {n}"),
                       "reminders": [fire_at.to_rfc3339_opts(SecondsFormat::Millis, true)]}),
            )
            .await;
        let task_id = task["id"].as_str().unwrap().to_owned();
        sleep_until(fire_at + TimeDelta::milliseconds(offset_ms)).await;
        let completion_sent = SystemClock.now();
        let response = app
            .post(
                user,
                &format!("/api/v1/tasks/{task_id}/complete"),
                &json!({}),
            )
            .await;
        let completion_committed_by = SystemClock.now();
        assert!(response.status().is_success(), "completing {task_id}");
        Trial {
            task_id,
            completion_sent,
            completion_committed_by,
        }
    }

    async fn sleep_until(at: DateTime<Utc>) {
        if let Ok(wait) = (at - SystemClock.now()).to_std() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Completions from this long before the fire time...
    const EARLIEST_MS: i64 = -200;
    /// ...to this long after it (past the time a delivery takes on a loaded machine, so that
    /// all three outcomes occur).
    const LATEST_MS: i64 = 800;

    /// Offsets spread evenly over EARLIEST_MS..=LATEST_MS, shuffled by a random seed.
    fn offsets() -> Vec<i64> {
        let seed = uuid::Uuid::new_v4().as_u128();
        let span = LATEST_MS - EARLIEST_MS;
        let mut offsets: Vec<i64> = (0..TRIALS)
            .map(|n| EARLIEST_MS + (span * n as i64) / (TRIALS as i64 - 1))
            .collect();
        let mut state = seed as u64 | 1;
        for index in (1..offsets.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            offsets.swap(index, (state % (index as u64 + 1)) as usize);
        }
        offsets
    }

    async fn completing_a_task_as_its_reminder_fires_never_sends_after_the_completion(
        backend: Backend,
    ) {
        let receiver = WebhookReceiver::start(|_, _| 200).await;
        let Some(app) = TestApp::spawn_with(backend, local_notifier).await else {
            return;
        };
        let user = app.register("ada@example.org").await;
        let response = app
            .post(
                &user,
                "/api/v1/notification-channels",
                &json!({"kind": "webhook", "url": receiver.base}),
            )
            .await;
        assert!(response.status().is_success());
        let start = SystemClock.now() + TimeDelta::milliseconds(LEAD_MS + 200);
        let trials =
            futures::future::join_all(offsets().into_iter().enumerate().map(|(n, offset)| {
                let fire_at = start + TimeDelta::milliseconds(SPACING_MS * n as i64);
                trial(&app, &user, n, fire_at, offset)
            }))
            .await;

        // Settled: every fired reminder's notification has no pending delivery.
        let deliveries: HashMap<String, Value> = eventually(120, || async {
            let notifications =
                all_pages(&app.base, &user.token, "/api/v1/notifications?limit=200").await;
            let mut deliveries = HashMap::new();
            for notification in &notifications {
                let id = notification["id"].as_str().unwrap();
                let list: Value = app
                    .get(&user, &format!("/api/v1/notifications/{id}/deliveries"))
                    .await
                    .json()
                    .await
                    .ok()?;
                let webhook = list
                    .as_array()?
                    .iter()
                    .find(|delivery| delivery["channel_kind"] == "webhook")?
                    .clone();
                if webhook["status"] == "pending" {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    return None;
                }
                deliveries.insert(
                    notification["task_id"].as_str().unwrap().to_owned(),
                    webhook,
                );
            }
            Some(deliveries)
        })
        .await;
        let mut sent: HashMap<String, usize> = HashMap::new();
        for request in receiver.received() {
            let body: Value = serde_json::from_str(&request.body).unwrap();
            *sent
                .entry(body["data"]["task_id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        let (mut before_firing, mut stale, mut delivered, mut ambiguous) = (0, 0, 0, 0);
        for trial in &trials {
            let sends = sent.get(&trial.task_id).copied().unwrap_or(0);
            match deliveries.get(&trial.task_id) {
                None => {
                    assert_eq!(sends, 0, "sent without a notification: {}", trial.task_id);
                    before_firing += 1;
                }
                Some(delivery) if delivery["status"] == "cancelled" => {
                    assert_eq!(sends, 0, "cancelled yet sent: {delivery}");
                    stale += 1;
                }
                Some(delivery) => {
                    assert_eq!(delivery["status"], "delivered", "{delivery}");
                    assert_eq!(sends, 1, "delivered once: {delivery}");
                    let attempts = delivery["attempts"].as_array().unwrap();
                    let started: DateTime<Utc> = attempts.last().unwrap()["at"]
                        .as_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    assert!(
                        started <= trial.completion_committed_by,
                        "sent by an attempt that started {} ms after the completion was committed: {delivery}",
                        (started - trial.completion_committed_by).num_milliseconds()
                    );
                    if started > trial.completion_sent {
                        ambiguous += 1;
                    }
                    delivered += 1;
                }
            }
        }
        let stale_sent = 0;
        eprintln!(
            "{backend:?}: {TRIALS} trials, completion {EARLIEST_MS}..+{LATEST_MS} ms around the fire time: reminder cancelled before firing {before_firing}, delivery cancelled as stale {stale}, delivered before the completion {delivered} (of which {ambiguous} started while the completion was in flight); stale sent {stale_sent}"
        );
        assert_eq!(before_firing + stale + delivered, TRIALS);
        assert!(
            stale > 0,
            "the race was met: some deliveries were caught by the recheck"
        );
    }
}
