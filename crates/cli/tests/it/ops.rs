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

/// Runs `tickler config` with `TICKLER_*` variables of the caller's environment removed and
/// `overrides` set; returns the effective configuration it printed, or its error.
fn effective_config(overrides: &[(String, String)]) -> Result<toml::Table, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tickler"));
    command.arg("config");
    for (name, _) in std::env::vars() {
        if name.starts_with("TICKLER_") {
            command.env_remove(name);
        }
    }
    command.envs(overrides.iter().map(|(name, value)| (name, value)));
    let output = command.output().unwrap();
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(String::from_utf8(output.stdout).unwrap().parse().unwrap())
}

/// Every setting of a table as (path, value), sections flattened.
fn settings(table: &toml::Table, prefix: &[String], into: &mut Vec<(Vec<String>, toml::Value)>) {
    for (key, value) in table {
        let mut path = prefix.to_vec();
        path.push(key.clone());
        match value {
            toml::Value::Table(section) => settings(section, &path, into),
            value => into.push((path, value.clone())),
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (last, sections) = path.split_last()?;
    let mut table = table;
    for section in sections {
        table = table.get(section)?.as_table()?;
    }
    table.get(last)
}

/// A different value for a setting, written as an environment variable, and the value the
/// effective configuration should then show; `None` where no generic change exists.
fn changed(value: &toml::Value) -> Option<(String, toml::Value)> {
    use toml::Value;
    match value {
        Value::Boolean(flag) => Some(((!flag).to_string(), Value::Boolean(!flag))),
        Value::Integer(number) => Some(((number + 1).to_string(), Value::Integer(number + 1))),
        Value::Float(number) => {
            let half = if *number == 0.0 { 0.5 } else { number / 2.0 };
            Some((half.to_string(), Value::Float(half)))
        }
        Value::String(text) => {
            // Bump the last number in it (ports, sizes, durations); free text gets a suffix.
            let digits = text.rfind(|c: char| c.is_ascii_digit());
            let new = match digits {
                Some(end) => {
                    let start = text[..=end]
                        .rfind(|c: char| !c.is_ascii_digit())
                        .map_or(0, |index| index + 1);
                    let number: u64 = text[start..=end].parse().ok()?;
                    format!("{}{}{}", &text[..start], number + 1, &text[end + 1..])
                }
                None if text.is_empty() => return None,
                None => format!("{text}x"),
            };
            Some((new.clone(), Value::String(new)))
        }
        Value::Array(items) if items.len() >= 2 => {
            let two: Vec<Value> = items.iter().take(2).rev().cloned().collect();
            let text: Vec<&str> = two.iter().filter_map(Value::as_str).collect();
            Some((text.join(","), Value::Array(two)))
        }
        Value::Array(items) if items.is_empty() => {
            // Valid as host names, addresses and networks alike (allow lists, trusted proxies).
            let two = ["127.0.0.1", "10.0.0.0/8"];
            Some((
                two.join(","),
                Value::Array(
                    two.iter()
                        .map(|item| Value::String((*item).into()))
                        .collect(),
                ),
            ))
        }
        _ => None,
    }
}

/// Every setting `tickler config --defaults` documents can be set from the environment
/// (`TICKLER_<SECTION>__<KEY>`, lists as comma-separated text), and every setting the server
/// has is documented there.
#[test]
fn every_documented_setting_is_settable_from_the_environment() {
    let documented: toml::Table = String::from_utf8(tickler(&["config", "--defaults"]).stdout)
        .unwrap()
        .parse()
        .unwrap();
    let effective = effective_config(&[]).unwrap();
    let mut documented_settings = Vec::new();
    settings(&documented, &[], &mut documented_settings);
    let mut effective_settings = Vec::new();
    settings(&effective, &[], &mut effective_settings);
    for (path, _) in &effective_settings {
        assert!(
            lookup(&documented, path).is_some(),
            "{} is not documented in `tickler config --defaults`",
            path.join(".")
        );
    }
    let mut changed_count = 0;
    for (path, default) in &documented_settings {
        let name = format!("TICKLER_{}", path.join("__").to_uppercase());
        let key = path.join(".");
        let Some((text, expected)) = changed(default) else {
            continue;
        };
        let secret = key.contains("secret");
        match effective_config(&[(name.clone(), text.clone())]) {
            Ok(config) => {
                let shown = lookup(&config, path).unwrap_or_else(|| panic!("{key} missing"));
                // Secrets are shown redacted; anything else must show the new value.
                if !secret {
                    assert_eq!(shown, &expected, "{name}={text} did not set {key}");
                }
                changed_count += 1;
            }
            // The generic change broke a rule of this setting (an enum, a URL scheme...): an
            // error naming the setting shows the variable was read.
            Err(error) => {
                assert!(
                    default.is_str() || secret,
                    "{name}={text} was rejected for {key}: {error}"
                );
                assert!(
                    error.to_lowercase().contains(path.last().unwrap()),
                    "{name}={text} was rejected without naming the setting: {error}"
                );
            }
        }
    }
    assert!(
        changed_count * 2 > documented_settings.len(),
        "only {changed_count} of {} settings were changed from the environment",
        documented_settings.len()
    );
}

/// Starts a server on `data_dir` signing with `secret` and accepting `previous`.
async fn server_with_keys(
    data_dir: &std::path::Path,
    secret: &str,
    previous: &[&str],
) -> tickler_cli::serve::RunningServer {
    let mut config = tickler_cli::config::Config::defaults().unwrap();
    config.data_dir = data_dir.to_path_buf();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.auth.jwt_secret = secret.to_owned().into();
    config.auth.previous_jwt_secrets = previous.iter().map(|key| (*key).into()).collect();
    tickler_cli::serve::start(config).await.unwrap()
}

async fn status_with(base: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/tasks"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Rotating the signing key with the old one kept in `auth.previous_jwt_secrets` signs nobody
/// out: access, refresh and API tokens made before keep working, new ones are signed with the
/// new key, and once the old key is dropped what it made stops working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_key_rotates_without_signing_everyone_out() {
    crate::helpers::init();
    let data = tempfile::tempdir().unwrap();
    let old = "o".repeat(40);
    let new = "n".repeat(40);
    let client = reqwest::Client::new();

    let server = server_with_keys(data.path(), &old, &[]).await;
    let base = format!("http://{}", server.address);
    let registered: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = registered["access_token"].as_str().unwrap().to_owned();
    let refresh = registered["refresh_token"].as_str().unwrap().to_owned();
    let api_token: serde_json::Value = client
        .post(format!("{base}/api/v1/tokens"))
        .bearer_auth(&access)
        .json(&json!({"name": "script"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api_token = api_token["token"].as_str().unwrap().to_owned();
    server.stop().await.unwrap();

    // Rotated: the old key is only accepted.
    let server = server_with_keys(data.path(), &new, &[&old]).await;
    let base = format!("http://{}", server.address);
    assert_eq!(status_with(&base, &access).await, StatusCode::OK);
    assert_eq!(status_with(&base, &api_token).await, StatusCode::OK);
    let refreshed = refresh_at(&base, &refresh).await;
    let new_access = refreshed["access_token"].as_str().unwrap().to_owned();
    let new_refresh = refreshed["refresh_token"].as_str().unwrap().to_owned();
    server.stop().await.unwrap();

    // The old key dropped: what it made is refused, what the new key made still works.
    let server = server_with_keys(data.path(), &new, &[]).await;
    let base = format!("http://{}", server.address);
    assert_eq!(status_with(&base, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status_with(&base, &api_token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(status_with(&base, &new_access).await, StatusCode::OK);
    refresh_at(&base, &new_refresh).await;
    server.stop().await.unwrap();
}

/// Spends a refresh token, which must work; returns the new tokens.
async fn refresh_at(base: &str, refresh_token: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}
