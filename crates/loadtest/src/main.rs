//! `tickler-loadtest`: drives a running tickler server over real HTTP/1.1 connections and prints
//! throughput and latency percentiles as Markdown table rows.
//!
//! Each worker owns one keep-alive connection and sends requests back to back, so
//! `--connections 64` means exactly 64 concurrent connections. Scenarios:
//!
//! * `create`: POST /api/v1/tasks for `--seconds`;
//! * `get`: GET /api/v1/tasks/{id} over tasks created first;
//! * `get-path`: GET of one fixed path without an account (the `bare` server's ceiling);
//! * `scale`: seeds `--users` users with `--tasks-per-user` tasks each (varied titles, tags,
//!   priorities, statuses and due dates), then measures filtered lists and full-text searches
//!   of the first user;
//! * `reminders`: schedules `--total` reminders due within `--window-seconds` and reports
//!   their lateness (p50/p99/max), missed ones and the server's peak memory;
//! * `webhook-receiver`: a webhook endpoint that verifies signatures and reports how late each
//!   reminder arrived after its fire time (it can register the users and their channels);
//! * `live-idle`: holds idle `/api/v1/live` connections and reports the server's memory per
//!   connection;
//! * `live-latency`: creates tasks at a fixed rate while clients listen on `/api/v1/live`, and
//!   reports commit-to-client latency;
//! * `bare`: not a client but a bare axum server answering `GET /task` with a fixed task
//!   body: the ceiling the `get` figures are compared with in the same run.
//!
//! `scripts/bench` starts servers on SQLite and PostgreSQL and runs every scenario.

#![allow(clippy::print_stdout)] // the report is the program's output

mod bare;
mod client;
mod live;
mod reminders;
mod report;
mod scenarios;
mod webhooks;

use clap::{Parser, Subcommand};

