//! Taskwarrior's `task export`.
//!
//! Columns come from the Taskwarrior JSON format specification ("Taskwarrior JSON Format",
//! taskwarrior.org/docs/design/task): `uuid`, `status` (pending, completed, deleted, waiting,
//! recurring), `description`, `entry`, `start`, `end`, `due`, `until`, `scheduled`, `wait`,
//! `recur`, `parent`, `imask`, `mask`, `project`, `priority` (H, M, L), `tags`,
//! `annotations` (`entry`, `description`), `depends`, `modified`, and user-defined attributes.
//! Dates are `YYYYMMDDTHHMMSSZ`. Taskwarrior 2.6 writes one array with one object per line;
//! `task export` piped through `jq -c '.[]'` (and Taskwarrior 3 hooks) give one object per line:
//! both are read.

use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};
use tickler_domain::task::format_instant;
use tickler_domain::{Priority, RecurrenceMode, TaskStatus};

use crate::json_stream::{ArrayElements, LineCounter, peek_non_whitespace};
use crate::recur::taskwarrior_period_to_rrule;
use crate::text::append_paragraph;
use crate::{ImportedTask, ReadError, ReadOptions, Row, SeriesRef};

/// Attributes Taskwarrior computes or keeps for itself, left out without a note.
const INTERNAL: [&str; 6] = ["id", "urgency", "mask", "imask", "parent", "rtype"];

pub(crate) fn read(
    input: impl Read,
    _options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let mut reader = BufReader::new(input);
    match peek_non_whitespace(&mut reader)? {
        None => Ok(()),
        Some(b'[') => {
            let (counted, lines) = LineCounter::new(reader);
            let mut deserializer = serde_json::Deserializer::from_reader(counted);
            let mut on_element = |value: Value, line: u64| sink(row_of(value, line));
            serde::de::DeserializeSeed::deserialize(
                ArrayElements {
                    lines: std::rc::Rc::clone(&lines),
                    sink: &mut on_element,
                },
                &mut deserializer,
            )
            .map_err(|error| ReadError::NotThisFormat {
                line: lines.get() + 1,
                reason: format!("not a Taskwarrior export: {error}"),
            })
        }
        Some(_) => {
            let mut line = String::new();
            let mut number = 0;
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                number += 1;
                let text = line.trim().trim_end_matches(',');
                if text.is_empty() || text == "[" || text == "]" {
                    continue;
                }
                let row = match serde_json::from_str::<Value>(text) {
                    Ok(value) => row_of(value, number),
                    Err(error) => Row::Malformed {
                        line: number,
                        reason: format!("not a JSON object: {error}"),
                    },
                };
                if !sink(row) {
                    return Ok(());
                }
            }
        }
    }
}

fn row_of(value: Value, line: u64) -> Row {
    let Value::Object(object) = value else {
        return Row::Malformed {
            line,
            reason: "a Taskwarrior task must be a JSON object".to_owned(),
        };
    };
    match task_of(&object, line) {
        Ok(row) => row,
        Err(reason) => Row::Malformed { line, reason },
    }
}

