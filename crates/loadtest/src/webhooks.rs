//! `webhook-receiver`: a webhook endpoint for the notification benchmark. It verifies every
//! webhook's Standard Webhooks signature (its own implementation of the specification, not
//! tickler's), counts duplicates by `webhook-id`, and reports how long after its fire time
//! (`data.fire_at` of the payload) each reminder arrived.
//!
//! With `--register N` it first registers N users on the server and gives each a webhook
//! channel pointing here (learning the secrets), and writes their access tokens to
//! `--tokens-file` for the scenario that creates the reminders.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use hyper::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::client::{Connection, Target};
use crate::report::Samples;

/// What the receiver is told.
#[derive(Debug)]
pub struct ReceiverOptions {
    /// Where to listen.
    pub listen: SocketAddr,
    /// `whsec_...` secrets to verify with (any may match).
    pub secrets: Vec<String>,
    /// Users to register, each with a webhook channel to this receiver.
    pub register: usize,
    /// The URL the server reaches this receiver at (default `http://<listen>`).
    pub public_url: Option<String>,
    /// Where to write the registered users' tokens, one per line.
    pub tokens_file: Option<std::path::PathBuf>,
    /// Stop after this many distinct webhooks.
    pub expect: Option<usize>,
    /// Stop after this long without a webhook.
    pub idle: Duration,
    /// The status to answer.
    pub answer: u16,
}

#[derive(Default)]
struct Tally {
    seen: HashSet<String>,
    duplicates: u64,
    bad_signatures: u64,
    latency: Samples,
    within_ten_seconds: u64,
    last: Option<Instant>,
}

#[derive(Clone)]
struct Receiver {
    secrets: Arc<Vec<Vec<u8>>>,
    tally: Arc<Mutex<Tally>>,
    answer: StatusCode,
}

fn decode_secret(secret: &str) -> anyhow::Result<Vec<u8>> {
    STANDARD
        .decode(secret.trim().trim_start_matches("whsec_"))
        .with_context(|| format!("{secret:?} is not a whsec_ secret"))
}

