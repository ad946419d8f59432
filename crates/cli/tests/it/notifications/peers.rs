//! The real peers of the notification tests: an SMTP server (Python aiosmtpd) that records
//! the mail it accepts, an HTTP receiver that records the webhooks it gets, the official
//! Standard Webhooks verifier (Python), and reminders fired into the outbox.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tickler_cli::config::Config;
use tickler_domain::{EventId, UserId};
use tickler_protocol::event::{CloudEvent, ReminderEventData};
use tickler_store::{ChangeSet, OutboxMessage};

use crate::helpers::{TestApp, TestUser};

/// The Python with the test peers, from `TICKLER_TEST_PYTHON`; `None` (after a notice) when
/// unset, unless `TICKLER_REQUIRE_SERVICES=1`, which makes a missing interpreter a failure.
pub fn python() -> Option<String> {
    match std::env::var("TICKLER_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "TICKLER_TEST_PYTHON is not set but TICKLER_REQUIRE_SERVICES=1"
            );
            eprintln!(
                "skipped: set TICKLER_TEST_PYTHON to a Python with aiosmtpd and standardwebhooks"
            );
            None
        }
    }
}

/// Returns a port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An aiosmtpd server recording accepted mail (`tests/smtp_sink.py`).
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    output: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start(python: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("mail.jsonl");
        let child = Self::spawn(python, free_port(), &output, &[]);
        Self::from_parts(child, dir, output)
    }

    /// Starts a sink that exits at its first message, after the whole DATA and before the
    /// reply (an SMTP server dying mid-DATA); [`SmtpSink::restart`] brings it back.
    pub fn start_dying_in_data(python: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("mail.jsonl");
        let child = Self::spawn(python, free_port(), &output, &["--die-in-data"]);
        Self::from_parts(child, dir, output)
    }

    fn from_parts(child: (Child, u16), dir: tempfile::TempDir, output: PathBuf) -> Self {
        Self {
            child: child.0,
            port: child.1,
            output,
            _dir: dir,
        }
    }

    fn spawn(python: &str, port: u16, output: &std::path::Path, flags: &[&str]) -> (Child, u16) {
        let mut child = Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_sink.py"))
            .arg(port.to_string())
            .arg(output)
            .args(flags)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the SMTP sink starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        (child, port)
    }

    /// Whether the sink's process has ended (by itself: a dying sink after a message).
    pub fn has_exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    /// Starts the sink again on the same port and file, accepting mail normally.
    pub fn restart(&mut self, python: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(python, self.port, &self.output, &[]).0;
    }

    /// The file the sink appends each accepted message to, one JSON object a line.
    pub fn mail_file(&self) -> &std::path::Path {
        &self.output
    }

    /// The messages accepted so far.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.output)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// Points a server's configuration at this sink (plain SMTP on 127.0.0.1).
    pub fn configure(&self, config: &mut Config) {
        config.notifier.smtp_url = format!("smtp://127.0.0.1:{}", self.port);
        config.notifier.smtp_tls = tickler_workers::delivery::email::SmtpTls::None;
        config.notifier.smtp_from = "tickler <tickler@example.org>".into();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A recorded webhook request.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// When it arrived (wall clock, to compare with fire times).
    pub received_at: DateTime<Utc>,
}

type Answer = Arc<dyn Fn(&str, usize) -> u16 + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
}

