//! The relay and the Dapr adapter against Dapr's documented HTTP contract. Dapr's runtime
//! cannot run on the machines this is built on, so a fake sidecar (a real HTTP server speaking
//! the publish API) stands in for it, and subscription deliveries are POSTed the way the
//! sidecar posts them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use tickler_app::{OutboxSignal, SystemClock};
use tickler_domain::{EventId, User};
use tickler_store::testing::register;
use tickler_store::{AuditQuery, ChangeSet, DeadLetterQuery, OutboxMessage, Store};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tickler_workers::consumer::{Processor, RetryPolicy};
use tickler_workers::consumers::AuditConsumer;
use tickler_workers::dapr::{DaprPublisher, SubscriptionSettings, read_secret, router};
use tickler_workers::relay::{Relay, RelayPass, RelaySettings};
use tickler_workers::topic::TopicNames;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq)]
struct Published {
    pubsub: String,
    topic: String,
    partition_key: Option<String>,
    content_type: String,
    api_token: Option<String>,
    body: Value,
}

#[derive(Clone, Default)]
struct Sidecar {
    published: Arc<Mutex<Vec<Published>>>,
    failing: Arc<AtomicBool>,
}

async fn publish(
    State(sidecar): State<Sidecar>,
    Path((pubsub, topic)): Path<(String, String)>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if sidecar.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    sidecar.published.lock().await.push(Published {
        pubsub,
        topic,
        partition_key: query.get("metadata.partitionKey").cloned(),
        content_type: headers["content-type"].to_str().unwrap().to_owned(),
        api_token: headers
            .get("dapr-api-token")
            .map(|value| value.to_str().unwrap().to_owned()),
        body: serde_json::from_slice(&body).unwrap(),
    });
    StatusCode::NO_CONTENT
}

async fn start_sidecar() -> (Sidecar, String) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sidecar = Sidecar::default();
    let app = Router::new()
        .route("/v1.0/publish/{pubsub}/{topic}", post(publish))
        .with_state(sidecar.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (sidecar, format!("http://{address}"))
}

async fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::new(dir.path().join("t.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, Arc::new(store))
}

fn event(user: &User, task: &str, version: i64) -> OutboxMessage {
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let payload = json!({
        "specversion": "1.0", "id": id.to_string(), "source": "urn:tickler:test",
        "type": "tickler.task.updated", "subject": task, "time": "2026-11-21T12:00:00Z",
        "datacontenttype": "application/json", "dataschema": "urn:tickler:events:task.v1.json",
        "userid": user.id.to_string(),
        "data": {"task": {"id": task, "version": version, "status": "todo"},
                 "changed_fields": ["title"]}
    });
    OutboxMessage {
        id,
        event_type: "tickler.task.updated".into(),
        subject: task.into(),
        owner: user.id,
        occurred_at: tickler_store::testing::instant(version),
        payload: payload.to_string(),
    }
}

fn relay(store: &Arc<dyn Store>, base: String) -> Relay {
    Relay::new(
        store.clone(),
        Arc::new(
            DaprPublisher::new(base, "tickler-pubsub".into())
                .unwrap()
                .with_api_token(Some("sidecar-api-token".to_owned().into())),
        ),
        Arc::new(SystemClock),
        OutboxSignal::default(),
        RelaySettings::default(),
    )
}

#[tokio::test]
async fn the_relay_publishes_in_order_through_the_sidecar_and_marks_only_acknowledged_records() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let task = uuid::Uuid::now_v7().to_string();
    let events: Vec<OutboxMessage> = (1..=3)
        .map(|version| event(&user, &task, version))
        .collect();
    store
        .commit(ChangeSet {
            events: events.clone(),
            ..ChangeSet::default()
        })
        .await
        .unwrap();
    let (sidecar, base) = start_sidecar().await;
    let relay = relay(&store, base);

    sidecar.failing.store(true, Ordering::SeqCst);
    assert!(relay.run_once().await.is_err());
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        3,
        "nothing is marked on failure"
    );

    sidecar.failing.store(false, Ordering::SeqCst);
    assert_eq!(relay.run_once().await.unwrap(), RelayPass::Published(3));
    assert_eq!(store.outbox_backlog().await.unwrap(), 0);
    assert_eq!(relay.run_once().await.unwrap(), RelayPass::Idle);

    let published = sidecar.published.lock().await.clone();
    // Three events, each to task-events, task-updates and audit-events.
    assert_eq!(published.len(), 9);
    for message in &published {
        assert_eq!(message.pubsub, "tickler-pubsub");
        assert_eq!(message.partition_key.as_deref(), Some(task.as_str()));
        assert_eq!(message.content_type, "application/cloudevents+json");
        assert_eq!(message.api_token.as_deref(), Some("sidecar-api-token"));
    }
    let versions = |topic: &str, path: &str| -> Vec<i64> {
        published
            .iter()
            .filter(|m| m.topic == topic)
            .map(|m| m.body.pointer(path).unwrap().as_i64().unwrap())
            .collect()
    };
    assert_eq!(versions("task-events", "/data/task/version"), [1, 2, 3]);
    assert_eq!(versions("task-updates", "/data/version"), [1, 2, 3]);
    let ids: Vec<&str> = published
        .iter()
        .filter(|m| m.topic == "audit-events")
        .map(|m| m.body["id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = events.iter().map(|e| e.id.to_string()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn only_one_relay_is_active_at_a_time() {
    let (_dir, store) = store().await;
    let (_sidecar, base) = start_sidecar().await;
    let first = relay(&store, base.clone());
    let second = relay(&store, base);
    assert_eq!(first.run_once().await.unwrap(), RelayPass::Idle);
    assert_eq!(second.run_once().await.unwrap(), RelayPass::Standby);
}

/// POSTs a delivery the way the sidecar does and returns its answer.
async fn deliver(client: &reqwest::Client, route: &str, event: String) -> Value {
    client
        .post(route)
        .header("content-type", "application/cloudevents+json")
        .body(event)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// How many audit records the user has.
async fn audit_trail(store: &Arc<dyn Store>, user: &User) -> usize {
    store
        .list_audit(
            user.id,
            &AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            },
        )
        .await
        .unwrap()
        .len()
}

/// The token the sidecar sends with every delivery (its `APP_API_TOKEN`).
const APP_TOKEN: &str = "app-token-shared-with-the-sidecar";

/// A client that sends the sidecar's token, as the sidecar does.
fn sidecar_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("dapr-api-token", APP_TOKEN.parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn subscriptions(store: &Arc<dyn Store>) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let processor = Processor::new(
        Arc::new(AuditConsumer),
        store.clone(),
        Arc::new(SystemClock),
        RetryPolicy::default(),
        OutboxSignal::default(),
    );
    let app = router(
        SubscriptionSettings {
            pubsub: "tickler-pubsub".into(),
            topics: TopicNames::default(),
            app_token: APP_TOKEN.to_owned().into(),
        },
        vec![processor],
        CancellationToken::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn deliveries_from_the_sidecar_are_handled_once_and_poison_is_dropped() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let base = subscriptions(&store).await;
    let client = sidecar_client();

    let listed: Value = client
        .get(format!("{base}/dapr/subscribe"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed,
        json!([{"pubsubname": "tickler-pubsub", "topic": "audit-events",
                "route": "/dapr/events/audit/audit-events"}])
    );

    let task = uuid::Uuid::now_v7().to_string();
    let mut delivered: Value = serde_json::from_str(&event(&user, &task, 1).payload).unwrap();
    // The sidecar adds attributes of its own.
    delivered["pubsubname"] = json!("tickler-pubsub");
    delivered["topic"] = json!("audit-events");
    delivered["traceid"] = json!("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    let route = format!("{base}/dapr/events/audit/audit-events");
    for _ in 0..2 {
        let answer = deliver(&client, &route, delivered.to_string()).await;
        assert_eq!(answer, json!({"status": "SUCCESS"}));
    }
    assert_eq!(
        audit_trail(&store, &user).await,
        1,
        "a redelivery had a second effect"
    );

    let answer: Value = client
        .post(&route)
        .body("garbage")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"status": "DROP"}));
    let letters = store
        .list_dead_letters(&DeadLetterQuery {
            limit: 10,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(letters.len(), 1);
    let unknown = client
        .post(format!("{base}/dapr/events/nobody/audit-events"))
        .body(delivered.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn dapr_routes_refuse_calls_without_the_sidecars_token() {
    let (_dir, store) = store().await;
    let user = register(store.as_ref(), "ada@example.org").await;
    let base = subscriptions(&store).await;
    let task = uuid::Uuid::now_v7().to_string();
    let delivered = event(&user, &task, 1).payload;
    let route = format!("{base}/dapr/events/audit/audit-events");
    let anyone = reqwest::Client::new();
    for token in [
        None,
        Some(""),
        Some("app-token-shared-with-the-sidecaR"),
        Some("x"),
    ] {
        for request in [
            anyone.get(format!("{base}/dapr/subscribe")),
            anyone.post(&route).body(delivered.clone()),
        ] {
            let request = match token {
                Some(token) => request.header("dapr-api-token", token),
                None => request,
            };
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "token {token:?}"
            );
        }
    }
    assert_eq!(
        audit_trail(&store, &user).await,
        0,
        "a refused delivery had an effect"
    );
    // The same delivery with the token is handled, and replayed it has no second effect.
    for _ in 0..2 {
        let answer = deliver(&sidecar_client(), &route, delivered.clone()).await;
        assert_eq!(answer, json!({"status": "SUCCESS"}));
    }
    assert_eq!(audit_trail(&store, &user).await, 1);
}

#[derive(Clone, Default)]
struct SecretStore {
    tokens: Arc<Mutex<Vec<Option<String>>>>,
}

async fn secret(
    State(secrets): State<SecretStore>,
    Path((store, key)): Path<(String, String)>,
    headers: HeaderMap,
) -> (StatusCode, axum::Json<Value>) {
    secrets.tokens.lock().await.push(
        headers
            .get("dapr-api-token")
            .map(|value| value.to_str().unwrap().to_owned()),
    );
    match (store.as_str(), key.as_str()) {
        ("tickler-secrets", "database-url") => (
            StatusCode::OK,
            axum::Json(json!({"database-url": "postgres://app:pw@db/tickler"})),
        ),
        ("tickler-secrets", "tickler") => (
            StatusCode::OK,
            axum::Json(json!({"database-url": "", "jwt-secret": "k".repeat(32)})),
        ),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"errorCode": "ERR_SECRET_GET", "message": "no such secret"})),
        ),
    }
}

