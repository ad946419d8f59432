//! TickTick's CSV backup (Settings → Account → Generate backup).
//!
//! TickTick publishes no specification of this file; the columns are the ones its own header
//! row names, after a few preamble lines (`Date:`, `Version:`, `Status:` with the legend
//! `0 Normal, 1 Completed, 2 Archived`): `Folder Name`, `List Name`, `Title`, `Kind` (`TEXT`,
//! `CHECKLIST`, `NOTE`), `Tags` (comma-separated), `Content`, `Is Check list`, `Start Date`,
//! `Due Date` (`2026-03-01T09:00:00+0000`), `Reminder` (RFC 5545 `TRIGGER` values), `Repeat`
//! (an RFC 5545 `RRULE:` line), `Priority` (0 none, 1 low, 3 medium, 5 high, as TickTick's
//! Open API documents it), `Status`, `Created Time`, `Completed Time`, `Order`, `Timezone`,
//! `Is All Day`, `Is Floating`, `Column Name`, `Column Order`, `View Mode`, `taskId`,
//! `parentId`. Columns are found by name, so older backups with fewer columns read too.

use std::io::Read;

use chrono::{DateTime, NaiveDateTime, Utc};
use tickler_domain::task::format_instant;
use tickler_domain::{Priority, Recurrence, RecurrenceMode, ReminderSpec, TaskStatus, TimeZone};

use crate::csv_rows::{self, Header};
use crate::text::{append_paragraph, fnv64};
use crate::{ImportedTask, ReadError, ReadOptions, Row};

pub(crate) fn read(
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let mut reader = csv_rows::reader(input);
    let mut header: Option<Header> = None;
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = csv_rows::error_line(&error);
                if header.is_none() {
                    return Err(ReadError::NotThisFormat {
                        line,
                        reason: format!("not a TickTick backup: {error}"),
                    });
                }
                if !sink(Row::Malformed {
                    line,
                    reason: format!("unreadable CSV row: {error}"),
                }) {
                    return Ok(());
                }
                continue;
            }
        };
        let Some(columns) = &header else {
            let first = record
                .get(0)
                .unwrap_or_default()
                .trim()
                .trim_start_matches('\u{feff}');
            if first.eq_ignore_ascii_case("Folder Name") || first.eq_ignore_ascii_case("Title") {
                let found = Header::new(&record);
                if !found.has("Title") {
                    return Err(ReadError::NotThisFormat {
                        line: csv_rows::line_of(&record),
                        reason: "not a TickTick backup: the header has no Title column".to_owned(),
                    });
                }
                header = Some(found);
            }
            continue;
        };
        let line = csv_rows::line_of(&record);
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        let row = match task_of(columns, &record, line, options) {
            Ok(task) => Row::Task(Box::new(task)),
            Err(reason) => Row::Malformed { line, reason },
        };
        if !sink(row) {
            return Ok(());
        }
    }
    if header.is_none() {
        return Err(ReadError::NotThisFormat {
            line: 1,
            reason: "not a TickTick backup: no header row with Folder Name and Title".to_owned(),
        });
    }
    Ok(())
}

