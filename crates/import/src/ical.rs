//! iCalendar (RFC 5545): each `VTODO`, and each `VEVENT` as a dated task.
//!
//! Properties are those of RFC 5545: `UID`, `RECURRENCE-ID`, `SUMMARY`, `DESCRIPTION`, `DUE`
//! (`VTODO`) or `DTSTART` (`VEVENT`, and a `VTODO` without `DUE`) with `TZID` or `VALUE=DATE`
//! (section 3.3.4/3.3.5), `RRULE` (3.3.10), `CATEGORIES`, `PRIORITY` (3.8.1.9: 1 highest ... 9
//! lowest, 0 undefined), `STATUS` (3.8.1.11), `COMPLETED`, `CREATED`, `LOCATION`, `URL`, and
//! `VALARM`'s `TRIGGER` (3.8.6.3, relative or `VALUE=DATE-TIME`). Content lines are unfolded
//! as they are read (3.1), so a calendar of any size streams.

use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use tickler_domain::task::format_instant;
use tickler_domain::{Priority, Recurrence, RecurrenceMode, ReminderSpec, TaskStatus, TimeZone};

use crate::text::{append_paragraph, fnv64};
use crate::{ImportedTask, ReadError, ReadOptions, Row};

/// Properties that describe the calendar object itself, left out without a note.
const BOOKKEEPING: [&str; 6] = [
    "DTSTAMP",
    "SEQUENCE",
    "LAST-MODIFIED",
    "DTEND",
    "DURATION",
    "CLASS",
];

/// One content line: name, parameters, value.
#[derive(Debug, Clone)]
struct Property {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Property {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug, Default)]
struct Component {
    kind: String,
    line: u64,
    properties: Vec<Property>,
    alarms: Vec<Vec<Property>>,
}

pub(crate) fn read(
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let mut reader = BufReader::new(input);
    let mut physical = String::new();
    let mut logical = String::new();
    let mut logical_line = 0;
    let mut number = 0u64;
    let mut state = Parser::default();
    let mut saw_calendar = false;
    loop {
        physical.clear();
        let read = reader.read_line(&mut physical)?;
        let text = physical.trim_end_matches(['\r', '\n']);
        if read > 0 && (text.starts_with(' ') || text.starts_with('\t')) {
            logical.push_str(&text[1..]);
            number += 1;
            continue;
        }
        if !logical.is_empty() {
            saw_calendar |= logical.eq_ignore_ascii_case("BEGIN:VCALENDAR");
            if !saw_calendar {
                return Err(ReadError::NotThisFormat {
                    line: logical_line,
                    reason: "not an iCalendar file: it does not begin with BEGIN:VCALENDAR"
                        .to_owned(),
                });
            }
            if let Some(row) = state.line(&logical, logical_line, options)
                && !sink(row)
            {
                return Ok(());
            }
        }
        if read == 0 {
            return Ok(());
        }
        number += 1;
        logical.clear();
        logical.push_str(text);
        logical_line = number;
    }
}

#[derive(Debug, Default)]
struct Parser {
    current: Option<Component>,
    alarm: Option<Vec<Property>>,
    /// Depth inside components we skip (VTIMEZONE, VJOURNAL, ...).
    skipping: u32,
}

impl Parser {
    fn line(&mut self, text: &str, line: u64, options: &ReadOptions) -> Option<Row> {
        let Some(property) = parse_property(text) else {
            return Some(Row::Malformed {
                line,
                reason: format!(
                    "not an iCalendar content line: {:?}",
                    text.chars().take(60).collect::<String>()
                ),
            });
        };
        let value = property.value.to_ascii_uppercase();
        match property.name.as_str() {
            "BEGIN" if self.skipping > 0 => self.skipping += 1,
            "END" if self.skipping > 0 => self.skipping -= 1,
            _ if self.skipping > 0 => {}
            "BEGIN" if value == "VCALENDAR" => {}
            "BEGIN" if (value == "VTODO" || value == "VEVENT") && self.current.is_none() => {
                self.current = Some(Component {
                    kind: value,
                    line,
                    ..Component::default()
                });
            }
            "BEGIN" if value == "VALARM" && self.current.is_some() => self.alarm = Some(Vec::new()),
            "BEGIN" => {
                self.skipping = 1;
                if value == "VJOURNAL" {
                    return Some(Row::NotCarried {
                        line,
                        source_id: None,
                        reason: "a journal entry (VJOURNAL): tickler holds tasks".to_owned(),
                    });
                }
            }
            "END" if value == "VALARM" => {
                if let (Some(alarm), Some(component)) = (self.alarm.take(), &mut self.current) {
                    component.alarms.push(alarm);
                }
            }
            "END" if value == "VTODO" || value == "VEVENT" => {
                let component = self.current.take()?;
                return Some(row_of(component, options));
            }
            "END" => {}
            _ => {
                if let Some(alarm) = &mut self.alarm {
                    alarm.push(property);
                } else if let Some(component) = &mut self.current {
                    component.properties.push(property);
                }
            }
        }
        None
    }
}

