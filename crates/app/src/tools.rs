//! The tool registry: the operations AI agents and the chat assistant may perform, each with a
//! name, a description and a JSON Schema of its arguments, executed through the same use cases
//! as the REST API.
//!
//! There is one registry. The MCP server lists [`definitions`] as MCP tools and sends
//! `tools/call` to [`App::call_tool`]; the chat assistant runs its actions through
//! [`App::call_tool`] and shows them by tool name; the LLM adapter offers the same definitions to
//! the model as functions and checks its calls with [`validate_arguments`] first. The argument
//! types are plain serde structs (several are the REST bodies themselves, such as
//! [`TaskRequest`]), so one derive gives both the decoding and the schema, and a malformed
//! argument fails with the same field error the REST API reports.

use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tickler_domain::{Priority, TaskId};
use tickler_protocol::nl::{ParseRequest, ParseResponse, QuickAddRequest};
use tickler_protocol::tag::TagCountBody;
use tickler_protocol::task::{TaskBody, TaskPage, TaskPatchDoc, TaskRequest};

use crate::error::{AppError, AppResult};
use crate::{Actor, App, CreatedTask, ListTasksParams, decode};

/// A tool: what it is called, what it does and the schema of its arguments.
#[derive(Debug, Clone)]
pub struct ToolDefinition {
    /// The tool's name, e.g. `create_task`.
    pub name: &'static str,
    /// What the tool does, for the model or person choosing it.
    pub description: &'static str,
    /// The JSON Schema (draft 2020-12, no references) of its arguments object.
    pub input_schema: Value,
    /// Whether the tool only reads.
    pub read_only: bool,
    /// Whether the tool may destroy data.
    pub destructive: bool,
    validator: std::sync::Arc<jsonschema::Validator>,
}

/// Why a tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// No tool has this name.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// The use case refused or failed, exactly as it would over REST.
    #[error(transparent)]
    Failed(#[from] AppError),
}

/// The arguments of the tools that name one task.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TaskIdArguments {
    /// The task's id, as returned by create_task or list_tasks.
    id: String,
}

/// The arguments of `delete_task`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DeleteTaskArguments {
    /// The task's id, as returned by create_task or list_tasks.
    id: String,
    /// For a recurring task: `this` (default) skips this occurrence and creates the next one,
    /// `series` ends the whole series.
    #[serde(default)]
    scope: Option<tickler_protocol::task::DeleteScope>,
}

/// The arguments of `update_task`: the task's id and the fields to change.
#[derive(Debug, Deserialize, JsonSchema)]
struct UpdateTaskArguments {
    /// The task's id, as returned by create_task or list_tasks.
    id: String,
    #[serde(flatten)]
    #[allow(dead_code)] // decoded for its field errors; the raw object is the merge patch
    changes: TaskPatchDoc,
}

/// The arguments of `list_tasks`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListTasksArguments {
    /// Full-text search over titles, descriptions and tags (ranked by relevance).
    q: Option<String>,
    /// Statuses to include: todo, in_progress, done, or open (todo and in_progress).
    status: Option<Vec<String>>,
    /// Priorities to include.
    priority: Option<Vec<Priority>>,
    /// Tags that must all be present.
    tags: Option<Vec<String>>,
    /// Only tasks due before this RFC 3339 instant (exclusive).
    due_before: Option<String>,
    /// Only tasks due at or after this RFC 3339 instant.
    due_after: Option<String>,
    /// Only open tasks whose due date has passed.
    overdue: Option<bool>,
    /// Sort keys separated by commas: created_at, updated_at, due_at, priority, title,
    /// relevance; a leading '-' sorts descending. Default: newest first (relevance with q).
    sort: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// next_cursor of the previous page.
    cursor: Option<String>,
}

/// The arguments of `list_tags`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListTagsArguments {
    /// Only tags starting with this prefix.
    prefix: Option<String>,
    /// At most this many tags, 1 to 500 (default 50).
    limit: Option<u32>,
}