/// Load benchmark for a running tickler server.
#[derive(Debug, Parser)]
struct Cli {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    /// A label for the report rows (e.g. "sqlite", "postgres").
    #[arg(long, default_value = "")]
    label: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// Task creation throughput and latency.
    Create {
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Measured seconds (after a 2-second warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// GET-by-id throughput and latency.
    Get {
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Measured seconds (after a 2-second warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Tasks created first and read at random.
        #[arg(long, default_value_t = 10_000)]
        tasks: usize,
    },
    /// End-to-end event latency: creates tasks at a fixed rate, then reads the audit trail
    /// and reports commit-to-audited latency percentiles.
    Events {
        /// Creations per second.
        #[arg(long, default_value_t = 1_000)]
        rate: u64,
        /// Seconds of load.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Concurrent connections used to keep the rate.
        #[arg(long, default_value_t = 32)]
        connections: usize,
    },
    /// Relay throughput: watches a relay's `/metrics` until the outbox backlog is empty.
    Drain {
        /// The relay process's base URL (its `/metrics` is read).
        #[arg(long)]
        metrics: String,
    },
    /// A webhook endpoint: verifies Standard Webhooks signatures and reports the fire-time to
    /// received latency of reminders (taken from each payload's `data.fire_at`).
    WebhookReceiver {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:9900")]
        listen: std::net::SocketAddr,
        /// A channel's `whsec_...` secret (repeatable; any may match).
        #[arg(long)]
        secret: Vec<String>,
        /// Registers this many users on --base, each with a webhook channel to this receiver
        /// (the server needs the receiver's host in --webhook-allow-hosts).
        #[arg(long, default_value_t = 0)]
        register: usize,
        /// The URL the server reaches this receiver at (default: `http://<listen>`).
        #[arg(long)]
        public_url: Option<String>,
        /// Writes the registered users' access tokens here, one per line.
        #[arg(long)]
        tokens_file: Option<std::path::PathBuf>,
        /// Stops after this many distinct webhooks (fails if fewer arrive).
        #[arg(long)]
        expect: Option<usize>,
        /// Stops after this many seconds without a webhook.
        #[arg(long, default_value_t = 30)]
        idle_seconds: u64,
        /// The HTTP status to answer with.
        #[arg(long, default_value_t = 200)]
        answer: u16,
    },
    /// Reminder firing: schedules `--total` reminders due within one window and reports how
    /// late they fired, how many were missed, and the server's peak resident memory.
    Reminders {
        /// Users the reminders are spread over (at most 500 reminders each).
        #[arg(long, default_value_t = 200)]
        users: usize,
        /// Reminders in all.
        #[arg(long, default_value_t = 100_000)]
        total: usize,
        /// Seconds the fire times are spread over.
        #[arg(long, default_value_t = 60)]
        window_seconds: u64,
        /// Seconds from now until the window starts (scheduling must be done by then).
        #[arg(long, default_value_t = 180)]
        lead_seconds: u64,
        /// Connections used to create the tasks.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Use these users' tokens (one per line) instead of registering new users.
        #[arg(long)]
        tokens_file: Option<std::path::PathBuf>,
        /// The server's process id, for its peak resident memory.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// Idle live-stream connections: the server's resident memory per connection.
    LiveIdle {
        /// Connections held.
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// The server's process id (its `/proc/<pid>/status` is read).
        #[arg(long)]
        server_pid: u32,
    },
    /// Commit-to-client latency of the live stream under a steady write rate.
    LiveLatency {
        /// Connected clients.
        #[arg(long, default_value_t = 1_000)]
        clients: usize,
        /// Users the clients belong to.
        #[arg(long, default_value_t = 100)]
        users: usize,
        /// Task creations per second.
        #[arg(long, default_value_t = 500)]
        rate: u64,
        /// Seconds of load.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// HTTP connections used to keep the rate.
        #[arg(long, default_value_t = 16)]
        connections: usize,
    },
    /// GET of one fixed path without an account (the bare server's `/task`) for `--seconds`.
    GetPath {
        /// The path.
        #[arg(long, default_value = "/task")]
        path: String,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Measured seconds (after a 2-second warm-up).
        #[arg(long, default_value_t = 20)]
        seconds: u64,
    },
    /// Runs the SQL read from standard input on a SQLite database, with the SQLite the server
    /// is built with (`scripts/bench-seed` fills databases this way).
    SqliteExec {
        /// The database file.
        database: std::path::PathBuf,
    },
    /// Serves a fixed task body on `GET /task` with bare axum (the ceiling for `get`).
    Bare {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// List and search latency for one user among many.
    Scale {
        /// Users seeded (the first one is measured).
        #[arg(long, default_value_t = 10)]
        users: usize,
        /// Tasks per user.
        #[arg(long, default_value_t = 100_000)]
        tasks_per_user: usize,
        /// Connections used for seeding.
        #[arg(long, default_value_t = 64)]
        seed_connections: usize,
        /// Concurrent connections while measuring queries.
        #[arg(long, default_value_t = 4)]
        connections: usize,
        /// Requests per query shape.
        #[arg(long, default_value_t = 400)]
        requests: usize,
        /// Seed with this shell command (given the users' e-mail addresses as arguments, e.g.
        /// `scripts/bench-seed sqlite FILE 100000`) instead of creating tasks over HTTP.
        #[arg(long)]
        seed_command: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let target = client::Target::parse(&cli.base)?;
    match cli.scenario {
        Scenario::Create {
            connections,
            seconds,
        } => scenarios::create(&target, &cli.label, connections, seconds).await,
        Scenario::Get {
            connections,
            seconds,
            tasks,
        } => scenarios::get(&target, &cli.label, connections, seconds, tasks).await,
        Scenario::Events {
            rate,
            seconds,
            connections,
        } => scenarios::events(&target, &cli.label, rate, seconds, connections).await,
        Scenario::LiveIdle {
            connections,
            server_pid,
        } => live::idle(&target, &cli.label, connections, server_pid).await,
        Scenario::LiveLatency {
            clients,
            users,
            rate,
            seconds,
            connections,
        } => {
            live::latency(
                &target,
                &cli.label,
                live::LatencyShape {
                    clients,
                    users,
                    rate,
                    seconds,
                    connections,
                },
            )
            .await
        }
        Scenario::GetPath {
            path,
            connections,
            seconds,
        } => scenarios::get_path(&target, &cli.label, connections, seconds, path).await,
        Scenario::SqliteExec { database } => sqlite_exec(&database),
        Scenario::Bare { listen } => bare::serve(listen).await,
        Scenario::Drain { metrics } => {
            scenarios::drain(&client::Target::parse(&metrics)?, &cli.label).await
        }
        Scenario::WebhookReceiver {
            listen,
            secret,
            register,
            public_url,
            tokens_file,
            expect,
            idle_seconds,
            answer,
        } => {
            webhooks::receive_webhooks(
                &target,
                &cli.label,
                webhooks::ReceiverOptions {
                    listen,
                    secrets: secret,
                    register,
                    public_url,
                    tokens_file,
                    expect,
                    idle: std::time::Duration::from_secs(idle_seconds),
                    answer,
                },
            )
            .await
        }
        Scenario::Reminders {
            users,
            total,
            window_seconds,
            lead_seconds,
            connections,
            tokens_file,
            server_pid,
        } => {
            reminders::reminders(
                &target,
                &cli.label,
                reminders::ReminderShape {
                    users,
                    total,
                    window_seconds,
                    lead_seconds,
                    connections,
                    tokens_file,
                    server_pid,
                },
            )
            .await
        }
        Scenario::Scale {
            users,
            tasks_per_user,
            seed_connections,
            connections,
            requests,
            seed_command,
        } => {
            scenarios::scale(
                &target,
                &cli.label,
                scenarios::ScaleShape {
                    users,
                    tasks_per_user,
                    seed_connections,
                    connections,
                    requests,
                    seed_command,
                },
            )
            .await
        }
    }
}

fn sqlite_exec(database: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let sql = std::io::read_to_string(std::io::stdin()).context("cannot read the SQL")?;
    let connection = rusqlite::Connection::open(database)
        .with_context(|| format!("cannot open {}", database.display()))?;
    connection.busy_timeout(std::time::Duration::from_secs(60))?;
    connection.execute_batch(&sql).context("the SQL failed")?;
    Ok(())
}
