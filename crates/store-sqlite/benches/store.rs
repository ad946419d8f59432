//! Measures the SQLite store: commit throughput and latency with 64 concurrent committers (FULL
//! and NORMAL), then, on a database of 1,000,000 tasks of which one user owns 100,000,
//! get-by-id, listing and search latency for that user.
//!
//! ```text
//! cargo bench -p tickler-store-sqlite --bench store            # full run (a few minutes)
//! cargo bench -p tickler-store-sqlite --bench store -- --quick # 100,000 tasks, shorter phases
//! cargo bench -p tickler-store-sqlite --bench store -- --commits-only [--sync=full|normal]
//! cargo bench -p tickler-store-sqlite --bench store -- --reads-only
//! ```
//!
//! `TICKLER_BENCH_DIR` chooses where the database files go (default: a temporary directory on
//! the same disk as `/tmp`). Results are printed as Markdown tables.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark binary

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use tickler_domain::{Due, Priority, Tag, Task, TaskId, TaskStatus, UserId};
use tickler_store::TaskStore;
use tickler_store::testing::{event, new_task, register, tags};
use tickler_store::{ChangeSet, SortField, SortKey, TaskQuery, TaskWrite};
use tickler_store_sqlite::{SqliteConfig, SqliteStore, Synchronous};
use uuid::Uuid;

const COMMITTERS: usize = 64;

