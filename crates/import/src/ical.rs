//! iCalendar (RFC 5545): each `VTODO`, and each `VEVENT` as a dated task.
//!
//! Properties are those of RFC 5545: `UID`, `RECURRENCE-ID`, `SUMMARY`, `DESCRIPTION`, `DUE`
//! (`VTODO`) or `DTSTART` (`VEVENT`, and a `VTODO` without `DUE`) with `TZID` or `VALUE=DATE`
//! (section 3.3.4/3.3.5), `RRULE` (3.3.10), `CATEGORIES`, `PRIORITY` (3.8.1.9: 1 highest ... 9
//! lowest, 0 undefined), `STATUS` (3.8.1.11), `COMPLETED`, `CREATED`, `LOCATION`, `URL`, and
//! `VALARM`'s `TRIGGER` (3.8.6.3, relative or `VALUE=DATE-TIME`). Content lines are unfolded
//! as they are read (3.1), so a calendar of any size streams. tickler's own writer
//! (`tickler-ical`) adds `X-TICKLER-TZ`, the item's IANA zone where no `TZID` names it (an
//! all-day or undated task, a due time written in UTC): it is read back as the task's zone.
//!
//! A `TZID` that is not an IANA name is resolved in turn: a Windows zone name (Outlook,
//! Exchange) through CLDR's table ([`crate::windows_zones`]); otherwise the file's own
//! `VTIMEZONE` of that `TZID`, at its standard-time offset (`TZOFFSETTO` of its last
//! `STANDARD`, else of its last `DAYLIGHT`); otherwise UTC. The last two keep the item, with a
//! note in the report saying how its time was read; the task then takes the account's zone.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta, Utc};
use tickler_domain::task::format_instant;
use tickler_domain::{Priority, Recurrence, RecurrenceMode, ReminderSpec, TaskStatus, TimeZone};

use crate::text::{append_paragraph, fnv64};
use crate::{ImportedTask, ReadError, ReadOptions, Row};

/// tickler's property naming an item's IANA zone where no `TZID` does (`tickler_ical::ZONE_PROPERTY`).
const ZONE_PROPERTY: &str = "X-TICKLER-TZ";

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
    /// Depth inside components we skip (VJOURNAL, ...).
    skipping: u32,
    /// The `VTIMEZONE` being read.
    vtimezone: Option<Vtimezone>,
    /// The UTC offset (seconds) of each `VTIMEZONE` read so far, by `TZID`.
    offsets: HashMap<String, i32>,
}

/// What a `VTIMEZONE` says that tickler uses: its `TZID` and offsets.
#[derive(Debug, Default)]
struct Vtimezone {
    tzid: Option<String>,
    /// Inside `STANDARD` (true) or `DAYLIGHT` (false), if in either.
    inside_standard: Option<bool>,
    standard: Option<i32>,
    daylight: Option<i32>,
}

impl Vtimezone {
    fn line(&mut self, property: &Property, value: &str) {
        match property.name.as_str() {
            "BEGIN" => self.inside_standard = Some(value == "STANDARD"),
            "END" => self.inside_standard = None,
            "TZID" => self.tzid = Some(property.value.trim().to_owned()),
            "TZOFFSETTO" => {
                let offset = utc_offset(&property.value);
                match self.inside_standard {
                    Some(true) => self.standard = offset.or(self.standard),
                    Some(false) => self.daylight = offset.or(self.daylight),
                    None => {}
                }
            }
            _ => {}
        }
    }
}

