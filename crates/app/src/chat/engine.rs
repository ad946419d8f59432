//! The rule-based assistant: one message in, a reply out. The parser reads the message; the
//! engine turns its intent into tool calls of the registry (so every change goes through the
//! same use cases as the REST API), asks which task was meant when a name matches several,
//! asks before deleting several, and resolves the answer from the pending question.

use serde_json::{Map, Value, json};
use tickler_domain::TimeZone;
use tickler_protocol::chat::Clarification;
use tickler_task_parser::{Filter, Intent, Parsed};

use super::answer::{Answer, choice};
use super::language::when;
use super::summary;
use super::turn::{Candidate, Outcome, Pending, TaskAction, Turn};
use crate::nl::{rfc3339, task_request};

/// Most tasks a clarification offers.
const MAX_CANDIDATES: usize = 5;
/// Most tasks one list reply shows, and one bulk action may touch.
const MAX_LISTED: u32 = 20;
const MAX_BULK: u32 = 200;

impl Turn<'_> {
    /// Answers a message, first as the answer to a pending question if it is one. `None`
    /// when the message is not about tasks in a way the rules understand.
    pub(crate) async fn respond(
        &mut self,
        message: &str,
        pending: Option<Pending>,
    ) -> Option<Outcome> {
        if let Some(pending) = pending
            && let Some(outcome) = self.resolve(message, pending).await
        {
            return Some(outcome);
        }
        let parsed = tickler_task_parser::parse(message, self.app.now(), self.zone);
        match parsed.intent {
            // Nothing left to call the task ("and then?"): not understood.
            Intent::CreateTask if parsed.title.as_deref().is_none_or(str::is_empty) => None,
            Intent::CreateTask => Some(self.create(&parsed).await),
            Intent::CompleteTask => self.on_target(parsed.target, TaskAction::Complete).await,
            Intent::DeleteTask => self.on_target(parsed.target, TaskAction::Delete).await,
            Intent::UpdateTask => {
                let changes = changes_of(&parsed);
                if changes.is_empty() {
                    return None;
                }
                self.on_target(parsed.target, TaskAction::Update { changes })
                    .await
            }
            Intent::ListTasks => Some(self.list(parsed.filter.unwrap_or_default()).await),
            Intent::Unknown => None,
        }
    }

    async fn create(&mut self, parsed: &Parsed) -> Outcome {
        let arguments = serde_json::to_value(task_request(parsed)).unwrap_or(Value::Null);
        match self.tool("create_task", arguments).await {
            Ok(task) => Outcome::say(self.replies.created(title_of(&task), &self.describe(&task))),
            Err(message) => Outcome::say(self.replies.failed(&message)),
        }
    }

    /// Finds the task `target` names and acts on it, or asks which one, or acts on all of
    /// them ("delete all done tasks").
    async fn on_target(&mut self, target: Option<String>, action: TaskAction) -> Option<Outcome> {
        let target = target.filter(|t| !t.trim().is_empty())?;
        if let Some(rest) = bulk_rest(&target) {
            return Some(self.bulk(rest, action).await);
        }
        let mut arguments = json!({"q": target, "limit": 10});
        if action == TaskAction::Complete {
            arguments["status"] = json!(["open"]);
        }
        let tasks = match self.tool("list_tasks", arguments).await {
            Ok(page) => candidates(&page),
            Err(message) => return Some(Outcome::say(self.replies.failed(&message))),
        };
        let exact: Vec<&Candidate> = tasks
            .iter()
            .filter(|c| c.title.to_lowercase() == target.to_lowercase())
            .collect();
        let chosen = match (tasks.len(), exact.as_slice()) {
            (0, _) => return Some(Outcome::say(self.replies.not_found(&target))),
            (1, _) => tasks[0].clone(),
            (_, [only]) => (*only).clone(),
            (count, _) => {
                let candidates: Vec<Candidate> = tasks.into_iter().take(MAX_CANDIDATES).collect();
                return Some(Outcome {
                    reply: self.replies.which(&target, count),
                    clarification: Some(Clarification {
                        question: self.replies.which(&target, count),
                        options: candidates.iter().map(|c| c.title.clone()).collect(),
                    }),
                    pending: Some(Pending::Choose { action, candidates }),
                });
            }
        };
        Some(self.perform(&action, &chosen.id).await)
    }

    /// Acts on one task and says so.
    async fn perform(&mut self, action: &TaskAction, id: &str) -> Outcome {
        let (tool, arguments) = match action {
            TaskAction::Complete => ("complete_task", json!({"id": id})),
            TaskAction::Delete => ("get_task", json!({"id": id})),
            TaskAction::Update { changes } => {
                let mut arguments = changes.clone();
                arguments.insert("id".into(), json!(id));
                ("update_task", Value::Object(arguments))
            }
        };
        let task = match self.tool(tool, arguments).await {
            Ok(task) => task,
            Err(message) => return Outcome::say(self.replies.failed(&message)),
        };
        let title = title_of(&task).to_owned();
        let reply = match action {
            TaskAction::Complete => self.replies.completed(&title),
            TaskAction::Delete => match self.tool("delete_task", json!({"id": id})).await {
                Ok(_) => self.replies.deleted(&title),
                Err(message) => self.replies.failed(&message),
            },
            TaskAction::Update { .. } => self.replies.updated(&title, &self.describe(&task)),
        };
        Outcome::say(reply)
    }

    /// Acts on every task a description matches; deleting more than one asks first.
    async fn bulk(&mut self, description: &str, action: TaskAction) -> Outcome {
        let sentence = format!("show {description} tasks");
        let filter = tickler_task_parser::parse(&sentence, self.app.now(), self.zone)
            .filter
            .unwrap_or_default();
        let mut arguments = list_arguments(&filter);
        let words = description
            .split_whitespace()
            .filter(|w| {
                !matches!(
                    w.to_lowercase().as_str(),
                    "my" | "the" | "of" | "task" | "tasks"
                )
            })
            .count();
        if filter.is_empty() && words > 0 {
            arguments.insert("q".into(), json!(description));
        }
        if action == TaskAction::Complete && !arguments.contains_key("status") {
            arguments.insert("status".into(), json!(["open"]));
        }
        arguments.insert("limit".into(), json!(MAX_BULK));
        let tasks = match self.tool("list_tasks", Value::Object(arguments)).await {
            Ok(page) => candidates(&page),
            Err(message) => return Outcome::say(self.replies.failed(&message)),
        };
        match (tasks.len(), &action) {
            (0, _) => Outcome::say(self.replies.not_found(description)),
            (1, _) => self.perform(&action, &tasks[0].id).await,
            (count, TaskAction::Delete) => {
                let question = self.replies.confirm_delete(count);
                let titles: Vec<String> = tasks.iter().map(|t| format!("- {}", t.title)).collect();
                Outcome {
                    reply: format!("{question}\n{}", titles.join("\n")),
                    clarification: Some(Clarification {
                        question,
                        options: self.replies.yes_no(),
                    }),
                    pending: Some(Pending::Confirm {
                        action,
                        task_ids: tasks.into_iter().map(|t| t.id).collect(),
                    }),
                }
            }
            (_, action) => {
                self.perform_all(action, &tasks.into_iter().map(|t| t.id).collect::<Vec<_>>())
                    .await
            }
        }
    }

    async fn perform_all(&mut self, action: &TaskAction, ids: &[String]) -> Outcome {
        let mut done = 0;
        for id in ids {
            let (tool, mut arguments) = match action {
                TaskAction::Complete => ("complete_task", Map::new()),
                TaskAction::Delete => ("delete_task", Map::new()),
                TaskAction::Update { changes } => ("update_task", changes.clone()),
            };
            arguments.insert("id".into(), json!(id));
            if self.tool(tool, Value::Object(arguments)).await.is_ok() {
                done += 1;
            }
        }
        Outcome::say(
            self.replies
                .done_many(done, matches!(action, TaskAction::Delete)),
        )
    }

    /// Reads a message as the answer to the pending question; `None` when it is not one (the
    /// question is then dropped and the message read afresh).
    async fn resolve(&mut self, message: &str, pending: Pending) -> Option<Outcome> {
        let answer = Answer::read(message);
        match pending {
            Pending::Choose { action, candidates } => {
                if answer == Answer::No {
                    return Some(Outcome::say(self.replies.cancelled()));
                }
                let index = choice(message, &candidates)?;
                Some(self.perform(&action, &candidates[index].id).await)
            }
            Pending::Confirm { action, task_ids } => match answer {
                Answer::Yes => Some(self.perform_all(&action, &task_ids).await),
                Answer::No => Some(Outcome::say(self.replies.cancelled())),
                Answer::Other => None,
            },
        }
    }

    /// Lists the tasks a filter describes.
    async fn list(&mut self, filter: Filter) -> Outcome {
        let mut arguments = list_arguments(&filter);
        if filter.due_after.is_some() || filter.due_before.is_some() {
            arguments.insert("sort".into(), json!("due_at"));
        }
        arguments.insert("limit".into(), json!(MAX_LISTED));
        let page = match self.tool("list_tasks", Value::Object(arguments)).await {
            Ok(page) => page,
            Err(message) => return Outcome::say(self.replies.failed(&message)),
        };
        let items = page["items"].as_array().cloned().unwrap_or_default();
        let mut lines = vec![self.replies.list_header(items.len())];
        for (number, task) in items.iter().enumerate() {
            let due = self
                .when_of(task)
                .map(|w| format!(" — {w}"))
                .unwrap_or_default();
            let done = if task["status"] == "done" { " ✓" } else { "" };
            lines.push(format!("{}. {}{due}{done}", number + 1, title_of(task)));
        }
        Outcome::say(lines.join("\n"))
    }

    /// The task as saved, in words, relative to now.
    fn describe(&self, task: &Value) -> Vec<String> {
        summary::describe(task, self.app.now(), self.zone, self.replies.0)
    }

    fn when_of(&self, task: &Value) -> Option<String> {
        let due = task["due_at"]
            .as_str()
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())?
            .with_timezone(&chrono::Utc);
        let zone = task["timezone"]
            .as_str()
            .and_then(|z| TimeZone::parse(z).ok())
            .unwrap_or(self.zone);
        when(Some(due), task["all_day"] == true, zone)
    }
}

