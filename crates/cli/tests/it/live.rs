//! The live stream (`GET /api/v1/live`, role `realtime`) over real WebSockets: who may
//! connect, which events arrive, resuming after a cursor without gaps or duplicates, resets,
//! pings, slow clients, and scale-out across processes (one PostgreSQL database on the
//! embedded bus, and Kafka).

use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta};
use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::{Clock, SystemClock};
use tickler_domain::UserId;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Backend, TestApp, TestUser, problem};
use crate::process::{Broker, ServerProcess, kafka_config, register};

/// The signing secret every process of a scale-out test shares (tokens work on any of them).
const SHARED_SECRET: (&str, &str) = (
    "TICKLER_AUTH__JWT_SECRET",
    "a shared signing secret of the live scale-out tests",
);

crate::on_both_backends!(
    a_client_receives_its_own_task_events_as_summaries_and_never_another_users,
    resuming_after_a_cursor_replays_in_order_without_gaps_or_duplicates,
    a_cursor_older_than_the_retained_history_gets_a_reset,
    a_ticket_opens_one_connection_within_its_lifetime,
);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any expected frame may take on a loaded machine.
const FRAME_DEADLINE: Duration = Duration::from_secs(30);

fn live_url(base: &str, query: &str) -> String {
    format!(
        "{}/api/v1/live{query}",
        base.replacen("http://", "ws://", 1)
    )
}

/// Opens the live stream with extra headers.
async fn open(
    base: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Result<Socket, tungstenite::Error> {
    let mut request = live_url(base, query).into_client_request().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

/// Waits until a server process says it is ready: migrated, and its live hub started (a
/// client connecting before gets 503, as a load balancer's readiness check would keep it
/// away).
async fn ready(base: &str) {
    crate::helpers::eventually(60, || async {
        let response = reqwest::get(format!("{base}/ready")).await.ok()?;
        response.status().is_success().then_some(())
    })
    .await;
}

/// Opens the live stream with a bearer token, once the server is ready (a test that connected
/// right after registering got the 503 of a hub still starting on a busy machine).
async fn connect(base: &str, token: &str, query: &str) -> Socket {
    ready(base).await;
    open(
        base,
        query,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
    .unwrap()
}

/// Returns the next text frame as JSON (control frames are answered and skipped).
async fn frame(socket: &mut Socket) -> Value {
    let next = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(FRAME_DEADLINE, next)
        .await
        .expect("a frame within the deadline")
}

/// Reads frames up to `ready`; returns the events before it and ready's cursor.
async fn until_ready(socket: &mut Socket) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    loop {
        let frame = frame(socket).await;
        match frame["type"].as_str() {
            Some("event") => events.push(frame),
            Some("ready") => return (events, frame["cursor"].as_str().unwrap().to_owned()),
            _ => panic!("unexpected frame {frame}"),
        }
    }
}

/// Reads a resumed stream until `count` events came, replayed before `ready` or delivered live
/// after it: the replay ends where the process's log reader stood when the client connected,
/// and what was committed after that comes through the live queue.
async fn resumed_events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let (mut got, _) = until_ready(socket).await;
    if got.len() < count {
        got.extend(events(socket, count - got.len()).await);
    }
    got
}

/// Reads `count` event frames.
async fn events(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut events = Vec::new();
    while events.len() < count {
        let frame = frame(socket).await;
        assert_eq!(frame["type"], "event", "{frame}");
        events.push(frame);
    }
    events
}

/// Waits until the server closes the connection (a close frame or the end of the stream).
async fn closed(socket: &mut Socket) {
    let end = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => panic!("expected the close, got {other:?}"),
            }
        }
    };
    tokio::time::timeout(FRAME_DEADLINE, end)
        .await
        .expect("closed within the deadline");
}

