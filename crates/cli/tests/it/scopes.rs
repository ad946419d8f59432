//! Token scopes on every route and MCP tool, and what a password change revokes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, problem};
use crate::mcp::rpc;
use crate::on_both_backends;

on_both_backends!(
    a_read_only_token_reads_but_every_write_is_a_403_problem,
    mcp_needs_the_mcp_scope_and_its_tools_need_read_or_write,
    a_password_change_revokes_api_tokens_and_sessions,
);

/// Creates an API token with `scopes` (all when `None`) and returns it as a user.
async fn token(app: &TestApp, user: &TestUser, scopes: Option<&[&str]>) -> (TestUser, Value) {
    let mut body = json!({"name": "agent"});
    if let Some(scopes) = scopes {
        body["scopes"] = json!(scopes);
    }
    let response = app.post(user, "/api/v1/tokens", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let as_user = TestUser {
        id: user.id.clone(),
        token: created["token"].as_str().unwrap().to_owned(),
    };
    (as_user, created)
}

async fn a_read_only_token_reads_but_every_write_is_a_403_problem(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let task = app.create_task(&ada, json!({"title": "read me"})).await;
    let (_, all) = token(&app, &ada, None).await;
    assert_eq!(all["scopes"], json!(["read", "write", "mcp"]));
    let (reader, created) = token(&app, &ada, Some(&["read"])).await;
    assert_eq!(created["scopes"], json!(["read"]));

    let page: Value = app
        .get(&reader, "/api/v1/tasks")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], task["id"]);
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    for response in [
        app.post(&reader, "/api/v1/tasks", &json!({"title": "no"}))
            .await,
        app.patch(&reader, &path, &json!({"title": "no"})).await,
        app.delete(&reader, &path).await,
        app.post(&reader, "/api/v1/tokens", &json!({"name": "escalate"}))
            .await,
        app.post(&reader, "/api/v1/auth/logout-all", &json!({}))
            .await,
    ] {
        let body = problem(response, StatusCode::FORBIDDEN).await;
        assert_eq!(body["code"], "insufficient_scope", "{body}");
    }
    let fetched: Value = app.get(&ada, &path).await.json().await.unwrap();
    assert_eq!(fetched["title"], "read me");

    // A token cannot be given more than its creator holds, nor an unknown scope.
    let (writer, _) = token(&app, &ada, Some(&["read", "write"])).await;
    let body = problem(
        app.post(
            &writer,
            "/api/v1/tokens",
            &json!({"name": "x", "scopes": ["mcp"]}),
        )
        .await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(body["code"], "insufficient_scope");
    for scopes in [json!(["admin"]), json!([])] {
        let body = problem(
            app.post(
                &ada,
                "/api/v1/tokens",
                &json!({"name": "x", "scopes": scopes}),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "scopes", "{body}");
    }
}

async fn mcp_needs_the_mcp_scope_and_its_tools_need_read_or_write(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let (no_mcp, _) = token(&app, &ada, Some(&["read", "write"])).await;
    let response = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&no_mcp.token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "insufficient_scope");

    let (agent, _) = token(&app, &ada, Some(&["read", "mcp"])).await;
    let listed = rpc(
        &app,
        &agent,
        2,
        "tools/call",
        json!({"name": "list_tasks", "arguments": {}}),
    )
    .await;
    assert_eq!(listed["result"]["isError"], false, "{listed}");
    let refused = rpc(
        &app,
        &agent,
        3,
        "tools/call",
        json!({"name": "create_task", "arguments": {"title": "no"}}),
    )
    .await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(refused.to_string().contains("write"), "{refused}");
    let page: Value = app.get(&ada, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}

async fn a_password_change_revokes_api_tokens_and_sessions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let (agent, _) = token(&app, &ada, None).await;
    let login = app
        .login_with("ada@example.org", "correct horse battery")
        .await;
    let refresh_token = login["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get(&agent, "/api/v1/me").await.status(), StatusCode::OK);

    let changed = app
        .patch(
            &ada,
            "/api/v1/me",
            &json!({"password": "a brand new passphrase", "current_password": "correct horse battery"}),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    assert_eq!(
        app.get(&agent, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::UNAUTHORIZED);
    let tokens = app
        .login_with("ada@example.org", "a brand new passphrase")
        .await;
    let fresh = TestUser {
        id: ada.id.clone(),
        token: tokens["access_token"].as_str().unwrap().to_owned(),
    };
    let list: Value = app
        .get(&fresh, "/api/v1/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
}
