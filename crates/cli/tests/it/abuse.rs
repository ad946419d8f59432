//! Unauthenticated abuse: bursts of registrations and logins that once took the server to
//! gigabytes and starved `/health`, password guessing in parallel, throttling per client
//! network and through trusted proxies.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, problem};
use crate::on_both_backends;
use crate::process::ServerProcess;

on_both_backends!(
    parallel_wrong_guesses_for_one_account_are_counted_before_they_are_verified,
    registrations_are_throttled_per_client_network,
    a_trusted_proxy_names_the_client_and_anyone_else_cannot,
);

/// The server's peak resident set size (`VmHWM`), in bytes.
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

/// Sends one burst of `count` concurrent POSTs and returns their statuses, checking that every
/// refusal says when to retry.
async fn burst(client: &reqwest::Client, url: &str, bodies: Vec<Value>) -> Vec<StatusCode> {
    let requests = bodies.into_iter().map(|body| {
        let client = client.clone();
        let url = url.to_owned();
        async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                assert!(
                    response.headers().contains_key("retry-after"),
                    "{status} without Retry-After"
                );
            }
            status
        }
    });
    join_all(requests).await
}

/// The contract: 300 concurrent registrations, then 300 concurrent wrong-password
/// logins, with the throttles that would stop most of them before any hashing turned off, so
/// the bound on concurrent hashing is what is measured. Peak RSS stays under 400 MiB and
/// `/health` answers within a second throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_registrations_and_logins_keeps_memory_bounded_and_health_answering() {
    crate::helpers::init();
    let data_dir = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(
        data_dir.path(),
        &[],
        &[
            ("TICKLER_AUTH__REGISTRATIONS_PER_NETWORK", "0"),
            ("TICKLER_AUTH__LOGIN_ATTEMPTS_PER_ADDRESS", "100000"),
        ],
    );
    let pid = server.child.id();
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(400)
        .build()
        .unwrap();

    let stop = tokio_util::sync::CancellationToken::new();
    let health = {
        let (client, base, stop) = (client.clone(), base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut probes = 0u32;
            while !stop.is_cancelled() {
                let sent = Instant::now();
                let response = client.get(format!("{base}/health")).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                slowest = slowest.max(sent.elapsed());
                probes += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (slowest, probes)
        })
    };

    let registrations = (0..300)
        .map(|index| json!({"email": format!("burst{index}@example.org"), "password": "correct horse battery"}))
        .collect();
    let statuses = burst(
        &client,
        &format!("{base}/api/v1/auth/register"),
        registrations,
    )
    .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    assert!(created >= 1, "no registration succeeded: {statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::CREATED, StatusCode::SERVICE_UNAVAILABLE].contains(s)),
        "{statuses:?}"
    );

    let logins = (0..300)
        .map(|index| json!({"email": format!("burst{index}@example.org"), "password": "wrong password!"}))
        .collect();
    let statuses = burst(&client, &format!("{base}/api/v1/auth/login"), logins).await;
    assert!(
        statuses
            .iter()
            .all(|s| [StatusCode::UNAUTHORIZED, StatusCode::SERVICE_UNAVAILABLE].contains(s)),
        "{statuses:?}"
    );

    stop.cancel();
    let (slowest_health, probes) = health.await.unwrap();
    let peak = peak_rss_bytes(pid);
    eprintln!(
        "registrations created: {created}/300; peak RSS {} MiB; slowest /health {} ms over {probes} probes",
        peak / (1024 * 1024),
        slowest_health.as_millis()
    );
    assert!(peak < 400 * 1024 * 1024, "peak RSS {peak} bytes");
    assert!(
        slowest_health < Duration::from_secs(1),
        "/health took {slowest_health:?}"
    );
}

/// Reads a counter from `/metrics` (0 before its first increment).
async fn counter(app: &TestApp, name: &str) -> f64 {
    app.metrics_text()
        .await
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn parallel_wrong_guesses_for_one_account_are_counted_before_they_are_verified(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.login_attempts_per_address = 100_000;
    })
    .await
    else {
        return;
    };
    app.register("victim@example.org").await;
    let before = counter(&app, "tickler_password_verifications_total").await;
    let guesses = (0..100)
        .map(|index| json!({"email": "Victim@example.org", "password": format!("guess number {index}")}))
        .collect();
    let statuses = burst(&app.client, &app.url("/api/v1/auth/login"), guesses).await;
    let verified = counter(&app, "tickler_password_verifications_total").await - before;
    let rejected = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    eprintln!("of 100 parallel guesses: {verified} verified, {throttled} throttled");
    assert!(verified <= 10.0, "{verified} guesses were verified");
    assert_eq!(rejected as f64, verified);
    assert_eq!(rejected + throttled, 100, "{statuses:?}");

    // Slowed down, not locked out: the throttled answer names a wait of one refill interval
    // (15 min / 10 guesses), not the whole window.
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "victim@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=90).contains(&retry_after), "Retry-After {retry_after}");
    let body = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "too_many_attempts");
}

async fn registrations_are_throttled_per_client_network(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.registrations_per_network = 3;
    })
    .await
    else {
        return;
    };
    for index in 0..3 {
        app.register(&format!("user{index}@example.org")).await;
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "user3@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "too_many_attempts");
    // Nothing of the refused registration was stored.
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "user3@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
}

async fn a_trusted_proxy_names_the_client_and_anyone_else_cannot(backend: Backend) {
    let wrong_login = |app: &TestApp, forwarded_for: &str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({"email": format!("someone{forwarded_for}@example.org"), "password": "wrong password!"}))
            .send()
    };
    // Behind a trusted proxy (here: the test client's own address), each forwarded client has
    // its own budget.
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.login_attempts_per_address = 2;
        config.server.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await
    else {
        return;
    };
    for _ in 0..2 {
        let response = wrong_login(&app, "198.51.100.1").await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = wrong_login(&app, "198.51.100.1").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let response = wrong_login(&app, "198.51.100.2").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // A client cannot prepend an address of its choosing: the proxy's entry is the rightmost.
    let response = wrong_login(&app, "203.0.113.5, 198.51.100.1")
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // Without trusted proxies, forging the header gains nothing.
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.login_attempts_per_address = 2;
    })
    .await
    else {
        return;
    };
    for index in 0..2 {
        let response = wrong_login(&app, &format!("198.51.100.{index}"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = wrong_login(&app, "198.51.100.9").await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}