static REGISTRY: LazyLock<Vec<ToolDefinition>> = LazyLock::new(|| {
    vec![
        tool::<TaskRequest>(
            "create_task",
            "Creates a task from explicit fields. Only title is required; due_at is an RFC 3339 instant (or a YYYY-MM-DD date with all_day), recurrence an RFC 5545 RRULE body, reminders ISO 8601 offsets such as -PT30M.",
            Access::Write,
        ),
        tool::<QuickAddRequest>(
            "quick_add",
            "Creates a task from one natural-language sentence (English, Urdu or Roman Urdu), e.g. 'pay rent every month on the 1st at 9am p2 #home remind me 1 day before'. Dates are read in the user's time zone.",
            Access::Write,
        ),
        tool::<ListTasksArguments>(
            "list_tasks",
            "Lists or searches the user's tasks with filters (status, priority, tags, due range, overdue), full-text search (q) and sorting; pages with next_cursor.",
            Access::Read,
        ),
        tool::<TaskIdArguments>("get_task", "Reads one task by id.", Access::Read),
        tool::<UpdateTaskArguments>(
            "update_task",
            "Changes fields of a task: give its id and only the fields to change (null resets a field to its default). Setting status to done completes it.",
            Access::Write,
        ),
        tool::<TaskIdArguments>(
            "complete_task",
            "Marks a task done (no change if it already is).",
            Access::Write,
        ),
        tool::<TaskIdArguments>(
            "reopen_task",
            "Puts a done task back to todo (no change if it is not done).",
            Access::Write,
        ),
        tool::<DeleteTaskArguments>(
            "delete_task",
            "Deletes a task permanently. For a recurring task, scope this (default) skips this occurrence and creates the next one; scope series ends the series.",
            Access::Destroy,
        ),
        tool::<ListTagsArguments>(
            "list_tags",
            "Lists the user's tags with how many tasks carry each, most used first.",
            Access::Read,
        ),
        tool::<TaskIdArguments>(
            "get_task_history",
            "Lists the changes made to a task, oldest first, with who made them and through which front door (api, chat, mcp).",
            Access::Read,
        ),
        tool::<ParseRequest>(
            "parse",
            "Reads a sentence with tickler's natural-language parser without changing anything: intent, title, due date, recurrence, priority, tags, reminders, target and list filter.",
            Access::Read,
        ),
    ]
});

enum Access {
    Read,
    Write,
    Destroy,
}

fn tool<T: JsonSchema>(
    name: &'static str,
    description: &'static str,
    access: Access,
) -> ToolDefinition {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|settings| {
        settings.inline_subschemas = true;
    });
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
    }
    // A schema derived from a Rust type always compiles; failing here is a bug found by the
    // first test that lists the tools.
    #[allow(clippy::expect_used)]
    let validator = jsonschema::validator_for(&schema).expect("tool schemas are valid");
    ToolDefinition {
        name,
        description,
        input_schema: schema,
        read_only: matches!(access, Access::Read),
        destructive: matches!(access, Access::Destroy),
        validator: std::sync::Arc::new(validator),
    }
}

/// Returns every tool, in a stable order.
pub fn definitions() -> &'static [ToolDefinition] {
    &REGISTRY
}

/// Returns the tool called `name`.
pub fn definition(name: &str) -> Option<&'static ToolDefinition> {
    REGISTRY.iter().find(|tool| tool.name == name)
}

