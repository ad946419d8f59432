//! The adapter against a local HTTP server speaking OpenAI's chat completions format (no
//! language model can run here).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tickler_app::chat::model::{ChatModel, ModelError, ModelMessage, ModelRole, ModelToolCall};

use super::{LlmSettings, OpenAiChatModel};

/// What the fake endpoint received: bodies and authorization headers.
type Received = Arc<Mutex<Vec<(Value, Option<String>)>>>;

/// Starts a fake `/v1/chat/completions` that answers every request with `answer`.
async fn fake_endpoint(answer: fn() -> Response, delay: Duration) -> (String, Received) {
    let received: Received = Arc::default();
    let log = Arc::clone(&received);
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let log = Arc::clone(&log);
            async move {
                let authorization = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                log.lock().unwrap().push((body, authorization));
                tokio::time::sleep(delay).await;
                answer()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), received)
}

fn model(url: &str, timeout: Duration, key: Option<&str>) -> OpenAiChatModel {
    let _ = rustls::crypto::ring::default_provider().install_default();
    OpenAiChatModel::new(LlmSettings {
        url: format!("{url}/"),
        model: "llama3.1".into(),
        api_key: key.map(|k| k.to_owned().into()),
        timeout,
    })
    .unwrap()
}

fn conversation() -> Vec<ModelMessage> {
    vec![
        ModelMessage {
            role: ModelRole::System,
            content: "be brief".into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        },
        ModelMessage {
            role: ModelRole::User,
            content: "plan my trip".into(),
            tool_calls: Vec::new(),
            tool_call_id: None,
        },
        ModelMessage {
            role: ModelRole::Assistant,
            content: String::new(),
            tool_calls: vec![ModelToolCall {
                id: "call_1".into(),
                name: "list_tasks".into(),
                arguments: "{\"q\":\"trip\"}".into(),
            }],
            tool_call_id: None,
        },
        ModelMessage {
            role: ModelRole::Tool,
            content: "{\"items\":[]}".into(),
            tool_calls: Vec::new(),
            tool_call_id: Some("call_1".into()),
        },
    ]
}

fn tool_call_answer() -> Response {
    Json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "model": "llama3.1",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_9", "type": "function",
                 "function": {"name": "create_task", "arguments": "{\"title\":\"Plan the trip\"}"}},
                {"type": "function", "function": {"name": "list_tags", "arguments": {"prefix": "tr"}}}
            ]}}]
    }))
    .into_response()
}

#[tokio::test]
async fn the_request_follows_the_format_and_tool_calls_are_read_back() {
    let (url, received) = fake_endpoint(tool_call_answer, Duration::ZERO).await;
    let model = model(&url, Duration::from_secs(5), Some("sk-test"));
    let reply = model
        .complete(&conversation(), tickler_app::tools::definitions())
        .await
        .unwrap();
    assert_eq!(reply.content, None);
    assert_eq!(
        reply.tool_calls,
        [
            ModelToolCall {
                id: "call_9".into(),
                name: "create_task".into(),
                arguments: "{\"title\":\"Plan the trip\"}".into(),
            },
            ModelToolCall {
                id: "call_1".into(),
                name: "list_tags".into(),
                arguments: "{\"prefix\":\"tr\"}".into(),
            },
        ]
    );

    let (body, authorization) = received.lock().unwrap()[0].clone();
    assert_eq!(authorization.as_deref(), Some("Bearer sk-test"));
    assert_eq!(body["model"], "llama3.1");
    assert_eq!(body["stream"], false);
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(body["messages"][2]["content"], Value::Null);
    assert_eq!(
        body["messages"][2]["tool_calls"][0],
        json!({"id": "call_1", "type": "function",
               "function": {"name": "list_tasks", "arguments": "{\"q\":\"trip\"}"}})
    );
    assert_eq!(body["messages"][3]["tool_call_id"], "call_1");
    let tools = body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), tickler_app::tools::definitions().len());
    let create = tools
        .iter()
        .find(|t| t["function"]["name"] == "create_task")
        .unwrap();
    assert_eq!(create["type"], "function");
    assert_eq!(create["function"]["parameters"]["type"], "object");
    assert_eq!(
        create["function"]["parameters"]["required"],
        json!(["title"])
    );
}

#[tokio::test]
async fn error_statuses_and_malformed_answers_are_errors() {
    let cases: [(fn() -> Response, bool); 4] = [
        (
            || (StatusCode::INTERNAL_SERVER_ERROR, "model not loaded").into_response(),
            true,
        ),
        (|| "this is not json".into_response(), false),
        (|| Json(json!({"choices": []})).into_response(), false),
        (
            || {
                Json(json!({"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}))
                    .into_response()
            },
            false,
        ),
    ];
    for (answer, unavailable) in cases {
        let (url, _) = fake_endpoint(answer, Duration::ZERO).await;
        let error = model(&url, Duration::from_secs(5), None)
            .complete(&conversation(), &[])
            .await
            .unwrap_err();
        match error {
            ModelError::Unavailable(_) => assert!(unavailable, "{error}"),
            ModelError::Malformed(_) => assert!(!unavailable, "{error}"),
        }
    }
}

#[tokio::test]
async fn a_model_that_does_not_answer_in_time_is_unavailable() {
    let (url, _) = fake_endpoint(tool_call_answer, Duration::from_secs(3)).await;
    let error = model(&url, Duration::from_millis(200), None)
        .complete(&conversation(), &[])
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Unavailable(_)), "{error}");
    let error = model("http://127.0.0.1:9", Duration::from_secs(1), None)
        .complete(&conversation(), &[])
        .await
        .unwrap_err();
    assert!(matches!(error, ModelError::Unavailable(_)), "{error}");
}
