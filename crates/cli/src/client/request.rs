//! What `tickler ls` and `tickler edit` send: the listing's query parameters and the task's
//! merge patch, built from the flags.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};
use tickler_protocol::task::TaskBody;

use super::outcome::CliError;
use super::{EditArgs, ListArgs, input};

/// The query parameters of `GET /api/v1/tasks` for `tickler ls`.
pub fn list_query(args: &ListArgs, now: DateTime<Utc>, zone: Tz) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&'static str, String)> = Vec::new();
    let status = if args.done { "done" } else { "open" };
    query.push(("status", status.to_owned()));
    if args.today {
        let today = now.with_timezone(&zone).date_naive();
        let start_of = |date: chrono::NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
                .map(|start| start.with_timezone(&Utc).to_rfc3339())
        };
        if let Some(start) = start_of(today) {
            query.push(("due_after", start));
        }
        if let Some(end) = today.succ_opt().and_then(start_of) {
            query.push(("due_before", end));
        }
    }
    if args.overdue {
        query.push(("overdue", "true".to_owned()));
    }
    if args.upcoming {
        query.push(("due_after", now.to_rfc3339()));
    }
    for tag in &args.tags {
        query.push(("tag", tag.clone()));
    }
    for priority in &args.priorities {
        query.push(("priority", priority.as_str().to_owned()));
    }
    if let Some(search) = &args.search {
        query.push(("q", search.clone()));
    }
    let sort = if args.done {
        "-updated_at"
    } else if args.search.is_some() && !(args.today || args.overdue || args.upcoming) {
        "relevance"
    } else {
        "due_at,created_at"
    };
    query.push(("sort", sort.to_owned()));
    query.push(("limit", args.limit.to_string()));
    query
}

/// The merge patch `tickler edit` sends for `args`, given the task as it is.
pub fn edit_patch(
    task: &TaskBody,
    args: &EditArgs,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<Value, CliError> {
    let mut patch = serde_json::Map::new();
    if let Some(title) = &args.title {
        patch.insert("title".into(), json!(title));
    }
    if let Some(due) = &args.due {
        if is_none(due) {
            patch.insert("due_at".into(), Value::Null);
            patch.insert("all_day".into(), json!(false));
        } else {
            let due = input::due(due, now, zone)?;
            patch.insert("due_at".into(), json!(due.due_at));
            patch.insert("all_day".into(), json!(due.all_day));
        }
    }
    if let Some(priority) = args.priority {
        patch.insert("priority".into(), json!(priority.as_str()));
    }
    if !args.tags.is_empty() || !args.untags.is_empty() {
        let normal = |tag: &String| tag.trim().trim_start_matches('#').to_lowercase();
        let removed: Vec<String> = args.untags.iter().map(normal).collect();
        let mut tags: Vec<String> = task
            .tags
            .iter()
            .filter(|tag| !removed.contains(tag))
            .cloned()
            .collect();
        for tag in args.tags.iter().map(normal) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        patch.insert("tags".into(), json!(tags));
    }
    if let Some(every) = &args.every {
        if is_none(every) {
            patch.insert("recurrence".into(), Value::Null);
        } else {
            let every = input::every(every, now, zone)?;
            patch.insert("recurrence".into(), json!(every.rule));
            if task.due_at.is_none()
                && !patch.contains_key("due_at")
                && let Some(first) = every.first_due
            {
                patch.insert("due_at".into(), json!(first.due_at));
                patch.insert("all_day".into(), json!(first.all_day));
            }
        }
    }
    if !args.reminders.is_empty() {
        let reminders = if args.reminders.iter().any(|spec| is_none(spec)) {
            Vec::new()
        } else {
            args.reminders
                .iter()
                .map(|spec| input::reminder(spec))
                .collect::<Result<Vec<_>, _>>()?
        };
        patch.insert("reminders".into(), json!(reminders));
    }
    if patch.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --title, --due, --priority, --tag, --untag, --every or --remind",
        ));
    }
    Ok(Value::Object(patch))
}

fn is_none(text: &str) -> bool {
    matches!(text.trim().to_lowercase().as_str(), "none" | "never" | "")
}
