//! Distributed tracing: one trace follows a change from the HTTP request through the relay,
//! the broker and the consumers of another process, and back; a notification's webhook
//! delivery continues the notifier's trace. Spans are exported over OTLP/HTTP to a
//! real receiver (`crates/cli/tests/otlp_receiver.py`, which decodes the protobuf with the
//! `opentelemetry-proto` package) and read back span by span.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use tickler_store_postgres::testing::TestDatabase;

use crate::helpers::{eventually, provided};
use crate::kafka::shared_broker;
use crate::process::{ServerProcess, kafka_config, register};

/// The OTLP receiver, killed when dropped.
struct Receiver {
    child: std::process::Child,
    endpoint: String,
    spans: std::path::PathBuf,
}

impl Receiver {
    fn start(python: &str, dir: &std::path::Path) -> Self {
        let spans = dir.join("spans.jsonl");
        let mut child = Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/otlp_receiver.py"
            ))
            .arg(&spans)
            .stdout(Stdio::piped())
            .spawn()
            .expect("the OTLP receiver starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_owned();
        Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            spans,
        }
    }

    /// Every span received so far.
    fn all_spans(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.spans)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .collect()
    }

    /// The spans of `trace_id` received so far.
    fn spans_of(&self, trace_id: &str) -> Vec<Value> {
        self.all_spans()
            .into_iter()
            .filter(|span| span["trace_id"] == trace_id)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The one span of `spans` named `name` by service `service` whose parent is `parent`.
fn child<'a>(spans: &'a [Value], service: &str, name: &str, parent: &str) -> Option<&'a Value> {
    spans
        .iter()
        .find(|s| s["service"] == service && s["name"] == name && s["parent_span_id"] == parent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_follows_a_change_across_two_processes_on_the_kafka_bus() {
    let (Some(brokers), Some(python), Some(base_url)) = (
        shared_broker(),
        provided("TICKLER_TEST_PYTHON"),
        provided("TICKLER_TEST_DATABASE_URL"),
    ) else {
        return;
    };
    crate::helpers::init();
    let database = TestDatabase::create(&base_url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(&python, dir.path());
    let prefix = format!("tr{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let config = kafka_config(dir.path(), &brokers, &prefix);
    let config = config.to_str().unwrap();
    let secret = "s".repeat(40);
    let common = |roles: &'static str| {
        vec![
            "--config",
            config,
            "--database-url",
            database.url(),
            "--otlp-endpoint",
            receiver.endpoint.as_str(),
            "--roles",
            roles,
            // The webhook receiver below runs on this machine.
            "--webhook-allow-hosts",
            "127.0.0.1",
        ]
    };
    // Spans leave each process within 100 ms (the batch processor's delay, 5 s by default).
    let env = |service: &'static str| {
        vec![
            ("OTEL_SERVICE_NAME", service),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("TICKLER_AUTH__JWT_SECRET", secret.as_str()),
            ("TICKLER_LOG__LEVEL", "info"),
        ]
    };
    let front_dir = tempfile::tempdir().unwrap();
    let back_dir = tempfile::tempdir().unwrap();
    let front_log = dir.path().join("front.log");
    let front = ServerProcess::start_logging(
        front_dir.path(),
        &common("api,relay"),
        &env("tickler-front"),
        Stdio::from(std::fs::File::create(&front_log).unwrap()),
    );
    let _back = ServerProcess::start(
        back_dir.path(),
        &common("audit,recurring,reminders,notifier"),
        &env("tickler-back"),
    );

    let token = register(&front.base, "ada@example.org").await;
    let client = reqwest::Client::new();
    let task: Value = client
        .post(format!("{}/api/v1/tasks", front.base))
        .bearer_auth(&token)
        .json(
            &json!({"title": "Water the plants", "due_at": "2030-01-01T09:00:00Z",
                      "recurrence": "FREQ=DAILY"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The client starts the trace: completing the task continues it.
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    let client_span = "00f067aa0ba902b7";
    let completed = client
        .post(format!(
            "{}/api/v1/tasks/{}/complete",
            front.base,
            task["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{client_span}-01"))
        .send()
        .await
        .unwrap();
    assert!(completed.status().is_success());

    // request (front) -> its commit, the relay's publish (front), the consumers (back) ->
    // recurring's commit of the next instance (back) -> that event's publish (front) and its
    // audit (back).
    let spans = eventually(60, || async {
        let spans = receiver.spans_of(&trace_id);
        let request = child(
            &spans,
            "tickler-front",
            "POST /api/v1/tasks/{id}/complete",
            client_span,
        )?;
        let request_id = request["span_id"].as_str()?.to_owned();
        child(&spans, "tickler-front", "store commit", &request_id)?;
        child(
            &spans,
            "tickler-front",
            "publish tickler.task.completed",
            &request_id,
        )?;
        child(&spans, "tickler-back", "consume audit", &request_id)?;
        let recurring = child(&spans, "tickler-back", "consume recurring", &request_id)?;
        let recurring_id = recurring["span_id"].as_str()?.to_owned();
        child(&spans, "tickler-back", "store commit", &recurring_id)?;
        child(
            &spans,
            "tickler-front",
            "publish tickler.task.created",
            &recurring_id,
        )?;
        Some(spans)
    })
    .await;
    let services: HashMap<&str, usize> = spans.iter().fold(HashMap::new(), |mut count, span| {
        *count.entry(span["service"].as_str().unwrap()).or_default() += 1;
        count
    });
    assert_eq!(services.len(), 2, "{services:?}");
    // A reminder: the notifier's handling (back) starts a trace, and the webhook delivery of
    // the notification, claimed later from the database, continues it.
    let hooks = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hooks.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
        axum::serve(hooks, app).await.unwrap();
    });
    let channel = client
        .post(format!("{}/api/v1/notification-channels", front.base))
        .bearer_auth(&token)
        .json(&json!({"kind": "webhook", "url": hook_url}))
        .send()
        .await
        .unwrap();
    assert!(channel.status().is_success());
    let fire_at = (tickler_app::Clock::now(&tickler_app::SystemClock)
        + chrono::TimeDelta::seconds(1))
    .to_rfc3339();
    let reminded = client
        .post(format!("{}/api/v1/tasks", front.base))
        .bearer_auth(&token)
        .json(
            &json!({"title": "Call the plumber", "due_at": "2030-01-01T09:00:00Z",
                      "reminders": [fire_at]}),
        )
        .send()
        .await
        .unwrap();
    assert!(reminded.status().is_success());
    eventually(60, || async {
        let spans = receiver.all_spans();
        let deliver = spans
            .iter()
            .find(|s| s["service"] == "tickler-back" && s["name"] == "deliver webhook")?;
        let parent = spans
            .iter()
            .find(|s| s["span_id"] == deliver["parent_span_id"])?;
        (parent["name"] == "consume notifier" && parent["trace_id"] == deliver["trace_id"])
            .then_some(())
    })
    .await;

    // The front's log lines of that request carry the trace id.
    let log = std::fs::read_to_string(&front_log).unwrap();
    assert!(
        log.lines()
            .any(|line| line.contains("request finished") && line.contains(&trace_id)),
        "no log line of the request names trace {trace_id}:\n{log}"
    );
}
