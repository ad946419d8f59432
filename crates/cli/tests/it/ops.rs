//! What an operator relies on: metrics on their own listener in a format Prometheus parses,
//! the container health check, the roles list the Helm chart is checked against, and pods that
//! wait for the migration Job instead of migrating.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, eventually, provided};

crate::on_both_backends!(metrics_have_their_own_listener_and_prometheus_parses_them);

async fn metrics_have_their_own_listener_and_prometheus_parses_them(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.metrics.listen = "127.0.0.1:0".into();
    })
    .await
    else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app.create_task(&user, json!({"title": "t"})).await;
    app.get(
        &user,
        &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
    )
    .await;
    // The public port no longer serves them.
    let public = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let address = app._server.metrics_address.expect("a metrics listener");
    let scrape = || async {
        let response = reqwest::get(format!("http://{address}/metrics"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.text().await.unwrap()
    };
    // The pool sampler of PostgreSQL records at start; SQLite's read pool as it is used.
    let text = eventually(10, || async {
        let text = scrape().await;
        text.contains("tickler_db_pool_connections{")
            .then_some(text)
    })
    .await;
    for series in [
        "tickler_http_requests_total{",
        "tickler_http_request_duration_seconds_bucket{",
        "tickler_http_requests_in_flight ",
        "tickler_db_pool_max_connections{",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_cpu_seconds_total ",
    ] {
        assert!(text.contains(series), "{series} missing from:\n{text}");
    }
    if backend == Backend::Sqlite {
        assert!(
            text.contains("tickler_sqlite_writer_batch_size_bucket{le=\"1\"}"),
            "{text}"
        );
        assert!(
            text.contains("tickler_sqlite_writer_queue_depth "),
            "{text}"
        );
    }
    let Some(promtool) = provided("TICKLER_PROMTOOL") else {
        return;
    };
    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics refused the exposition:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn tickler(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tickler"))
        .args(args)
        .env_remove("TICKLER_LISTEN")
        .output()
        .unwrap()
}

#[test]
fn the_roles_command_lists_every_role_and_serve_help_names_them() {
    let listed = String::from_utf8(tickler(&["roles"]).stdout).unwrap();
    let expected: Vec<&str> = tickler_cli::config::Role::ALL
        .iter()
        .map(tickler_cli::config::Role::as_str)
        .collect();
    assert_eq!(listed.lines().collect::<Vec<_>>(), expected);
    let help = String::from_utf8(tickler(&["serve", "--help"]).stdout).unwrap();
    let roles_help: String = help
        .split("--roles")
        .nth(1)
        .expect("serve --help describes --roles")
        .split("\n      --")
        .next()
        .unwrap()
        .to_owned();
    for role in expected {
        assert!(
            roles_help.contains(role),
            "serve --help does not name {role}:\n{roles_help}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthcheck_command_succeeds_only_against_a_healthy_server() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    let address = app._server.address.to_string();
    let answered =
        tokio::task::spawn_blocking(move || tickler(&["healthcheck", "--address", &address]))
            .await
            .unwrap();
    assert!(answered.status.success(), "{answered:?}");
    let address = app._server.address.to_string();
    let not_found = tokio::task::spawn_blocking(move || {
        tickler(&[
            "healthcheck",
            "--address",
            &address,
            "--path",
            "/nothing-here",
        ])
    })
    .await
    .unwrap();
    assert!(!not_found.status.success());
    assert!(String::from_utf8_lossy(&not_found.stderr).contains("404"));
    // Nothing listens on the port of a stopped server.
    let address = app._server.address;
    let TestApp { _server, .. } = app;
    _server.stop().await.unwrap();
    let closed = tokio::task::spawn_blocking(move || {
        tickler(&["healthcheck", "--address", &address.to_string()])
    })
    .await
    .unwrap();
    assert!(!closed.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_not_migrating_at_start_waits_for_the_migrations() {
    crate::helpers::init();
    let dir = tempfile::tempdir().unwrap();
    let mut config = tickler_cli::config::Config::defaults().unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.database.migrate_on_start = false;
    let waiting = tokio::spawn(tickler_cli::serve::start(config.clone()));
    // It is still waiting once the database exists with no schema in it.
    let store = eventually(10, || async {
        let path = dir.path().join(tickler_cli::storage::SQLITE_FILE);
        if path.exists() {
            tickler_cli::storage::open(&config).await.ok()
        } else {
            None
        }
    })
    .await;
    assert!(store.as_store().check_ready().await.is_err());
    assert!(
        !waiting.is_finished(),
        "started on a schema it had not migrated"
    );
    // `tickler migrate` (the chart's Job) applies them; then the server starts.
    store.migrate().await.unwrap();
    let server = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("the server started after the migrations")
        .unwrap()
        .unwrap();
    let health = reqwest::get(format!("http://{}/ready", server.address))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    store.close().await;
    server.stop().await.unwrap();
}
