//! Shared by the notifier tests: a SQLite store, reminder events, a webhook receiver that
//! records what it is sent and answers as told, and a delivery worker wired to them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use tickler_app::notifications::{AllowList, SecretSealer, WebhookSecret};
use tickler_app::{Clock, EventSettings, OutboxSignal};
use tickler_domain::schedule::planned_reminders;
use tickler_domain::{
    ChannelId, ChannelKind, Due, EventId, ReminderSpec, RetrySchedule, Task, TaskId, User, UserId,
};
use tickler_store::{FiredReminder, NotificationChannel, ReminderFiring, Store};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tickler_workers::delivery::outcome::OutcomePolicy;
use tickler_workers::delivery::webhook::{WebhookSender, WebhookSettings};
use tickler_workers::delivery::{DeliveryParts, DeliverySettings, DeliveryWorker};

/// The server secret of these tests.
pub const SERVER_SECRET: &[u8] = &[42; 32];

pub async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::new(dir.path().join("t.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, Arc::new(store))
}

/// A `tickler.reminder.due` CloudEvent of a task of `user` (that need not exist); returns its
/// id and payload.
pub fn reminder_event(
    user: UserId,
    reminder_id: &str,
    fire_at: DateTime<Utc>,
) -> (EventId, String) {
    reminder_event_of(
        user,
        TaskId::from_uuid(uuid::Uuid::now_v7()),
        reminder_id,
        fire_at,
    )
}

/// Stores a task of `user` due 30 minutes after `fire_at` with a reminder 30 minutes before
/// (so it fires at `fire_at`), written before `fire_at` so the reminder is scheduled, and
/// fires what is due; returns the task and the reminder's id.
pub async fn reminded_task(
    store: &Arc<dyn Store>,
    user: &User,
    fire_at: DateTime<Utc>,
) -> (Task, String) {
    let mut task = tickler_store::testing::new_task(user.id, "Pay rent");
    task.fields.due = Some(Due {
        at: fire_at + chrono::TimeDelta::minutes(30),
        all_day: false,
    });
    task.fields.reminders = vec![ReminderSpec::parse("-PT30M").unwrap()];
    task.created_at = fire_at - chrono::TimeDelta::hours(1);
    task.updated_at = task.created_at;
    tickler_store::testing::insert(store.as_ref(), std::slice::from_ref(&task)).await;
    let [planned] = planned_reminders(&task, task.updated_at)
        .try_into()
        .unwrap();
    // Fired by the database's clock, like the scheduler does, when it is due.
    store
        .fire_due_reminders(&ReminderFiring {
            limit: 1_000,
            missed_after: Duration::from_secs(366 * 86_400),
            build_event: Arc::new(|fired: &FiredReminder| {
                Ok(tickler_store::testing::event(
                    fired.reminder.owner,
                    &fired.reminder.task_id.to_string(),
                    "tickler.reminder.due",
                ))
            }),
        })
        .await
        .unwrap();
    (task, planned.id.to_string())
}

/// A `tickler.reminder.due` CloudEvent of `user`'s task `task`; returns its id and payload.
pub fn reminder_event_of(
    user: UserId,
    task: TaskId,
    reminder_id: &str,
    fire_at: DateTime<Utc>,
) -> (EventId, String) {
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let payload = json!({
        "specversion": "1.0", "id": id.to_string(), "source": "urn:tickler:test",
        "type": "tickler.reminder.due", "subject": task.to_string(),
        "time": fire_at.to_rfc3339(), "datacontenttype": "application/json",
        "dataschema": "urn:tickler:events:reminder.v1.json",
        "userid": user.to_string(), "origin": "system",
        "data": {
            "reminder_id": reminder_id, "task_id": task.to_string(), "task_title": "Pay rent",
            "due_at": (fire_at + chrono::TimeDelta::minutes(30)).to_rfc3339(),
            "fire_at": fire_at.to_rfc3339(), "fired_at": fire_at.to_rfc3339(),
            "late_ms": 0, "spec": "-PT30M"
        }
    });
    (id, payload.to_string())
}

/// Stores a channel of `owner` directly (no URL check: tests of the guard at connect time
/// need URLs the API would refuse); returns it and, for webhooks, its secret.
pub async fn channel(
    store: &Arc<dyn Store>,
    owner: &User,
    kind: ChannelKind,
    target: &str,
) -> (NotificationChannel, Option<WebhookSecret>) {
    let id = ChannelId::from_uuid(uuid::Uuid::now_v7());
    let secret = (kind == ChannelKind::Webhook).then(|| WebhookSecret::generate().unwrap());
    let now = owner.created_at;
    let channel = NotificationChannel {
        id,
        owner: owner.id,
        kind,
        url: (kind == ChannelKind::Webhook).then(|| target.to_owned()),
        address: (kind == ChannelKind::Email).then(|| target.to_owned()),
        secret: secret
            .as_ref()
            .map(|secret| SecretSealer::new(SERVER_SECRET).seal(id, secret).unwrap()),
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
    store.insert_channel(&channel, 1_000, &[]).await.unwrap();
    (channel, secret)
}

/// A recorded webhook request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub at: Instant,
}

/// How the receiver answers the `n`th request (0-based) to a path: a status and headers, or
/// `None` to never answer.
pub type Answer = Arc<dyn Fn(&str, usize) -> Option<(u16, Vec<(String, String)>)> + Send + Sync>;

#[derive(Clone)]
struct ReceiverState {
    requests: Arc<Mutex<Vec<Recorded>>>,
    answer: Answer,
}

/// An HTTP server on 127.0.0.1 recording every request.
pub struct Receiver {
    pub base: String,
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl Receiver {
    pub async fn start(answer: Answer) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = ReceiverState {
            requests: requests.clone(),
            answer,
        };
        let app = axum::Router::new().fallback(receive).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            requests,
        }
    }

    /// Answers every request with `status`.
    pub async fn answering(status: u16) -> Self {
        Self::start(Arc::new(move |_, _| Some((status, Vec::new())))).await
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|request| request.path == path)
            .collect()
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
        let mut requests = state.requests.lock().unwrap();
        let nth = requests.iter().filter(|r| r.path == path).count();
        requests.push(Recorded {
            path: path.clone(),
            headers: headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or("").to_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            at: Instant::now(),
        });
        nth
    };
    match (state.answer)(&path, nth) {
        Some((status, headers)) => {
            let mut response = StatusCode::from_u16(status).unwrap().into_response();
            for (name, value) in headers {
                response.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    value.parse().unwrap(),
                );
            }
            response
        }
        None => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            StatusCode::OK.into_response()
        }
    }
}

/// A delivery worker on `store` with `clock`, webhooks allowed to `allow`.
pub fn worker(
    store: &Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signal: &OutboxSignal,
    allow: &[&str],
    schedule: RetrySchedule,
    settings: DeliverySettings,
    timeout: Duration,
) -> DeliveryWorker {
    DeliveryWorker::new(
        DeliveryParts {
            store: store.clone(),
            clock,
            signal: signal.clone(),
            sealer: Arc::new(SecretSealer::new(SERVER_SECRET)),
            webhooks: WebhookSender::new(&WebhookSettings {
                allow: AllowList::parse(allow).unwrap(),
                connect_timeout: timeout,
                timeout,
                max_response_bytes: 4_096,
            })
            .unwrap(),
            email: None,
            policy: OutcomePolicy {
                schedule,
                max_retry_after: Duration::from_secs(3_600),
                events: EventSettings::default(),
            },
        },
        settings,
    )
}