#[tokio::test]
async fn secrets_are_read_through_the_sidecars_secrets_api() {
    use secrecy::ExposeSecret;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let secrets = SecretStore::default();
    let app = Router::new()
        .route("/v1.0/secrets/{store}/{key}", axum::routing::get(secret))
        .with_state(secrets.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let token = secrecy::SecretString::from("sidecar-api-token");
    let value = read_secret(
        &base,
        "tickler-secrets",
        "database-url",
        "database-url",
        Some(&token),
    )
    .await
    .unwrap();
    assert_eq!(value.expose_secret(), "postgres://app:pw@db/tickler");
    // Kubernetes' store: one Secret with several keys.
    let value = read_secret(&base, "tickler-secrets", "tickler", "jwt-secret", None)
        .await
        .unwrap();
    assert_eq!(value.expose_secret(), "k".repeat(32));
    let missing = read_secret(&base, "tickler-secrets", "tickler", "other", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(missing.contains("no key other"), "{missing}");
    let error = read_secret(&base, "tickler-secrets", "jwt-secret", "jwt-secret", None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("500"), "{error}");
    assert_eq!(
        *secrets.tokens.lock().await,
        [Some("sidecar-api-token".to_owned()), None, None, None]
    );
}

/// Serves the audit and recurring consumers over the Dapr routes, as a `consume` role does.
async fn task_subscriptions(store: &Arc<dyn Store>, app: &tickler_app::App) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let processor = |consumer: Arc<dyn tickler_workers::consumer::Consumer>| {
        Processor::new(
            consumer,
            store.clone(),
            Arc::new(SystemClock),
            RetryPolicy::default(),
            OutboxSignal::default(),
        )
    };
    let router = router(
        SubscriptionSettings {
            pubsub: "tickler-pubsub".into(),
            topics: TopicNames::default(),
            app_token: APP_TOKEN.to_owned().into(),
        },
        vec![
            processor(Arc::new(AuditConsumer)),
            processor(Arc::new(
                tickler_workers::consumers::RecurringConsumer::new(app.event_settings().clone()),
            )),
        ],
        CancellationToken::new(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

/// Everything of a user the consumers could change: tasks (with series), audit trail.
async fn footprint(store: &Arc<dyn Store>, user: &User) -> (Vec<tickler_domain::Task>, usize) {
    let tasks = tickler_store::testing::list_all(
        store.as_ref(),
        user.id,
        &tickler_store::testing::everything(),
    )
    .await;
    (tasks, audit_trail(store, user).await)
}

#[tokio::test]
async fn a_forged_event_naming_another_users_task_changes_nothing_for_either_user() {
    use tickler_app::{Actor, App, AppSettings, Origin};
    use tickler_protocol::task::TaskRequest;

    let (_dir, store) = store().await;
    let app = App::new(
        store.clone(),
        Arc::new(SystemClock),
        AppSettings::default(),
        &[7; 32],
    );
    let ada = register(store.as_ref(), "ada@example.org").await;
    let mallory = register(store.as_ref(), "mallory@example.org").await;
    let actor = Actor::new(ada.clone(), Origin::Api);
    let request = TaskRequest {
        title: Some("Water the plants".into()),
        due_at: Some("2026-11-23T09:00:00Z".into()),
        recurrence: Some("FREQ=DAILY".into()),
        ..TaskRequest::default()
    };
    let tickler_app::CreatedTask::New { task, .. } =
        app.create_task(&actor, request, None).await.unwrap()
    else {
        unreachable!()
    };
    app.complete_task(&actor, task.id, None).await.unwrap();
    let genuine: Value = store
        .outbox_after(tickler_store::OutboxPosition::default(), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|record| record.message.event_type == "tickler.task.completed")
        .map(|record| serde_json::from_str(&record.message.payload).unwrap())
        .unwrap();
    let base = task_subscriptions(&store, &app).await;
    let client = sidecar_client();
    let routes = [
        format!("{base}/dapr/events/audit/audit-events"),
        format!("{base}/dapr/events/recurring/task-events"),
    ];
    let before = (
        footprint(&store, &ada).await,
        footprint(&store, &mallory).await,
    );
    let outbox_before = store.outbox_head().await.unwrap();

    // Ada's completed task, as Mallory's event: a new event id, Mallory's userid.
    let mut forged = genuine.clone();
    forged["id"] = json!(uuid::Uuid::now_v7().to_string());
    forged["userid"] = json!(mallory.id.to_string());
    for route in &routes {
        let answer = deliver(&client, route, forged.to_string()).await;
        assert_eq!(answer, json!({"status": "DROP"}), "{route}");
    }
    // The same with the task named only in the data (the subject a task that does not exist).
    forged["id"] = json!(uuid::Uuid::now_v7().to_string());
    forged["subject"] = json!(uuid::Uuid::now_v7().to_string());
    for route in &routes {
        let answer = deliver(&client, route, forged.to_string()).await;
        assert_eq!(answer, json!({"status": "DROP"}), "{route}");
    }
    let after = (
        footprint(&store, &ada).await,
        footprint(&store, &mallory).await,
    );
    assert_eq!(after, before, "a forged event changed someone's data");
    assert_eq!(store.outbox_head().await.unwrap(), outbox_before);
    let letters = store
        .list_dead_letters(&DeadLetterQuery {
            limit: 10,
            ..DeadLetterQuery::default()
        })
        .await
        .unwrap();
    assert!(letters.is_empty(), "{letters:?}");

    // The genuine event still works: Ada's next instance, her audit row.
    for route in &routes {
        let answer = deliver(&client, route, genuine.to_string()).await;
        assert_eq!(answer, json!({"status": "SUCCESS"}), "{route}");
    }
    let (ada_tasks, ada_audit) = footprint(&store, &ada).await;
    assert_eq!((ada_tasks.len(), ada_audit), (2, 1));
    assert_eq!(footprint(&store, &mallory).await, before.1);

    // An event about a task that no longer exists is handled as before (the task was deleted).
    let mut orphan: Value =
        serde_json::from_str(&event(&mallory, &uuid::Uuid::now_v7().to_string(), 1).payload)
            .unwrap();
    orphan["id"] = json!(uuid::Uuid::now_v7().to_string());
    let answer = deliver(&client, &routes[0], orphan.to_string()).await;
    assert_eq!(answer, json!({"status": "SUCCESS"}));
    assert_eq!(audit_trail(&store, &mallory).await, 1);
}
