//! Backups: `tickler backup` while the server keeps writing and `tickler restore` into an empty
//! data directory (SQLite); `pg_dump` and `pg_restore` for PostgreSQL, as docs/operations.md
//! tells operators to use them.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, TestUser, eventually, provided};

/// A task creation: when its request was sent, when it was acknowledged, and the task's id.
#[derive(Debug, Clone)]
struct Write {
    sent: Instant,
    acknowledged: Instant,
    id: String,
}

/// Runs the binary off the async runtime's threads.
async fn run_tickler(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        tickler(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

fn path(path: &std::path::Path) -> String {
    path.to_str().unwrap().to_owned()
}

fn tickler(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickler"))
        .args(args)
        .env_remove("TICKLER_DATABASE_URL")
        .env_remove("TICKLER_AUTH__JWT_SECRET")
        .output()
        .unwrap()
}

async fn status_of(base: &str, user: &TestUser, id: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/tasks/{id}"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_write_acknowledged_before_it() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let app = Arc::new(app);
    let user = app.register("ada@example.org").await;
    let writes: Arc<Mutex<Vec<Write>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for writer in 0..2 {
        let (app, user, writes, stop) = (app.clone(), user.clone(), writes.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let sent = Instant::now();
                let task = app
                    .create_task(&user, json!({"title": format!("writer {writer} task {n}")}))
                    .await;
                writes.lock().unwrap().push(Write {
                    sent,
                    acknowledged: Instant::now(),
                    id: task["id"].as_str().unwrap().to_owned(),
                });
            }
        }));
    }
    let count = || writes.lock().unwrap().len();
    eventually(30, || async { (count() >= 50).then_some(()) }).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tickler.backup");
    let started = Instant::now();
    let output = run_tickler(vec![
        "--data-dir".into(),
        path(app.data_dir()),
        "backup".into(),
        path(&file),
    ])
    .await;
    let finished = Instant::now();
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("with the signing key"));
    // The writers went on during the backup and after it.
    let after = count();
    eventually(30, || async { (count() >= after + 20).then_some(()) }).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let writes = writes.lock().unwrap().clone();
    let during = writes
        .iter()
        .filter(|w| w.acknowledged > started && w.sent < finished)
        .count();

    // Restore into an empty data directory and start a server on it.
    let restored = tempfile::tempdir().unwrap();
    let restore = vec![
        "--data-dir".into(),
        path(restored.path()),
        "restore".into(),
        path(&file),
    ];
    let output = run_tickler(restore.clone()).await;
    assert!(output.status.success(), "{output:?}");
    // A second restore into the same directory is refused: it is not empty any more.
    assert!(!run_tickler(restore).await.status.success());
    let mut config = tickler_cli::config::Config::defaults().unwrap();
    config.data_dir = restored.path().to_path_buf();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let server = tickler_cli::serve::start(config).await.unwrap();
    let base = format!("http://{}", server.address);
    // The user's token from before still works: the signing key came back with the data.
    let mut present = 0;
    for write in &writes {
        let status = status_of(&base, &user, &write.id).await;
        if write.acknowledged < started {
            assert_eq!(
                status,
                StatusCode::OK,
                "task {} acknowledged before the backup is missing",
                write.id
            );
        }
        if write.sent > finished {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "task {} written after the backup is in it",
                write.id
            );
        }
        present += usize::from(status == StatusCode::OK);
    }
    let before = writes.iter().filter(|w| w.acknowledged < started).count();
    eprintln!(
        "backup under load: {before} writes before it, {during} during it, {} in all; {present} restored; \
         the backup took {:?}",
        writes.len(),
        finished - started
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_postgresql_and_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let output = tickler(&[
        "--database-url",
        "postgres://nobody@127.0.0.1:1/none",
        "--data-dir",
        data_dir,
        "backup",
        "x.backup",
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
    let existing = dir.path().join("existing");
    std::fs::write(&existing, "keep me").unwrap();
    let output = tickler(&["--data-dir", data_dir, "backup", existing.to_str().unwrap()]);
    assert!(!output.status.success());
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
}

/// `pg_dump` and `pg_restore`, from the PostgreSQL client packages (the test command's
/// PostgreSQL provides them), as docs/operations.md documents their use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_dump_and_pg_restore_carry_every_task_to_a_new_database() {
    let secret = "k".repeat(40);
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |config| {
        config.auth.jwt_secret = secret.clone().into();
    })
    .await
    else {
        return;
    };
    let Some(base_url) = provided("TICKLER_TEST_DATABASE_URL") else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut ids = Vec::new();
    for n in 0..20 {
        let task = app
            .create_task(&user, json!({"title": format!("task {n}")}))
            .await;
        ids.push(task["id"].as_str().unwrap().to_owned());
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("tickler.dump");
    let output = Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--file"])
        .arg(&dump)
        .arg(app.database_url().unwrap())
        .output()
        .expect("pg_dump runs");
    assert!(output.status.success(), "{output:?}");
    let target = tickler_store_postgres::testing::TestDatabase::create(&base_url)
        .await
        .unwrap();
    let output = Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", target.url()])
        .arg(&dump)
        .output()
        .expect("pg_restore runs");
    assert!(output.status.success(), "{output:?}");
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = tickler_cli::config::Config::defaults().unwrap();
    config.data_dir = data_dir.path().to_path_buf();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database_url = target.url().to_owned().into();
    config.auth.jwt_secret = secret.into();
    // The restored schema is current: the server starts without migrating.
    config.database.migrate_on_start = false;
    let server = tickler_cli::serve::start(config).await.unwrap();
    let base = format!("http://{}", server.address);
    for id in &ids {
        assert_eq!(status_of(&base, &user, id).await, StatusCode::OK);
    }
    server.stop().await.unwrap();
}
