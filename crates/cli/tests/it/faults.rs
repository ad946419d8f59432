//! Injected crashes on the write and relay paths (RELIABILITY #1, #2, #8), on the Kafka bus
//! (the shared tansu broker) with PostgreSQL: a `tickler` process built with the
//! `fault-injection` feature and started with `TICKLER_FAULT=<point>@<n>` aborts at that point
//! (`tickler_app::fault`). After a restart every committed event reaches the broker at least
//! once (read back by kafka-python, an independent client), and the consumers' effects happen
//! once: no duplicate next instance of a recurring task, no duplicate notification, no
//! duplicate audit row.
//!
//! On PostgreSQL the consumers run in a process of their own that is never killed; on SQLite
//! (one process per database file) they run in the crashing process and restart with it, in
//! consumer groups of each life's own (`Deployment::writer` says why).

// Kills and restarts of processes: in the `serial` test group.
pub(crate) mod serial {
    use std::collections::{HashMap, HashSet};
    use std::os::unix::process::ExitStatusExt;
    use std::path::Path;
    use std::time::{Duration, Instant};

    use chrono::{SecondsFormat, TimeDelta};
    use serde_json::{Value, json};
    use tickler_app::{Clock as _, SystemClock};
    use tickler_store::Store;
    use tickler_store_postgres::testing::TestDatabase;

    use crate::helpers::{Backend, eventually, provided};
    use crate::process::{ServerProcess, all_pages, kafka_config, register};

    crate::on_both_backends!(
        a_crash_after_commit_before_publish_loses_no_event_and_applies_each_once,
        a_crash_after_publish_before_marking_republishes_and_applies_each_once,
    );

    const SIGABRT: i32 = 6;
    /// Shared by every process of a test, so a token outlives the process that issued it.
    const JWT_SECRET: &str = "a shared signing key of at least 32 bytes";
    const CONSUMER_ROLES: &str = "audit,recurring,notifier";

    /// The processes of one test: a writer (API and reminder scheduler, with or without the
    /// relay) that the test crashes, and on PostgreSQL the consumers in a process of their own.
    pub(crate) struct Deployment {
        backend: Backend,
        brokers: String,
        python: String,
        prefix: String,
        config: tempfile::TempDir,
        data_dir: tempfile::TempDir,
        database: Option<TestDatabase>,
        _consumers: Option<(ServerProcess, tempfile::TempDir)>,
    }

