//! RELIABILITY's crash and audit scenarios at their full size, 10,000 units of work each:
//! #1 (crash after commit, before publish), #2 (crash after publish, before marking) and #38
//! (10,000 random mutations by several principals, every one audited, an edited row found by
//! `tickler audit verify`). The default run has the same scenarios at 10 to 60 units
//! (`faults.rs`, `audit_chain.rs`); these are measurements of minutes each, so they are
//! `#[ignore]`d and `scripts/bench-reliability` runs them (docs/reliability.md has their
//! figures). They still fail on a broken pass condition (lost = 0, duplicates within the relay
//! batch, duplicate side effects = 0, mutations without an audit row = 0, the edited row is the
//! first broken link); what they print beside it (rates, lags) is never asserted.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::process::all_pages;

/// Work per run: RELIABILITY's 10,000.
const SIZE: usize = 10_000;

/// A small deterministic generator (SplitMix64), seeded at random unless `TICKLER_SCALE_SEED`
/// is set; the seed is printed, so that a run can be repeated.
struct Random(u64);

impl Random {
    fn seeded(what: &str) -> Self {
        let seed = std::env::var("TICKLER_SCALE_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
        eprintln!("{what}: seed {seed} (TICKLER_SCALE_SEED={seed} repeats the run's choices)");
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn unix_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// RELIABILITY #38.
mod audit {
    use super::*;

    const USERS: usize = 4;
    const MAX_TOKENS: usize = 4;
    const MAX_CHANNELS: usize = 5;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-mutation measurement; scripts/bench-reliability runs it"]
    async fn sqlite_ten_thousand_mutations_are_audited_and_an_edited_row_is_found() {
        ten_thousand_mutations(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-mutation measurement; scripts/bench-reliability runs it"]
    async fn postgres_ten_thousand_mutations_are_audited_and_an_edited_row_is_found() {
        ten_thousand_mutations(Backend::Postgres).await;
    }

    /// One account as its client knows it: credentials, and what it made that still exists.
    struct Account {
        email: String,
        id: String,
        password: String,
        session: String,
        /// API tokens: (id, secret).
        tokens: Vec<(String, String)>,
        /// Notification channels: (id, enabled).
        channels: Vec<(String, bool)>,
        /// Open tasks.
        tasks: Vec<String>,
    }

    /// (user, audit row type, task id for task events): the key a change is audited under.
    type Key = (String, String, Option<String>);

    /// What the clients did.
    #[derive(Default)]
    struct Tally {
        /// Audit rows the acknowledged changes must have left, per key.
        expected: HashMap<Key, usize>,
        /// Acknowledged changes per kind.
        acknowledged: BTreeMap<&'static str, usize>,
        /// Refused requests per kind and status.
        refused: BTreeMap<String, usize>,
        first_refusals: Vec<String>,
    }

    impl Tally {
        fn outcome(
            &mut self,
            kind: &'static str,
            wanted: StatusCode,
            status: StatusCode,
            body: &Value,
        ) -> bool {
            if status == wanted {
                *self.acknowledged.entry(kind).or_default() += 1;
                return true;
            }
            *self.refused.entry(format!("{kind} {status}")).or_default() += 1;
            if self.first_refusals.len() < 5 {
                self.first_refusals.push(format!("{kind}: {status} {body}"));
            }
            false
        }

        fn expect(&mut self, user: &str, audit_type: &str, task: Option<&str>) {
            *self
                .expected
                .entry((
                    user.to_owned(),
                    audit_type.to_owned(),
                    task.map(str::to_owned),
                ))
                .or_default() += 1;
        }

        fn merge(&mut self, other: Tally) {
            for (key, count) in other.expected {
                *self.expected.entry(key).or_default() += count;
            }
            for (kind, count) in other.acknowledged {
                *self.acknowledged.entry(kind).or_default() += count;
            }
            for (kind, count) in other.refused {
                *self.refused.entry(kind).or_default() += count;
            }
            self.first_refusals.extend(other.first_refusals);
        }
    }

    async fn send(
        app: &TestApp,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, body)
    }

    async fn login(app: &TestApp, account: &mut Account, tally: &mut Tally) {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": account.email, "password": account.password}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(
            tally.outcome("sign-in", StatusCode::OK, status, &body),
            "{body}"
        );
        tally.expect(&account.id, "tickler.session.started", None);
        account.session = body["access_token"].as_str().unwrap().to_owned();
    }

    /// `count` random changes of `account`, each by a random one of its principals (its
    /// session or one of its API tokens) unless the change needs the session.
    async fn mutate(
        app: &TestApp,
        account: &mut Account,
        mut random: Random,
        count: usize,
    ) -> Tally {
        let mut tally = Tally::default();
        let user = account.id.clone();
        for n in 0..count {
            let pick = random.below(account.tokens.len() + 1);
            let principal = match pick {
                0 => account.session.clone(),
                _ => account.tokens[pick - 1].1.clone(),
            };
            let roll = random.below(1_000);
            let task = (!account.tasks.is_empty())
                .then(|| random.below(account.tasks.len()))
                .map(|at| (at, account.tasks[at].clone()));
            match (roll, task) {
                (0..350, _) | (350..710, None) => {
                    let due = format!("2099-{:02}-{:02}T09:00:00Z", 1 + n % 12, 1 + n % 28);
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::POST,
                        "/api/v1/tasks",
                        Some(json!({"title": format!("task {n}"), "due_at": due,
                                    "reminders": ["-PT1H"]})),
                    )
                    .await;
                    if tally.outcome("task create", StatusCode::CREATED, status, &body) {
                        let id = body["id"].as_str().unwrap().to_owned();
                        tally.expect(&user, "tickler.task.created", Some(&id));
                        account.tasks.push(id);
                    }
                }
                (350..550, Some((_, id))) => {
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::PATCH,
                        &format!("/api/v1/tasks/{id}"),
                        Some(json!({"title": format!("task {n}, renamed")})),
                    )
                    .await;
                    if tally.outcome("task update", StatusCode::OK, status, &body) {
                        tally.expect(&user, "tickler.task.updated", Some(&id));
                    }
                }
                (550..630, Some((at, id))) => {
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::POST,
                        &format!("/api/v1/tasks/{id}/complete"),
                        None,
                    )
                    .await;
                    if tally.outcome("task complete", StatusCode::OK, status, &body) {
                        tally.expect(&user, "tickler.task.completed", Some(&id));
                        account.tasks.swap_remove(at);
                    }
                }
                (630..710, Some((at, id))) => {
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::DELETE,
                        &format!("/api/v1/tasks/{id}"),
                        None,
                    )
                    .await;
                    if tally.outcome("task delete", StatusCode::NO_CONTENT, status, &body) {
                        tally.expect(&user, "tickler.task.deleted", Some(&id));
                        account.tasks.swap_remove(at);
                    }
                }
                (710..800, _) => {
                    let create = account.tokens.is_empty()
                        || (account.tokens.len() < MAX_TOKENS && roll < 770);
                    if create {
                        let (status, body) = send(
                            app,
                            &principal,
                            Method::POST,
                            "/api/v1/tokens",
                            Some(json!({"name": format!("agent {n}")})),
                        )
                        .await;
                        if tally.outcome("token create", StatusCode::CREATED, status, &body) {
                            tally.expect(&user, "tickler.token.created", None);
                            account.tokens.push((
                                body["id"].as_str().unwrap().to_owned(),
                                body["token"].as_str().unwrap().to_owned(),
                            ));
                        }
                    } else {
                        let at = random.below(account.tokens.len());
                        let (id, _) = account.tokens[at].clone();
                        // Not with the token being revoked: the rest of the run uses the
                        // others.
                        let (status, body) = send(
                            app,
                            &account.session,
                            Method::DELETE,
                            &format!("/api/v1/tokens/{id}"),
                            None,
                        )
                        .await;
                        if tally.outcome("token revoke", StatusCode::NO_CONTENT, status, &body) {
                            tally.expect(&user, "tickler.token.revoked", None);
                            account.tokens.swap_remove(at);
                        }
                    }
                }
                (800..890, _) => {
                    let action = if account.channels.is_empty() {
                        0
                    } else if account.channels.len() >= MAX_CHANNELS {
                        2
                    } else if roll < 840 {
                        0
                    } else if roll < 870 {
                        1
                    } else {
                        2
                    };
                    match action {
                        0 => {
                            let (status, body) = send(
                                app,
                                &principal,
                                Method::POST,
                                "/api/v1/notification-channels",
                                Some(json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook"})),
                            )
                            .await;
                            if tally.outcome("channel create", StatusCode::CREATED, status, &body) {
                                tally.expect(&user, "tickler.channel.created", None);
                                account
                                    .channels
                                    .push((body["id"].as_str().unwrap().to_owned(), true));
                            }
                        }
                        1 => {
                            let at = random.below(account.channels.len());
                            let (id, enabled) = account.channels[at].clone();
                            let (status, body) = send(
                                app,
                                &principal,
                                Method::PATCH,
                                &format!("/api/v1/notification-channels/{id}"),
                                Some(json!({"enabled": !enabled})),
                            )
                            .await;
                            if tally.outcome("channel update", StatusCode::OK, status, &body) {
                                tally.expect(&user, "tickler.channel.updated", None);
                                account.channels[at].1 = !enabled;
                            }
                        }
                        _ => {
                            let at = random.below(account.channels.len());
                            let (id, _) = account.channels[at].clone();
                            let (status, body) = send(
                                app,
                                &principal,
                                Method::DELETE,
                                &format!("/api/v1/notification-channels/{id}"),
                                None,
                            )
                            .await;
                            if tally.outcome(
                                "channel delete",
                                StatusCode::NO_CONTENT,
                                status,
                                &body,
                            ) {
                                tally.expect(&user, "tickler.channel.deleted", None);
                                account.channels.swap_remove(at);
                            }
                        }
                    }
                }
                (890..950, _) => {
                    let (_, page) = send(
                        app,
                        &principal,
                        Method::GET,
                        "/api/v1/reminders?limit=100",
                        None,
                    )
                    .await;
                    let pending: Vec<String> = page["items"]
                        .as_array()
                        .map(|items| {
                            items
                                .iter()
                                .filter(|item| item["state"] == "pending")
                                .filter_map(|item| item["id"].as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    if pending.is_empty() {
                        *tally
                            .refused
                            .entry("snooze: none pending".into())
                            .or_default() += 1;
                        continue;
                    }
                    let id = &pending[random.below(pending.len())];
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::POST,
                        &format!("/api/v1/reminders/{id}/snooze"),
                        Some(json!({"minutes": 30})),
                    )
                    .await;
                    if tally.outcome("reminder snooze", StatusCode::OK, status, &body) {
                        tally.expect(&user, "tickler.reminder.snoozed", None);
                    }
                }
                (950..997, _) => {
                    let (status, body) = send(
                        app,
                        &principal,
                        Method::PATCH,
                        "/api/v1/me",
                        Some(json!({"name": format!("name {n}")})),
                    )
                    .await;
                    if tally.outcome("profile change", StatusCode::OK, status, &body) {
                        tally.expect(&user, "tickler.account.profile_changed", None);
                    }
                }
                _ => {
                    let new_password = format!("a new passphrase number {n} of {user}");
                    let (status, body) = send(
                        app,
                        &account.session,
                        Method::PATCH,
                        "/api/v1/me",
                        Some(json!({"password": new_password,
                                    "current_password": account.password})),
                    )
                    .await;
                    if tally.outcome("password change", StatusCode::OK, status, &body) {
                        tally.expect(&user, "tickler.account.password_changed", None);
                        // Every API token and session went with the old password.
                        account.password = new_password;
                        account.tokens.clear();
                        login(app, account, &mut tally).await;
                    }
                }
            }
        }
        tally
    }

    /// Each user's trail: rows per key.
    async fn trails(app: &TestApp, accounts: &[Account]) -> (HashMap<Key, usize>, usize) {
        let mut found = HashMap::new();
        let mut rows = 0;
        for account in accounts {
            for item in all_pages(&app.base, &account.session, "/api/v1/audit?limit=500").await {
                rows += 1;
                let audit_type = item["type"].as_str().unwrap().to_owned();
                let task = audit_type
                    .starts_with("tickler.task.")
                    .then(|| item["task_id"].as_str().unwrap().to_owned());
                *found
                    .entry((account.id.clone(), audit_type, task))
                    .or_default() += 1;
            }
        }
        (found, rows)
    }

    fn without_row(expected: &HashMap<Key, usize>, found: &HashMap<Key, usize>) -> Vec<Key> {
        let mut missing = Vec::new();
        for (key, count) in expected {
            let have = found.get(key).copied().unwrap_or(0);
            for _ in have..*count {
                missing.push(key.clone());
            }
        }
        missing
    }

    async fn ten_thousand_mutations(backend: Backend) {
        let app = TestApp::spawn_with(backend, |config| {
            crate::notifications::peers::local_notifier(config);
            // Sign-ins after each password change, all from one address: not what this
            // measures (the throttle has tests of its own).
            config.auth.login_attempts_per_address = 100_000;
        })
        .await
        .expect("PostgreSQL runs need TICKLER_TEST_DATABASE_URL");
        let mut random = Random::seeded("scenario 38");
        let mut tally = Tally::default();
        let mut accounts = Vec::new();
        for n in 0..USERS {
            let email = format!("user{n}@example.org");
            let user = app.register(&email).await;
            *tally.acknowledged.entry("registration").or_default() += 1;
            tally.expect(&user.id, "tickler.account.registered", None);
            accounts.push(Account {
                email,
                id: user.id,
                password: "correct horse battery".to_owned(),
                session: user.token,
                tokens: Vec::new(),
                channels: Vec::new(),
                tasks: Vec::new(),
            });
        }
        let started = Instant::now();
        let shared = &app;
        let runs = accounts
            .iter_mut()
            .map(|account| {
                let random = Random(random.next());
                mutate(shared, account, random, SIZE / USERS)
            })
            .collect::<Vec<_>>();
        for part in futures::future::join_all(runs).await {
            tally.merge(part);
        }
        let mutated = started.elapsed();
        let acknowledged: usize = tally.acknowledged.values().sum();
        let refused: usize = tally.refused.values().sum();
        eprintln!(
            "{backend:?}: {acknowledged} changes acknowledged in {:.1} s ({:.0}/s) by {USERS} users, each with a session and up to {MAX_TOKENS} API tokens: {:?}; refused {refused}: {:?} {:?}",
            mutated.as_secs_f64(),
            acknowledged as f64 / mutated.as_secs_f64(),
            tally.acknowledged,
            tally.refused,
            tally.first_refusals,
        );

        // Task changes reach the trail through the audit consumer: wait for it (bounded).
        let waited = Instant::now();
        let (missing, rows) = loop {
            let (found, rows) = trails(&app, &accounts).await;
            let missing = without_row(&tally.expected, &found);
            if missing.is_empty() || waited.elapsed() > Duration::from_secs(180) {
                break (missing, rows);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(
            missing.is_empty(),
            "{} acknowledged changes without their audit row, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(10)]
        );
        let expected: usize = tally.expected.values().sum();
        eprintln!(
            "{backend:?}: {expected} audit rows expected from what the clients did, {rows} in the trails; changes without an audit row: 0 (complete {:.1} s after the last change)",
            waited.elapsed().as_secs_f64()
        );

        let verifying = Instant::now();
        let output = crate::audit_chain::verify(&app, &[]);
        let verified_in = verifying.elapsed();
        let report = crate::audit_chain::text(&output.stdout);
        assert!(
            output.status.success(),
            "{report}{}",
            crate::audit_chain::text(&output.stderr)
        );
        let summary = report
            .lines()
            .find(|line| line.starts_with("audit trail intact"))
            .unwrap_or_else(|| panic!("{report}"))
            .to_owned();

        // One row in the middle of the first user's chain, edited in the database.
        let victim = &accounts[0];
        let trail = all_pages(&app.base, &victim.session, "/api/v1/audit?limit=500").await;
        let edited = trail[trail.len() / 2]["event_id"]
            .as_str()
            .unwrap()
            .to_owned();
        crate::audit_chain::edit_row_in_the_database(&app, &edited).await;
        for extra in [vec!["--user", victim.id.as_str()], vec![]] {
            let output = crate::audit_chain::verify(&app, &extra);
            let report = crate::audit_chain::text(&output.stderr);
            assert!(!output.status.success(), "{report}");
            assert!(report.contains("audit chain broken"), "{report}");
            assert!(
                report.contains(&format!("user {}: row {edited} (chain_seq", victim.id)),
                "the edited row is the first broken link: {report}"
            );
        }
        eprintln!(
            "{backend:?}: `tickler audit verify` on the whole database: {summary} in {:.1} s; after editing row {edited} ({} of {} in its user's trail) it reports exactly that row as the first broken link, with and without --user",
            verified_in.as_secs_f64(),
            trail.len() / 2 + 1,
            trail.len()
        );
    }
}

/// RELIABILITY #1 and #2 on the Kafka bus (the shared tansu broker), read back by kafka-python.
mod serial {
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

    use tickler_store::Store;

    use super::*;
    use crate::faults::serial::{Deployment, audited_creations, crashed, outbox_events};
    use crate::process::register;

    /// Clients creating at once.
    const CLIENTS: usize = 8;
    /// `bus.relay_batch` (config/default.toml).
    const RELAY_BATCH: usize = 1_000;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-task measurement; scripts/bench-reliability runs it"]
    async fn postgres_kafka_ten_thousand_creates_crash_after_commit_before_publish() {
        crash_after_commit(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-task measurement; scripts/bench-reliability runs it"]
    async fn sqlite_kafka_ten_thousand_creates_crash_after_commit_before_publish() {
        crash_after_commit(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-task measurement; scripts/bench-reliability runs it"]
    async fn postgres_kafka_ten_thousand_creates_crash_after_publish_before_mark() {
        crash_after_publish(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a 10,000-task measurement; scripts/bench-reliability runs it"]
    async fn sqlite_kafka_ten_thousand_creates_crash_after_publish_before_mark() {
        crash_after_publish(Backend::Sqlite).await;
    }

    async fn deployment(backend: Backend) -> Deployment {
        Deployment::start(backend).await.expect(
            "needs TICKLER_TEST_KAFKA_BROKERS, TICKLER_TEST_PYTHON (and for PostgreSQL TICKLER_TEST_DATABASE_URL): scripts/bench-reliability sets them",
        )
    }

    /// Creates tasks with [`CLIENTS`] clients at once, `slots` of them at most, until the
    /// server goes away; returns whether it stayed.
    async fn create_tasks(
        client: &reqwest::Client,
        base: &str,
        token: &str,
        slots: usize,
        next: &AtomicUsize,
        acknowledged: &AtomicUsize,
    ) -> bool {
        let slots = &AtomicUsize::new(slots);
        let gone = &AtomicBool::new(false);
        let worker = || async move {
            while !gone.load(SeqCst)
                && slots
                    .fetch_update(SeqCst, SeqCst, |slots| slots.checked_sub(1))
                    .is_ok()
            {
                let n = next.fetch_add(1, SeqCst);
                let response = client
                    .post(format!("{base}/api/v1/tasks"))
                    .bearer_auth(token)
                    .json(&json!({"title": format!("task {n}")}))
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        acknowledged.fetch_add(1, SeqCst);
                    }
                    Ok(response) => panic!("creating task {n}: {}", response.status()),
                    Err(_) => gone.store(true, SeqCst),
                }
            }
        };
        futures::future::join_all((0..CLIENTS).map(|_| worker())).await;
        !gone.load(SeqCst)
    }

    async fn published(store: &dyn Store) {
        crate::helpers::eventually(300, || async {
            (store.outbox_backlog().await.ok()? == 0).then_some(())
        })
        .await;
    }

    /// What the sink saw of the committed events.
    struct Sunk {
        lost: usize,
        duplicates: usize,
        /// The latest broker timestamp (Unix ms) per event id.
        latest: HashMap<String, i64>,
    }

    async fn sink(deployment: &Deployment, events: &[(String, String)]) -> Sunk {
        let records = deployment.sink_records(events.len()).await;
        let mut deliveries: HashMap<String, usize> = HashMap::new();
        let mut latest: HashMap<String, i64> = HashMap::new();
        for record in &records {
            let id = record["value"]["id"].as_str().unwrap().to_owned();
            let at = record["timestamp"].as_i64().unwrap();
            *deliveries.entry(id.clone()).or_default() += 1;
            let entry = latest.entry(id).or_insert(at);
            *entry = (*entry).max(at);
        }
        let lost: Vec<&String> = events
            .iter()
            .map(|(id, _)| id)
            .filter(|id| !deliveries.contains_key(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "{} of {} committed events never reached the broker, e.g. {:?}",
            lost.len(),
            events.len(),
            &lost[..lost.len().min(10)]
        );
        Sunk {
            lost: lost.len(),
            duplicates: deliveries.values().map(|count| count - 1).sum(),
            latest,
        }
    }

    fn tasks_created(events: &[(String, String)]) -> usize {
        events
            .iter()
            .filter(|(_, event_type)| event_type == "tickler.task.created")
            .count()
    }

    /// RELIABILITY #1: 10,000 creates at full speed; the writer (API and relay) aborts right
    /// after the commit of a random one, before the relay published it or the client got an
    /// answer; restarted, the clients create the rest.
    async fn crash_after_commit(backend: Backend) {
        let deployment = deployment(backend).await;
        let mut random = Random::seeded("scenario 1");
        let pass = 100 + random.below(SIZE - 200);
        let fault = format!("after_commit_before_publish@{pass}");
        let mut writer = deployment.writer("api,relay", Some(&fault));
        let token = register(&writer.base, "ada@example.org").await;
        let client = reqwest::Client::new();
        let next = AtomicUsize::new(0);
        let acknowledged = AtomicUsize::new(0);
        let started = Instant::now();
        let stayed = create_tasks(
            &client,
            &writer.base,
            &token,
            usize::MAX,
            &next,
            &acknowledged,
        )
        .await;
        assert!(!stayed);
        crashed(&mut writer).await;
        let before_crash = acknowledged.load(SeqCst);
        let store = deployment.store().await;
        let store = store.as_store();
        let committed_before: HashSet<String> = outbox_events(store.as_ref())
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();

        let restarted_at = unix_millis();
        let writer = deployment.writer("api,relay", None);
        assert!(
            create_tasks(
                &client,
                &writer.base,
                &token,
                SIZE - before_crash,
                &next,
                &acknowledged,
            )
            .await
        );
        let created_in = started.elapsed();
        published(store.as_ref()).await;
        let events = outbox_events(store.as_ref()).await;
        let sunk = sink(&deployment, &events).await;
        let backlog_lag = committed_before
            .iter()
            .filter_map(|id| sunk.latest.get(id))
            .max()
            .map(|at| (at - restarted_at) as f64 / 1_000.0)
            .unwrap_or_default();
        let last_lag = sunk.latest.values().max().copied().unwrap_or_default() - restarted_at;
        let tasks = tasks_created(&events);
        eprintln!(
            "{backend:?}, Kafka bus: crash after commit at commit #{pass} ({before_crash} creates acknowledged before it); {} creates acknowledged in {:.1} s ({:.0}/s), {tasks} tasks committed ({} committed and never answered); {} events: lost {}, delivered twice {}; the last event committed before the crash reached the broker {backlog_lag:.1} s after the restart, the run's last event {:.1} s after it",
            acknowledged.load(SeqCst),
            created_in.as_secs_f64(),
            acknowledged.load(SeqCst) as f64 / created_in.as_secs_f64(),
            tasks.saturating_sub(acknowledged.load(SeqCst)),
            events.len(),
            sunk.lost,
            sunk.duplicates,
            last_lag as f64 / 1_000.0,
        );
    }

    /// RELIABILITY #2 (and #8's duplicate side effects): 10,000 creates committed while no
    /// relay runs; a relay publishes the outbox in batches and aborts after the broker
    /// acknowledged a random batch, before marking it; the next relay publishes that batch
    /// again. The audit consumer records each task once all the same.
    async fn crash_after_publish(backend: Backend) {
        let deployment = deployment(backend).await;
        let mut random = Random::seeded("scenario 2");
        let mut writer = deployment.writer("api", None);
        let token = register(&writer.base, "ada@example.org").await;
        let client = reqwest::Client::new();
        let next = AtomicUsize::new(0);
        let acknowledged = AtomicUsize::new(0);
        let started = Instant::now();
        assert!(create_tasks(&client, &writer.base, &token, SIZE, &next, &acknowledged).await);
        let created_in = started.elapsed();
        writer.kill();
        let store = deployment.store().await;
        let store = store.as_store();
        let backlog = store.outbox_backlog().await.unwrap() as usize;
        assert!(backlog >= SIZE, "backlog {backlog}");
        let batch = 1 + random.below(backlog.div_ceil(RELAY_BATCH));
        let mut relay =
            deployment.writer("relay", Some(&format!("after_publish_before_mark@{batch}")));
        crashed(&mut relay).await;
        let unmarked = store.outbox_backlog().await.unwrap() as usize;

        let restarted = Instant::now();
        let writer = deployment.writer("api,relay", None);
        published(store.as_ref()).await;
        let published_in = restarted.elapsed();
        let events = outbox_events(store.as_ref()).await;
        let sunk = sink(&deployment, &events).await;
        assert!(
            sunk.duplicates <= RELAY_BATCH,
            "{} delivered twice, more than the relay batch of {RELAY_BATCH}",
            sunk.duplicates
        );
        let tasks = tasks_created(&events);
        let waited = Instant::now();
        let audited = loop {
            let audited = audited_creations(&writer.base, &token).await;
            if audited.len() >= tasks || waited.elapsed() > Duration::from_secs(300) {
                break audited;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        };
        assert_eq!(audited.len(), tasks, "every committed task audited");
        let twice = audited.values().filter(|count| **count != 1).count();
        assert_eq!(twice, 0, "tasks audited more than once");
        eprintln!(
            "{backend:?}, Kafka bus: {} creates acknowledged in {:.1} s; backlog {backlog}; the relay aborted after the broker acknowledged batch {batch} ({unmarked} left unmarked); restarted, the outbox was published {:.1} s later; {} events: lost {}, delivered twice {} (relay batch {RELAY_BATCH}); {tasks} tasks audited once each, duplicate side effects 0 ({:.1} s after the sink)",
            acknowledged.load(SeqCst),
            created_in.as_secs_f64(),
            published_in.as_secs_f64(),
            events.len(),
            sunk.lost,
            sunk.duplicates,
            waited.elapsed().as_secs_f64(),
        );
    }
}
