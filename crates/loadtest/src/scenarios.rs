//! The benchmark scenarios.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::{Connection, Target};
use crate::report::{self, Samples};

const WARM_UP: Duration = Duration::from_secs(2);

/// A tiny deterministic generator (xorshift), so seeded data is reproducible.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed towards small indexes: a few words are common, most are rare.
    fn skewed(&mut self, n: usize) -> usize {
        let r = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((r * r * r) * n as f64) as usize
    }
}

const WORDS: &[&str] = &[
    "call",
    "meeting",
    "report",
    "email",
    "review",
    "buy",
    "pay",
    "plan",
    "fix",
    "send",
    "book",
    "write",
    "read",
    "clean",
    "update",
    "prepare",
    "check",
    "order",
    "schedule",
    "renew",
    "dentist",
    "invoice",
    "groceries",
    "budget",
    "slides",
    "garden",
    "taxes",
    "passport",
    "insurance",
    "car",
    "laundry",
    "kitchen",
    "birthday",
    "gift",
    "flight",
    "hotel",
    "contract",
    "client",
    "design",
    "draft",
    "backup",
    "server",
    "release",
    "notes",
    "library",
    "bank",
    "doctor",
    "school",
    "homework",
    "lesson",
    "project",
    "deadline",
    "team",
    "summary",
    "quarterly",
    "annual",
    "weekly",
    "monthly",
    "budgeting",
    "receipt",
    "refund",
    "package",
    "delivery",
    "repair",
    "plumber",
    "electrician",
    "paint",
    "fence",
    "roof",
    "window",
    "door",
    "bike",
    "running",
    "gym",
    "yoga",
    "recipe",
    "dinner",
    "lunch",
    "breakfast",
    "coffee",
    "tea",
    "milk",
    "bread",
    "eggs",
    "apples",
    "bananas",
    "oranges",
    "cheese",
    "butter",
    "rice",
    "pasta",
    "tomatoes",
    "onions",
    "garlic",
    "pepper",
    "salt",
    "sugar",
    "flour",
    "honey",
    "jam",
    "yogurt",
    "zebra",
    "xylophone",
    "quokka",
    "narwhal",
    "axolotl",
    "pangolin",
];
const TAGS: &[&str] = &[
    "work",
    "home",
    "money",
    "health",
    "errands",
    "family",
    "travel",
    "study",
    "garden",
    "car",
    "urgent-ish",
    "someday",
    "reading",
    "music",
    "sport",
    "friends",
    "admin",
    "bills",
    "ideas",
    "shopping",
];

fn task_body(rng: &mut Rng) -> Vec<u8> {
    let words = 3 + rng.below(4);
    let title: Vec<&str> = (0..words).map(|_| WORDS[rng.skewed(WORDS.len())]).collect();
    let tags: Vec<&str> = (0..rng.below(4))
        .map(|_| TAGS[rng.skewed(TAGS.len())])
        .collect();
    let priority = ["none", "none", "low", "medium", "high", "urgent"][rng.below(6)];
    let status = match rng.below(10) {
        0..=6 => "todo",
        7 => "in_progress",
        _ => "done",
    };
    let mut body = json!({
        "title": title.join(" "),
        "priority": priority,
        "status": status,
        "tags": tags,
    });
    if rng.below(10) < 7 {
        body["due_at"] = json!(format!(
            "2026-{:02}-{:02}T{:02}:00:00Z",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24)
        ));
    }
    if rng.below(4) == 0 {
        body["description"] = json!(format!(
            "{} {} {}",
            WORDS[rng.below(WORDS.len())],
            WORDS[rng.below(WORDS.len())],
            WORDS[rng.below(WORDS.len())]
        ));
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

pub(crate) async fn register(target: &Target, tag: &str) -> anyhow::Result<String> {
    Ok(register_account(target, tag).await?.1)
}

/// Registers a new account; returns its e-mail address and access token.
async fn register_account(target: &Target, tag: &str) -> anyhow::Result<(String, String)> {
    let mut connection = Connection::open(target).await?;
    let nonce = std::process::id() as u64 ^ Instant::now().elapsed().as_nanos() as u64;
    let email = format!(
        "loadtest-{tag}-{nonce}-{}@bench.invalid",
        Rng::new(nonce).next()
    );
    let body = json!({
        "email": email,
        "password": "load test password",
    });
    let (status, bytes) = connection
        .send(
            Method::POST,
            "/api/v1/auth/register",
            None,
            Some(serde_json::to_vec(&body)?),
        )
        .await?;
    if status != StatusCode::CREATED {
        bail!(
            "registration failed with {status}: {}",
            String::from_utf8_lossy(&bytes)
        );
    }
    let session: Value = serde_json::from_slice(&bytes)?;
    let token = session["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access token")?;
    Ok((email, token))
}

/// Runs `connections` workers sending requests built by `next` until the deadline; the first
/// two seconds are not recorded.
async fn hammer<F>(
    target: &Target,
    token: &str,
    connections: usize,
    seconds: u64,
    expected: StatusCode,
    next: F,
) -> anyhow::Result<(Samples, Duration)>
where
    F: Fn(usize, &mut Rng) -> (Method, String, Option<Vec<u8>>) + Send + Sync + 'static,
{
    let next = Arc::new(next);
    let start = Instant::now();
    let measure_from = start + WARM_UP;
    let deadline = measure_from + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..connections {
        let target = target.clone();
        let token = token.to_owned();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Samples::default();
            let mut connection = Connection::open(&target).await?;
            let mut rng = Rng::new(worker as u64 + 1);
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let (method, path, body) = next(worker, &mut rng);
                let sent = Instant::now();
                let result = connection.send(method, &path, Some(&token), body).await;
                let latency = sent.elapsed();
                if sent < measure_from {
                    continue;
                }
                match result {
                    Ok((status, _)) if status == expected => samples.record(latency),
                    Ok(_) => samples.errors += 1,
                    Err(_) => {
                        samples.errors += 1;
                        connection = Connection::open(&target).await?;
                    }
                }
            }
            anyhow::Ok(samples)
        }));
    }
    let mut all = Samples::default();
    for worker in workers {
        all.merge(worker.await??);
    }
    Ok((all, Duration::from_secs(seconds)))
}

