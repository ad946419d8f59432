//! Conversational capture (README 2.10) through every front door: `tickler parse` prints what
//! `POST /api/v1/parse` answers; quick add over REST, the MCP `quick_add` tool and the chat
//! assistant save the same task, without the request words around it; and the chat's reply
//! names the task as it was saved.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser};
use crate::on_both_backends;

on_both_backends!(
    wrapped_sentences_parse_the_same_in_the_cli_and_over_http,
    wrapped_sentences_save_the_same_task_through_quick_add_mcp_and_chat,
);

/// Sentences with their request words, and the title each must leave.
const SENTENCES: &[(&str, &str)] = &[
    ("add call the dentist tomorrow at 9am", "call the dentist"),
    ("I need to renew my licence on monday", "renew my licence"),
    ("remind me at 6pm to feed the cat", "feed the cat"),
    ("parson bill dena hai add kar do", "bill dena"),
    (
        "please add buy milk tomorrow at 5pm to my list, thanks",
        "buy milk",
    ),
    (
        "مجھے کل شام ۶ بجے یاد دلانا کہ امی کو فون کرنا ہے",
        "امی کو فون کرنا",
    ),
];

/// The fields of a saved task that a sentence decides.
const TASK_FIELDS: &[&str] = &[
    "title",
    "due_at",
    "all_day",
    "recurrence",
    "priority",
    "tags",
    "reminders",
];

async fn wrapped_sentences_parse_the_same_in_the_cli_and_over_http(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let now = "2026-11-21T12:00:00+05:00";
    for &(text, title) in SENTENCES {
        let response = app
            .post(
                &user,
                "/api/v1/parse",
                &json!({"text": text, "now": now, "tz": "Asia/Karachi"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let served: Value = response.json().await.unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tickler"))
            .args(["parse", "--now", now, "--tz", "Asia/Karachi", text])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(served, printed, "{text}");
        assert_eq!(served["intent"], "create_task", "{text}");
        assert_eq!(served["title"], title, "{text}");
    }
    let reminded = app
        .post(
            &user,
            "/api/v1/parse",
            &json!({"text": "remind me at 6pm to feed the cat", "now": now, "tz": "Asia/Karachi"}),
        )
        .await;
    let reminded: Value = reminded.json().await.unwrap();
    assert_eq!(reminded["due_at"], "2026-11-21T13:00:00Z");
    assert_eq!(reminded["all_day"], false);
    assert_eq!(reminded["reminders"], json!(["PT0S"]));
}

/// Calls the MCP `quick_add` tool over the streamable HTTP endpoint.
async fn mcp_quick_add(app: &TestApp, user: &TestUser, id: u64, text: &str) -> Value {
    let response = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&user.token)
        .header("accept", "application/json, text/event-stream")
        .json(&json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": "quick_add", "arguments": {"text": text}},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["result"]["isError"], false, "{body}");
    body["result"]["structuredContent"].clone()
}

fn decided(task: &Value) -> Value {
    TASK_FIELDS
        .iter()
        .map(|&field| (field.to_owned(), task[field].clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

async fn wrapped_sentences_save_the_same_task_through_quick_add_mcp_and_chat(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register_in("ada@example.org", "Asia/Karachi").await;
    let initialize = app
        .client
        .post(app.url("/mcp"))
        .bearer_auth(&user.token)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "tickler-tests", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(initialize.status(), StatusCode::OK);
    for (index, &(text, title)) in SENTENCES.iter().enumerate() {
        let response = app
            .post(&user, "/api/v1/tasks/quick", &json!({"text": text}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{text}");
        let quick: Value = response.json().await.unwrap();
        let over_mcp = mcp_quick_add(&app, &user, index as u64 + 1, text).await;
        let response = app
            .post(&user, "/api/v1/chat", &json!({"message": text}))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{text}");
        let chat: Value = response.json().await.unwrap();
        assert_eq!(chat["actions"][0]["tool"], "create_task", "{text}: {chat}");
        let over_chat = &chat["actions"][0]["result"];

        assert_eq!(quick["title"], title, "{text}");
        assert_eq!(decided(&over_mcp), decided(&quick), "{text}");
        assert_eq!(decided(over_chat), decided(&quick), "{text}");
        let reply = chat["reply"].as_str().unwrap();
        assert!(reply.contains(&format!("“{title}”")), "{text}: {reply}");
    }

    // The reply says what was understood: the due date relative to now and the reminder.
    let response = app
        .post(
            &user,
            "/api/v1/chat",
            &json!({"message": "please add call the plumber tomorrow at 9am, thanks"}),
        )
        .await;
    let chat: Value = response.json().await.unwrap();
    assert_eq!(
        chat["reply"], "Added “call the plumber”, tomorrow 09:00",
        "{chat}"
    );
    let response = app
        .post(
            &user,
            "/api/v1/chat",
            &json!({"message": "remind me in 2 hours to stretch"}),
        )
        .await;
    let chat: Value = response.json().await.unwrap();
    let reply = chat["reply"].as_str().unwrap();
    assert!(
        reply.starts_with("Added “stretch”, ") && reply.contains(", reminder at "),
        "{reply}"
    );
    assert_eq!(chat["actions"][0]["result"]["reminders"], json!(["PT0S"]));
}
