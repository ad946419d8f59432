//! A delivery worker stopped (`SIGSTOP`) past its lease (RELIABILITY #22), with two real
//! `tickler` processes on one PostgreSQL database (SQLite serves one process, so it has no
//! second worker to take over) and a real webhook receiver. The contract
//! (ARCHITECTURE.md, "How a reminder reaches its user"): delivery is at least once, with the
//! same `webhook-id` on every send; a worker whose lease ran out never starts an attempt, and
//! the outcome of an attempt it could not take back is refused by the fencing token.

// Stopped processes and wall-clock leases: in the `serial` test group.
mod serial {
    use std::io::Read;
    use std::path::Path;
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use rustix::process::{Pid, Signal, kill_process};
    use serde_json::{Value, json};
    use tickler_app::{Clock as _, SystemClock};
    use tickler_store_postgres::testing::TestDatabase;

    use crate::helpers::eventually;
    use crate::notifications::peers::{Received, WebhookReceiver, reminder_change};
    use crate::process::{ServerProcess, register};

    const LEASE_SECONDS: u64 = 3;
    const FENCED: &str = "the claim on a delivery expired before its outcome was recorded";
    const NOT_ATTEMPTED: &str = "the claim on a delivery expired before its attempt";
    /// Logged at `debug` as an attempt starts, with the claim's age.
    const ATTEMPTING: &str = "attempting a delivery";

    fn signal(process: &ServerProcess, signal: Signal) {
        let pid = Pid::from_raw(process.child.id() as i32).unwrap();
        kill_process(pid, signal).unwrap();
    }