fn task_of(object: &Map<String, Value>, line: u64) -> Result<Row, String> {
    let text = |key: &str| object.get(key).and_then(Value::as_str);
    let uuid = text("uuid").ok_or("the task has no uuid")?.to_owned();
    let status = text("status").unwrap_or("pending");
    match status {
        "deleted" => {
            return Ok(Row::NotCarried {
                line,
                source_id: Some(uuid),
                reason: "deleted in Taskwarrior".to_owned(),
            });
        }
        "recurring" => {
            return Ok(Row::NotCarried {
                line,
                source_id: Some(uuid),
                reason: "the recurring template: its rule travels with its instances, which \
                         become one tickler series"
                    .to_owned(),
            });
        }
        "pending" | "waiting" | "completed" => {}
        other => return Err(format!("unknown status {other:?}")),
    }
    let description = text("description").ok_or("the task has no description")?;
    let mut task = ImportedTask::new(line, uuid);
    task.set_title(description, "description");
    task.set_status(
        match (status, object.contains_key("start")) {
            ("completed", _) => TaskStatus::Done,
            (_, true) => TaskStatus::InProgress,
            _ => TaskStatus::Todo,
        },
        "status",
    );
    task.created_at = date(object, "entry")?;
    if status == "completed" {
        task.completed_at = date(object, "end")?;
    }
    if let Some(due) = date(object, "due")? {
        task.input.due_at = Some(format_instant(due));
        task.map("due_at", "due");
    }
    for (key, label) in [("scheduled", "Scheduled"), ("wait", "Waiting until")] {
        if let Some(at) = date(object, key)? {
            append_paragraph(
                &mut task.input.description,
                &format!("{label}: {}", format_instant(at)),
            );
            task.drop_field(key, "tickler has no such date: noted in the description");
        }
    }
    match text("priority") {
        Some("H") => task.set_priority(Priority::High, "priority"),
        Some("M") => task.set_priority(Priority::Medium, "priority"),
        Some("L") => task.set_priority(Priority::Low, "priority"),
        Some(other) => task.drop_field("priority", format!("unknown priority {other:?}")),
        None => {}
    }
    if let Some(Value::Array(tags)) = object.get("tags") {
        for tag in tags.iter().filter_map(Value::as_str) {
            task.add_tag(tag, "tags");
        }
    }
    if let Some(project) = text("project") {
        task.add_tag(project, "project");
    }
    if let Some(Value::Array(annotations)) = object.get("annotations") {
        for annotation in annotations {
            let Some(body) = annotation.get("description").and_then(Value::as_str) else {
                continue;
            };
            let when = annotation
                .get("entry")
                .and_then(Value::as_str)
                .and_then(parse_date)
                .map(|at| format!("{}: ", format_instant(at)))
                .unwrap_or_default();
            append_paragraph(&mut task.input.description, &format!("{when}{body}"));
            task.map("description", "annotations");
        }
    }
    if let Some(period) = text("recur") {
        match taskwarrior_period_to_rrule(period) {
            Ok(mut rule) => {
                if let Some(until) = date(object, "until")? {
                    rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
                }
                task.set_recurrence(rule, RecurrenceMode::FromDue, "recur");
            }
            Err(reason) => task.drop_field("recur", reason),
        }
        if let Some(parent) = text("parent") {
            let index = object.get("imask").and_then(Value::as_f64).unwrap_or(0.0);
            task.series = Some(SeriesRef {
                key: parent.to_owned(),
                sequence: u32::try_from(index.max(0.0) as u64 + 1).unwrap_or(u32::MAX),
            });
        }
    } else if date(object, "until")?.is_some() {
        task.drop_field("until", "tickler does not expire tasks that do not repeat");
    }
    if object.contains_key("depends") {
        task.drop_field("depends", "tickler has no dependencies between tasks");
    }
    if object.contains_key("modified") {
        task.drop_field("modified", "tickler records its own time of last change");
    }
    let known = [
        "uuid",
        "status",
        "description",
        "entry",
        "start",
        "end",
        "due",
        "until",
        "scheduled",
        "wait",
        "recur",
        "project",
        "priority",
        "tags",
        "annotations",
        "depends",
        "modified",
    ];
    for key in object.keys() {
        if !known.contains(&key.as_str()) && !INTERNAL.contains(&key.as_str()) {
            task.drop_field(
                key.clone(),
                "a user-defined attribute tickler has no field for",
            );
        }
    }
    Ok(Row::Task(Box::new(task)))
}

