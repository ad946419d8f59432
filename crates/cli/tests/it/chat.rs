//! The chat assistant over HTTP: conversations that persist, ambiguity resolved by the next
//! message, changes recorded with origin `chat`, and user scoping.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, outbox_origins_eventually, problem};
use crate::on_both_backends;

on_both_backends!(
    a_conversation_resolves_an_ambiguous_target_and_is_kept,
    chat_changes_are_the_same_changes_as_the_apis,
    conversations_belong_to_their_owner,
    chat_messages_are_validated,
    a_language_model_answers_what_the_rules_cannot_and_its_bad_calls_change_nothing,
);

async fn say(app: &TestApp, user: &TestUser, message: &str, conversation: Option<&str>) -> Value {
    let mut body = json!({"message": message});
    if let Some(id) = conversation {
        body["conversation_id"] = json!(id);
    }
    let response = app.post(user, "/api/v1/chat", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn a_conversation_resolves_an_ambiguous_target_and_is_kept(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    app.create_task(&user, json!({"title": "Dentist appointment"}))
        .await;
    app.create_task(&user, json!({"title": "Pay the dentist"}))
        .await;

    let asked = say(&app, &user, "mark the dentist task done", None).await;
    let options = asked["clarification"]["options"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(options.len(), 2, "{asked}");
    let conversation = asked["conversation_id"].as_str().unwrap().to_owned();

    let answered = say(&app, &user, "the second one", Some(&conversation)).await;
    assert_eq!(answered["clarification"], Value::Null);
    let completed = &answered["actions"][0];
    assert_eq!(completed["tool"], "complete_task");
    assert_eq!(completed["result"]["title"], options[1]);
    let done: Value = app
        .get(&user, "/api/v1/tasks?status=done")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(done["items"][0]["title"], options[1]);

    let listed: Value = app
        .get(&user, "/api/v1/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], conversation.as_str());
    assert_eq!(listed["items"][0]["title"], "mark the dentist task done");
    let stored: Value = app
        .get(&user, &format!("/api/v1/conversations/{conversation}"))
        .await
        .json()
        .await
        .unwrap();
    let roles: Vec<&str> = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(
        stored["messages"][1]["clarification"],
        asked["clarification"]
    );
    assert_eq!(stored["messages"][3]["actions"], answered["actions"]);
}

async fn chat_changes_are_the_same_changes_as_the_apis(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register_in("ada@example.org", "Asia/Karachi").await;
    let reply = say(
        &app,
        &user,
        "kal subah 9 baje doctor ke paas jana #health",
        None,
    )
    .await;
    assert!(
        reply["reply"].as_str().unwrap().contains("add kar diya"),
        "{reply}"
    );
    let created = &reply["actions"][0]["result"];
    let fetched: Value = app
        .get(
            &user,
            &format!("/api/v1/tasks/{}", created["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&fetched, created);
    assert_eq!(fetched["tags"], json!(["health"]));
    assert!(
        fetched["due_at"].as_str().unwrap().ends_with("T04:00:00Z"),
        "09:00 in Karachi"
    );

    let urdu = say(&app, &user, "کل کے کام دکھاؤ", None).await;
    assert!(
        urdu["reply"].as_str().unwrap().starts_with("آپ کے 1 کام"),
        "{urdu}"
    );

    // Events carry the front door they came through.
    let origins = outbox_origins_eventually(&app, "chat").await;
    assert!(origins.contains(&"chat".to_owned()), "{origins:?}");
}

async fn conversations_belong_to_their_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let reply = say(&app, &ada, "buy milk tomorrow", None).await;
    let conversation = reply["conversation_id"].as_str().unwrap();
    let response = app
        .get(&grace, &format!("/api/v1/conversations/{conversation}"))
        .await;
    let body = problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "conversation_not_found");
    let response = app
        .post(
            &grace,
            "/api/v1/chat",
            &json!({"message": "the second one", "conversation_id": conversation}),
        )
        .await;
    problem(response, StatusCode::NOT_FOUND).await;
    let listed: Value = app
        .get(&grace, "/api/v1/conversations")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    let response = app.get(&ada, "/api/v1/conversations/not-a-uuid").await;
    problem(response, StatusCode::NOT_FOUND).await;
}

async fn chat_messages_are_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for body in [
        json!({"message": ""}),
        json!({"message": "x".repeat(2_001)}),
        json!({"message": "hi", "mood": "happy"}),
    ] {
        let response = app.post(&user, "/api/v1/chat", &body).await;
        problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let response = app
        .client
        .post(app.url("/api/v1/chat"))
        .json(&json!({"message": "hi"}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}

/// A stand-in for an OpenAI-compatible endpoint (no language model can run here): it asks for
/// `create_task` when the person mentions a trip, answers in words after a tool result, and
/// otherwise asks for a call whose arguments break the tool's schema.
async fn fake_language_model() -> String {
    async fn complete(axum::Json(body): axum::Json<Value>) -> axum::Json<Value> {
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let last = messages.last().cloned().unwrap_or(Value::Null);
        let message = if last["role"] == "tool" {
            json!({"role": "assistant", "content": "I added a task to plan the trip."})
        } else if last["content"].as_str().unwrap_or("").contains("trip") {
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "create_task", "arguments": "{\"title\": \"Plan the trip\"}"}}]})
        } else {
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_2", "type": "function",
                "function": {"name": "create_task", "arguments": "{\"title\": 42}"}}]})
        };
        axum::Json(json!({"choices": [{"index": 0, "message": message}]}))
    }
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(complete));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

async fn a_language_model_answers_what_the_rules_cannot_and_its_bad_calls_change_nothing(
    backend: Backend,
) {
    let url = fake_language_model().await;
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.llm.url = url;
        config.llm.model = "test-model".into();
    })
    .await
    else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let planned = say(&app, &user, "how should I organise my trip?", None).await;
    assert_eq!(planned["reply"], "I added a task to plan the trip.");
    assert_eq!(planned["actions"][0]["tool"], "create_task");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"][0]["title"], "Plan the trip");

    let refused = say(&app, &user, "why is the sky blue?", None).await;
    assert_eq!(refused["actions"], json!([]));
    assert!(
        refused["reply"]
            .as_str()
            .unwrap()
            .contains("nothing was changed"),
        "{refused}"
    );
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // The rules still answer first: a plain task never reaches the model.
    let rules = say(&app, &user, "buy milk tomorrow", None).await;
    assert!(
        rules["reply"]
            .as_str()
            .unwrap()
            .starts_with("Added “buy milk”"),
        "{rules}"
    );
}
