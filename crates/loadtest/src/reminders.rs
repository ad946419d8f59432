//! The `reminders` scenario: schedules many reminders due within one window, waits until they
//! have all fired, and reports how late they fired (the server's `fired_at - fire_at`, read
//! back from `GET /api/v1/reminders`), how many were missed, and the server's peak memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::{Connection, Target};

/// What to schedule.
#[derive(Debug, Clone)]
pub struct ReminderShape {
    /// Users (each gets `total / users` reminders; at most 500 each, one listing page).
    pub users: usize,
    /// Reminders in all.
    pub total: usize,
    /// Seconds over which the fire times are spread.
    pub window_seconds: u64,
    /// Seconds from now to the window's start (scheduling must finish before).
    pub lead_seconds: u64,
    /// Connections used to create the tasks.
    pub connections: usize,
    /// Users' access tokens, one per line (e.g. written by `webhook-receiver --tokens-file`),
    /// instead of registering new users.
    pub tokens_file: Option<std::path::PathBuf>,
    /// The server's process id, to report its peak resident memory (`VmHWM`).
    pub server_pid: Option<u32>,
}

/// Runs the scenario.
pub async fn reminders(target: &Target, label: &str, shape: ReminderShape) -> anyhow::Result<()> {
    let tokens = match &shape.tokens_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>(),
        None => {
            let mut tokens = Vec::with_capacity(shape.users);
            for user in 0..shape.users {
                tokens.push(crate::scenarios::register(target, &format!("reminders{user}")).await?);
            }
            tokens
        }
    };
    if tokens.is_empty() {
        bail!("no users");
    }
    let per_user = shape.total.div_ceil(tokens.len());
    if per_user > 500 {
        bail!("at most 500 reminders per user (one listing page): use more users");
    }
    #[allow(clippy::disallowed_methods)] // a benchmark measures against the real clock
    let start = Utc::now() + TimeDelta::seconds(shape.lead_seconds as i64);
    let window_micros = (shape.window_seconds * 1_000_000).max(1) as i64;
    let jobs: Vec<(String, DateTime<Utc>)> = (0..shape.total)
        .map(|n| {
            // Spread evenly over the window, users interleaved.
            let offset = (n as i64 * window_micros) / shape.total as i64;
            (
                tokens[n % tokens.len()].clone(),
                start + TimeDelta::microseconds(offset),
            )
        })
        .collect();
    let scheduling = Instant::now();
    create_all(target, jobs, shape.connections).await?;
    #[allow(clippy::disallowed_methods)]
    let scheduled_at = Utc::now();
    eprintln!(
        "scheduled {} reminders in {:.1} s; the window starts in {:.1} s",
        shape.total,
        scheduling.elapsed().as_secs_f64(),
        (start - scheduled_at).num_milliseconds() as f64 / 1000.0
    );
    if scheduled_at >= start {
        bail!("scheduling took longer than --lead-seconds: raise it");
    }
    let end = start + TimeDelta::seconds(shape.window_seconds as i64);
    let mut peak_rss_kib = 0u64;
    // Sample memory through the window, then wait for the last reminders.
    loop {
        if let Some(pid) = shape.server_pid {
            peak_rss_kib = peak_rss_kib.max(memory_kib(pid, "VmRSS:").unwrap_or(0));
        }
        #[allow(clippy::disallowed_methods)]
        let now = Utc::now();
        if now > end + TimeDelta::seconds(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut lateness_ms: Vec<i64> = Vec::with_capacity(shape.total);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (pending, missed) = loop {
        lateness_ms.clear();
        let mut pending = 0usize;
        let mut missed = 0usize;
        let mut connection = Connection::open(target).await?;
        for token in &tokens {
            let (status, bytes) = connection
                .send(
                    Method::GET,
                    "/api/v1/reminders?limit=500",
                    Some(token),
                    None,
                )
                .await?;
            if status != StatusCode::OK {
                bail!("listing reminders failed with {status}");
            }
            let body: Value = serde_json::from_slice(&bytes)?;
            for reminder in body["items"].as_array().into_iter().flatten() {
                match reminder["state"].as_str() {
                    Some("fired") => lateness_ms.push(reminder["late_ms"].as_i64().unwrap_or(0)),
                    Some("missed") => missed += 1,
                    Some("pending") => pending += 1,
                    _ => {}
                }
            }
        }
        if pending == 0 || Instant::now() > deadline {
            break (pending, missed);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    if let Some(pid) = shape.server_pid {
        peak_rss_kib = peak_rss_kib.max(memory_kib(pid, "VmHWM:").unwrap_or(0));
    }
    lateness_ms.sort_unstable();
    let quantile = |q: f64| -> i64 {
        if lateness_ms.is_empty() {
            return -1;
        }
        let rank = ((lateness_ms.len() as f64) * q).ceil() as usize;
        lateness_ms[rank.clamp(1, lateness_ms.len()) - 1]
    };
    println!(
        "| backend | reminders | window s | fired | missed | not fired | p50 ms | p99 ms | max ms | server peak RSS MiB |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| {label} | {} | {} | {} | {missed} | {pending} | {} | {} | {} | {} |",
        shape.total,
        shape.window_seconds,
        lateness_ms.len(),
        quantile(0.5),
        quantile(0.99),
        quantile(1.0),
        if shape.server_pid.is_some() {
            format!("{:.0}", peak_rss_kib as f64 / 1024.0)
        } else {
            "n/a".to_owned()
        }
    );
    Ok(())
}

/// Creates one task per job (a title and one reminder at the job's instant).
async fn create_all(
    target: &Target,
    jobs: Vec<(String, DateTime<Utc>)>,
    connections: usize,
) -> anyhow::Result<()> {
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..connections.max(1) {
        let target = target.clone();
        let jobs = jobs.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut connection = Connection::open(&target).await?;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some((token, fire_at)) = jobs.get(index) else {
                    return anyhow::Ok(());
                };
                let body = json!({
                    "title": format!("reminder {index}"),
                    "reminders": [fire_at.to_rfc3339_opts(SecondsFormat::Micros, true)],
                });
                let (status, bytes) = connection
                    .send(
                        Method::POST,
                        "/api/v1/tasks",
                        Some(token),
                        Some(serde_json::to_vec(&body)?),
                    )
                    .await?;
                if status != StatusCode::CREATED {
                    bail!(
                        "creating a task failed with {status}: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
            }
        }));
    }
    for worker in workers {
        worker.await??;
    }
    Ok(())
}

/// Reads a `/proc/<pid>/status` field in KiB (`VmRSS:`, `VmHWM:`).
pub(crate) fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}