/// An RFC 5545 UTC-OFFSET (`+0100`, `-053000`) in seconds.
fn utc_offset(text: &str) -> Option<i32> {
    let text = text.trim();
    let sign = match text.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let digits = text.get(1..)?;
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = |range: std::ops::Range<usize>| digits.get(range)?.parse::<i32>().ok();
    let hours = number(0..2)?;
    let minutes = number(2..4)?;
    let seconds = if digits.len() == 6 { number(4..6)? } else { 0 };
    Some(sign * (hours * 3600 + minutes * 60 + seconds))
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
        if let Some(vtimezone) = &mut self.vtimezone {
            if property.name == "END" && value == "VTIMEZONE" {
                if let Some(zone) = self.vtimezone.take()
                    && let (Some(tzid), Some(offset)) = (zone.tzid, zone.standard.or(zone.daylight))
                {
                    self.offsets.insert(tzid, offset);
                }
            } else {
                vtimezone.line(&property, &value);
            }
            return None;
        }
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
            "BEGIN" if value == "VTIMEZONE" && self.current.is_none() => {
                self.vtimezone = Some(Vtimezone::default());
            }
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
                return Some(row_of(component, options, &self.offsets));
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

/// A DATE or DATE-TIME value.
#[derive(Debug)]
struct DateValue {
    at: DateTime<Utc>,
    all_day: bool,
    /// The IANA zone its `TZID` names (directly or as a Windows name).
    zone: Option<TimeZone>,
    /// How a `TZID` that names no known zone was read, for the report.
    note: Option<String>,
}

/// How a `TZID` is read.
enum ZoneOf {
    Known(TimeZone),
    /// A fixed offset (seconds) from the file's `VTIMEZONE`.
    Offset(i32),
    Utc,
}

/// Resolves a `TZID`: an IANA name, a Windows name (CLDR), the file's `VTIMEZONE` offset, or
/// UTC; the last two with the note to report.
fn zone_of(tzid: &str, offsets: &HashMap<String, i32>) -> (ZoneOf, Option<String>) {
    if let Ok(zone) = TimeZone::parse(tzid.trim_start_matches('/')) {
        return (ZoneOf::Known(zone), None);
    }
    if let Some(zone) = crate::windows_zones::iana_name(tzid).and_then(|n| TimeZone::parse(n).ok())
    {
        return (ZoneOf::Known(zone), None);
    }
    if let Some(offset) = offsets.get(tzid) {
        let (sign, abs) = if *offset < 0 {
            ('-', -offset)
        } else {
            ('+', *offset)
        };
        let note = format!(
            "TZID {tzid:?} is neither an IANA nor a Windows time zone: the time was read at the \
             UTC offset {sign}{:02}:{:02} of the file's VTIMEZONE (its standard time; daylight \
             saving rules are not applied), and the task takes the account's time zone",
            abs / 3600,
            abs % 3600 / 60
        );
        return (ZoneOf::Offset(*offset), Some(note));
    }
    let note = format!(
        "TZID {tzid:?} is neither an IANA nor a Windows time zone, and the file has no VTIMEZONE \
         for it: the time was read as UTC, and the task takes the account's time zone"
    );
    (ZoneOf::Utc, Some(note))
}

/// A DATE or DATE-TIME value in `default_zone` unless its `TZID` names another.
fn date_value(
    property: &Property,
    default_zone: TimeZone,
    offsets: &HashMap<String, i32>,
) -> Result<DateValue, String> {
    let value = property.value.trim();
    let (zone_of, note) = match property.param("TZID") {
        Some(tzid) => zone_of(tzid, offsets),
        None => (ZoneOf::Known(default_zone), None),
    };
    let zone = match zone_of {
        ZoneOf::Known(zone) if property.param("TZID").is_some() => Some(zone),
        _ => None,
    };
    if property
        .param("VALUE")
        .is_some_and(|v| v.eq_ignore_ascii_case("DATE"))
        || value.len() == 8
    {
        let day = NaiveDate::parse_from_str(value, "%Y%m%d")
            .map_err(|_| format!("{} {value:?} is not a DATE", property.name))?;
        // A day is that day in its zone; in the item's (or the account's) when no known one.
        let at = zone.unwrap_or(default_zone).start_of_day(day);
        return Ok(DateValue {
            at,
            all_day: true,
            zone,
            note,
        });
    }
    if let Some(utc) = value.strip_suffix('Z') {
        let naive = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map_err(|_| format!("{} {value:?} is not a DATE-TIME", property.name))?;
        return Ok(DateValue {
            at: naive.and_utc(),
            all_day: false,
            zone: None,
            note: None,
        });
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S")
        .map_err(|_| format!("{} {value:?} is not a DATE-TIME", property.name))?;
    let at = match zone_of {
        ZoneOf::Known(zone) => zone.resolve_lenient(naive),
        ZoneOf::Offset(offset) => (naive - TimeDelta::seconds(i64::from(offset))).and_utc(),
        ZoneOf::Utc => naive.and_utc(),
    };
    Ok(DateValue {
        at,
        all_day: false,
        zone,
        note,
    })
}

fn row_of(component: Component, options: &ReadOptions, offsets: &HashMap<String, i32>) -> Row {
    let line = component.line;
    match task_of(component, options, offsets) {
        Ok(row) => row,
        Err(reason) => Row::Malformed { line, reason },
    }
}

fn task_of(
    component: Component,
    options: &ReadOptions,
    offsets: &HashMap<String, i32>,
) -> Result<Row, String> {
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
    // The zone tickler's writer names for items without a TZID: their dates are in it.
    let named_zone = match find(ZONE_PROPERTY) {
        Some(property) => match TimeZone::parse(property.value.trim()) {
            Ok(zone) => Some(zone),
            Err(_) => {
                task.drop_field(
                    ZONE_PROPERTY,
                    format!("{:?} is not an IANA time zone", property.value.trim()),
                );
                None
            }
        },
        None => None,
    };
    let item_zone = named_zone.unwrap_or(options.zone);
    if let Some(zone) = named_zone {
        task.input.timezone = Some(zone.name().to_owned());
        task.map("timezone", ZONE_PROPERTY);
    }
    let date_property = if is_todo {
        find("DUE").or_else(|| find("DTSTART"))
    } else {
        find("DTSTART")
    };
    if let Some(property) = date_property {
        let DateValue {
            at,
            all_day,
            zone,
            note,
        } = date_value(property, item_zone, offsets)?;
        if let Some(note) = note {
            task.drop_field(format!("{};TZID", property.name), note);
        }
        let zone_used = zone.unwrap_or(item_zone);
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
        // A DTSTART equal to DUE (as tickler writes for a repeating task) loses nothing.
        let start = find("DTSTART").filter(|_| is_todo && property.name == "DUE");
        if let Some(start) = start {
            let same = date_value(start, item_zone, offsets)
                .is_ok_and(|start| (start.at, start.all_day) == (at, all_day));
            if !same {
                task.drop_field("DTSTART", "tickler has one date per task (the DUE date)");
            }
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
            .map(|p| date_value(p, options.zone, offsets).map(|value| value.at))
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
            date_value(trigger, options.zone, offsets).map(|value| format_instant(value.at))
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
        ZONE_PROPERTY,
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

    /// tickler's writer names the zone of an all-day task in `X-TICKLER-TZ`, and a repeating
    /// task's DTSTART equals its DUE: the zone comes back, and nothing is reported lost.
    #[test]
    fn an_all_day_task_keeps_the_zone_tickler_named_and_a_dtstart_equal_to_due_is_not_lost() {
        let calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tickler//tickler//EN\r\n\
BEGIN:VTODO\r\nUID:a1\r\nSUMMARY:Pay rent\r\nDTSTART;VALUE=DATE:20261201\r\nDUE;VALUE=DATE:20261201\r\n\
RRULE:FREQ=MONTHLY\r\nX-TICKLER-TZ:Pacific/Kiritimati\r\nEND:VTODO\r\n\
BEGIN:VTODO\r\nUID:a2\r\nSUMMARY:Someday\r\nX-TICKLER-TZ:Europe/Berlin\r\nEND:VTODO\r\n\
BEGIN:VTODO\r\nUID:a3\r\nSUMMARY:Moved\r\nDTSTART;VALUE=DATE:20261130\r\nDUE;VALUE=DATE:20261201\r\n\
X-TICKLER-TZ:Mars/Olympus\r\nEND:VTODO\r\n\
END:VCALENDAR\r\n";
        let rows = rows(crate::Source::Ical, calendar);
        let [Row::Task(rent), Row::Task(someday), Row::Task(moved)] = &rows[..] else {
            panic!("{rows:?}")
        };
        assert_eq!(rent.input.due_at.as_deref(), Some("2026-12-01"));
        assert!(rent.input.all_day);
        assert_eq!(rent.input.timezone.as_deref(), Some("Pacific/Kiritimati"));
        assert!(rent.not_carried.is_empty(), "{:?}", rent.not_carried);
        assert_eq!(someday.input.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(someday.input.due_at, None);
        // A different DTSTART is reported; a zone that is not IANA is reported and ignored.
        assert_eq!(moved.input.timezone, None);
        assert_eq!(moved.input.due_at.as_deref(), Some("2026-12-01"));
        let fields: Vec<&str> = moved.not_carried.iter().map(|n| n.field.as_str()).collect();
        assert_eq!(fields, ["X-TICKLER-TZ", "DTSTART"]);
    }

    /// Outlook names zones the Windows way, and some files describe their own zone only in a
    /// VTIMEZONE: the items are kept, mapped through CLDR or read at the file's offset (noted),
    /// or read as UTC (noted) when nothing describes the zone.
    #[test]
    fn windows_and_custom_zone_names_are_mapped_or_read_at_the_files_offset_with_a_note() {
        let calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r\n\
BEGIN:VTIMEZONE\r\nTZID:W. Europe Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\n\
TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\n\
TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
BEGIN:VTIMEZONE\r\nTZID:Customized Time Zone\r\nBEGIN:STANDARD\r\nDTSTART:16010101T000000\r\n\
TZOFFSETFROM:+0530\r\nTZOFFSETTO:+0530\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:o1\r\nSUMMARY:Review\r\nDTSTART;TZID=W. Europe Standard Time:20261210T090000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:o2\r\nSUMMARY:Call Pune\r\nDTSTART;TZID=Customized Time Zone:20261210T090000\r\nEND:VEVENT\r\n\
BEGIN:VTODO\r\nUID:o3\r\nSUMMARY:Somewhere\r\nDUE;TZID=Nowhere Standard Time:20261210T090000\r\nEND:VTODO\r\n\
END:VCALENDAR\r\n";
        let rows = rows(crate::Source::Ical, calendar);
        let [Row::Task(review), Row::Task(pune), Row::Task(somewhere)] = &rows[..] else {
            panic!("{rows:?}")
        };
        assert_eq!(review.input.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(review.input.due_at.as_deref(), Some("2026-12-10T08:00:00Z"));
        assert!(review.not_carried.is_empty(), "{:?}", review.not_carried);
        assert_eq!(pune.input.timezone, None);
        assert_eq!(pune.input.due_at.as_deref(), Some("2026-12-10T03:30:00Z"));
        let [note] = &pune.not_carried[..] else {
            panic!("{:?}", pune.not_carried)
        };
        assert_eq!(note.field, "DTSTART;TZID");
        assert!(note.reason.contains("+05:30"), "{}", note.reason);
        assert_eq!(
            somewhere.input.due_at.as_deref(),
            Some("2026-12-10T09:00:00Z")
        );
        let [note] = &somewhere.not_carried[..] else {
            panic!("{:?}", somewhere.not_carried)
        };
        assert_eq!(note.field, "DUE;TZID");
        assert!(note.reason.contains("read as UTC"), "{}", note.reason);
        assert_eq!(utc_offset("-053000"), Some(-(5 * 3600 + 30 * 60)));
        assert_eq!(utc_offset("0100"), None);
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