fn task_of(
    header: &Header,
    record: &csv::StringRecord,
    line: u64,
    options: &ReadOptions,
) -> Result<ImportedTask, String> {
    let column = |name: &str| header.get(record, name);
    let title = column("Title");
    if title.is_empty() {
        return Err("the task has no Title".to_owned());
    }
    let source_id = match column("taskId") {
        "" => format!("{line}:{}", fnv64(&[title, column("Created Time")])),
        id => id.to_owned(),
    };
    let mut task = ImportedTask::new(line, source_id);
    task.set_title(title, "Title");
    let content = column("Content");
    if !content.is_empty() {
        append_paragraph(&mut task.input.description, content);
        task.map("description", "Content");
    }
    if column("Kind").eq_ignore_ascii_case("NOTE") {
        task.drop_field("Kind", "tickler has no notes: imported as a task");
    }
    for name in ["Folder Name", "List Name"] {
        let value = column(name);
        if !value.is_empty() {
            task.add_tag(
                value,
                if name == "Folder Name" {
                    "Folder Name"
                } else {
                    "List Name"
                },
            );
        }
    }
    for tag in column("Tags")
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
    {
        task.add_tag(tag, "Tags");
    }
    task.set_priority(
        match column("Priority") {
            "" | "0" => Priority::None,
            "1" => Priority::Low,
            "3" => Priority::Medium,
            "5" => Priority::High,
            other => return Err(format!("Priority {other:?} is not 0, 1, 3 or 5")),
        },
        "Priority",
    );
    match column("Status") {
        "" | "0" => task.set_status(TaskStatus::Todo, "Status"),
        "1" => task.set_status(TaskStatus::Done, "Status"),
        "2" => {
            task.set_status(TaskStatus::Done, "Status");
            task.drop_field("Status", "archived in TickTick: imported as done");
        }
        other => return Err(format!("Status {other:?} is not 0, 1 or 2")),
    }
    let zone_name = column("Timezone");
    let mut zone = options.zone;
    if !zone_name.is_empty() {
        match TimeZone::parse(zone_name) {
            Ok(parsed) => {
                zone = parsed;
                task.input.timezone = Some(parsed.name().to_owned());
                task.map("timezone", "Timezone");
            }
            Err(_) => task.drop_field(
                "Timezone",
                format!("{zone_name:?} is not an IANA time zone"),
            ),
        }
    }
    task.created_at = date(column("Created Time"), "Created Time")?;
    if task.input.status == TaskStatus::Done {
        task.completed_at = date(column("Completed Time"), "Completed Time")?;
    }
    let start = date(column("Start Date"), "Start Date")?;
    let due = date(column("Due Date"), "Due Date")?;
    let all_day = column("Is All Day").eq_ignore_ascii_case("true");
    // A TickTick task with one date has it as both start and due; a range keeps its end.
    if let Some(at) = due.or(start) {
        task.input.all_day = all_day;
        task.input.due_at = Some(if all_day {
            zone.local_date(at).to_string()
        } else {
            format_instant(at)
        });
        task.map(
            "due_at",
            if due.is_some() {
                "Due Date"
            } else {
                "Start Date"
            },
        );
        if let (Some(start), Some(due)) = (start, due)
            && start != due
        {
            append_paragraph(
                &mut task.input.description,
                &format!("Starts: {}", format_instant(start)),
            );
            task.drop_field(
                "Start Date",
                "tickler has one date per task: noted in the description",
            );
        }
    }
    let repeat = column("Repeat");
    if !repeat.is_empty() {
        let rule = repeat.strip_prefix("RRULE:").unwrap_or(repeat);
        match (task.input.due_at.is_some(), Recurrence::parse(rule)) {
            (true, Ok(_)) => {
                task.set_recurrence(rule.to_owned(), RecurrenceMode::FromDue, "Repeat")
            }
            (false, _) => task.drop_field("Repeat", "a repeating task needs a date in tickler"),
            (true, Err(error)) => task.drop_field("Repeat", format!("{rule:?}: {error}")),
        }
    }
    for trigger in column("Reminder")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let value = trigger.strip_prefix("TRIGGER:").unwrap_or(trigger);
        match ReminderSpec::parse(value) {
            Ok(spec) if task.input.due_at.is_some() || !spec.is_relative() => {
                task.input.reminders.push(spec.to_string());
                task.map("reminders", "Reminder");
            }
            Ok(_) => task.drop_field(
                "Reminder",
                "a reminder relative to a date the task does not have",
            ),
            Err(error) => task.drop_field("Reminder", format!("{trigger:?}: {error}")),
        }
    }
    if column("Is Floating").eq_ignore_ascii_case("true") {
        task.drop_field(
            "Is Floating",
            "tickler reads every date in the task's time zone",
        );
    }
    if !column("parentId").is_empty() {
        task.drop_field(
            "parentId",
            "tickler has no sub-tasks: imported as its own task",
        );
    }
    if !column("Column Name").is_empty() {
        task.drop_field("Column Name", "tickler has no kanban columns");
    }
    Ok(task)
}