fn parse_property(text: &str) -> Option<Property> {
    // The value starts at the first colon outside a quoted parameter value.
    let mut quoted = false;
    let colon = text.char_indices().find_map(|(index, c)| match c {
        '"' => {
            quoted = !quoted;
            None
        }
        ':' if !quoted => Some(index),
        _ => None,
    })?;
    let (head, value) = (&text[..colon], &text[colon + 1..]);
    let mut parts = head.split(';');
    let name = parts.next()?.trim().to_ascii_uppercase();
    if name.is_empty() {
        return None;
    }
    let params = parts
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            Some((key.to_ascii_uppercase(), value.trim_matches('"').to_owned()))
        })
        .collect();
    Some(Property {
        name,
        params,
        value: value.to_owned(),
    })
}

/// Undoes RFC 5545 TEXT escaping (3.3.11).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits a TEXT list on unescaped commas.
fn split_list(text: &str) -> Vec<String> {
    let mut items = vec![String::new()];
    let mut escaped = false;
    for c in text.chars() {
        match (escaped, c) {
            (false, '\\') => escaped = true,
            (false, ',') => items.push(String::new()),
            (true, 'n' | 'N') => {
                escaped = false;
                if let Some(item) = items.last_mut() {
                    item.push('\n');
                }
            }
            (_, c) => {
                escaped = false;
                if let Some(item) = items.last_mut() {
                    item.push(c);
                }
            }
        }
    }
    items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect()
}

/// A DATE or DATE-TIME value: the instant and whether it is a whole day, plus the zone named by
/// `TZID` when it is an IANA zone.
fn date_value(
    property: &Property,
    default_zone: TimeZone,
) -> Result<(DateTime<Utc>, bool, Option<TimeZone>), String> {
    let value = property.value.trim();
    let zone = property
        .param("TZID")
        .map(|name| TimeZone::parse(name.trim_start_matches('/')));
    let zone_used = match &zone {
        Some(Ok(zone)) => *zone,
        Some(Err(_)) => {
            return Err(format!(
                "TZID {:?} is not an IANA time zone",
                property.param("TZID").unwrap_or_default()
            ));
        }
        None => default_zone,
    };
    if property
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || value.len() == 8
    {
        let day = NaiveDate::parse_from_str(value, "%Y%m%d")
            .map_err(|_| format!("{} {value:?} is not a DATE", property.name))?;
        return Ok((zone_used.start_of_day(day), true, zone.and_then(Result::ok)));
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("{} {value:?} is not a DATE-TIME", property.name))?;
        return Ok((naive.and_utc(), false, None));
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .map_err(|_| format!("{} {value:?} is not a DATE-TIME", property.name))?;
    Ok((
        zone_used.resolve_lenient(naive),
        false,
        zone.and_then(Result::ok),
    ))
}

fn row_of(component: Component, options: &ReadOptions) -> Row {
    let line = component.line;
    match task_of(component, options) {
        Ok(row) => row,
        Err(reason) => Row::Malformed { line, reason },
    }
}