/// The description after "all" in a target that names several tasks ("all done", "sab").
fn bulk_rest(target: &str) -> Option<&str> {
    const ALL: &[&str] = &[
        "all",
        "every",
        "everything",
        "sab",
        "saare",
        "sare",
        "tamam",
        "سب",
        "سارے",
        "تمام",
    ];
    let trimmed = target.trim();
    let (first, rest) = trimmed
        .split_once(char::is_whitespace)
        .unwrap_or((trimmed, ""));
    ALL.contains(&first.to_lowercase().as_str())
        .then(|| rest.trim().trim_start_matches("of ").trim())
}

/// The `list_tasks` arguments of a parsed filter.
fn list_arguments(filter: &Filter) -> Map<String, Value> {
    let mut arguments = Map::new();
    if let Some(priority) = filter.priority {
        arguments.insert("priority".into(), json!([priority.as_str()]));
    }
    if !filter.tags.is_empty() {
        let tags: Vec<&str> = filter.tags.iter().map(|t| t.as_str()).collect();
        arguments.insert("tags".into(), json!(tags));
    }
    if let Some(status) = filter.status {
        arguments.insert("status".into(), json!([status.as_str()]));
    }
    if let Some(before) = filter.due_before {
        arguments.insert("due_before".into(), json!(rfc3339(before)));
    }
    if let Some(after) = filter.due_after {
        arguments.insert("due_after".into(), json!(rfc3339(after)));
    }
    if let Some(text) = &filter.text {
        arguments.insert("q".into(), json!(text));
    }
    arguments
}

/// The merge patch of an update sentence.
fn changes_of(parsed: &Parsed) -> Map<String, Value> {
    let mut patch = Map::new();
    let Some(changes) = &parsed.changes else {
        return patch;
    };
    if let Some(title) = &changes.title {
        patch.insert("title".into(), json!(title));
    }
    if let Some(due) = changes.due_at {
        patch.insert("due_at".into(), json!(rfc3339(due)));
        patch.insert("all_day".into(), json!(changes.all_day.unwrap_or(false)));
    }
    if let Some(priority) = changes.priority {
        patch.insert("priority".into(), json!(priority.as_str()));
    }
    if let Some(rule) = &changes.recurrence {
        patch.insert("recurrence".into(), json!(rule));
        if let Some(mode) = changes.recurrence_mode {
            patch.insert("recurrence_mode".into(), json!(mode.as_str()));
        }
    }
    patch
}

fn candidates(page: &Value) -> Vec<Candidate> {
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|task| Candidate {
                    id: task["id"].as_str().unwrap_or_default().to_owned(),
                    title: title_of(task).to_owned(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn title_of(task: &Value) -> &str {
    task["title"].as_str().unwrap_or_default()
}