/// Checks arguments against the tool's schema; returns every violation, one per line
/// (`/path: message`).
pub fn validate_arguments(name: &str, arguments: &Value) -> Result<(), String> {
    let tool = definition(name).ok_or_else(|| format!("unknown tool {name:?}"))?;
    let problems: Vec<String> = tool
        .validator
        .iter_errors(arguments)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

impl App {
    /// Runs a tool for `actor` (whose origin says which front door called it) and returns its
    /// result as JSON: a task, a page of tasks, tags, or the parser's result.
    pub async fn call_tool(
        &self,
        actor: &Actor,
        name: &str,
        arguments: Value,
    ) -> Result<Value, ToolError> {
        let arguments = match arguments {
            Value::Null => json!({}),
            other => other,
        };
        // A read-only tool needs the `read` scope, every other tool `write`.
        if let Some(definition) = definition(name) {
            actor.scopes.require(if definition.read_only {
                crate::auth::Scope::Read
            } else {
                crate::auth::Scope::Write
            })?;
        }
        let result = match name {
            "create_task" => {
                let request: TaskRequest = decode::from_value(arguments)?;
                match self.create_task(actor, request, None).await? {
                    CreatedTask::New { task, .. } => task_value(&task),
                    CreatedTask::Replayed(_) => {
                        return Err(AppError::Internal("unexpected replay".into()).into());
                    }
                }
            }
            "quick_add" => {
                let request: QuickAddRequest = decode::from_value(arguments)?;
                task_value(&self.quick_add(actor, &request).await?)
            }
            "list_tasks" => {
                let arguments: ListTasksArguments = decode::from_value(arguments)?;
                let (tasks, next_cursor) = self.list_tasks(actor, list_params(arguments)).await?;
                to_value(&TaskPage {
                    items: tasks.iter().map(TaskBody::from).collect(),
                    next_cursor,
                })
            }
            "get_task" => task_value(&self.get_task(actor, task_id(arguments)?).await?),
            "update_task" => {
                let Value::Object(mut patch) = arguments.clone() else {
                    return Err(AppError::from(tickler_domain::FieldError::new(
                        "",
                        "invalid_type",
                        "the arguments must be an object",
                    ))
                    .into());
                };
                let parsed: UpdateTaskArguments = decode::from_value(arguments)?;
                patch.remove("id");
                let id = parse_id(&parsed.id)?;
                task_value(
                    &self
                        .patch_task(actor, id, Value::Object(patch), None)
                        .await?,
                )
            }
            "complete_task" => {
                task_value(&self.complete_task(actor, task_id(arguments)?, None).await?)
            }
            "reopen_task" => task_value(&self.reopen_task(actor, task_id(arguments)?, None).await?),
            "delete_task" => {
                let arguments: DeleteTaskArguments = decode::from_value(arguments)?;
                let id = parse_id(&arguments.id)?;
                let scope = arguments.scope.unwrap_or_default();
                self.delete_task(actor, id, None, scope).await?;
                json!({"deleted": true, "id": id})
            }
            "list_tags" => {
                let arguments: ListTagsArguments = decode::from_value(arguments)?;
                let limit = arguments.limit.map(|limit| limit.to_string());
                let tags = self
                    .list_tags(actor, arguments.prefix.as_deref(), limit.as_deref())
                    .await?;
                let items: Vec<TagCountBody> = tags
                    .into_iter()
                    .map(|tag| TagCountBody {
                        name: tag.name,
                        count: tag.count,
                    })
                    .collect();
                json!({ "items": items })
            }
            "get_task_history" => {
                let (records, next_cursor) = self
                    .task_history(actor, task_id(arguments)?, None, None)
                    .await?;
                let items: Vec<_> = records
                    .into_iter()
                    .map(crate::audit::audit_entry_body)
                    .collect();
                json!({ "items": items, "next_cursor": next_cursor })
            }
            "parse" => {
                let request: ParseRequest = decode::from_value(arguments)?;
                to_value(&ParseResponse::from(&self.parse_text(actor, &request)?))
            }
            other => return Err(ToolError::UnknownTool(other.to_owned())),
        };
        Ok(result)
    }
}

fn list_params(arguments: ListTasksArguments) -> ListTasksParams {
    ListTasksParams {
        q: arguments.q,
        status: arguments.status.unwrap_or_default(),
        priority: arguments
            .priority
            .unwrap_or_default()
            .iter()
            .map(|priority| priority.as_str().to_owned())
            .collect(),
        tag: arguments.tags.unwrap_or_default(),
        due_before: arguments.due_before,
        due_after: arguments.due_after,
        overdue: arguments.overdue.map(|overdue| overdue.to_string()),
        sort: arguments.sort.into_iter().collect(),
        limit: arguments.limit.map(|limit| limit.to_string()),
        cursor: arguments.cursor,
    }
}

/// A malformed id names no task: reported like another user's task, as over REST.
fn parse_id(id: &str) -> AppResult<TaskId> {
    id.trim().parse().map_err(|_| AppError::TaskNotFound)
}

fn task_id(arguments: Value) -> AppResult<TaskId> {
    let arguments: TaskIdArguments = decode::from_value(arguments)?;
    parse_id(&arguments.id)
}

fn task_value(task: &tickler_domain::Task) -> Value {
    to_value(&TaskBody::from(task))
}

fn to_value<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_without_references() {
        let names: Vec<&str> = definitions().iter().map(|tool| tool.name).collect();
        assert_eq!(
            names,
            [
                "create_task",
                "quick_add",
                "list_tasks",
                "get_task",
                "update_task",
                "complete_task",
                "reopen_task",
                "delete_task",
                "list_tags",
                "get_task_history",
                "parse"
            ]
        );
        for tool in definitions() {
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            let text = tool.input_schema.to_string();
            assert!(!text.contains("$ref"), "{}: {text}", tool.name);
        }
        let create = &definition("create_task").unwrap().input_schema;
        assert_eq!(create["required"], json!(["title"]));
        assert_eq!(create["additionalProperties"], json!(false));
    }

    #[test]
    fn arguments_are_checked_against_the_schema() {
        assert!(validate_arguments("create_task", &json!({"title": "Pay rent"})).is_ok());
        let problems = validate_arguments(
            "create_task",
            &json!({"title": "x", "priority": "extreme", "owner": "someone"}),
        )
        .unwrap_err();
        assert!(problems.contains("/priority"), "{problems}");
        assert!(problems.contains("owner"), "{problems}");
        assert!(validate_arguments("complete_task", &json!({})).is_err());
        assert!(validate_arguments("launch_rocket", &json!({})).is_err());
    }
}
