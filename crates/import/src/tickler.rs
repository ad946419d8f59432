//! tickler's own export document (`docs/import-export.md`, types in
//! `tickler_protocol::port`): every field of every task is carried over, and the notification
//! channels (after the tasks); the tasks are streamed, the few members before them (format,
//! version, account, channels) kept.

use std::io::{BufReader, Read};
use std::rc::Rc;

use serde::de::DeserializeSeed;
use serde_json::Value;
use tickler_domain::TaskStatus;
use tickler_domain::task::format_instant;
use tickler_protocol::notification::ChannelBody;
use tickler_protocol::port::{EXPORT_FORMAT, EXPORT_VERSION, ExportTask};

use crate::json_stream::{ArrayElements, LineCounter, ObjectWithStreamedArray};
use crate::{ImportedChannel, ImportedTask, ReadError, ReadOptions, Row, SeriesRef};

pub(crate) fn read(
    input: impl Read,
    _options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let (counted, lines) = LineCounter::new(BufReader::new(input));
    let mut deserializer = serde_json::Deserializer::from_reader(counted);
    let mut format_error: Option<String> = None;
    let mut on_task = |value: Value, line: u64| sink(row_of(value, line));
    let members = ObjectWithStreamedArray {
        streamed_key: "tasks",
        elements: ArrayElements {
            lines: Rc::clone(&lines),
            sink: &mut on_task,
        },
        // The members may come in any order: refuse early only what is already wrong.
        check: &mut |members| {
            let error = check_header(members)
                .filter(|_| members.contains_key("format") && members.contains_key("version"));
            let ok = error.is_none();
            format_error = error;
            ok
        },
    }
    .deserialize(&mut deserializer)
    .map_err(|error| ReadError::NotThisFormat {
        line: lines.get() + 1,
        reason: format!("not a tickler export: {error}"),
    })?;
    if let Some(reason) = format_error.or_else(|| check_header(&members)) {
        return Err(ReadError::NotThisFormat { line: 1, reason });
    }
    if let Some(Value::Array(channels)) = members.get("channels") {
        for channel in channels {
            let row = match serde_json::from_value::<ChannelBody>(channel.clone()) {
                Ok(channel) => Row::Channel(Box::new(ImportedChannel {
                    line: 1,
                    kind: channel.kind,
                    url: channel.url,
                    address: channel.address,
                    enabled: channel.enabled,
                })),
                Err(error) => Row::Malformed {
                    line: 1,
                    reason: format!("not a tickler notification channel: {error}"),
                },
            };
            if !sink(row) {
                return Ok(());
            }
        }
    }
    Ok(())
}

fn check_header(members: &serde_json::Map<String, Value>) -> Option<String> {
    if members.get("format").and_then(Value::as_str) != Some(EXPORT_FORMAT) {
        return Some(format!(
            "not a tickler export: its format is not {EXPORT_FORMAT:?}"
        ));
    }
    match members.get("version").and_then(Value::as_u64) {
        Some(version) if (1..=u64::from(EXPORT_VERSION)).contains(&version) => None,
        Some(version) => Some(format!(
            "export version {version} is newer than this server reads ({EXPORT_VERSION})"
        )),
        None => Some("the export has no version".to_owned()),
    }
}

fn row_of(value: Value, line: u64) -> Row {
    let exported: ExportTask = match serde_json::from_value(value) {
        Ok(task) => task,
        Err(error) => {
            return Row::Malformed {
                line,
                reason: format!("not a tickler task: {error}"),
            };
        }
    };
    let body = exported.task;
    let mut task = ImportedTask::new(line, body.id.to_string());
    task.set_title(&body.title, "title");
    task.input.description = body.description;
    task.map("description", "description");
    task.set_status(body.status, "status");
    task.set_priority(body.priority, "priority");
    let zone = tickler_domain::TimeZone::parse(&body.timezone).ok();
    task.input.timezone = Some(body.timezone);
    task.map("timezone", "timezone");
    if let Some(due) = body.due_at {
        task.input.all_day = body.all_day;
        task.input.due_at = Some(match (body.all_day, zone) {
            (true, Some(zone)) => zone.local_date(due).to_string(),
            _ => format_instant(due),
        });
        task.map("due_at", "due_at");
    }
    for tag in &body.tags {
        task.add_tag(tag, "tags");
    }
    if let Some(rule) = body.recurrence {
        task.set_recurrence(rule, body.recurrence_mode, "recurrence");
    }
    task.input.recurrence_mode = body.recurrence_mode;
    if !body.reminders.is_empty() {
        task.map("reminders", "reminders");
    }
    task.input.reminders = body.reminders;
    task.created_at = Some(body.created_at);
    task.map("created_at", "created_at");
    if body.status == TaskStatus::Done {
        task.completed_at = body.completed_at;
        task.map("completed_at", "completed_at");
    }
    if let (Some(series), Some(sequence)) = (body.series_id, body.sequence) {
        task.series = Some(SeriesRef {
            key: series.to_string(),
            sequence,
        });
        task.map("series_id", "series_id");
    }
    if exported.history.is_some() {
        task.drop_field(
            "history",
            "another server's audit trail is not replayed: it stays in the export file",
        );
    }
    Row::Task(Box::new(task))
}