/// An HTTP server on 127.0.0.1 recording the webhooks it gets and answering each path's
/// `n`th request with the status `answer(path, n)` (0: never answers).
pub struct WebhookReceiver {
    pub base: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl WebhookReceiver {
    pub async fn start(answer: impl Fn(&str, usize) -> u16 + Send + Sync + 'static) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            received: received.clone(),
            answer: Arc::new(answer),
        };
        let router = axum::Router::new().fallback(receive).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let nth = {
        let mut received = state.received.lock().unwrap();
        let nth = received.iter().filter(|r| r.path == path).count();
        received.push(Received {
            path: path.clone(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    let value = value.to_str().unwrap_or("").to_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
            body: String::from_utf8_lossy(&body).into_owned(),
            received_at: tickler_app::Clock::now(&tickler_app::SystemClock),
        });
        nth
    };
    match (state.answer)(&path, nth) {
        // Never answers (until the connection is dropped).
        0 => {
            tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
            StatusCode::OK.into_response()
        }
        status => StatusCode::from_u16(status).unwrap().into_response(),
    }
}

/// One case for the official verifier.
pub struct VerifyCase {
    pub name: String,
    pub secret: String,
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// Runs cases through the official Standard Webhooks verifier; returns whether each passed.
pub async fn verify_with_the_reference_library(python: &str, cases: &[VerifyCase]) -> Vec<bool> {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/webhook_verify.py"
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut input = String::new();
    for case in cases {
        let line = json!({"name": case.name, "secret": case.secret, "headers": case.headers,
                          "body": case.body});
        input.push_str(&format!("{line}\n"));
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    assert!(output.status.success());
    let results: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(results.len(), cases.len());
    results
        .iter()
        .map(|result| result["valid"].as_bool().unwrap())
        .collect()
}

/// Builds the change that stores a task of `user` with a reminder firing at `fire_at` (due 30
/// minutes later, written an hour before) and the outbox message of that reminder fired, as
/// the reminders role writes it; returns it with the reminder's id. The task is real because
/// the notifier checks, before every delivery, that the reminder still holds.
pub fn reminder_change(user: &str, title: &str, fire_at: DateTime<Utc>) -> (ChangeSet, String) {
    let user_id: UserId = user.parse().unwrap();
    let mut task = tickler_store::testing::new_task(user_id, "reminded");
    task.fields.title = tickler_domain::Title::parse(title).unwrap();
    task.fields.due = Some(tickler_domain::Due {
        at: fire_at + chrono::TimeDelta::minutes(30),
        all_day: false,
    });
    task.fields.reminders = vec![tickler_domain::ReminderSpec::parse("-PT30M").unwrap()];
    task.created_at = fire_at - chrono::TimeDelta::hours(1);
    task.updated_at = task.created_at;
    let task_id = task.id;
    let reminder_id =
        tickler_domain::schedule::reminder_id(task_id, &task.fields.reminders[0], fire_at)
            .to_string();
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let event = CloudEvent {
        specversion: "1.0".into(),
        id,
        source: "urn:tickler:server".into(),
        event_type: "tickler.reminder.due".into(),
        subject: task_id.to_string(),
        time: fire_at,
        datacontenttype: "application/json".into(),
        dataschema: "urn:tickler:events:reminder.v1.json".into(),
        userid: user_id,
        correlationid: None,
        traceparent: None,
        origin: Some("system".into()),
        data: ReminderEventData {
            reminder_id: reminder_id.clone(),
            task_id,
            task_title: title.into(),
            due_at: Some(fire_at + chrono::TimeDelta::minutes(30)),
            fire_at,
            fired_at: fire_at,
            late_ms: 0,
            spec: "-PT30M".into(),
        },
    };
    let message = OutboxMessage {
        id,
        event_type: event.event_type.clone(),
        subject: event.subject.clone(),
        owner: user_id,
        occurred_at: fire_at,
        payload: serde_json::to_string(&event).unwrap(),
    };
    let change = ChangeSet {
        tasks: vec![tickler_store::TaskWrite::Insert(task)],
        events: vec![message],
        ..ChangeSet::default()
    };
    (change, reminder_id)
}

/// Fires a reminder of `user` into the outbox, as the reminders role does; returns its id.
pub async fn fire_reminder(
    app: &TestApp,
    user: &TestUser,
    title: &str,
    fire_at: DateTime<Utc>,
) -> String {
    let (change, reminder_id) = reminder_change(&user.id, title, fire_at);
    app.store().commit(change).await.unwrap();
    reminder_id
}

/// Settings every notification test shares: webhooks to 127.0.0.1 allowed, quick polling.
pub fn local_notifier(config: &mut Config) {
    config.notifier.webhook_allow_hosts = vec!["127.0.0.1".into()];
    config.notifier.poll_interval_ms = 50;
    config.bus.poll_interval_ms = 50;
}

/// Waits for the verification mail sent to `address` (the `nth`, from 1) and returns its
/// record and the code in it.
pub async fn verification_mail(smtp: &SmtpSink, address: &str, nth: usize) -> (Value, String) {
    let mail = crate::helpers::eventually(20, || async {
        smtp.messages()
            .into_iter()
            .filter(|mail| {
                mail["rcpt_tos"] == json!([address])
                    && mail["subject"] == "Confirm your address for tickler reminders"
            })
            .nth(nth - 1)
    })
    .await;
    let text = mail["parts"][0]["text"].as_str().unwrap().to_owned();
    let code = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 8)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned();
    (mail, code)
}

/// Creates an e-mail channel and verifies it with the code mailed to it, as its owner does;
/// returns the channel.
pub async fn verified_email_channel(
    app: &TestApp,
    user: &TestUser,
    smtp: &SmtpSink,
    address: &str,
) -> Value {
    let nth = smtp
        .messages()
        .iter()
        .filter(|mail| mail["rcpt_tos"] == json!([address]))
        .count()
        + 1;
    let response = app
        .post(
            user,
            "/api/v1/notification-channels",
            &json!({"kind": "email", "address": address}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let channel: Value = response.json().await.unwrap();
    assert_eq!(channel["verification"], "pending");
    let (_, code) = verification_mail(smtp, address, nth).await;
    let id = channel["id"].as_str().unwrap();
    let response = app
        .post(
            user,
            &format!("/api/v1/notification-channels/{id}/verify"),
            &json!({"code": code}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let channel: Value = response.json().await.unwrap();
    assert_eq!(channel["verification"], "verified");
    channel
}

/// Stores an e-mail channel that is verified already, as one made before addresses were
/// verified: for tests of deliveries to addresses that cannot receive a verification mail
/// (a server that refuses them, or no server).
pub async fn preverified_email_channel(app: &TestApp, user: &TestUser, address: &str) {
    use tickler_app::Clock as _;
    let now = tickler_domain::time::truncate_to_micros(tickler_app::SystemClock.now());
    let channel = tickler_store::NotificationChannel {
        id: tickler_domain::ChannelId::from_uuid(uuid::Uuid::now_v7()),
        owner: user.id.parse().unwrap(),
        kind: tickler_domain::ChannelKind::Email,
        url: None,
        address: Some(address.to_owned()),
        secret: None,
        previous_secret: None,
        previous_secret_until: None,
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        verified_at: Some(now),
        verification_code_hash: None,
        verification_expires_at: None,
        verification_failures: 0,
    };
    app.store()
        .insert_channel(&channel, 100, &[])
        .await
        .unwrap();
}
