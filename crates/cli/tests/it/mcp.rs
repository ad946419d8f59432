//! The MCP server: tools listed and called over streamable HTTP at `/mcp` and over stdio through
//! `tickler mcp`, as the token's user, with the REST API's errors; and the official Python MCP
//! SDK (not our code) doing the same over both transports.

use std::io::Write as _;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, outbox_origins_eventually, problem};
use crate::on_both_backends;

on_both_backends!(
    tools_called_over_http_act_as_the_caller_with_the_apis_errors,
    the_mcp_endpoint_needs_a_token_and_a_known_host,
    the_stdio_bridge_relays_to_the_servers_endpoint,
    the_official_python_client_lists_and_calls_every_tool_over_both_transports,
);

/// Posts one JSON-RPC request to `/mcp` and returns its answer.
pub(crate) async fn rpc(
    app: &TestApp,
    user: &TestUser,
    id: u64,
    method: &str,
    params: Value,
) -> Value {
    let response = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&user.token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], json!(id), "{body}");
    body
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "tickler-tests", "version": "1"}
    })
}

/// Creates a personal API token for the user.
async fn api_token(app: &TestApp, user: &TestUser) -> String {
    let response = app
        .post(user, "/api/v1/tokens", &json!({"name": "mcp"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn tools_called_over_http_act_as_the_caller_with_the_apis_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let graces = app
        .create_task(&grace, json!({"title": "Grace's task"}))
        .await;

    let init = rpc(&app, &ada, 1, "initialize", initialize_params()).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "tickler");
    let listed = rpc(&app, &ada, 2, "tools/list", json!({})).await;
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tool| tool["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = tickler_app::tools::definitions()
        .iter()
        .map(|tool| tool.name)
        .collect();
    assert_eq!(names, expected);

    let created = rpc(
        &app,
        &ada,
        3,
        "tools/call",
        json!({"name": "quick_add", "arguments": {"text": "dentist friday 3pm #health"}}),
    )
    .await;
    assert_eq!(created["result"]["isError"], false, "{created}");
    let task = &created["result"]["structuredContent"];
    let fetched: Value = app
        .get(
            &ada,
            &format!("/api/v1/tasks/{}", task["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&fetched, task);
    assert_eq!(fetched["title"], "dentist");
    let origins = outbox_origins_eventually(&app, "mcp").await;
    assert!(origins.contains(&"mcp".to_owned()), "{origins:?}");

    // Another user's task is not found, with the message the API gives.
    let foreign = rpc(
        &app,
        &ada,
        4,
        "tools/call",
        json!({"name": "delete_task", "arguments": {"id": graces["id"]}}),
    )
    .await;
    assert_eq!(foreign["result"]["isError"], true);
    assert_eq!(foreign["result"]["content"][0]["text"], "task not found");
    let api = app
        .delete(
            &ada,
            &format!("/api/v1/tasks/{}", graces["id"].as_str().unwrap()),
        )
        .await;
    let api = problem(api, StatusCode::NOT_FOUND).await;
    assert_eq!(api["detail"], "task not found");
    app.get(
        &grace,
        &format!("/api/v1/tasks/{}", graces["id"].as_str().unwrap()),
    )
    .await
    .error_for_status()
    .unwrap();

    // Validation errors read as the API's detail.
    let invalid = rpc(
        &app,
        &ada,
        5,
        "tools/call",
        json!({"name": "create_task", "arguments": {"title": "x", "due_at": "someday"}}),
    )
    .await;
    let api = app
        .post(
            &ada,
            "/api/v1/tasks",
            &json!({"title": "x", "due_at": "someday"}),
        )
        .await;
    let api = problem(api, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid["result"]["isError"], true);
    assert_eq!(invalid["result"]["content"][0]["text"], api["detail"]);

    let unknown = rpc(
        &app,
        &ada,
        6,
        "tools/call",
        json!({"name": "launch_rocket", "arguments": {}}),
    )
    .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
}

async fn the_mcp_endpoint_needs_a_token_and_a_known_host(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let response = app
        .client
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;

    let user = app.register("ada@example.org").await;
    let response = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&user.token)
        .header("host", "attacker.example")
        .header("accept", "application/json, text/event-stream")
        .json(&message)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error(), "{}", response.status());
}

async fn the_stdio_bridge_relays_to_the_servers_endpoint(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let token = api_token(&app, &user).await;
    let base = app.base.clone();
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tickler"))
            .args(["mcp", "--server", &base])
            .env("TICKLER_TOKEN", &token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let lines = [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize_params()}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                   "params": {"name": "create_task", "arguments": {"title": "From stdio"}}}),
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                   "params": {"name": "get_task", "arguments": {"id": "0190b5a4-0000-7000-8000-000000000000"}}}),
        ];
        for line in lines {
            writeln!(stdin, "{line}").unwrap();
        }
        writeln!(stdin, "not json").unwrap();
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let replies: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(replies.len(), 4, "{replies:?}");
    assert_eq!(replies[0]["result"]["serverInfo"]["name"], "tickler");
    let created = &replies[1]["result"]["structuredContent"];
    assert_eq!(created["title"], "From stdio");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"][0]["id"], created["id"]);
    assert_eq!(replies[2]["result"]["isError"], true);
    assert_eq!(replies[2]["result"]["content"][0]["text"], "task not found");
    assert_eq!(replies[3]["error"]["code"], -32700);
}

async fn the_official_python_client_lists_and_calls_every_tool_over_both_transports(
    backend: Backend,
) {
    let Some(python) = python() else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let foreign = app
        .create_task(&grace, json!({"title": "Grace's task"}))
        .await;
    let token = api_token(&app, &ada).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mcp_client.py");
    let arguments = [
        script.to_owned(),
        "--url".into(),
        app.base.clone(),
        "--token".into(),
        token,
        "--tickler".into(),
        env!("CARGO_BIN_EXE_tickler").into(),
        "--foreign-task".into(),
        foreign["id"].as_str().unwrap().to_owned(),
    ];
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).args(arguments).output().unwrap())
            .await
            .unwrap();
    assert!(
        output.status.success(),
        "python client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    for transport in ["http", "stdio"] {
        let kept = summary[transport]["kept"].as_str().unwrap();
        let task: Value = app
            .get(&ada, &format!("/api/v1/tasks/{kept}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(task["title"], format!("buy oat milk ({transport})"));
        assert_eq!(task["status"], "todo");
        assert_eq!(
            task["version"], 4,
            "created, renamed, completed, reopened: {task}"
        );
        let deleted = summary[transport]["deleted"].as_str().unwrap();
        let gone = app.get(&ada, &format!("/api/v1/tasks/{deleted}")).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }
    let untouched = app
        .get(
            &grace,
            &format!("/api/v1/tasks/{}", foreign["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(untouched.status(), StatusCode::OK);
}

/// The Python with the MCP SDK, from `TICKLER_TEST_PYTHON`; `None` (after a notice) when unset,
/// unless `TICKLER_REQUIRE_SERVICES=1`, which makes a missing interpreter a failure.
fn python() -> Option<String> {
    match std::env::var("TICKLER_TEST_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "TICKLER_TEST_PYTHON is not set but TICKLER_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: set TICKLER_TEST_PYTHON to a Python with the mcp package");
            None
        }
    }
}
