//! The live stream (`GET /api/v1/live`) under load: how much memory idle connections cost
//! the server, and how long a committed change takes to reach connected clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{Connection, Target};
use crate::reminders::memory_kib;
use crate::report::{self, Samples};
use crate::scenarios::register;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connections opened at once while setting up.
const OPENING_CONCURRENCY: usize = 64;

/// Opens the live stream as `token` and waits for its `ready` frame.
async fn open(target: &Target, token: &str) -> anyhow::Result<Socket> {
    let mut request = format!("ws://{}/api/v1/live", target.authority).into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .context("cannot open the live stream")?;
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text)?;
                if frame["type"] == "ready" {
                    return Ok(socket);
                }
            }
            Some(Ok(_)) => {}
            other => bail!("the live stream ended before ready: {other:?}"),
        }
    }
}

/// Opens `count` connections, `token_of(n)` for the n-th.
async fn open_many(
    target: &Target,
    count: usize,
    token_of: impl Fn(usize) -> String,
) -> anyhow::Result<Vec<(usize, Socket)>> {
    let mut sockets = Vec::with_capacity(count);
    let mut pending = futures::stream::iter((0..count).map(|n| {
        let target = target.clone();
        let token = token_of(n);
        async move { open(&target, &token).await.map(|socket| (n, socket)) }
    }))
    .buffer_unordered(OPENING_CONCURRENCY);
    while let Some(opened) = pending.next().await {
        sockets.push(opened?);
    }
    Ok(sockets)
}

/// Holds `connections` idle connections and reports the server's resident memory per
/// connection (`/proc/<server_pid>/status`, before and after).
pub async fn idle(
    target: &Target,
    label: &str,
    connections: usize,
    server_pid: u32,
) -> anyhow::Result<()> {
    let token = register(target, "live-idle").await?;
    // One connection first, so the hub and the first allocations are not counted.
    let _first = open(target, &token).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = memory_kib(server_pid, "VmRSS:").context("cannot read the server's memory")?;
    let started = Instant::now();
    let sockets = open_many(target, connections, |_| token.clone()).await?;
    let opened_in = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = memory_kib(server_pid, "VmRSS:").context("cannot read the server's memory")?;
    let per_connection = (after.saturating_sub(before)) as f64 / sockets.len() as f64;
    println!(
        "| backend | idle connections | opened in s | server RSS before MiB | after MiB | per connection KiB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {label} | {} | {:.1} | {:.1} | {:.1} | {per_connection:.2} |",
        sockets.len(),
        opened_in.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
    );
    drop(sockets);
    Ok(())
}

/// The shape of the latency scenario.
#[derive(Debug, Clone, Copy)]
pub struct LatencyShape {
    /// Connected clients.
    pub clients: usize,
    /// Users they belong to (clients are spread evenly; each event reaches its user's).
    pub users: usize,
    /// Task creations per second.
    pub rate: u64,
    /// Seconds of load.
    pub seconds: u64,
    /// HTTP connections used to keep the rate.
    pub connections: usize,
}

/// Creates tasks at `rate` for `seconds`, spread over the users, while `clients` connections
/// listen; reports the latency from each event's commit (its `time`) to each client
/// receiving it.
pub async fn latency(target: &Target, label: &str, shape: LatencyShape) -> anyhow::Result<()> {
    let users = shape.users.max(1);
    let mut tokens = Vec::with_capacity(users);
    for n in 0..users {
        tokens.push(register(target, &format!("live-{n}")).await?);
    }
    let sockets = open_many(target, shape.clients, |n| tokens[n % users].clone()).await?;
    let samples = Arc::new(std::sync::Mutex::new(Samples::default()));
    let received = Arc::new(AtomicUsize::new(0));
    let mut listeners = Vec::new();
    for (_, mut socket) in sockets {
        let samples = samples.clone();
        let received = received.clone();
        listeners.push(tokio::spawn(async move {
            let mut own = Samples::default();
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let arrived = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|since| since.as_micros() as i64)
                    .unwrap_or(0);
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                let Some(time) = frame["event"]["time"].as_str() else {
                    continue;
                };
                let Ok(committed) = chrono::DateTime::parse_from_rfc3339(time) else {
                    continue;
                };
                let micros = (arrived - committed.timestamp_micros()).max(0);
                own.record(Duration::from_micros(micros as u64));
                received.fetch_add(1, Ordering::Relaxed);
                if own.count() >= 64
                    && let Ok(mut shared) = samples.lock()
                {
                    shared.merge(std::mem::take(&mut own));
                }
            }
            if let Ok(mut shared) = samples.lock() {
                shared.merge(own);
            }
        }));
    }

    let total = (shape.rate * shape.seconds) as usize;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let tokens = Arc::new(tokens);
    let mut writers = Vec::new();
    for _ in 0..shape.connections.max(1) {
        let (target, tokens, next) = (target.clone(), tokens.clone(), next.clone());
        writers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await?;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return anyhow::Ok(());
                }
                let due = started + Duration::from_secs_f64(index as f64 / shape.rate as f64);
                tokio::time::sleep_until(due.into()).await;
                let body = serde_json::to_vec(&json!({"title": format!("live load {index}")}))?;
                let token = &tokens[index % tokens.len()];
                let (status, _) = connection
                    .send(Method::POST, "/api/v1/tasks", Some(token), Some(body))
                    .await?;
                if status != StatusCode::CREATED {
                    bail!("creation failed with {status}");
                }
            }
        }));
    }
    for writer in writers {
        writer.await??;
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    // Every event reaches every client of its user.
    let expected: usize = (0..total)
        .map(|index| {
            let user = index % users;
            (0..shape.clients).filter(|n| n % users == user).count()
        })
        .sum();
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for listener in &listeners {
        listener.abort();
    }
    for listener in listeners {
        let _ = listener.await;
    }
    let mut samples =
        std::mem::take(&mut *samples.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    report::header();
    report::row(
        label,
        &format!(
            "commit to live client, {offered:.0} events/s to {} clients ({} of {expected} deliveries)",
            shape.clients,
            received.load(Ordering::Relaxed)
        ),
        &mut samples,
        Duration::from_secs(shape.seconds),
    );
    Ok(())
}