/// Task creation throughput and latency.
pub async fn create(
    target: &Target,
    label: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let token = register(target, "create").await?;
    let (mut samples, elapsed) = hammer(
        target,
        &token,
        connections,
        seconds,
        StatusCode::CREATED,
        |_, rng| {
            (
                Method::POST,
                "/api/v1/tasks".to_owned(),
                Some(task_body(rng)),
            )
        },
    )
    .await?;
    report::header();
    report::row(
        label,
        &format!("create, {connections} connections"),
        &mut samples,
        elapsed,
    );
    Ok(())
}

/// Creates `count` tasks for `token` with `connections` connections; returns their ids.
async fn seed(
    target: &Target,
    token: &str,
    count: usize,
    connections: usize,
    seed: u64,
) -> anyhow::Result<Vec<String>> {
    let remaining = Arc::new(AtomicUsize::new(count));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let target = target.clone();
        let token = token.to_owned();
        let remaining = remaining.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await?;
            let mut rng = Rng::new(seed * 1_000 + worker as u64 + 1);
            let mut ids = Vec::new();
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let (status, bytes) = connection
                    .send(
                        Method::POST,
                        "/api/v1/tasks",
                        Some(&token),
                        Some(task_body(&mut rng)),
                    )
                    .await?;
                if status != StatusCode::CREATED {
                    bail!(
                        "seeding failed with {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                let task: Value = serde_json::from_slice(&bytes)?;
                ids.push(task["id"].as_str().unwrap_or_default().to_owned());
            }
            anyhow::Ok(ids)
        }));
    }
    let mut ids = Vec::with_capacity(count);
    for worker in workers {
        ids.extend(worker.await??);
    }
    Ok(ids)
}

/// GET-by-id throughput and latency.
pub async fn get(
    target: &Target,
    label: &str,
    connections: usize,
    seconds: u64,
    tasks: usize,
) -> anyhow::Result<()> {
    let token = register(target, "get").await?;
    let ids = Arc::new(seed(target, &token, tasks, connections, 7).await?);
    let (mut samples, elapsed) = hammer(
        target,
        &token,
        connections,
        seconds,
        StatusCode::OK,
        move |_, rng| {
            let id = &ids[rng.below(ids.len())];
            (Method::GET, format!("/api/v1/tasks/{id}"), None)
        },
    )
    .await?;
    report::header();
    report::row(
        label,
        &format!("get by id, {connections} connections"),
        &mut samples,
        elapsed,
    );
    Ok(())
}

/// GET of one fixed path, unauthenticated: the bare server's ceiling, in the same report.
pub async fn get_path(
    target: &Target,
    label: &str,
    connections: usize,
    seconds: u64,
    path: String,
) -> anyhow::Result<()> {
    let scenario = format!("GET {path}, {connections} connections");
    let (mut samples, elapsed) = hammer(
        target,
        "",
        connections,
        seconds,
        StatusCode::OK,
        move |_, _| (Method::GET, path.clone(), None),
    )
    .await?;
    report::header();
    report::row(label, &scenario, &mut samples, elapsed);
    Ok(())
}