    impl Deployment {
        pub(crate) async fn start(backend: Backend) -> Option<Self> {
            crate::helpers::init();
            let brokers = provided("TICKLER_TEST_KAFKA_BROKERS")?;
            let python = provided("TICKLER_TEST_PYTHON")?;
            let database = match backend {
                Backend::Sqlite => None,
                Backend::Postgres => {
                    let base_url = TestDatabase::base_url_from_env()?;
                    Some(TestDatabase::create(&base_url).await.unwrap())
                }
            };
            let prefix = format!("f{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
            let config = tempfile::tempdir().unwrap();
            kafka_config(config.path(), &brokers, &prefix);
            let mut deployment = Self {
                backend,
                brokers,
                python,
                prefix,
                config,
                data_dir: tempfile::tempdir().unwrap(),
                database,
                _consumers: None,
            };
            if backend == Backend::Postgres {
                let dir = tempfile::tempdir().unwrap();
                let consumers = deployment.process(dir.path(), CONSUMER_ROLES, None, None);
                deployment._consumers = Some((consumers, dir));
            }
            Some(deployment)
        }

        fn args(&self, roles: &str) -> Vec<String> {
            let config = self.config.path().join(format!("{}.toml", self.prefix));
            let mut args = vec![
                "--config".to_owned(),
                config.to_str().unwrap().to_owned(),
                "--roles".to_owned(),
                roles.to_owned(),
            ];
            if let Some(database) = &self.database {
                args.extend(["--database-url".to_owned(), database.url().to_owned()]);
            }
            args
        }

        fn process(
            &self,
            dir: &Path,
            roles: &str,
            fault: Option<&str>,
            groups: Option<&str>,
        ) -> ServerProcess {
            let args = self.args(roles);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut env = vec![("TICKLER_AUTH__JWT_SECRET", JWT_SECRET)];
            if let Some(fault) = fault {
                env.push(("TICKLER_FAULT", fault));
            }
            if let Some(groups) = groups {
                env.push(("TICKLER_BUS__CONSUMER_GROUP_PREFIX", groups));
            }
            ServerProcess::start(dir, &args, &env)
        }

        /// Starts the writer with `roles` (plus the consumers on SQLite).
        ///
        /// On SQLite the consumers die with the writer, and each life joins consumer groups
        /// of its own: tansu 0.6.0 cannot hand partitions over from a member that died as
        /// the group's leader. When that leader misses its heartbeats during a rebalance, the
        /// broker evicts it at a follower's `SyncGroup` and forms the generation with that
        /// follower as leader and an empty assignment; the follower never computed one, its
        /// heartbeats succeed, and it consumes nothing, indefinitely (broker log, debug
        /// level). A real Kafka ends the join phase without the dead member and has a live
        /// leader assign. Fresh groups start at the earliest offset, so every life reads
        /// every event again: the processed-event markers, not the committed offsets, keep
        /// the effects single here.
        pub(crate) fn writer(&self, roles: &str, fault: Option<&str>) -> ServerProcess {
            match self.backend {
                Backend::Sqlite => {
                    let life = &uuid::Uuid::now_v7().simple().to_string()[20..];
                    let groups = format!("{}-{life}", self.prefix);
                    self.process(
                        self.data_dir.path(),
                        &format!("{roles},{CONSUMER_ROLES}"),
                        fault,
                        Some(&groups),
                    )
                }
                Backend::Postgres => self.process(self.data_dir.path(), roles, fault, None),
            }
        }

        pub(crate) async fn store(&self) -> tickler_cli::storage::OpenStore {
            let args = self.args("api");
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            crate::process::open_store(self.data_dir.path(), &args).await
        }

        /// Reads the audit topic (every event type goes there) with kafka-python until it has
        /// `at_least` records and then none for 3 s; returns the deliveries per event id.
        async fn sink(&self, at_least: usize) -> HashMap<String, usize> {
            let mut deliveries = HashMap::new();
            for record in self.sink_records(at_least).await {
                let id = record["value"]["id"].as_str().unwrap().to_owned();
                *deliveries.entry(id).or_insert(0) += 1;
            }
            deliveries
        }

        /// Reads the audit topic like [`Deployment::sink`]; returns every record as
        /// `kafka_reader.py` prints it (`value`, `timestamp` in Unix milliseconds...).
        pub(crate) async fn sink_records(&self, at_least: usize) -> Vec<Value> {
            let output = tokio::process::Command::new(&self.python)
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/kafka_reader.py"
                ))
                .args([
                    &self.brokers,
                    &format!("{}-audit-events", self.prefix),
                    &at_least.to_string(),
                    "120",
                    "3",
                ])
                .output()
                .await
                .unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            String::from_utf8(output.stdout)
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        }
    }

    /// Waits for a process that is meant to crash itself; asserts it died of the injected
    /// abort, not of anything else.
    pub(crate) async fn crashed(process: &mut ServerProcess) {
        let status = eventually(60, || {
            let status = process.child.try_wait().unwrap();
            async move { status }
        })
        .await;
        assert_eq!(
            status.signal(),
            Some(SIGABRT),
            "the process ended by the injected fault: {status:?}"
        );
    }

    /// Every event id in the outbox, committed by any process.
    async fn outbox_event_ids(store: &dyn Store) -> Vec<String> {
        outbox_events(store)
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    /// Every event in the outbox, committed by any process: (event id, event type).
    pub(crate) async fn outbox_events(store: &dyn Store) -> Vec<(String, String)> {
        let mut events = Vec::new();
        let mut position = Default::default();
        loop {
            let records = store.outbox_after(position, 1_000).await.unwrap();
            let Some(last) = records.last() else {
                return events;
            };
            position = last.position;
            for record in &records {
                let event: Value = serde_json::from_str(&record.message.payload).unwrap();
                events.push((
                    event["id"].as_str().unwrap().to_owned(),
                    record.message.event_type.clone(),
                ));
            }
        }
    }

    fn in_seconds(seconds: i64) -> String {
        (SystemClock.now() + TimeDelta::seconds(seconds))
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// One unit of work: a recurring task created and completed (its next instance is the
    /// recurring consumer's effect) and a task whose reminder fires a second later (its
    /// notification is the notifier's effect). Returns `false` once the server is gone.
    async fn work(client: &reqwest::Client, base: &str, token: &str, n: usize) -> bool {
        let chore = client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(token)
            .json(
                &json!({"title": format!("chore {n}"), "due_at": "2099-01-01T09:00:00Z",
                          "recurrence": "FREQ=DAILY"}),
            )
            .send()
            .await;
        let Ok(chore) = chore else { return false };
        let Ok(chore) = chore.json::<Value>().await else {
            return false;
        };
        let call = client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(token)
            .json(&json!({"title": format!("call {n}"), "reminders": [in_seconds(1)]}))
            .send()
            .await;
        if call.is_err() {
            return false;
        }
        let id = chore["id"].as_str().unwrap();
        client
            .post(format!("{base}/api/v1/tasks/{id}/complete"))
            .bearer_auth(token)
            .send()
            .await
            .is_ok()
    }

    /// What the consumers did, read through the API.
    struct Effects {
        tasks: Vec<Value>,
        /// Series whose first instance is done, with how many instances each has.
        completed_series: HashMap<String, usize>,
        fired_reminders: HashSet<String>,
        notifications_per_reminder: HashMap<String, usize>,
    }

    async fn effects(base: &str, token: &str) -> Effects {
        let tasks = all_pages(base, token, "/api/v1/tasks?limit=200").await;
        let mut per_series: HashMap<String, usize> = HashMap::new();
        for task in &tasks {
            *per_series
                .entry(task["series_id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        let completed_series = tasks
            .iter()
            .filter(|task| task["recurrence"].is_string() && task["status"] == "done")
            .map(|task| {
                let series = task["series_id"].as_str().unwrap().to_owned();
                let count = per_series[&series];
                (series, count)
            })
            .collect();
        let fired_reminders = all_pages(base, token, "/api/v1/reminders?limit=200")
            .await
            .into_iter()
            .filter(|reminder| reminder["state"] == "fired")
            .map(|reminder| reminder["id"].as_str().unwrap().to_owned())
            .collect();
        let mut notifications_per_reminder = HashMap::new();
        for notification in all_pages(base, token, "/api/v1/notifications?limit=200").await {
            *notifications_per_reminder
                .entry(notification["reminder_id"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        Effects {
            tasks,
            completed_series,
            fired_reminders,
            notifications_per_reminder,
        }
    }

    /// Counts audited `tickler.task.created` events per task id.
    pub(crate) async fn audited_creations(base: &str, token: &str) -> HashMap<String, usize> {
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

    /// Waits until the consumers have applied everything (every completed series has its next
    /// instance, every fired reminder its notification, every task its audit row, the outbox
    /// is published), then checks each effect happened once and every committed event
    /// reached the broker. Returns (events, lost, duplicate deliveries).
    async fn settle_and_check(
        deployment: &Deployment,
        base: &str,
        token: &str,
    ) -> (usize, usize, usize) {
        let store = deployment.store().await;
        let store = store.as_store();
        eventually(180, || async {
            let effects = effects(base, token).await;
            let audited = audited_creations(base, token).await;
            let backlog = store.outbox_backlog().await.ok()?;
            let ready = backlog == 0
                && effects.completed_series.values().all(|count| *count >= 2)
                && effects
                    .fired_reminders
                    .iter()
                    .all(|id| effects.notifications_per_reminder.contains_key(id))
                && effects
                    .tasks
                    .iter()
                    .all(|task| audited.contains_key(task["id"].as_str().unwrap()));
            if !ready {
                eprintln!(
                    "waiting: backlog {backlog}, series not advanced {}, reminders without notification {}, tasks not audited {}",
                    effects.completed_series.values().filter(|count| **count < 2).count(),
                    effects
                        .fired_reminders
                        .iter()
                        .filter(|id| !effects.notifications_per_reminder.contains_key(*id))
                        .count(),
                    effects
                        .tasks
                        .iter()
                        .filter(|task| !audited.contains_key(task["id"].as_str().unwrap()))
                        .count()
                );
                tokio::time::sleep(Duration::from_millis(1_000)).await;
            }
            ready.then_some(())
        })
        .await;
        let events = outbox_event_ids(store.as_ref()).await;
        let delivered = deployment.sink(events.len()).await;
        let lost: Vec<&String> = events
            .iter()
            .filter(|id| !delivered.contains_key(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} committed events never reached the broker: {lost:?}",
            lost.len(),
            events.len()
        );
        let duplicates: usize = delivered.values().map(|count| count - 1).sum();
        // Read after the sink, so that redeliveries had time to reach the consumers.
        let effects = effects(base, token).await;
        let twice: Vec<_> = effects
            .completed_series
            .iter()
            .filter(|(_, count)| **count != 2)
            .collect();
        assert!(
            twice.is_empty(),
            "series with a duplicate next instance: {twice:?}"
        );
        let notified_twice: Vec<_> = effects
            .notifications_per_reminder
            .iter()
            .filter(|(_, count)| **count != 1)
            .collect();
        assert!(
            notified_twice.is_empty(),
            "duplicate notifications: {notified_twice:?}"
        );
        let audited = audited_creations(base, token).await;
        assert!(
            audited.values().all(|count| *count == 1),
            "audited twice: {audited:?}"
        );
        assert_eq!(audited.len(), effects.tasks.len(), "every task audited");
        eprintln!(
            "{:?}: {} tasks, {} series advanced once, {} notifications once each, {} events: lost 0, {duplicates} delivered twice",
            deployment.backend,
            effects.tasks.len(),
            effects.completed_series.len(),
            effects.notifications_per_reminder.len(),
            events.len()
        );
        (events.len(), lost.len(), duplicates)
    }

    /// RELIABILITY #1: three lives of the writer (API, relay, scheduler), each aborted right
    /// after the commit of a random write (the 10th to 39th), before the relay could publish
    /// it or the client got an answer.
    async fn a_crash_after_commit_before_publish_loses_no_event_and_applies_each_once(
        backend: Backend,
    ) {
        let Some(deployment) = Deployment::start(backend).await else {
            return;
        };
        let client = reqwest::Client::new();
        let mut token = String::new();
        let mut n = 0;
        for round in 0..3 {
            let pass = 10 + uuid::Uuid::new_v4().as_u128() % 30;
            let fault = format!("after_commit_before_publish@{pass}");
            let mut writer = deployment.writer("api,relay,reminders", Some(&fault));
            if round == 0 {
                token = register(&writer.base, "ada@example.org").await;
            }
            while work(&client, &writer.base, &token, n).await {
                n += 1;
            }
            crashed(&mut writer).await;
        }
        let restarted = Instant::now();
        let writer = deployment.writer("api,relay,reminders", None);
        let (events, lost, duplicates) = settle_and_check(&deployment, &writer.base, &token).await;
        eprintln!(
            "{backend:?}: 3 crashes after commit: {n} units of work acknowledged, {events} events, lost {lost}, duplicates {duplicates}; settled {:.1} s after the restart",
            restarted.elapsed().as_secs_f64()
        );
    }

    /// RELIABILITY #2 and #8: the outbox is filled while no relay runs, then a relay publishes
    /// the whole batch and aborts after the broker's acknowledgement, before marking it. The
    /// next relay publishes the batch again: every event of it twice on the broker (duplicates
    /// = the batch, within the relay batch size), yet every consumer applies each once.
    async fn a_crash_after_publish_before_marking_republishes_and_applies_each_once(
        backend: Backend,
    ) {
        const UNITS: usize = 15;
        let Some(deployment) = Deployment::start(backend).await else {
            return;
        };
        let client = reqwest::Client::new();
        let mut writer = deployment.writer("api,reminders", None);
        let token = register(&writer.base, "ada@example.org").await;
        for n in 0..UNITS {
            assert!(work(&client, &writer.base, &token, n).await);
        }
        // Every reminder fired (a second after its task), so its event is in the outbox too.
        eventually(60, || async {
            let fired = all_pages(&writer.base, &token, "/api/v1/reminders?limit=200")
                .await
                .iter()
                .filter(|reminder| reminder["state"] == "fired")
                .count();
            (fired == UNITS).then_some(())
        })
        .await;
        writer.kill();
        let store = deployment.store().await;
        let unpublished = || async {
            let records = store.as_store().outbox_unpublished(10_000).await.unwrap();
            records
                .into_iter()
                .map(|record| record.message.id.to_string())
                .collect::<HashSet<String>>()
        };
        let batch = unpublished().await;
        assert!(batch.len() >= 4 * UNITS, "backlog {}", batch.len());

        let mut relay = deployment.writer("relay", Some("after_publish_before_mark@1"));
        crashed(&mut relay).await;
        // The consumers may have written new records meanwhile (next instances, notifications).
        assert!(
            unpublished().await.is_superset(&batch),
            "nothing of the crashed batch was marked published"
        );
        let writer = deployment.writer("api,relay,reminders", None);
        let (events, lost, duplicates) = settle_and_check(&deployment, &writer.base, &token).await;
        assert_eq!(
            duplicates,
            batch.len(),
            "the crashed batch, and only it, was delivered twice"
        );
        assert!(
            duplicates <= 1_000,
            "duplicates within the relay batch size"
        );
        eprintln!(
            "{backend:?}: crash after publish before marking: {events} events, lost {lost}, {duplicates} delivered twice (the batch), consumer side effects once each"
        );
    }
}