    /// Whether the process is stopped (state `T` in `/proc/<pid>/stat`).
    fn is_stopped(process: &ServerProcess) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", process.child.id()))
            .unwrap_or_default();
        // The state follows the command name, which is in parentheses.
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
    }

    fn log_of(path: &Path) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(path) {
            file.read_to_string(&mut text).unwrap();
        }
        text
    }

    /// A PostgreSQL database, a shared data directory (one server secret, so either process
    /// signs the webhook) and what both processes are started with.
    struct Setup {
        database: TestDatabase,
        data_dir: tempfile::TempDir,
        logs: tempfile::TempDir,
    }

    impl Setup {
        async fn new() -> Option<Self> {
            crate::helpers::init();
            let base_url = TestDatabase::base_url_from_env()?;
            Some(Self {
                database: TestDatabase::create(&base_url).await.unwrap(),
                data_dir: tempfile::tempdir().unwrap(),
                logs: tempfile::tempdir().unwrap(),
            })
        }

        /// Starts a process with every role; its log goes to `<name>.log`.
        fn start(&self, name: &str, fault: Option<&str>) -> ServerProcess {
            let lease = LEASE_SECONDS.to_string();
            let mut env = vec![
                ("TICKLER_NOTIFIER__LEASE_SECONDS", lease.as_str()),
                ("TICKLER_NOTIFIER__WEBHOOK_TIMEOUT_MS", "1500"),
                ("TICKLER_NOTIFIER__POLL_INTERVAL_MS", "100"),
                ("TICKLER_BUS__POLL_INTERVAL_MS", "50"),
                // Each attempt's claim age, for a failure's log.
                ("TICKLER_LOG__LEVEL", "warn,tickler_workers::delivery=debug"),
            ];
            if let Some(fault) = fault {
                env.push(("TICKLER_FAULT", fault));
            }
            let log = std::fs::File::create(self.logs.path().join(format!("{name}.log"))).unwrap();
            ServerProcess::start_logging(
                self.data_dir.path(),
                &[
                    "--database-url",
                    self.database.url(),
                    "--webhook-allow-hosts",
                    "127.0.0.1",
                ],
                &env,
                Stdio::from(log),
            )
        }

        /// Waits (up to 30 s) for `text` in the log of process `name`.
        async fn await_log(&self, name: &str, text: &str) {
            let path = self.logs.path().join(format!("{name}.log"));
            let deadline = Instant::now() + Duration::from_secs(30);
            while !log_of(&path).contains(text) {
                assert!(
                    Instant::now() < deadline,
                    "{name} never logged {text:?}; its log:\n{}",
                    log_of(&path)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }

        /// Registers a user with a webhook channel to `receiver` and fires a reminder of
        /// theirs into the outbox; returns the user's token and an instant taken before the
        /// reminder was committed, so before any worker could claim its delivery.
        async fn fire(
            &self,
            process: &ServerProcess,
            receiver: &WebhookReceiver,
        ) -> (String, Instant) {
            let token = register(&process.base, "ada@example.org").await;
            let client = reqwest::Client::new();
            let me: Value = client
                .get(format!("{}/api/v1/me", process.base))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let response = client
                .post(format!("{}/api/v1/notification-channels", process.base))
                .bearer_auth(&token)
                .json(&json!({"kind": "webhook", "url": receiver.base}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
            let store = tickler_store_postgres::PostgresStore::connect(
                &tickler_store_postgres::PostgresConfig::new(self.database.url()),
            )
            .await
            .unwrap();
            let (change, _) =
                reminder_change(me["id"].as_str().unwrap(), "stalled", SystemClock.now());
            let fired_at = Instant::now();
            tickler_store::TaskStore::commit(&store, change)
                .await
                .unwrap();
            store.close().await;
            (token, fired_at)
        }
    }

    /// The webhook delivery of the user's only notification, once it is delivered.
    async fn delivered(base: &str, token: &str) -> Value {
        let client = reqwest::Client::new();
        eventually(30, || async {
            let page: Value = client
                .get(format!("{base}/api/v1/notifications"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let id = page["items"][0]["id"].as_str()?.to_owned();
            let deliveries: Value = client
                .get(format!("{base}/api/v1/notifications/{id}/deliveries"))
                .bearer_auth(token)
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let webhook = deliveries
                .as_array()?
                .iter()
                .find(|delivery| delivery["channel_kind"] == "webhook")?
                .clone();
            (webhook["status"] == "delivered").then_some(webhook)
        })
        .await
    }

    async fn received_at_least(receiver: &WebhookReceiver, count: usize) -> Vec<Received> {
        eventually(30, || async {
            let received = receiver.received();
            (received.len() >= count).then_some(received)
        })
        .await
    }

    /// Stopped with the request sent and unanswered: after the lease the second process sends
    /// it again (the documented duplicate, same `webhook-id`) and records it delivered; the
    /// first, resumed, times out and its outcome is refused: the record stays delivered with
    /// one attempt, and it sends nothing more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_stopped_mid_send_past_its_lease_is_taken_over_and_its_late_outcome_refused() {
        let Some(setup) = Setup::new().await else {
            return;
        };
        let receiver = WebhookReceiver::start(|_, nth| if nth == 0 { 0 } else { 200 }).await;
        let first = setup.start("first", None);
        let (token, fired_at) = setup.fire(&first, &receiver).await;
        received_at_least(&receiver, 1).await;
        signal(&first, Signal::STOP);
        let stopped_at = Instant::now();
        let second = setup.start("second", None);
        let received = received_at_least(&receiver, 2).await;
        let takeover = stopped_at.elapsed();
        // The lease runs from the claim, which came after the reminder was committed and
        // before the first send (so before the stop): only the time since the commit bounds
        // the takeover from below.
        let since_fired = fired_at.elapsed();
        let delivery = delivered(&second.base, &token).await;
        assert!(
            since_fired >= Duration::from_secs(LEASE_SECONDS),
            "taken over only after the lease: {since_fired:?} after the reminder was committed"
        );
        signal(&first, Signal::CONT);
        setup.await_log("first", FENCED).await;
        let after = delivered(&second.base, &token).await;
        assert_eq!(after, delivery, "the refused outcome changed nothing");
        let attempts = after["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{after}");
        assert_eq!(attempts[0]["status_code"], 200);
        let received_now = receiver.received();
        assert_eq!(
            received_now.len(),
            2,
            "sent before the stop and once by the second"
        );
        assert_eq!(
            received[0].headers["webhook-id"],
            received[1].headers["webhook-id"]
        );
        assert_eq!(after["id"], received[1].headers["webhook-id"].as_str());
        eprintln!(
            "stopped mid-send: taken over {:.1} s after the stop (lease {LEASE_SECONDS} s); sends 2 (same webhook-id), recorded attempts 1, late outcome refused",
            takeover.as_secs_f64()
        );
    }

    /// Stopped after claiming, before sending (fault point `before_delivery_send`): the second
    /// process delivers after the lease; the first, resumed, sees by its own clock that its
    /// lease ran out and does not send: the receiver gets the webhook once. (The point stops
    /// the thread that reached it; stopped through another thread, this one had time to check
    /// its fresh lease and send before the process stopped.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_stopped_between_claim_and_send_does_not_send_after_its_lease() {
        let Some(setup) = Setup::new().await else {
            return;
        };
        let receiver = WebhookReceiver::start(|_, _| 200).await;
        let first = setup.start("first", Some("before_delivery_send@1:stop"));
        let (token, _) = setup.fire(&first, &receiver).await;
        eventually(30, || async { is_stopped(&first).then_some(()) }).await;
        let stopped_at = Instant::now();
        let second = setup.start("second", None);
        let delivery = delivered(&second.base, &token).await;
        let takeover = stopped_at.elapsed();
        signal(&first, Signal::CONT);
        setup.await_log("first", NOT_ATTEMPTED).await;
        // The first process's API answers again: it runs on, and has still sent nothing.
        delivered(&first.base, &token).await;
        let first_log = log_of(&setup.logs.path().join("first.log"));
        assert!(
            !first_log.contains(ATTEMPTING),
            "the stopped worker began an attempt; its log:\n{first_log}"
        );
        assert_eq!(receiver.received().len(), 1, "delivered once");
        let attempts = delivery["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{delivery}");
        let claim_age = first_log
            .lines()
            .filter(|line| line.contains(NOT_ATTEMPTED))
            .find_map(|line| serde_json::from_str::<Value>(line).ok())
            .map(|line| line["claim_age_ms"].to_string())
            .unwrap_or_default();
        eprintln!(
            "stopped between claim and send: delivered by the other process {:.1} s after the stop (lease {LEASE_SECONDS} s); the resumed worker's claim was {claim_age} ms old; sends 1",
            takeover.as_secs_f64()
        );
    }
}