/// Returns whether one of the `v1,` signatures matches HMAC-SHA256(`{id}.{ts}.{body}`).
fn verify(secrets: &[Vec<u8>], headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (Some(id), Some(timestamp), Some(signatures)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return false;
    };
    secrets.iter().any(|secret| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            return false;
        };
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        signatures.split(' ').any(|signature| signature == expected)
    })
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let received_at = wall_clock();
    let valid = verify(&receiver.secrets, &headers, &body);
    let id = headers
        .get("webhook-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let fire_at = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|payload| payload["data"]["fire_at"].as_str().map(str::to_owned))
        .and_then(|text| text.parse::<DateTime<Utc>>().ok());
    let mut tally = receiver.tally.lock().unwrap_or_else(|e| e.into_inner());
    tally.last = Some(Instant::now());
    if !valid {
        tally.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if !tally.seen.insert(id) {
        tally.duplicates += 1;
        return receiver.answer;
    }
    if let Some(fire_at) = fire_at {
        let late = (received_at - fire_at).to_std().unwrap_or_default();
        tally.latency.record(late);
        if late <= Duration::from_secs(10) {
            tally.within_ten_seconds += 1;
        }
    }
    receiver.answer
}

#[allow(clippy::disallowed_methods)] // the benchmark compares with the server's wall clock
fn wall_clock() -> DateTime<Utc> {
    Utc::now()
}

/// Registers `count` users, each with a webhook channel to `url`; returns their tokens and
/// the channels' secrets.
async fn register(
    target: &Target,
    count: usize,
    url: &str,
) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut connection = Connection::open(target).await?;
    let (mut tokens, mut secrets) = (Vec::new(), Vec::new());
    let run = std::process::id();
    for n in 0..count {
        let body = json!({"email": format!("webhooks-{run}-{n}@bench.invalid"),
                          "password": "load test password"});
        let (status, bytes) = connection
            .send(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(serde_json::to_vec(&body)?),
            )
            .await?;
        if status != hyper::StatusCode::CREATED {
            bail!(
                "registration failed with {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let session: Value = serde_json::from_slice(&bytes)?;
        let token = session["access_token"]
            .as_str()
            .context("no token")?
            .to_owned();
        let body = json!({"kind": "webhook", "url": format!("{url}/hooks/{n}")});
        let (status, bytes) = connection
            .send(
                Method::POST,
                "/api/v1/notification-channels",
                Some(&token),
                Some(serde_json::to_vec(&body)?),
            )
            .await?;
        if status != hyper::StatusCode::CREATED {
            bail!(
                "creating the webhook channel failed with {status}: {} (is the receiver's host in --webhook-allow-hosts?)",
                String::from_utf8_lossy(&bytes)
            );
        }
        let channel: Value = serde_json::from_slice(&bytes)?;
        secrets.push(channel["secret"].as_str().context("no secret")?.to_owned());
        tokens.push(token);
    }
    Ok((tokens, secrets))
}

/// Runs the receiver until it has what it expects or nothing arrives for a while, then
/// prints the report.
pub async fn receive_webhooks(
    target: &Target,
    label: &str,
    options: ReceiverOptions,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    let url = options
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let mut secrets = options.secrets.clone();
    if options.register > 0 {
        let (tokens, registered) = register(target, options.register, &url).await?;
        secrets.extend(registered);
        if let Some(path) = &options.tokens_file {
            std::fs::write(path, tokens.join("\n") + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        eprintln!(
            "registered {} users with webhook channels to {url}",
            options.register
        );
    }
    if secrets.is_empty() {
        bail!("give --secret or --register: without secrets no signature can be verified");
    }
    let receiver = Receiver {
        secrets: Arc::new(
            secrets
                .iter()
                .map(|secret| decode_secret(secret))
                .collect::<anyhow::Result<_>>()?,
        ),
        tally: Arc::default(),
        answer: StatusCode::from_u16(options.answer).context("--answer is not a status")?,
    };
    let tally = receiver.tally.clone();
    let router = axum::Router::new()
        .fallback(axum::routing::post(receive))
        .with_state(receiver);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    eprintln!("receiving webhooks on {address}");
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let tally = tally.lock().unwrap_or_else(|e| e.into_inner());
        let done = options
            .expect
            .is_some_and(|expected| tally.seen.len() >= expected);
        let idle_since = tally.last.unwrap_or(started);
        if done || idle_since.elapsed() >= options.idle {
            break;
        }
    }
    server.abort();
    let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
    let received = tally.seen.len();
    let share = if received == 0 {
        0.0
    } else {
        100.0 * tally.within_ten_seconds as f64 / received as f64
    };
    let (duplicates, bad_signatures) = (tally.duplicates, tally.bad_signatures);
    let [p50, p95, p99, max] = [50.0, 95.0, 99.0, 100.0]
        .map(|percentile| tally.latency.percentile_ms(percentile) / 1000.0);
    println!(
        "| receiver | webhooks | duplicates | bad signatures | p50 s | p95 s | p99 s | max s | within 10 s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {label} | {received} | {duplicates} | {bad_signatures} | {p50:.2} | {p95:.2} | {p99:.2} | {max:.2} | {share:.1} % |"
    );
    if let Some(expected) = options.expect
        && received < expected
    {
        bail!("received {received} of {expected} expected webhooks");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_example_verifies_and_tampering_does_not() {
        let secrets = [decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap()];
        let mut headers = HeaderMap::new();
        headers.insert(
            "webhook-id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek".parse().unwrap(),
        );
        headers.insert("webhook-timestamp", "1614265330".parse().unwrap());
        headers.insert(
            "webhook-signature",
            "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
                .parse()
                .unwrap(),
        );
        let body = br#"{"test": 2432232314}"#;
        assert!(verify(&secrets, &headers, body));
        assert!(!verify(&secrets, &headers, br#"{"test": 2432232315}"#));
        headers.insert("webhook-timestamp", "1614265331".parse().unwrap());
        assert!(!verify(&secrets, &headers, body));
    }
}
