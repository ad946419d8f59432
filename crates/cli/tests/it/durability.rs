//! An acknowledged write survives `kill -9` of the server: the real binary is started, loaded
//! with concurrent creations, killed without warning mid-load, and restarted; every task whose
//! creation was acknowledged must be there.

use std::collections::HashSet;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_store_postgres::testing::TestDatabase;
use tokio::sync::Mutex;

use crate::process::ServerProcess;

fn start(data_dir: &std::path::Path, database_url: Option<&str>, sync: &str) -> ServerProcess {
    let mut args = vec!["--sync", sync];
    if let Some(url) = database_url {
        args.extend(["--database-url", url]);
    }
    ServerProcess::start(data_dir, &args, &[])
}

async fn register(_client: &reqwest::Client, base: &str) -> String {
    crate::process::register(base, "ada@example.org").await
}

/// Creates tasks from 32 concurrent clients until the server dies; returns the acknowledged ids.
pub async fn load_until_killed(
    server: &mut ServerProcess,
    token: &str,
    kill_after: Duration,
) -> Vec<String> {
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let dead = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..32 {
        let client = client.clone();
        let base = server.base.clone();
        let token = token.to_owned();
        let acknowledged = acknowledged.clone();
        let dead = dead.clone();
        workers.push(tokio::spawn(async move {
            let mut index = 0;
            while !dead.load(Ordering::Relaxed) {
                index += 1;
                let response = client
                    .post(format!("{base}/api/v1/tasks"))
                    .bearer_auth(&token)
                    .json(&json!({"title": format!("w{worker} #{index}")}))
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        // Only a complete response counts as an acknowledgement.
                        if let Ok(body) = response.json::<Value>().await {
                            acknowledged
                                .lock()
                                .await
                                .push(body["id"].as_str().unwrap().to_owned());
                        }
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }));
    }
    tokio::time::sleep(kill_after).await;
    server.kill();
    dead.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    Arc::try_unwrap(acknowledged).unwrap().into_inner()
}

async fn all_ids(base: &str, token: &str) -> HashSet<String> {
    let client = reqwest::Client::new();
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}/api/v1/tasks?limit=200&sort=created_at");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for task in page["items"].as_array().unwrap() {
            ids.insert(task["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
}

async fn acknowledged_tasks_survive_kill_9(database_url: Option<&str>, sync: &str) {
    crate::helpers::init();
    let data_dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    let mut token = String::new();
    for round in 0..3 {
        let mut server = start(data_dir.path(), database_url, sync);
        let client = reqwest::Client::new();
        if round == 0 {
            token = register(&client, &server.base).await;
        }
        let acknowledged = load_until_killed(
            &mut server,
            &token,
            Duration::from_millis(700 + 300 * round),
        )
        .await;
        assert!(
            !acknowledged.is_empty(),
            "no write was acknowledged before the kill"
        );
        total += acknowledged.len();
        let server = start(data_dir.path(), database_url, sync);
        let stored = all_ids(&server.base, &token).await;
        let lost: Vec<&String> = acknowledged
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        eprintln!(
            "sync={sync} round {round}: acknowledged {}, lost {}, stored {}",
            acknowledged.len(),
            lost.len(),
            stored.len()
        );
        assert!(lost.is_empty(), "{} acknowledged tasks lost", lost.len());
        drop(server);
    }
    eprintln!("sync={sync}: {total} acknowledged creations survived 3 kills");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sqlite_writes_survive_kill_9_with_full_sync() {
    acknowledged_tasks_survive_kill_9(None, "full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_sqlite_writes_survive_kill_9_with_normal_sync() {
    acknowledged_tasks_survive_kill_9(None, "normal").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_postgres_writes_survive_kill_9() {
    let Some(base) = TestDatabase::base_url_from_env() else {
        return;
    };
    let database = TestDatabase::create(&base).await.unwrap();
    acknowledged_tasks_survive_kill_9(Some(database.url()), "full").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_shuts_the_server_down_gracefully_and_keeps_its_data() {
    crate::helpers::init();
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = start(data_dir.path(), None, "full");
    let client = reqwest::Client::new();
    let token = register(&client, &server.base).await;
    let response = client
        .post(format!("{}/api/v1/tasks", server.base))
        .bearer_auth(&token)
        .json(&json!({"title": "survives a restart"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let (server, exit) = tokio::task::spawn_blocking(move || {
        let exit = server.child.wait();
        (server, exit)
    })
    .await
    .unwrap();
    let exit = exit.unwrap();
    drop(server);
    assert!(exit.success(), "exit status {exit:?}");
    let server = start(data_dir.path(), None, "full");
    assert_eq!(all_ids(&server.base, &token).await.len(), 1);
}
