//! Table tests of the assistant, on a real (SQLite) store and a fixed clock: Saturday
//! 2026-11-21 12:00 in Asia/Karachi.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tickler_protocol::auth::RegisterRequest;
use tickler_protocol::chat::{ChatRequest, ChatResponse};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};

use super::answer::choice;
use super::model::{ChatModel, ModelError, ModelMessage, ModelReply, ModelToolCall};
use super::turn::Candidate;
use crate::tools::ToolDefinition;
use crate::{Actor, App, AppSettings, ManualClock, Origin};

const NOW: &str = "2026-11-21T07:00:00Z";

struct Assistant {
    app: App,
    actor: Actor,
    _directory: tempfile::TempDir,
}

async fn assistant_with(model: Option<Arc<dyn ChatModel>>) -> Assistant {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(SqliteConfig::new(directory.path().join("chat.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let mut app = App::new(
        Arc::new(store),
        Arc::new(ManualClock::new(now)),
        AppSettings::default(),
        &[7; 32],
    );
    if let Some(model) = model {
        app = app.with_chat_model(model);
    }
    let session = app
        .register(
            RegisterRequest {
                email: "ada@example.org".into(),
                password: "correct horse battery".into(),
                name: None,
                timezone: Some("Asia/Karachi".into()),
                session: None,
            },
            None,
        )
        .await
        .unwrap();
    let actor = Actor::new(session.user, Origin::Api);
    Assistant {
        app,
        actor,
        _directory: directory,
    }
}

async fn assistant() -> Assistant {
    assistant_with(None).await
}

impl Assistant {
    async fn say(&self, message: &str, conversation: Option<&str>) -> ChatResponse {
        self.app
            .chat(
                &self.actor,
                ChatRequest {
                    message: message.into(),
                    conversation_id: conversation.map(str::to_owned),
                },
            )
            .await
            .unwrap()
    }

    async fn add(&self, title: &str) -> String {
        let task = self
            .app
            .call_tool(&self.actor, "create_task", json!({"title": title}))
            .await
            .unwrap();
        task["id"].as_str().unwrap().to_owned()
    }

    async fn task(&self, id: &str) -> Option<Value> {
        self.app
            .call_tool(&self.actor, "get_task", json!({"id": id}))
            .await
            .ok()
    }

    async fn titles(&self) -> Vec<String> {
        let page = self
            .app
            .call_tool(&self.actor, "list_tasks", json!({"sort": "title"}))
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn tools_of(response: &ChatResponse) -> Vec<&str> {
    response.actions.iter().map(|a| a.tool.as_str()).collect()
}

#[tokio::test]
async fn a_sentence_in_each_language_creates_a_task_and_the_reply_uses_that_language() {
    let cases = [
        (
            "call mom tomorrow at 5pm #family",
            "call mom",
            "Added “call mom”",
        ),
        (
            "kal shaam 5 baje ammi ko call karna",
            "ammi ko call karna",
            "add kar diya",
        ),
        (
            "کل صبح ۹ بجے ڈاکٹر کے پاس جانا",
            "ڈاکٹر کے پاس جانا",
            "شامل کر دیا گیا",
        ),
    ];
    for (message, title, reply) in cases {
        let assistant = assistant().await;
        let response = assistant.say(message, None).await;
        assert_eq!(tools_of(&response), ["create_task"], "{message}");
        let created = &response.actions[0].result;
        assert_eq!(created["title"], title, "{message}");
        assert!(created["due_at"].is_string(), "{message}: {created}");
        assert!(
            response.reply.contains(reply),
            "{message}: {}",
            response.reply
        );
        assert_eq!(response.clarification, None);
    }
}

/// README 2.10: the request around a task is not part of it, and the reply names the task
/// exactly as it was saved.
#[tokio::test]
async fn a_wrapped_request_creates_the_bare_task_and_the_reply_names_it_as_saved() {
    let cases = [
        (
            "add call the dentist tomorrow at 9am",
            "call the dentist",
            "Added “call the dentist”, tomorrow 09:00",
        ),
        (
            "I need to renew my licence on monday",
            "renew my licence",
            "Added “renew my licence”, Monday",
        ),
        (
            "remind me at 6pm to feed the cat",
            "feed the cat",
            "Added “feed the cat”, today 18:00, reminder at 18:00",
        ),
        (
            "please add buy milk tomorrow at 5pm to my list, thanks",
            "buy milk",
            "Added “buy milk”, tomorrow 17:00",
        ),
        (
            "parson bill dena hai add kar do",
            "bill dena",
            "“bill dena” add kar diya, parson",
        ),
        (
            "مجھے کل شام ۶ بجے یاد دلانا کہ امی کو فون کرنا ہے",
            "امی کو فون کرنا",
            "“امی کو فون کرنا” شامل کر دیا گیا، کل 18:00، یاد دہانی 18:00",
        ),
    ];
    for (message, title, reply) in cases {
        let assistant = assistant().await;
        let response = assistant.say(message, None).await;
        assert_eq!(tools_of(&response), ["create_task"], "{message}");
        assert_eq!(response.actions[0].result["title"], title, "{message}");
        assert_eq!(response.reply, reply, "{message}");
    }
}

#[tokio::test]
async fn a_polite_request_to_act_on_a_task_names_the_task_without_the_wrapper() {
    let assistant = assistant().await;
    assistant.add("water the plants").await;
    let response = assistant
        .say(
            "could you please mark water the plants as done, thanks",
            None,
        )
        .await;
    assert_eq!(tools_of(&response), ["list_tasks", "complete_task"]);
    assert_eq!(response.reply, "Marked “water the plants” as done.");
}

#[tokio::test]
async fn whats_due_tomorrow_lists_only_tomorrows_tasks() {
    let assistant = assistant().await;
    assistant.say("pay rent tomorrow at 9am", None).await;
    assistant.say("water plants today at 6pm", None).await;
    assistant.say("file taxes tomorrow", None).await;
    let response = assistant.say("what's due tomorrow?", None).await;
    assert_eq!(tools_of(&response), ["list_tasks"]);
    let listed: Vec<&str> = response.actions[0].result["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["file taxes", "pay rent"]);
    assert!(
        response.reply.starts_with("You have 2 tasks:"),
        "{}",
        response.reply
    );
    assert!(
        response.reply.contains("pay rent — Sun 22 Nov 2026 09:00"),
        "{}",
        response.reply
    );

    let urdu = assistant.say("kal ke kaam dikhao", None).await;
    assert!(urdu.reply.starts_with("Aap ke 2 kaam:"), "{}", urdu.reply);
}

#[tokio::test]
async fn an_ambiguous_target_asks_which_and_the_second_one_resolves_it() {
    let assistant = assistant().await;
    let first = assistant.add("Dentist appointment").await;
    let second = assistant.add("Call the dentist about the bill").await;
    let response = assistant.say("mark the dentist task done", None).await;
    let clarification = response.clarification.clone().expect("a question");
    assert_eq!(clarification.options.len(), 2);
    assert!(response.reply.contains("Which one"), "{}", response.reply);
    let conversation = response.conversation_id.clone();
    let chosen_title = clarification.options[1].clone();

    let answer = assistant.say("the second one", Some(&conversation)).await;
    assert_eq!(tools_of(&answer), ["complete_task"]);
    assert_eq!(answer.actions[0].result["title"], chosen_title.as_str());
    assert_eq!(answer.actions[0].result["status"], "done");
    assert!(answer.reply.contains("as done"), "{}", answer.reply);
    assert_eq!(answer.clarification, None);
    let mut done = 0;
    for id in [first, second] {
        if assistant.task(&id).await.unwrap()["status"] == "done" {
            done += 1;
        }
    }
    assert_eq!(done, 1);

    // The question is answered: "the second one" again means nothing pending.
    let again = assistant.say("the second one", Some(&conversation)).await;
    assert!(again.actions.iter().all(|a| a.tool != "complete_task"));
}

#[tokio::test]
async fn answers_pick_candidates_by_ordinal_in_each_language_or_by_title() {
    let candidates: Vec<Candidate> = ["Dentist appointment", "Call the dentist", "Dentist bill"]
        .iter()
        .map(|title| Candidate {
            id: String::new(),
            title: (*title).into(),
        })
        .collect();
    for (answer, expected) in [
        ("the second one", Some(1)),
        ("2", Some(1)),
        ("second", Some(1)),
        ("doosra wala", Some(1)),
        ("دوسرا", Some(1)),
        ("the first", Some(0)),
        ("pehla", Some(0)),
        ("the last one", Some(2)),
        ("dentist bill", Some(2)),
        ("call the dentist please", Some(1)),
        ("dentist", None),
        ("the fifth one", None),
        ("add buy 2 tickets for the show tonight", None),
    ] {
        assert_eq!(choice(answer, &candidates), expected, "{answer}");
    }
}

#[tokio::test]
async fn a_roman_urdu_completion_is_answered_in_roman_urdu() {
    let assistant = assistant().await;
    let id = assistant.add("bijli ka bill").await;
    let response = assistant.say("bijli ka bill mukammal kar do", None).await;
    assert_eq!(tools_of(&response), ["list_tasks", "complete_task"]);
    assert_eq!(assistant.task(&id).await.unwrap()["status"], "done");
    assert_eq!(response.reply, "“bijli ka bill” mukammal kar diya.");
}

#[tokio::test]
async fn deleting_many_tasks_asks_for_confirmation_first() {
    let assistant = assistant().await;
    for title in ["buy milk #errands", "post letter #errands", "pay rent"] {
        assistant.say(title, None).await;
    }
    let response = assistant.say("delete all tasks tagged errands", None).await;
    assert_eq!(tools_of(&response), ["list_tasks"]);
    let clarification = response.clarification.clone().expect("a confirmation");
    assert_eq!(clarification.options, ["yes", "no"]);
    assert!(
        response.reply.starts_with("Delete these 2 tasks?"),
        "{}",
        response.reply
    );
    assert_eq!(
        assistant.titles().await.len(),
        3,
        "nothing deleted before the answer"
    );

    let conversation = response.conversation_id;
    let answer = assistant.say("yes", Some(&conversation)).await;
    assert_eq!(tools_of(&answer), ["delete_task", "delete_task"]);
    assert_eq!(answer.reply, "Deleted 2 tasks.");
    assert_eq!(assistant.titles().await, ["pay rent"]);

    // Declining leaves everything as it was.
    assistant.say("buy bread #errands", None).await;
    assistant.say("buy eggs #errands", None).await;
    let asked = assistant.say("delete all errands tasks", None).await;
    assert!(asked.clarification.is_some(), "{}", asked.reply);
    let declined = assistant.say("no", Some(&asked.conversation_id)).await;
    assert_eq!(declined.reply, "OK, I left everything as it was.");
    assert_eq!(assistant.titles().await.len(), 3);
}

#[tokio::test]
async fn updates_and_unknown_targets_are_answered_plainly() {
    let assistant = assistant().await;
    let id = assistant.add("dentist").await;
    let moved = assistant.say("move the dentist to next friday", None).await;
    assert_eq!(tools_of(&moved), ["list_tasks", "update_task"]);
    let task = assistant.task(&id).await.unwrap();
    assert_eq!(
        task["due_at"], "2026-11-26T19:00:00Z",
        "Friday 27 Nov, local midnight"
    );
    assert_eq!(task["all_day"], true);
    assert!(
        moved.reply.starts_with("Updated “dentist”"),
        "{}",
        moved.reply
    );

    let weekly = assistant
        .say("make the dentist repeat every monday", None)
        .await;
    assert!(
        tools_of(&weekly).contains(&"update_task"),
        "{}",
        weekly.reply
    );

    let missing = assistant.say("delete the piano lessons", None).await;
    assert_eq!(
        missing.reply,
        "I couldn't find a task matching “piano lessons”."
    );
    let hello = assistant.say("hello!", None).await;
    assert!(hello.reply.starts_with("Hi! I can add"), "{}", hello.reply);
    assert!(hello.actions.is_empty());
}

#[tokio::test]
async fn conversations_keep_both_sides_and_belong_to_their_owner() {
    let assistant = assistant().await;
    let first = assistant.say("buy milk tomorrow", None).await;
    let conversation = first.conversation_id.clone();
    assistant
        .say("what's due tomorrow?", Some(&conversation))
        .await;
    let stored = assistant
        .app
        .get_conversation(&assistant.actor, &conversation)
        .await
        .unwrap();
    assert_eq!(stored.title, "buy milk tomorrow");
    assert_eq!(stored.messages.len(), 4);
    assert_eq!(stored.messages[1].actions, first.actions);
    let listed = assistant
        .app
        .list_conversations(&assistant.actor, None)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);

    let other = assistant
        .app
        .register(
            RegisterRequest {
                email: "grace@example.org".into(),
                password: "correct horse battery".into(),
                name: None,
                timezone: None,
                session: None,
            },
            None,
        )
        .await
        .unwrap();
    let grace = Actor::new(other.user, Origin::Api);
    let error = assistant
        .app
        .chat(
            &grace,
            ChatRequest {
                message: "what's due tomorrow?".into(),
                conversation_id: Some(conversation.clone()),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.code(), "conversation_not_found");
    assert!(
        assistant
            .app
            .get_conversation(&grace, &conversation)
            .await
            .is_err()
    );
}

/// A model that answers with scripted replies and records what it was sent.
#[derive(Debug)]
struct ScriptedModel {
    replies: std::sync::Mutex<Vec<ModelReply>>,
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    async fn complete(
        &self,
        _messages: &[ModelMessage],
        _tools: &[ToolDefinition],
    ) -> Result<ModelReply, ModelError> {
        let mut replies = self.replies.lock().unwrap();
        if replies.is_empty() {
            return Err(ModelError::Unavailable("no more replies".into()));
        }
        Ok(replies.remove(0))
    }
}

fn call(name: &str, arguments: &str) -> ModelToolCall {
    ModelToolCall {
        id: format!("call-{name}"),
        name: name.into(),
        arguments: arguments.into(),
    }
}

#[tokio::test]
async fn the_model_handles_what_the_rules_do_not_and_its_calls_are_checked_first() {
    let model = Arc::new(ScriptedModel {
        replies: std::sync::Mutex::new(vec![
            ModelReply {
                content: None,
                tool_calls: vec![call("create_task", r#"{"title": "Plan the trip"}"#)],
            },
            ModelReply {
                content: Some("I added “Plan the trip”.".into()),
                tool_calls: Vec::new(),
            },
            // Invalid: a priority outside the schema. Nothing may run.
            ModelReply {
                content: None,
                tool_calls: vec![
                    call("create_task", r#"{"title": "A"}"#),
                    call("create_task", r#"{"title": "B", "priority": "extreme"}"#),
                ],
            },
            ModelReply {
                content: None,
                tool_calls: vec![call("launch_rocket", "{}")],
            },
            ModelReply {
                content: None,
                tool_calls: vec![call("create_task", "{not json")],
            },
        ]),
    });
    let assistant = assistant_with(Some(model)).await;
    let planned = assistant.say("how should I plan my holiday?", None).await;
    assert_eq!(tools_of(&planned), ["create_task"]);
    assert_eq!(planned.reply, "I added “Plan the trip”.");
    for message in [
        "what is the capital of france?",
        "why is the sky blue?",
        "who are you?",
    ] {
        let refused = assistant.say(message, None).await;
        assert!(refused.actions.is_empty(), "{message}");
        assert!(
            refused.reply.contains("nothing was changed"),
            "{}",
            refused.reply
        );
    }
    // The model is gone (it has no more replies): still a clear answer.
    let unavailable = assistant.say("and then?", None).await;
    assert!(
        unavailable.reply.contains("nothing was changed"),
        "{}",
        unavailable.reply
    );
    assert_eq!(assistant.titles().await, ["Plan the trip"]);
}