fn date(object: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, String> {
    match object.get(key).and_then(Value::as_str) {
        None => Ok(None),
        Some(text) => parse_date(text)
            .map(Some)
            .ok_or_else(|| format!("{key} {text:?} is not a Taskwarrior date (YYYYMMDDTHHMMSSZ)")),
    }
}

fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|naive| naive.and_utc())
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.to_utc())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{options, rows};

    const EXPORT: &str = r#"[
{"id":0,"description":"Pay rent","end":"20260102T100000Z","entry":"20251201T090000Z","modified":"20260102T100000Z","parent":"aaaaaaaa-0000-4000-8000-000000000000","recur":"monthly","status":"completed","uuid":"11111111-0000-4000-8000-000000000001","imask":0,"due":"20260101T090000Z","urgency":0},
{"id":1,"description":"Pay rent","entry":"20251201T090000Z","parent":"aaaaaaaa-0000-4000-8000-000000000000","recur":"monthly","status":"pending","uuid":"11111111-0000-4000-8000-000000000002","imask":1,"due":"20260201T090000Z","tags":["home"],"project":"Flat.Money","priority":"H","urgency":9},
{"id":0,"description":"Pay rent","entry":"20251201T090000Z","mask":"+-","recur":"monthly","status":"recurring","uuid":"aaaaaaaa-0000-4000-8000-000000000000","due":"20260101T090000Z"},
{"id":0,"description":"Old","entry":"20251201T090000Z","status":"deleted","uuid":"22222222-0000-4000-8000-000000000000"},
{"id":2,"description":"no uuid"},
{"id":3,"description":"Read","entry":"20251201T090000Z","status":"pending","uuid":"33333333-0000-4000-8000-000000000000","annotations":[{"entry":"20251202T090000Z","description":"chapter 3"}],"scheduled":"20251205T090000Z","estimate":"2h"}
]"#;

    #[test]
    fn an_array_export_becomes_tasks_series_and_notes_with_lines() {
        let rows = rows(crate::Source::Taskwarrior, EXPORT);
        assert_eq!(rows.len(), 6);
        let Row::Task(done) = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(done.line, 2);
        assert_eq!(done.input.status, TaskStatus::Done);
        assert_eq!(done.input.recurrence.as_deref(), Some("FREQ=MONTHLY"));
        assert_eq!(done.series.as_ref().map(|s| s.sequence), Some(1));
        let Row::Task(open) = &rows[1] else {
            panic!("{:?}", rows[1])
        };
        assert_eq!(
            open.series.as_ref().map(|s| (s.key.as_str(), s.sequence)),
            Some(("aaaaaaaa-0000-4000-8000-000000000000", 2))
        );
        assert_eq!(open.input.tags, vec!["home", "flat-money"]);
        assert_eq!(open.input.priority, Priority::High);
        assert!(matches!(&rows[2], Row::NotCarried { reason, .. } if reason.contains("template")));
        assert!(matches!(&rows[3], Row::NotCarried { reason, .. } if reason.contains("deleted")));
        assert!(matches!(&rows[4], Row::Malformed { line: 6, .. }));
        let Row::Task(read) = &rows[5] else {
            panic!("{:?}", rows[5])
        };
        assert!(read.input.description.contains("chapter 3"));
        assert!(
            read.input
                .description
                .contains("Scheduled: 2025-12-05T09:00:00Z")
        );
        assert!(read.not_carried.iter().any(|n| n.field == "estimate"));
    }

    #[test]
    fn one_object_per_line_is_read_too_and_a_broken_line_is_skipped() {
        let text = "{\"uuid\":\"a\",\"description\":\"one\",\"status\":\"pending\"}\n{broken\n{\"uuid\":\"b\",\"description\":\"two\",\"status\":\"pending\"}\n";
        let rows = rows(crate::Source::Taskwarrior, text);
        assert!(matches!(&rows[0], Row::Task(task) if task.input.title == "one"));
        assert!(matches!(&rows[1], Row::Malformed { line: 2, .. }));
        assert!(matches!(&rows[2], Row::Task(task) if task.input.title == "two" && task.line == 3));
        let _ = options();
    }
}