/// The shape of the `scale` scenario.
#[derive(Debug, Clone)]
pub struct ScaleShape {
    pub users: usize,
    pub tasks_per_user: usize,
    pub seed_connections: usize,
    pub connections: usize,
    pub requests: usize,
    /// Seeds the registered users' tasks by running this shell command with their e-mail
    /// addresses as arguments (`scripts/bench-seed`), instead of creating them over HTTP.
    pub seed_command: Option<String>,
}

const QUERIES: &[(&str, &str)] = &[
    ("list newest", "limit=50"),
    (
        "status+priority by due",
        "status=open&priority=high&sort=due_at&limit=50",
    ),
    ("two tags", "tag=work&tag=home&limit=50"),
    ("overdue", "overdue=true&sort=due_at&limit=50"),
    ("sort by title", "sort=title&limit=50"),
    ("search common word", "q=call&limit=50"),
    ("search rare word", "q=zebra&limit=50"),
    ("search prefix", "q=rep&limit=50"),
    ("search two words", "q=call%20report&limit=50"),
    (
        "search + filter",
        "q=meeting&status=open&sort=-priority&limit=50",
    ),
    ("search sorted by due", "q=call&sort=due_at&limit=50"),
    ("search rare word by due", "q=zebra&sort=due_at&limit=50"),
    ("one tag, newest", "tag=work&limit=50"),
    // The web app's Today and Upcoming views (every due date is in 2026).
    (
        "today view",
        "status=open&due_before=2026-07-01T00:00:00Z&sort=due_at&limit=200",
    ),
    (
        "upcoming view",
        "status=open&due_after=2027-01-01T00:00:00Z&sort=due_at&limit=200",
    ),
];

/// List and search latency for one user among many.
pub async fn scale(target: &Target, label: &str, shape: ScaleShape) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut measured = String::new();
    if let Some(command) = &shape.seed_command {
        let mut emails = Vec::new();
        for user in 0..shape.users {
            let (email, token) = register_account(target, &format!("scale{user}")).await?;
            if user == 0 {
                measured = token;
            }
            emails.push(email);
        }
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{command} \"$@\""))
            .arg("seed")
            .args(&emails)
            .status()
            .await
            .context("cannot run the seed command")?;
        if !status.success() {
            bail!("the seed command failed: {status}");
        }
    }
    for user in 0..shape.users {
        if shape.seed_command.is_some() {
            break;
        }
        let token = register(target, &format!("scale{user}")).await?;
        seed(
            target,
            &token,
            shape.tasks_per_user,
            shape.seed_connections,
            user as u64 + 11,
        )
        .await?;
        eprintln!(
            "seeded user {} of {} ({} tasks each) after {:.0} s",
            user + 1,
            shape.users,
            shape.tasks_per_user,
            started.elapsed().as_secs_f64()
        );
        if user == 0 {
            measured = token;
        }
    }
    let total = shape.users * shape.tasks_per_user;
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "seeded {total} tasks in {seconds:.0} s ({:.0}/s)",
        total as f64 / seconds
    );
    report::header();
    for (name, query) in QUERIES {
        let mut samples = measure(target, &measured, &shape, move |_| {
            format!("/api/v1/tasks?{query}")
        })
        .await?;
        let scenario = format!("{name} ({} of {total})", shape.tasks_per_user);
        report::row(label, &scenario, &mut samples.0, samples.1);
    }
    // Ten pages deep through a cursor: each page's latency counts.
    let mut connection = Connection::open(target).await?;
    let mut samples = Samples::default();
    let walk_started = Instant::now();
    for _ in 0..(shape.requests / 10).max(1) {
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut path = "/api/v1/tasks?sort=due_at&limit=50".to_owned();
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let sent = Instant::now();
            let (status, bytes) = connection
                .send(Method::GET, &path, Some(&measured), None)
                .await?;
            if status != StatusCode::OK {
                samples.errors += 1;
                break;
            }
            samples.record(sent.elapsed());
            let page: Value = serde_json::from_slice(&bytes)?;
            cursor = page["next_cursor"].as_str().map(str::to_owned);
        }
    }
    report::row(
        label,
        "10 pages by cursor, 1 connection",
        &mut samples,
        walk_started.elapsed(),
    );
    Ok(())
}

async fn measure(
    target: &Target,
    token: &str,
    shape: &ScaleShape,
    path: impl Fn(usize) -> String + Send + Sync + 'static,
) -> anyhow::Result<(Samples, Duration)> {
    let path = Arc::new(path);
    let remaining = Arc::new(AtomicUsize::new(shape.requests));
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..shape.connections {
        let target = target.clone();
        let token = token.to_owned();
        let remaining = remaining.clone();
        let path = path.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await?;
            let mut samples = Samples::default();
            // Warm the connection and caches once, unrecorded.
            connection
                .send(Method::GET, &path(worker), Some(&token), None)
                .await?;
            while remaining
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let sent = Instant::now();
                let (status, _) = connection
                    .send(Method::GET, &path(worker), Some(&token), None)
                    .await?;
                if status == StatusCode::OK {
                    samples.record(sent.elapsed());
                } else {
                    samples.errors += 1;
                }
            }
            anyhow::Ok(samples)
        }));
    }
    let mut all = Samples::default();
    for worker in workers {
        all.merge(worker.await??);
    }
    Ok((all, started.elapsed()))
}