fn task_of(component: Component, options: &ReadOptions) -> Result<Row, String> {
    let find = |name: &str| component.properties.iter().find(|p| p.name == name);
    let summary = find("SUMMARY")
        .map(|p| unescape(&p.value))
        .unwrap_or_default();
    if summary.trim().is_empty() {
        return Err(format!("the {} has no SUMMARY", component.kind));
    }
    let uid = find("UID")
        .map(|p| p.value.trim().to_owned())
        .filter(|uid| !uid.is_empty());
    let source_id = match (uid, find("RECURRENCE-ID")) {
        (Some(uid), Some(recurrence)) => format!("{uid}#{}", recurrence.value.trim()),
        (Some(uid), None) => uid,
        (None, _) => format!("{}:{}", component.line, fnv64(&[&summary])),
    };
    let is_todo = component.kind == "VTODO";
    let status = find("STATUS").map(|p| p.value.trim().to_ascii_uppercase());
    if status.as_deref() == Some("CANCELLED") {
        return Ok(Row::NotCarried {
            line: component.line,
            source_id: Some(source_id),
            reason: format!("a cancelled {}", component.kind),
        });
    }
    let mut task = ImportedTask::new(component.line, source_id);
    task.set_title(&summary, "SUMMARY");
    if let Some(description) = find("DESCRIPTION") {
        append_paragraph(&mut task.input.description, &unescape(&description.value));
        task.map("description", "DESCRIPTION");
    }
    for (name, label) in [("LOCATION", "Location"), ("URL", "Link")] {
        if let Some(property) = find(name) {
            append_paragraph(
                &mut task.input.description,
                &format!("{label}: {}", unescape(&property.value)),
            );
            task.map(
                "description",
                if name == "LOCATION" {
                    "LOCATION"
                } else {
                    "URL"
                },
            );
        }
    }
    let date_property = if is_todo {
        find("DUE").or_else(|| find("DTSTART"))
    } else {
        find("DTSTART")
    };
    if let Some(property) = date_property {
        let (at, all_day, zone) = date_value(property, options.zone)?;
        let zone_used = zone.unwrap_or(options.zone);
        if let Some(zone) = zone {
            task.input.timezone = Some(zone.name().to_owned());
            task.map(
                "timezone",
                if property.name == "DUE" {
                    "DUE;TZID"
                } else {
                    "DTSTART;TZID"
                },
            );
        }
        task.input.all_day = all_day;
        task.input.due_at = Some(if all_day {
            zone_used.local_date(at).to_string()
        } else {
            format_instant(at)
        });
        task.map(
            "due_at",
            if property.name == "DUE" {
                "DUE"
            } else {
                "DTSTART"
            },
        );
        if is_todo && property.name == "DUE" && find("DTSTART").is_some() {
            task.drop_field("DTSTART", "tickler has one date per task (the DUE date)");
        }
    }
    if let Some(rule) = find("RRULE") {
        let body = rule.value.trim();
        match (task.input.due_at.is_some(), Recurrence::parse(body)) {
            (true, Ok(_)) => task.set_recurrence(body.to_owned(), RecurrenceMode::FromDue, "RRULE"),
            (false, _) => task.drop_field("RRULE", "a repeating task needs a DUE or DTSTART"),
            (true, Err(error)) => task.drop_field("RRULE", format!("{body:?}: {error}")),
        }
    }
    for name in ["RDATE", "EXDATE"] {
        if find(name).is_some() {
            task.drop_field(name, "tickler repeats by rule only");
        }
    }
    for categories in component
        .properties
        .iter()
        .filter(|p| p.name == "CATEGORIES")
    {
        for category in split_list(&categories.value) {
            task.add_tag(&category, "CATEGORIES");
        }
    }
    if let Some(priority) = find("PRIORITY") {
        task.set_priority(
            match priority.value.trim() {
                "0" | "" => Priority::None,
                "1" => Priority::Urgent,
                "2" | "3" | "4" => Priority::High,
                "5" => Priority::Medium,
                "6" | "7" | "8" | "9" => Priority::Low,
                other => return Err(format!("PRIORITY {other:?} is not 0 to 9")),
            },
            "PRIORITY",
        );
    }
    match status.as_deref() {
        Some("COMPLETED") => task.set_status(TaskStatus::Done, "STATUS"),
        Some("IN-PROCESS") => task.set_status(TaskStatus::InProgress, "STATUS"),
        _ if find("COMPLETED").is_some() => task.set_status(TaskStatus::Done, "COMPLETED"),
        _ => {}
    }
    let utc_of = |name: &str| -> Result<Option<DateTime<Utc>>, String> {
        find(name)
            .map(|p| date_value(p, options.zone).map(|(at, _, _)| at))
            .transpose()
    };
    task.created_at = utc_of("CREATED")?;
    if task.input.status == TaskStatus::Done {
        task.completed_at = utc_of("COMPLETED")?;
    }
    for alarm in &component.alarms {
        let Some(trigger) = alarm.iter().find(|p| p.name == "TRIGGER") else {
            continue;
        };
        let spec = if trigger
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE-TIME"))
        {
            date_value(trigger, options.zone).map(|(at, _, _)| format_instant(at))
        } else if trigger
            .param("RELATED")
            .is_some_and(|v| v.eq_ignore_ascii_case("END"))
            && !is_todo
        {
            Err("relative to the event's end, which tickler does not keep".to_owned())
        } else {
            Ok(trigger.value.trim().to_owned())
        };
        match spec.and_then(|text| ReminderSpec::parse(&text).map_err(|error| error.to_string())) {
            Ok(spec) if task.input.due_at.is_some() || !spec.is_relative() => {
                task.input.reminders.push(spec.to_string());
                task.map("reminders", "VALARM TRIGGER");
            }
            Ok(_) => task.drop_field("VALARM", "relative to a date the task does not have"),
            Err(reason) => {
                task.drop_field("VALARM", format!("TRIGGER {:?}: {reason}", trigger.value))
            }
        }
    }
    let known = [
        "UID",
        "RECURRENCE-ID",
        "SUMMARY",
        "DESCRIPTION",
        "LOCATION",
        "URL",
        "DUE",
        "DTSTART",
        "RRULE",
        "RDATE",
        "EXDATE",
        "CATEGORIES",
        "PRIORITY",
        "STATUS",
        "COMPLETED",
        "CREATED",
    ];
    let mut reported: Vec<&str> = Vec::new();
    for property in &component.properties {
        let name = property.name.as_str();
        if known.contains(&name) || BOOKKEEPING.contains(&name) || reported.contains(&name) {
            continue;
        }
        reported.push(name);
        task.drop_field(name, "tickler has no field for it");
    }
    Ok(Row::Task(Box::new(task)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::rows;

    const CALENDAR: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VTODO\r\nUID:t1@example\r\nSUMMARY:Renew passport\\, urgently\r\nDESCRIPTION:Bring two photos\\nand the old one\r\n\
DUE;TZID=Europe/Berlin:20261210T090000\r\nRRULE:FREQ=YEARLY\r\nCATEGORIES:papers,Home Office\r\nPRIORITY:1\r\n\
STATUS:NEEDS-ACTION\r\nX-APPLE-SORT-ORDER:3\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT30M\r\nEND:VALARM\r\nEND:VTODO\r\n\
BEGIN:VEVENT\r\nUID:e1@example\r\nSUMMARY:Dentist with a very long\r\n  name\r\nDTSTART;VALUE=DATE:20261215\r\nEND:VEVENT\r\n\
BEGIN:VTODO\r\nUID:t2@example\r\nDUE:20261201T080000Z\r\nEND:VTODO\r\n\
BEGIN:VTODO\r\nUID:t3@example\r\nSUMMARY:Done thing\r\nSTATUS:COMPLETED\r\nCOMPLETED:20261101T080000Z\r\nEND:VTODO\r\n\
END:VCALENDAR\r\n";

    #[test]
    fn todos_and_events_become_tasks_with_zones_alarms_and_rules() {
        let rows = rows(crate::Source::Ical, CALENDAR);
        assert_eq!(rows.len(), 4, "{rows:?}");
        let Row::Task(passport) = &rows[0] else {
            panic!("{:?}", rows[0])
        };
        assert_eq!(passport.input.title, "Renew passport, urgently");
        assert_eq!(
            passport.input.description,
            "Bring two photos\nand the old one"
        );
        assert_eq!(
            passport.input.due_at.as_deref(),
            Some("2026-12-10T08:00:00Z")
        );
        assert_eq!(passport.input.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(passport.input.recurrence.as_deref(), Some("FREQ=YEARLY"));
        assert_eq!(passport.input.tags, vec!["papers", "home-office"]);
        assert_eq!(passport.input.priority, Priority::Urgent);
        assert_eq!(passport.input.reminders, vec!["-PT30M"]);
        assert!(
            passport
                .not_carried
                .iter()
                .any(|n| n.field == "X-APPLE-SORT-ORDER")
        );
        let Row::Task(dentist) = &rows[1] else {
            panic!("{:?}", rows[1])
        };
        assert_eq!(dentist.input.title, "Dentist with a very long name");
        assert_eq!(dentist.input.due_at.as_deref(), Some("2026-12-15"));
        assert!(dentist.input.all_day);
        assert!(matches!(&rows[2], Row::Malformed { reason, .. } if reason.contains("SUMMARY")));
        let Row::Task(done) = &rows[3] else {
            panic!("{:?}", rows[3])
        };
        assert_eq!(done.input.status, TaskStatus::Done);
        assert!(done.completed_at.is_some());
    }

    #[test]
    fn a_file_that_is_not_a_calendar_is_refused() {
        let mut sink = |_row: Row| true;
        let result = crate::read(
            crate::Source::Ical,
            "hello\n".as_bytes(),
            &crate::tests::options(),
            &mut sink,
        );
        assert!(matches!(result, Err(ReadError::NotThisFormat { .. })));
    }
}