fn task_ids(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|frame| {
            frame["event"]["data"]["task_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

async fn create(app: &TestApp, user: &TestUser, title: &str) -> String {
    app.create_task(user, json!({"title": title})).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn a_client_receives_its_own_task_events_as_summaries_and_never_another_users(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut socket = connect(&app.base, &ada.token, "").await;
    let (replayed, _) = until_ready(&mut socket).await;
    assert!(replayed.is_empty(), "no cursor, no replay: {replayed:?}");

    create(&app, &bob, "Bob's secret").await;
    let id = create(&app, &ada, "Pay rent").await;
    let done = app
        .post(&ada, &format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    assert_eq!(done.status(), StatusCode::OK);

    let frames = events(&mut socket, 2).await;
    assert_eq!(task_ids(&frames), [id.clone(), id.clone()]);
    let created = &frames[0]["event"];
    assert_eq!(created["type"], "tickler.task.created");
    assert_eq!(created["specversion"], "1.0");
    assert_eq!(created["userid"], json!(ada.id));
    assert_eq!(
        created["dataschema"],
        "urn:tickler:events:task-update.v1.json"
    );
    assert_eq!(created["data"]["version"], 1);
    assert_eq!(frames[1]["event"]["type"], "tickler.task.completed");
    assert_eq!(frames[1]["event"]["data"]["status"], "done");
    assert!(
        frames[1]["event"]["data"].get("task").is_none(),
        "a summary, not the task"
    );
    assert!(frames[0]["cursor"].is_string() && frames[0]["cursor"] != frames[1]["cursor"]);

    // Bob's own connection sees only Bob's task.
    let mut bobs = connect(&app.base, &bob.token, "").await;
    until_ready(&mut bobs).await;
    let bobs_task = create(&app, &bob, "Bob's next").await;
    assert_eq!(task_ids(&events(&mut bobs, 1).await), [bobs_task]);
    // ... and Ada's stream moves on with her next change, nothing of Bob's in between.
    let next = create(&app, &ada, "Call mum").await;
    assert_eq!(task_ids(&events(&mut socket, 1).await), [next]);
}

async fn resuming_after_a_cursor_replays_in_order_without_gaps_or_duplicates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;
    let mut socket = connect(&app.base, &ada.token, "").await;
    let (_, start) = until_ready(&mut socket).await;
    let first = create(&app, &ada, "Seen live").await;
    let seen = events(&mut socket, 1).await;
    assert_eq!(task_ids(&seen), [first]);
    let held = seen[0]["cursor"].as_str().unwrap().to_owned();
    socket.close(None).await.unwrap();

    // Made while disconnected, interleaved with another user's changes.
    let mut missed = Vec::new();
    for n in 0..6 {
        missed.push(create(&app, &ada, &format!("Missed {n}")).await);
        create(&app, &bob, &format!("Bob {n}")).await;
    }
    let mut resumed = connect(&app.base, &ada.token, &format!("?cursor={held}")).await;
    let replayed = resumed_events(&mut resumed, missed.len()).await;
    assert_eq!(
        task_ids(&replayed),
        missed,
        "every missed event, in order, once"
    );
    // Then it is live: the next change arrives once (a duplicate would come before it).
    let after = create(&app, &ada, "After the replay").await;
    assert_eq!(
        task_ids(&events(&mut resumed, 1).await),
        std::slice::from_ref(&after)
    );

    // From the first ready's cursor everything comes back; from the middle, the rest.
    let mut from_start = connect(&app.base, &ada.token, &format!("?cursor={start}")).await;
    let all = resumed_events(&mut from_start, 8).await;
    let middle = all[3]["cursor"].as_str().unwrap();
    let mut from_middle = connect(&app.base, &ada.token, &format!("?cursor={middle}")).await;
    let rest = resumed_events(&mut from_middle, 4).await;
    assert_eq!(task_ids(&rest), task_ids(&all[4..]));
    assert_eq!(task_ids(&rest).last(), Some(&after));
}

async fn a_cursor_older_than_the_retained_history_gets_a_reset(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let mut socket = connect(&app.base, &ada.token, "").await;
    until_ready(&mut socket).await;
    create(&app, &ada, "Old news").await;
    let old = events(&mut socket, 1).await[0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // Retention trims the outbox: every record up to now goes, then a new change arrives.
    let future = SystemClock.now() + TimeDelta::days(1);
    app.store().purge_outbox(future, false).await.unwrap();
    let newest = create(&app, &ada, "New").await;
    assert_eq!(task_ids(&events(&mut socket, 1).await), [newest]);

    let mut stale = connect(&app.base, &ada.token, &format!("?cursor={old}")).await;
    let reset = frame(&mut stale).await;
    assert_eq!(reset, json!({"type": "reset", "reason": "cursor_expired"}));
    closed(&mut stale).await;

    // A cursor that is not one is a client mistake, refused before the upgrade.
    let garbage = app
        .request(&ada, reqwest::Method::GET, "/api/v1/live?cursor=yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(garbage, StatusCode::BAD_REQUEST).await["code"],
        "invalid_cursor"
    );
}

async fn a_ticket_opens_one_connection_within_its_lifetime(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let issued = app.post(&ada, "/api/v1/live/tickets", &json!({})).await;
    assert_eq!(issued.status(), StatusCode::CREATED);
    let ticket: Value = issued.json().await.unwrap();
    let secret = ticket["ticket"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tlt_"), "{ticket}");
    let expires: chrono::DateTime<chrono::Utc> =
        ticket["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - SystemClock.now();
    assert!(
        lifetime <= TimeDelta::seconds(30) && lifetime > TimeDelta::zero(),
        "{ticket}"
    );

    let mut socket = open(&app.base, &format!("?ticket={secret}"), &[])
        .await
        .unwrap();
    until_ready(&mut socket).await;
    let id = create(&app, &ada, "Through a ticket").await;
    assert_eq!(task_ids(&events(&mut socket, 1).await), [id]);

    for spent_or_bogus in [secret.as_str(), "tlt_bogus"] {
        match open(&app.base, &format!("?ticket={spent_or_bogus}"), &[]).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401);
                let body: Value =
                    serde_json::from_slice(response.body().as_ref().unwrap()).unwrap();
                assert_eq!(body["code"], "unauthenticated");
            }
            other => panic!("a spent or bogus ticket must be refused, got {other:?}"),
        }
    }
    // Tickets need credentials.
    let anonymous = app
        .client
        .post(app.url("/api/v1/live/tickets"))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_without_valid_credentials_is_refused_with_a_problem() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let plain = app
        .client
        .get(app.url("/api/v1/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(plain, StatusCode::UNAUTHORIZED).await["code"],
        "unauthenticated"
    );
    for headers in [
        vec![],
        vec![("authorization", "Bearer not-a-token")],
        vec![("authorization", "Basic YWRhOnB3")],
    ] {
        match open(&app.base, "", &headers).await {
            Err(tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401, "{headers:?}");
                assert_eq!(
                    response.headers()["content-type"],
                    "application/problem+json"
                );
            }
            other => panic!("{headers:?} must be refused, got {other:?}"),
        }
    }
    // With credentials but without an upgrade: a problem saying so.
    let user = app.register("ada@example.org").await;
    let not_upgrade = app
        .request(&user, reqwest::Method::GET, "/api/v1/live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(not_upgrade, StatusCode::BAD_REQUEST).await["code"],
        "websocket_upgrade_required"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_apps_cookie_opens_the_stream_only_from_this_servers_pages() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &app.base)
        .json(&json!({"email": "ada@example.org", "password": "correct horse battery", "session": "cookie"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let access = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            value
                .to_str()
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        })
        .find(|cookie| cookie.starts_with("tickler_access="))
        .unwrap();

    let mut socket = open(&app.base, "", &[("cookie", &access), ("origin", &app.base)])
        .await
        .unwrap();
    until_ready(&mut socket).await;
    let id = create(&app, &ada, "From the browser's stream").await;
    assert_eq!(task_ids(&events(&mut socket, 1).await), [id]);

    // Another site's page (or no page at all) cannot ride the cookie.
    for origin in [Some("https://evil.example"), None] {
        let mut headers = vec![("cookie", access.as_str())];
        headers.extend(origin.map(|origin| ("origin", origin)));
        match open(&app.base, "", &headers).await {
            Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
            other => panic!("{origin:?} must be refused, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_answering_pings_is_closed_and_one_that_answers_stays() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.realtime.ping_interval_ms = 100;
        config.realtime.pong_timeout_ms = 1_500;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let started = std::time::Instant::now();
    let mut silent = connect(&app.base, &ada.token, "").await;
    let mut answering = connect(&app.base, &ada.token, "").await;
    until_ready(&mut answering).await;

    // The silent client never reads, so it never answers a ping: read its raw bytes, without
    // the WebSocket protocol, until the server hangs up. Meanwhile the answering client reads
    // (tungstenite answers pings while reading).
    let (hung_up_tx, mut hung_up_rx) = tokio::sync::oneshot::channel::<()>();
    let silent_task = async move {
        let MaybeTlsStream::Plain(stream) = silent.get_mut() else {
            panic!("plain TCP expected");
        };
        let mut buffer = [0u8; 4096];
        let hung_up = tokio::time::timeout(FRAME_DEADLINE, async {
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        let _ = hung_up_tx.send(());
        hung_up.is_ok()
    };
    let answering_task = async {
        let mut pings = 0;
        loop {
            tokio::select! {
                message = answering.next() => match message {
                    Some(Ok(Message::Ping(_))) => pings += 1,
                    other => panic!("expected pings, got {other:?}"),
                },
                _ = &mut hung_up_rx => return pings,
            }
        }
    };
    let (hung_up, pings) = tokio::join!(silent_task, answering_task);
    assert!(hung_up, "the server closes a client that does not answer");
    assert!(
        started.elapsed() >= Duration::from_millis(1_500),
        "closed only after the pong timeout"
    );
    assert!(
        pings >= 3,
        "the answering client was pinged all along ({pings})"
    );
    let id = create(&app, &ada, "Still here").await;
    assert_eq!(task_ids(&events(&mut answering, 1).await), [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_queue_overflows_is_reset_without_holding_up_others() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.realtime.client_queue = 2;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let owner = UserId::from_uuid(ada.id.parse().unwrap());
    let mut slow = connect(&app.base, &ada.token, "").await;
    until_ready(&mut slow).await;
    let bob = app.register("bob@example.org").await;
    let mut other = connect(&app.base, &bob.token, "").await;
    until_ready(&mut other).await;

    // Ten events in one transaction reach the reader in one batch, more than the queue holds.
    let burst = (0..10)
        .map(|n| tickler_store::testing::event(owner, &format!("task-{n}"), "tickler.task.updated"))
        .collect();
    tickler_store::testing::append(&*app.store(), burst).await;

    let mut received = 0;
    loop {
        let frame = frame(&mut slow).await;
        if frame["type"] == "reset" {
            assert_eq!(frame["reason"], "too_far_behind");
            break;
        }
        received += 1;
        assert!(
            received <= 2,
            "no more than the queue held before the reset"
        );
    }
    closed(&mut slow).await;
    // The other user's stream is unaffected.
    let id = create(&app, &bob, "Unaffected").await;
    assert_eq!(task_ids(&events(&mut other, 1).await), [id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reminder_firing_arrives_live_as_an_in_app_notification() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let mut socket = connect(&app.base, &ada.token, "").await;
    until_ready(&mut socket).await;
    let fire_at =
        (SystemClock.now() + TimeDelta::seconds(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    let id = app
        .create_task(
            &ada,
            json!({"title": "Take the cake out", "reminders": [fire_at]}),
        )
        .await["id"]
        .clone();
    loop {
        let frame = frame(&mut socket).await;
        assert_eq!(frame["type"], "event");
        if frame["event"]["type"] == "tickler.notification.delivered" {
            assert_eq!(frame["event"]["data"]["task_id"], id);
            assert_eq!(frame["event"]["data"]["channel_kind"], "in_app");
            break;
        }
        assert!(
            frame["event"]["type"]
                .as_str()
                .unwrap()
                .starts_with("tickler.task."),
            "{frame}"
        );
    }
}

/// Two processes on one PostgreSQL database and the embedded bus: a client of either sees
/// the writes made through the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgresql_database_each_see_the_others_writes() {
    crate::helpers::init();
    let Some(base_url) = tickler_store_postgres::testing::TestDatabase::base_url_from_env() else {
        return;
    };
    let database = tickler_store_postgres::testing::TestDatabase::create(&base_url)
        .await
        .unwrap();
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--database-url", database.url(), "--roles", "all"];
    let first = ServerProcess::start(first_dir.path(), &args, &[SHARED_SECRET]);
    let second = ServerProcess::start(second_dir.path(), &args, &[SHARED_SECRET]);
    ready(&first.base).await;
    ready(&second.base).await;
    let token = register(&first.base, "ada@example.org").await;
    assert_writes_cross(&first.base, &second.base, &token).await;
    assert_writes_cross(&second.base, &first.base, &token).await;
}

/// On Kafka, each realtime process is a consumer group of its own on task-updates: with the
/// outbox poll pushed out of reach, clients of two realtime processes both see a write made
/// through a third process as soon as its record is on the topic. A client gets `ready` before
/// its process's listener has joined its group, and misses nothing written meanwhile. A
/// record that wakes the processes while the database still hides it behind an older
/// transaction (of any database on the server: another test's `CREATE DATABASE`, a
/// migration) is delivered once that transaction ends, not at the next poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_kafka_every_realtime_process_hears_every_write() {
    crate::helpers::init();
    let Some(base_url) = tickler_store_postgres::testing::TestDatabase::base_url_from_env() else {
        return;
    };
    let Some(broker) = Broker::start().await else {
        return;
    };
    let database = tickler_store_postgres::testing::TestDatabase::create(&base_url)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = format!("l{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let config = kafka_config(dir.path(), &broker.address, &prefix);
    let config = config.to_str().unwrap();
    let url = database.url();
    let writer_dir = tempfile::tempdir().unwrap();
    let writer_args = [
        "--config",
        config,
        "--database-url",
        url,
        "--roles",
        "api,relay",
    ];
    let writer = ServerProcess::start(writer_dir.path(), &writer_args, &[SHARED_SECRET]);
    // Without the broker these would see a write only after a minute.
    let poll = Duration::from_secs(60);
    let slow_poll = [
        ("TICKLER_REALTIME__POLL_INTERVAL_MS", "60000"),
        SHARED_SECRET,
    ];
    let (one_dir, two_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let realtime = [
        "--config",
        config,
        "--database-url",
        url,
        "--roles",
        "realtime",
    ];
    let one = ServerProcess::start(one_dir.path(), &realtime, &slow_poll);
    let two = ServerProcess::start(two_dir.path(), &realtime, &slow_poll);
    ready(&one.base).await;
    ready(&two.base).await;

    let token = register(&writer.base, "ada@example.org").await;
    let mut sockets = [
        connect(&one.base, &token, "").await,
        connect(&two.base, &token, "").await,
    ];
    for socket in &mut sockets {
        let (replayed, _) = until_ready(socket).await;
        assert!(replayed.is_empty(), "{replayed:?}");
    }
    // The listeners join their groups at the end of the topic, some time after ready: write
    // until both have heard. A record published before a listener joined wakes nobody, and
    // its event comes with the next record that does.
    let started = std::time::Instant::now();
    let mut written = Vec::new();
    let mut heard = [Vec::new(), Vec::new()];
    while heard.iter().any(Vec::is_empty) {
        assert!(started.elapsed() < poll, "no live event through Kafka");
        written.push(create_at(&writer.base, &token, &format!("Task {}", written.len())).await);
        for (socket, ids) in sockets.iter_mut().zip(&mut heard) {
            while let Ok(frame) =
                tokio::time::timeout(Duration::from_millis(500), frame(socket)).await
            {
                ids.extend(task_ids(&[frame]));
            }
        }
    }
    let joined = started.elapsed();
    // Once heard, the rest arrive in order on both; and from the first write on: nothing
    // written before the listeners joined is missing.
    let sent = std::time::Instant::now();
    let last = create_at(&writer.base, &token, "Last").await;
    written.push(last.clone());
    heard_until(&mut sockets, &mut heard, &last).await;
    let round_trip = sent.elapsed();
    for ids in &heard {
        assert_eq!(
            *ids, written,
            "in order, without gaps, from the first write"
        );
    }

    // A transaction of another database on the server holds back what readers of this one
    // may see. The next record reaches Kafka and wakes both processes while it is hidden.
    let holder = tickler_store_postgres::testing::OpenTransaction::begin(&base_url)
        .await
        .unwrap();
    let held = create_at(&writer.base, &token, "Held back").await;
    written.push(held.clone());
    let store = crate::process::open_store(writer_dir.path(), &writer_args).await;
    while store.as_store().outbox_backlog().await.unwrap() > 0 {
        tokio::time::sleep(round_trip / 10).await;
    }
    // Both listeners have had the record (and their processes read nothing) after twice the
    // measured time from a write to both clients.
    tokio::time::sleep(round_trip * 2).await;
    for socket in &mut sockets {
        assert!(
            tokio::time::timeout(Duration::ZERO, frame(socket))
                .await
                .is_err(),
            "nothing is readable while the older transaction runs"
        );
    }
    let released = std::time::Instant::now();
    holder.end().await.unwrap();
    heard_until(&mut sockets, &mut heard, &held).await;
    let after_release = released.elapsed();
    for ids in &heard {
        assert_eq!(*ids, written);
    }
    eprintln!(
        "listeners joined after {joined:?}; write to both clients {round_trip:?}; \
         held-back write delivered {after_release:?} after the older transaction ended"
    );
    assert!(
        after_release < poll / 2,
        "the held-back write waited for the poll: {after_release:?}"
    );
    store.close().await;
}

/// Reads each socket's events into its list until `id` arrived on both.
async fn heard_until(sockets: &mut [Socket; 2], heard: &mut [Vec<String>; 2], id: &str) {
    for (socket, ids) in sockets.iter_mut().zip(heard.iter_mut()) {
        while ids.last().map(String::as_str) != Some(id) {
            ids.extend(task_ids(&events(socket, 1).await));
        }
    }
}

async fn create_at(base: &str, token: &str, title: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(token)
        .json(&json!({"title": title}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Reads events until the one of task `id`, and returns it. A connection without a cursor is
/// live from where its process's log reader stands, which may be just behind the newest
/// commits: earlier changes of the user may come first, each once.
async fn event_of(socket: &mut Socket, id: &str) -> Value {
    let mut before = Vec::new();
    loop {
        let [event] = events(socket, 1).await.try_into().unwrap();
        let ids = task_ids(std::slice::from_ref(&event));
        if ids.iter().any(|seen| seen == id) {
            return event;
        }
        assert!(!before.contains(&ids), "{ids:?} came twice");
        assert!(before.len() < 10, "no event of {id} after {before:?}");
        before.push(ids);
    }
}

/// A client of `reader` receives a task created through `writer`, and resumes there after a
/// cursor from `writer`'s stream.
async fn assert_writes_cross(writer: &str, reader: &str, token: &str) {
    let mut socket = connect(reader, token, "").await;
    until_ready(&mut socket).await;
    let mut here = connect(writer, token, "").await;
    until_ready(&mut here).await;
    let id = create_at(writer, token, "Written elsewhere").await;
    event_of(&mut socket, &id).await;

    // A cursor from one process resumes on the other.
    let seen_here = event_of(&mut here, &id).await;
    let cursor = seen_here["cursor"].as_str().unwrap().to_owned();
    here.send(Message::Close(None)).await.unwrap();
    let later = create_at(writer, token, "While away").await;
    let mut there = connect(reader, token, &format!("?cursor={cursor}")).await;
    let (replayed, _) = until_ready(&mut there).await;
    let mut seen = task_ids(&replayed);
    if seen.is_empty() {
        // The other process had not read that far yet: it arrives live instead.
        seen = task_ids(&events(&mut there, 1).await);
    }
    assert_eq!(seen, [later]);
}
