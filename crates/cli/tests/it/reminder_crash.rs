//! Reminder durability with real processes: `kill -9` of the scheduler before its reminders
//! fire loses none and fires none twice; two scheduler replicas on PostgreSQL never fire one
//! reminder twice.

// Wall-clock timing and kills: in the `serial` test group.
mod serial {
    use std::collections::HashMap;
    use std::time::Duration;

    use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
    use serde_json::{Value, json};
    use tickler_app::{Clock, SystemClock};
    use tickler_store::Store;
    use tickler_store_postgres::testing::TestDatabase;

    use crate::helpers::eventually;
    use crate::process::{ServerProcess, register};

    fn now() -> DateTime<Utc> {
        SystemClock.now()
    }

    /// Creates `count` tasks, each with one reminder at `fire_at` + n ms; returns their ids.
    async fn create_tasks(base: &str, token: &str, count: usize, fire_at: DateTime<Utc>) {
        let client = reqwest::Client::new();
        for n in 0..count {
            let at = fire_at + TimeDelta::milliseconds(n as i64 * 10);
            let response = client
                .post(format!("{base}/api/v1/tasks"))
                .bearer_auth(token)
                .json(&json!({
                    "title": format!("task {n}"),
                    "reminders": [at.to_rfc3339_opts(SecondsFormat::Micros, true)],
                }))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::CREATED);
        }
    }

    /// Reads the user's reminders (every state) until `count` have fired.
    async fn fired_reminders(base: &str, token: &str, count: usize) -> Vec<Value> {
        let client = reqwest::Client::new();
        eventually(60, || async {
            let body: Value = client
                .get(format!("{base}/api/v1/reminders?limit=500"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let items = body["items"].as_array()?.clone();
            let fired = items.iter().filter(|r| r["state"] == "fired").count();
            (fired >= count).then_some(items)
        })
        .await
    }

    /// Counts the `tickler.reminder.due` events of each reminder id in the outbox.
    async fn due_events_per_reminder(store: &dyn Store) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        let mut position = Default::default();
        loop {
            let records = store.outbox_after(position, 1_000).await.unwrap();
            let Some(last) = records.last() else {
                return counts;
            };
            position = last.position;
            for record in &records {
                if record.message.event_type == "tickler.reminder.due" {
                    let event: Value = serde_json::from_str(&record.message.payload).unwrap();
                    let id = event["data"]["reminder_id"].as_str().unwrap().to_owned();
                    *counts.entry(id).or_insert(0) += 1;
                }
            }
        }
    }

    /// Every expectation comes from instants the test measured (the kill, the restart), so the
    /// test holds however fast or slow the machine is: the process stays down until the last
    /// reminder has fallen due, so every one of them fell due during the downtime and must fire
    /// after the restart, exactly once, never before its time.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kill_9_of_the_scheduler_before_its_reminders_fire_loses_none_and_fires_none_twice() {
        crate::helpers::init();
        const TASKS: usize = 40;
        let data_dir = tempfile::tempdir().unwrap();
        let mut server = ServerProcess::start(data_dir.path(), &[], &[]);
        let token = register(&server.base, "ada@example.org").await;
        let fire_at = now() + TimeDelta::seconds(4);
        create_tasks(&server.base, &token, TASKS, fire_at).await;
        server.kill();
        let killed_at = now();
        assert!(
            killed_at < fire_at,
            "creating {TASKS} tasks took over 4 s: the reminders were due before the kill"
        );
        let last_due = fire_at + TimeDelta::milliseconds(10 * (TASKS as i64 - 1));
        // Down until every reminder has fallen due (derived from the fire times, not a guess).
        let downtime = (last_due - now()).to_std().unwrap_or_default();
        tokio::time::sleep(downtime + Duration::from_millis(1)).await;

        let restarted_at = now();
        let server = ServerProcess::start(data_dir.path(), &[], &[]);
        let token = crate::process::login(&server.base, "ada@example.org").await;
        let reminders = fired_reminders(&server.base, &token, TASKS).await;
        assert_eq!(reminders.len(), TASKS);
        for reminder in &reminders {
            let fire_at: DateTime<Utc> = reminder["fire_at"].as_str().unwrap().parse().unwrap();
            let fired_at: DateTime<Utc> = reminder["fired_at"].as_str().unwrap().parse().unwrap();
            assert!(
                fire_at > killed_at && fire_at < restarted_at,
                "fell due while down: {reminder}"
            );
            assert!(fired_at >= fire_at, "early: {reminder}");
            assert!(
                fired_at >= restarted_at,
                "fired while the server was down: {reminder}"
            );
            // `late` and `late_ms` say what happened: the lateness is the time from the fire
            // time to the firing, and `late` is set beyond one second of it.
            let late_ms = reminder["late_ms"].as_i64().unwrap();
            assert!(
                (late_ms - (fired_at - fire_at).num_milliseconds()).abs() <= 1,
                "lateness: {reminder}"
            );
            assert_eq!(reminder["late"], late_ms > 1_000, "late flag: {reminder}");
        }
        drop(server);
        let store = tickler_store_sqlite::SqliteStore::open(
            tickler_store_sqlite::SqliteConfig::new(data_dir.path().join("tickler.db")),
        )
        .await
        .unwrap();
        let counts = due_events_per_reminder(&store).await;
        assert_eq!(counts.len(), TASKS, "lost reminders");
        assert!(counts.values().all(|count| *count == 1), "{counts:?}");
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_scheduler_replicas_on_postgres_fire_each_reminder_once() {
        crate::helpers::init();
        let Some(base_url) = TestDatabase::base_url_from_env() else {
            return;
        };
        const TASKS: usize = 300;
        let database = TestDatabase::create(&base_url).await.unwrap();
        let url = database.url();
        let secret = [(
            "TICKLER_AUTH__JWT_SECRET",
            "a shared signing key of at least 32 bytes",
        )];
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let api = ServerProcess::start(
            dirs[0].path(),
            &["--database-url", url, "--roles", "api,audit,notifier"],
            &secret,
        );
        let mut schedulers: Vec<ServerProcess> = dirs[1..]
            .iter()
            .map(|dir| {
                ServerProcess::start(
                    dir.path(),
                    &["--database-url", url, "--roles", "reminders"],
                    &secret,
                )
            })
            .collect();
        let token = register(&api.base, "ada@example.org").await;
        // Due from 10 s on (after all are created), 10 ms apart: both replicas find due rows at the same time.
        create_tasks(&api.base, &token, TASKS, now() + TimeDelta::seconds(10)).await;
        let reminders = fired_reminders(&api.base, &token, TASKS).await;
        assert_eq!(reminders.len(), TASKS);
        for scheduler in &mut schedulers {
            scheduler.kill();
        }
        let store = tickler_store_postgres::PostgresStore::connect(
            &tickler_store_postgres::PostgresConfig {
                url: url.to_owned(),
                max_connections: 2,
            },
        )
        .await
        .unwrap();
        let counts = due_events_per_reminder(&store).await;
        assert_eq!(counts.len(), TASKS, "lost reminders");
        let twice: Vec<_> = counts.iter().filter(|(_, count)| **count > 1).collect();
        assert!(twice.is_empty(), "fired twice: {twice:?}");
        let lateness: Vec<i64> = reminders
            .iter()
            .map(|r| r["late_ms"].as_i64().unwrap())
            .collect();
        eprintln!(
            "two replicas: {TASKS} reminders fired once each; max lateness {} ms",
            lateness.iter().max().unwrap()
        );
        store.close().await;
    }
}