fn date(text: &str, column: &str) -> Result<Option<DateTime<Utc>>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .map(|at| at.to_utc())
        .or_else(|_| DateTime::parse_from_rfc3339(text).map(|at| at.to_utc()))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").map(|n| n.and_utc()))
        .map(Some)
        .map_err(|_| format!("{column} {text:?} is not a date TickTick writes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rows;

    const BACKUP: &str = "\"Date: 2026-11-30+0000\"\n\"Version: 7.1\"\n\"Status: \n0 Normal\n1 Completed\n2 Archived\"\n\
\"Folder Name\",\"List Name\",\"Title\",\"Kind\",\"Tags\",\"Content\",\"Is Check list\",\"Start Date\",\"Due Date\",\"Reminder\",\"Repeat\",\"Priority\",\"Status\",\"Created Time\",\"Completed Time\",\"Order\",\"Timezone\",\"Is All Day\",\"Is Floating\",\"Column Name\",\"Column Order\",\"View Mode\",\"taskId\",\"parentId\"\n\
\"Life\",\"Home\",\"Water plants\",\"TEXT\",\"garden, weekly chores\",\"the ficus too\",\"N\",\"2026-12-07T08:00:00+0000\",\"2026-12-07T08:00:00+0000\",\"TRIGGER:-PT15M\",\"RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO\",\"5\",\"0\",\"2026-11-01T10:00:00+0000\",\"\",\"0\",\"Europe/London\",\"false\",\"false\",\"\",\"\",\"list\",\"abc1\",\"\"\n\
\"\",\"Inbox\",\"Call bank\",\"TEXT\",\"\",\"\",\"N\",\"2026-12-01T00:00:00+0000\",\"2026-12-01T00:00:00+0000\",\"\",\"\",\"0\",\"1\",\"2026-11-01T10:00:00+0000\",\"2026-11-02T10:00:00+0000\",\"0\",\"Europe/London\",\"true\",\"false\",\"\",\"\",\"list\",\"abc2\",\"\"\n\
\"\",\"Inbox\",\"Bad\",\"TEXT\",\"\",\"\",\"N\",\"\",\"yesterday\",\"\",\"\",\"0\",\"0\",\"\",\"\",\"0\",\"\",\"false\",\"false\",\"\",\"\",\"list\",\"abc3\",\"\"\n";

    #[test]
    fn a_backup_becomes_tasks_after_its_preamble() {
        let rows = rows(crate::Source::Ticktick, BACKUP);
        assert_eq!(rows.len(), 3, "{rows:?}");
        let Row::Task(water) = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(water.source_id, "abc1");
        assert_eq!(
            water.input.tags,
            vec!["life", "home", "garden", "weekly-chores"]
        );
        assert_eq!(water.input.priority, Priority::High);
        assert_eq!(
            water.input.recurrence.as_deref(),
            Some("FREQ=WEEKLY;INTERVAL=1;BYDAY=MO")
        );
        assert_eq!(water.input.reminders, vec!["-PT15M"]);
        assert_eq!(water.input.due_at.as_deref(), Some("2026-12-07T08:00:00Z"));
        let Row::Task(bank) = &rows[1] else {
            panic!("{:?}", rows[1])
        };
        assert_eq!(bank.input.status, TaskStatus::Done);
        assert_eq!(bank.input.due_at.as_deref(), Some("2026-12-01"));
        assert!(bank.completed_at.is_some());
        assert!(matches!(&rows[2], Row::Malformed { reason, .. } if reason.contains("Due Date")));
    }
}