/// End-to-end latency from the commit of a change to its audit record, at a fixed rate.
pub async fn events(
    target: &Target,
    label: &str,
    rate: u64,
    seconds: u64,
    connections: usize,
) -> anyhow::Result<()> {
    let token = register(target, "events").await?;
    let total = (rate * seconds) as usize;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..connections {
        let target = target.clone();
        let token = token.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await?;
            let mut rng = Rng::new(worker as u64 + 101);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return anyhow::Ok(());
                }
                // Each request has a slot in time: the rate is held, not exceeded.
                let due = started + Duration::from_secs_f64(index as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                let (status, _) = connection
                    .send(
                        Method::POST,
                        "/api/v1/tasks",
                        Some(&token),
                        Some(task_body(&mut rng)),
                    )
                    .await?;
                if status != StatusCode::CREATED {
                    bail!("creation failed with {status}");
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    // Read the trail until every creation is there.
    let mut connection = Connection::open(target).await?;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut samples = loop {
        let mut samples = Samples::default();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/api/v1/audit?limit=500".to_owned();
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, bytes) = connection
                .send(Method::GET, &path, Some(&token), None)
                .await?;
            if status != StatusCode::OK {
                bail!("audit read failed with {status}");
            }
            let page: Value = serde_json::from_slice(&bytes)?;
            for item in page["items"].as_array().into_iter().flatten() {
                let (Some(occurred), Some(recorded)) =
                    (item["occurred_at"].as_str(), item["recorded_at"].as_str())
                else {
                    continue;
                };
                let latency = parse_instant(recorded)? - parse_instant(occurred)?;
                samples.record(Duration::from_micros(latency.max(0) as u64));
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        if samples.count() >= total || Instant::now() > deadline {
            break samples;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    report::header();
    report::row(
        label,
        &format!(
            "commit to audited, {offered:.0} events/s offered ({} of {total} seen)",
            samples.count()
        ),
        &mut samples,
        Duration::from_secs(seconds),
    );
    Ok(())
}

/// The mean time of each step of a relay pass, from `tickler_relay_step_seconds`.
fn relay_steps(metrics: &str) -> String {
    let value = |name: &str, step: &str| -> Option<f64> {
        let prefix = format!("{name}{{step=\"{step}\"}}");
        metrics
            .lines()
            .find(|line| line.starts_with(&prefix))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|value| value.parse().ok())
    };
    let steps: Vec<String> = ["read", "publish", "mark"]
        .iter()
        .filter_map(|step| {
            let sum = value("tickler_relay_step_seconds_sum", step)?;
            let count = value("tickler_relay_step_seconds_count", step)?;
            (count > 0.0).then(|| format!("{step} {:.1} ms", sum / count * 1e3))
        })
        .collect();
    format!("relay passes, mean per step: {}", steps.join(", "))
}

/// Microseconds since the epoch of an RFC 3339 instant.
fn parse_instant(text: &str) -> anyhow::Result<i64> {
    Ok(chrono::DateTime::parse_from_rfc3339(text)?.timestamp_micros())
}

/// Watches a relay's backlog gauge until it reaches zero and reports the drain rate.
pub async fn drain(metrics: &Target, label: &str) -> anyhow::Result<()> {
    let mut connection = Connection::open(metrics).await?;
    let backlog = |text: &str| -> Option<f64> {
        text.lines()
            .find(|line| line.starts_with("tickler_outbox_backlog_events"))
            .and_then(|line| line.split_whitespace().last())
            .and_then(|value| value.parse().ok())
    };
    let mut first: Option<(Instant, f64)> = None;
    loop {
        let (_, bytes) = connection.send(Method::GET, "/metrics", None, None).await?;
        let text = String::from_utf8_lossy(&bytes);
        if let Some(value) = backlog(&text) {
            match first {
                None if value > 0.0 => first = Some((Instant::now(), value)),
                Some((started, initial)) if value == 0.0 => {
                    let seconds = started.elapsed().as_secs_f64();
                    println!(
                        "| {label} | relay drained {initial:.0} records | {:.0} records/s | {seconds:.1} s |",
                        initial / seconds
                    );
                    println!("{}", relay_steps(&text));
                    return Ok(());
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