struct Settings {
    total_tasks: usize,
    big_user_tasks: usize,
    commit_phase: Duration,
    repetitions: usize,
    commits_only: bool,
    reads_only: bool,
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let reads_only = std::env::args().any(|arg| arg == "--reads-only");
    let commits_only = std::env::args().any(|arg| arg == "--commits-only");
    let settings = if quick {
        Settings {
            total_tasks: 100_000,
            big_user_tasks: 10_000,
            commit_phase: Duration::from_secs(3),
            repetitions: 30,
            commits_only,
            reads_only,
        }
    } else {
        Settings {
            total_tasks: 1_000_000,
            big_user_tasks: 100_000,
            commit_phase: Duration::from_secs(10),
            repetitions: 100,
            commits_only,
            reads_only,
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

fn bench_directory() -> tempfile::TempDir {
    match std::env::var("TICKLER_BENCH_DIR") {
        Ok(dir) => tempfile::tempdir_in(dir).unwrap(),
        Err(_) => tempfile::tempdir().unwrap(),
    }
}

async fn run(settings: Settings) {
    println!("## Commits: {COMMITTERS} concurrent committers, one task + one outbox event each\n");
    println!(
        "| synchronous | commits/s | p50 ms | p95 ms | p99 ms | max ms | commands per transaction \
         | statements µs per command | COMMIT ms per transaction |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let modes: &[Synchronous] = match std::env::args().find(|arg| arg.starts_with("--sync=")) {
        Some(arg) if arg == "--sync=normal" => &[Synchronous::Normal],
        Some(_) => &[Synchronous::Full],
        None => &[Synchronous::Full, Synchronous::Normal],
    };
    for &synchronous in if settings.reads_only { &[][..] } else { modes } {
        commit_throughput(synchronous, settings.commit_phase).await;
    }
    if settings.commits_only {
        return;
    }

    let directory = bench_directory();
    let config = SqliteConfig::new(directory.path().join("tickler.db"));
    let store = Arc::new(SqliteStore::open(config).await.unwrap());
    store.migrate().await.unwrap();
    let started = Instant::now();
    let (big_user, big_ids) = seed(&store, &settings).await;
    println!(
        "\n## Seeded {} tasks ({} for the measured user) in {:.1} s\n",
        settings.total_tasks,
        settings.big_user_tasks,
        started.elapsed().as_secs_f64()
    );

    get_by_id(&store, big_user, &big_ids, settings.repetitions * 200).await;
    listings(&store, big_user, settings.repetitions).await;
    store.close().await;
}

/// Latency percentiles of a sample, in milliseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64, f64, f64) {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[index].as_secs_f64() * 1_000.0
    };
    (at(0.50), at(0.95), at(0.99), at(1.0))
}

async fn commit_throughput(synchronous: Synchronous, phase: Duration) {
    let directory = bench_directory();
    let config = SqliteConfig {
        synchronous,
        ..SqliteConfig::new(directory.path().join("tickler.db"))
    };
    let store = Arc::new(SqliteStore::open(config).await.unwrap());
    store.migrate().await.unwrap();
    let mut users = Vec::new();
    for n in 0..COMMITTERS {
        users.push(register(&*store, &format!("user{n}@example.org")).await.id);
    }
    let before = store.writer_stats();
    let started = Instant::now();
    let committers: Vec<_> = users
        .into_iter()
        .enumerate()
        .map(|(n, owner)| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut random = Random(n as u64 + 1);
                while started.elapsed() < phase {
                    let task = generated_task(owner, &mut random, 0);
                    let changes = ChangeSet {
                        events: vec![event(owner, &task.id.to_string(), "tickler.task.created")],
                        tasks: vec![TaskWrite::Insert(task)],
                        ..ChangeSet::default()
                    };
                    let sent = Instant::now();
                    store.commit(changes).await.unwrap();
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for committer in committers {
        latencies.extend(committer.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.writer_stats();
    let transactions = stats.transactions - before.transactions;
    let commands = stats.commands - before.commands;
    let (p50, p95, p99, max) = percentiles(&mut latencies);
    let wal = std::fs::metadata(directory.path().join("tickler.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!("write-ahead log at the end: {} MiB", wal / 1024 / 1024);
    println!(
        "| {synchronous:?} | {:.0} | {p50:.2} | {p95:.2} | {p99:.2} | {max:.2} | {:.1} | {:.0} | {:.2} |",
        latencies.len() as f64 / elapsed,
        commands as f64 / transactions.max(1) as f64,
        (stats.statement_micros - before.statement_micros) as f64 / commands.max(1) as f64,
        (stats.commit_micros - before.commit_micros) as f64 / 1_000.0 / transactions.max(1) as f64,
    );
    store.close().await;
}

/// A small deterministic generator (SplitMix64), so runs are comparable.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

const COMMON_WORDS: [&str; 24] = [
    "call",
    "buy",
    "email",
    "review",
    "fix",
    "plan",
    "write",
    "send",
    "book",
    "clean",
    "pay",
    "check",
    "update",
    "prepare",
    "meeting",
    "report",
    "groceries",
    "invoice",
    "doctor",
    "project",
    "draft",
    "team",
    "weekly",
    "notes",
];
const TAGS: [&str; 30] = [
    "work", "home", "errand", "urgent", "someday", "health", "finance", "family", "garden", "car",
    "travel", "reading", "music", "sport", "school", "kids", "taxes", "office", "admin", "ideas",
    "shopping", "cooking", "friends", "bills", "repairs", "learning", "writing", "calls", "email",
    "waiting",
];

/// A rare word: one of 20,000 synthetic ones.
fn rare_word(random: &mut Random) -> String {
    let n = random.below(20_000);
    format!("zq{n:05}")
}

fn base_instant() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 9, 0, 0).unwrap()
}

fn generated_task(owner: UserId, random: &mut Random, n: usize) -> Task {
    let mut title = Vec::new();
    for _ in 0..(2 + random.below(4)) {
        title.push(COMMON_WORDS[random.below(COMMON_WORDS.len())].to_owned());
    }
    // A project name: each of 100 is in about 1% of the titles.
    title.push(format!("proj{:02}", random.below(100)));
    title.push(rare_word(random));
    let mut task = new_task(owner, &title.join(" "));
    let mut description = Vec::new();
    for _ in 0..random.below(20) {
        if random.below(4) == 0 {
            description.push(rare_word(random));
        } else {
            description.push(COMMON_WORDS[random.below(COMMON_WORDS.len())].to_owned());
        }
    }
    task.fields.description = description.join(" ");
    let tag_names: Vec<&str> = (0..random.below(4))
        .map(|_| TAGS[random.below(TAGS.len())])
        .collect();
    task.fields.tags = tags(&tag_names);
    task.fields.priority = Priority::ALL[random.below(5)];
    task.fields.status = match random.below(10) {
        0..=6 => TaskStatus::Todo,
        7 => TaskStatus::InProgress,
        _ => TaskStatus::Done,
    };
    if random.below(10) < 6 {
        let offset = random.below(120 * 86_400) as i64 - 60 * 86_400;
        task.fields.due = Some(Due {
            at: base_instant() + TimeDelta::seconds(offset),
            all_day: false,
        });
    }
    // Created over the two years before the base instant, in order.
    task.created_at =
        base_instant() - TimeDelta::seconds(63_072_000) + TimeDelta::milliseconds(n as i64 * 60);
    task.updated_at = task.created_at + TimeDelta::seconds(random.below(86_400) as i64);
    task.id = TaskId::from_uuid(Uuid::now_v7());
    task
}

/// Seeds the database: one user with `big_user_tasks`, the rest spread over users of 10,000.
async fn seed(store: &Arc<SqliteStore>, settings: &Settings) -> (UserId, Vec<TaskId>) {
    let big_user = register(&**store, "big@example.org").await.id;
    let mut owners = vec![(big_user, settings.big_user_tasks)];
    let mut remaining = settings.total_tasks - settings.big_user_tasks;
    let mut n = 0;
    while remaining > 0 {
        let count = remaining.min(10_000);
        let user = register(&**store, &format!("seed{n}@example.org")).await.id;
        owners.push((user, count));
        remaining -= count;
        n += 1;
    }
    let mut big_ids = Vec::new();
    let loaders: Vec<_> = owners
        .into_iter()
        .enumerate()
        .map(|(index, (owner, count))| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                let mut random = Random(1_000 + index as u64);
                let mut ids = Vec::new();
                let mut written = 0;
                while written < count {
                    let size = (count - written).min(500);
                    let tasks: Vec<Task> = (written..written + size)
                        .map(|n| generated_task(owner, &mut random, n))
                        .collect();
                    if index == 0 {
                        ids.extend(tasks.iter().map(|task| task.id));
                    }
                    store
                        .commit(ChangeSet {
                            tasks: tasks.into_iter().map(TaskWrite::Insert).collect(),
                            ..ChangeSet::default()
                        })
                        .await
                        .unwrap();
                    written += size;
                }
                ids
            })
        })
        .collect();
    for loader in loaders {
        big_ids.extend(loader.await.unwrap());
    }
    (big_user, big_ids)
}

async fn get_by_id(store: &Arc<SqliteStore>, owner: UserId, ids: &[TaskId], count: usize) {
    println!("## Get by id (user with {} tasks)\n", ids.len());
    println!("| clients | reads/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for clients in [1, 4, 16] {
        let started = Instant::now();
        let readers: Vec<_> = (0..clients)
            .map(|client| {
                let store = Arc::clone(store);
                let ids = ids.to_vec();
                tokio::spawn(async move {
                    let mut random = Random(7 + client as u64);
                    let mut latencies = Vec::with_capacity(count / clients);
                    for _ in 0..count / clients {
                        let id = ids[random.below(ids.len())];
                        let sent = Instant::now();
                        store.get_task(owner, id).await.unwrap();
                        latencies.push(sent.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for reader in readers {
            latencies.extend(reader.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (p50, _, p99, _) = percentiles(&mut latencies);
        println!(
            "| {clients} | {:.0} | {p50:.3} | {p99:.3} |",
            latencies.len() as f64 / elapsed
        );
    }
}

async fn listings(store: &Arc<SqliteStore>, owner: UserId, repetitions: usize) {
    let page = |query: TaskQuery| TaskQuery { limit: 50, ..query };
    let by = |field, descending| TaskQuery {
        sort: vec![SortKey { field, descending }],
        ..TaskQuery::default()
    };
    let search = |text: &str| TaskQuery {
        text: Some(text.to_owned()),
        ..TaskQuery::default()
    };
    let now = base_instant();
    let cases: Vec<(&str, TaskQuery)> = vec![
        ("newest first (default)", TaskQuery::default()),
        (
            "status todo",
            TaskQuery {
                statuses: vec![TaskStatus::Todo],
                ..TaskQuery::default()
            },
        ),
        (
            "tag work",
            TaskQuery {
                tags: vec![Tag::parse("work").unwrap()],
                ..TaskQuery::default()
            },
        ),
        (
            "tags work + urgent",
            TaskQuery {
                tags: vec![Tag::parse("work").unwrap(), Tag::parse("urgent").unwrap()],
                ..TaskQuery::default()
            },
        ),
        (
            "overdue, due ascending",
            TaskQuery {
                overdue_at: Some(now),
                ..by(SortField::DueAt, false)
            },
        ),
        ("due ascending", by(SortField::DueAt, false)),
        ("due descending", by(SortField::DueAt, true)),
        ("priority descending", by(SortField::Priority, true)),
        ("title ascending", by(SortField::Title, false)),
        ("updated descending", by(SortField::UpdatedAt, true)),
        (
            "priority desc, due asc",
            TaskQuery {
                sort: vec![
                    SortKey::descending(SortField::Priority),
                    SortKey::ascending(SortField::DueAt),
                ],
                ..TaskQuery::default()
            },
        ),
        (
            "high priority, todo, due before +7d",
            TaskQuery {
                priorities: vec![Priority::High, Priority::Urgent],
                statuses: vec![TaskStatus::Todo],
                due_before: Some(now + TimeDelta::days(7)),
                ..TaskQuery::default()
            },
        ),
        ("search rare word (~0.02% of tasks)", search("zq01234")),
        ("search word in ~1% of tasks", search("proj42")),
        ("search prefix 'proj4' (~10%)", search("proj4")),
        (
            "search word in ~1% + word in ~35%",
            search("invoice proj42"),
        ),
        (
            "search word in ~1%, newest first",
            TaskQuery {
                sort: vec![SortKey::descending(SortField::CreatedAt)],
                ..search("proj42")
            },
        ),
        (
            "search word in ~1% + tag",
            TaskQuery {
                tags: vec![Tag::parse("work").unwrap()],
                ..search("proj42")
            },
        ),
        ("worst: word in ~35% of tasks", search("invoice")),
        ("worst: two words in ~35% each", search("review invoice")),
        ("worst: prefix 'inv' (~35%)", search("inv")),
        ("worst: prefix 'r' (~all)", search("r")),
        (
            "worst: word in ~35% + tag",
            TaskQuery {
                tags: vec![Tag::parse("work").unwrap()],
                ..search("invoice")
            },
        ),
        (
            "worst: word in ~35%, newest first",
            TaskQuery {
                sort: vec![SortKey::descending(SortField::CreatedAt)],
                ..search("invoice")
            },
        ),
    ];
    println!("\n## Listing and search, 50 per page ({repetitions} runs each)\n");
    println!(
        "| query | matches on page | first page p50 ms | p95 ms | page 20 p50 ms | page 20 p95 ms |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, query) in cases {
        let query = page(query);
        let mut first = Vec::new();
        let mut deep = Vec::new();
        let mut found = 0;
        for _ in 0..repetitions {
            let sent = Instant::now();
            let result = store.list_tasks(owner, &query).await.unwrap();
            first.push(sent.elapsed());
            found = result.items.len();
        }
        // Page 20: follow cursors, then time the 20th page.
        let mut cursor = None;
        for _ in 0..19 {
            let result = store
                .list_tasks(
                    owner,
                    &TaskQuery {
                        after: cursor.clone(),
                        ..query.clone()
                    },
                )
                .await
                .unwrap();
            cursor = result.next;
            if cursor.is_none() {
                break;
            }
        }
        let deep_text = if cursor.is_some() {
            for _ in 0..repetitions {
                let deep_query = TaskQuery {
                    after: cursor.clone(),
                    ..query.clone()
                };
                let sent = Instant::now();
                store.list_tasks(owner, &deep_query).await.unwrap();
                deep.push(sent.elapsed());
            }
            let (p50, p95, _, _) = percentiles(&mut deep);
            format!("{p50:.2} | {p95:.2}")
        } else {
            "– | –".to_owned()
        };
        let (p50, p95, _, _) = percentiles(&mut first);
        println!("| {name} | {found} | {p50:.2} | {p95:.2} | {deep_text} |");
    }
}
