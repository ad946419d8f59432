//! RFC 5545 iCalendar output for tickler's tasks, with no IO and no clock reads.
//!
//! [`write_calendar`] turns tasks into a `VCALENDAR`: one `VTODO` per task with a due date
//! (and, when asked, per task without one: a `VTODO` without `DUE`, which RFC 5545 allows),
//! the `VTIMEZONE`s their local times refer to (generated from the tz database, see
//! [`timezone`]), TEXT escaping and 75-octet line folding ([`content`]). The same text is
//! served by calendar feeds and by the iCalendar export. [`todo_lines`] writes a single VTODO
//! for callers that assemble their own calendar.
//!
//! Mapping from a task:
//! * `UID` is the task id; `DTSTAMP` and `LAST-MODIFIED` its last change, so the output for
//!   unchanged tasks is byte-for-byte the same (feeds hash it into an `ETag`).
//! * `DUE` is a `DATE` for an all-day task, a local time with `TZID` otherwise (a `Z` time for
//!   UTC, and for the second pass of a repeated fall-back hour, which a local time cannot name).
//! * When no `TZID` names the task's zone (an all-day task, an undated one, a due time written
//!   in UTC), `X-TICKLER-TZ` carries its IANA name ([`ZONE_PROPERTY`]).
//! * A recurring task gets `DTSTART` equal to `DUE` (RRULE expands from DTSTART) and its rule
//!   as `RRULE`, its UNTIL rewritten as a UTC time (a DATE for all-day tasks), as RFC 5545
//!   requires ([`rrule_body`]).
//! * `STATUS` is `NEEDS-ACTION`, `IN-PROCESS` or `COMPLETED` (with `COMPLETED`); `PRIORITY` is
//!   0 (none), 9 (low), 5 (medium), 3 (high) or 1 (urgent), following RFC 5545's "1 is highest".
//! * Tags are `CATEGORIES`; each reminder is a display `VALARM`, relative to `DUE`
//!   (`RELATED=END`) or at an absolute UTC time.
//!
//! Depends only on `tickler-domain`.

pub mod content;
pub mod timezone;

use std::collections::BTreeMap;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone as _, Utc};
use chrono_tz::Tz;
use tickler_domain::{Due, Priority, ReminderSpec, Task, TaskStatus, TimeZone};

use content::{escape_text, push_folded};
use timezone::format_local;

/// The property naming an item's IANA zone when no `TZID` does: a `DATE` (RFC 5545 3.3.4) is
/// floating and takes no `TZID`, so an all-day task's zone has no standard place. An `X-`
/// property (3.8.8.2) is ignored by readers that do not know it; a per-item one rather than
/// Apple's calendar-wide `X-WR-TIMEZONE`, because a calendar holds tasks of several zones.
/// tickler's iCalendar importer reads it back.
pub const ZONE_PROPERTY: &str = "X-TICKLER-TZ";

/// The `PRODID` of everything tickler writes.
pub const PRODID: &str = "-//tickler//tickler//EN";
/// The media type of iCalendar text.
pub const MEDIA_TYPE: &str = "text/calendar; charset=utf-8";

/// How far past a recurring task's due date its zone's transitions are listed, in days.
const RECURRENCE_HORIZON_DAYS: i64 = 10 * 366;

/// Calendar-wide properties.
#[derive(Debug, Clone, Default)]
pub struct CalendarOptions {
    /// The calendar's display name (`NAME` and `X-WR-CALNAME`), if any.
    pub name: Option<String>,
    /// How often subscribers should refresh, in minutes (`REFRESH-INTERVAL` and
    /// `X-PUBLISHED-TTL`); `None` writes neither.
    pub refresh_minutes: Option<u32>,
    /// Writes tasks without a due date too, as `VTODO`s without `DUE` (the export does;
    /// calendar feeds leave them out: a calendar has no day to show them on).
    pub undated: bool,
}

/// Returns the iCalendar text of `tasks`: a VCALENDAR with one VTODO per task that has a due
/// date (tasks without one only with [`CalendarOptions::undated`]) and one VTIMEZONE per zone
/// their times use.
pub fn write_calendar(tasks: &[Task], options: &CalendarOptions) -> String {
    let mut out = String::new();
    push_folded(&mut out, "BEGIN:VCALENDAR");
    push_folded(&mut out, "VERSION:2.0");
    push_folded(&mut out, &format!("PRODID:{PRODID}"));
    push_folded(&mut out, "CALSCALE:GREGORIAN");
    push_folded(&mut out, "METHOD:PUBLISH");
    if let Some(name) = &options.name {
        push_folded(&mut out, &format!("NAME:{}", escape_text(name)));
        push_folded(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name)));
    }
    if let Some(minutes) = options.refresh_minutes {
        push_folded(
            &mut out,
            &format!("REFRESH-INTERVAL;VALUE=DURATION:PT{minutes}M"),
        );
        push_folded(&mut out, &format!("X-PUBLISHED-TTL:PT{minutes}M"));
    }
    // The window each zone must cover: from the earliest to the latest instant it is used at.
    let mut zones: BTreeMap<&'static str, (Tz, DateTime<Utc>, DateTime<Utc>)> = BTreeMap::new();
    let mut todos = String::new();
    for task in tasks {
        let Some(due) = task.fields.due else {
            if options.undated {
                todo_lines(&mut todos, task);
            }
            continue;
        };
        if let Some(zone) = local_zone_of(task) {
            // A recurring series outlives its first due date: cover ten more years, so zones
            // whose changes follow no yearly rule (they are listed one by one) stay right.
            let horizon = match task.fields.recurrence {
                Some(_) => due.at + chrono::TimeDelta::days(RECURRENCE_HORIZON_DAYS),
                None => due.at,
            };
            let latest = horizon.max(task.updated_at);
            zones
                .entry(zone.name())
                .and_modify(|(_, from, to)| {
                    *from = (*from).min(due.at);
                    *to = (*to).max(latest);
                })
                .or_insert((zone, due.at, latest));
        }
        todo_lines(&mut todos, task);
    }
    for (zone, from, to) in zones.values() {
        timezone::write_vtimezone(&mut out, *zone, *from, *to);
    }
    out.push_str(&todos);
    push_folded(&mut out, "END:VCALENDAR");
    out
}

/// Returns the zone whose VTIMEZONE a task's VTODO refers to, if any: the task's zone when its
/// due date is written as a local time with a TZID.
pub fn local_zone_of(task: &Task) -> Option<Tz> {
    let due = task.fields.due?;
    if due.all_day {
        return None;
    }
    let zone = task.fields.timezone.tz();
    match local_time(zone, due.at) {
        DueTime::Local(_) => Some(zone),
        DueTime::Utc => None,
    }
}

enum DueTime {
    Local(String),
    Utc,
}

/// How a timed due date is written: local time in its zone unless that cannot name the
/// instant (the zone is UTC, or the instant is the second pass of a repeated hour).
fn local_time(zone: Tz, at: DateTime<Utc>) -> DueTime {
    if matches!(
        zone,
        Tz::UTC
            | Tz::Etc__UTC
            | Tz::Etc__UCT
            | Tz::UCT
            | Tz::Etc__Universal
            | Tz::Universal
            | Tz::Zulu
            | Tz::Etc__Zulu
    ) {
        return DueTime::Utc;
    }
    let local = at.with_timezone(&zone).naive_local();
    match zone.from_local_datetime(&local) {
        LocalResult::Single(_) => DueTime::Local(format_local(local)),
        LocalResult::Ambiguous(first, _) if first.with_timezone(&Utc) == at => {
            DueTime::Local(format_local(local))
        }
        _ => DueTime::Utc,
    }
}

fn format_utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Returns an RRULE body with its UNTIL in the form RFC 5545 requires beside the DTSTART
/// written: a DATE for an all-day task, a UTC time otherwise (tickler also accepts a floating
/// time or a date, read on the task's clock, which some calendar apps would misread). The
/// instants the rule includes stay the same.
pub fn rrule_body(body: &str, zone: TimeZone, all_day: bool) -> String {
    body.split(';')
        .map(|part| match part.strip_prefix("UNTIL=") {
            Some(value) => match until_value(value, zone, all_day) {
                Some(until) => format!("UNTIL={until}"),
                None => part.to_owned(),
            },
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(";")
}

fn until_value(value: &str, zone: TimeZone, all_day: bool) -> Option<String> {
    let utc = if let Some(text) = value.strip_suffix('Z') {
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S")
            .ok()?
            .and_utc()
    } else if let Ok(local) = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S") {
        if all_day {
            // An all-day instance (00:00 local) is included while its date is not later.
            return Some(local.date().format("%Y%m%d").to_string());
        }
        zone.resolve_lenient(local)
    } else {
        let date = NaiveDate::parse_from_str(value, "%Y%m%d").ok()?;
        if all_day {
            return None;
        }
        // Every instance on the date is included: up to its last second.
        zone.resolve_lenient(date.and_hms_opt(23, 59, 59)?)
    };
    Some(if all_day {
        zone.local_date(utc).format("%Y%m%d").to_string()
    } else {
        format_utc(utc)
    })
}

/// Returns the PRIORITY value of a priority (RFC 5545: 1 highest, 9 lowest, 0 undefined).
pub fn priority_value(priority: Priority) -> u8 {
    match priority {
        Priority::None => 0,
        Priority::Low => 9,
        Priority::Medium => 5,
        Priority::High => 3,
        Priority::Urgent => 1,
    }
}

/// Returns the STATUS value of a task status.
pub fn status_value(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Todo => "NEEDS-ACTION",
        TaskStatus::InProgress => "IN-PROCESS",
        TaskStatus::Done => "COMPLETED",
    }
}

/// Formats a signed number of seconds as an RFC 5545 DURATION (`-PT30M`, `P1D`, `-P1W`).
pub fn format_duration(seconds: i64) -> String {
    let sign = if seconds < 0 { "-" } else { "" };
    let magnitude = seconds.unsigned_abs();
    if magnitude == 0 {
        return "PT0S".to_owned();
    }
    const WEEK: u64 = 7 * 86_400;
    if magnitude.is_multiple_of(WEEK) {
        return format!("{sign}P{}W", magnitude / WEEK);
    }
    let (days, rest) = (magnitude / 86_400, magnitude % 86_400);
    let mut text = format!("{sign}P");
    if days > 0 {
        text.push_str(&format!("{days}D"));
    }
    if rest > 0 {
        text.push('T');
        let (hours, minutes, secs) = (rest / 3600, rest / 60 % 60, rest % 60);
        if hours > 0 {
            text.push_str(&format!("{hours}H"));
        }
        if minutes > 0 {
            text.push_str(&format!("{minutes}M"));
        }
        if secs > 0 {
            text.push_str(&format!("{secs}S"));
        }
    }
    text
}

/// Appends the VTODO of `task` to `out`; a task without a due date gets one without `DUE`
/// (it has no rule and no relative reminder either: tickler requires a due date for those).
/// Its `TZID`, if any, names the zone [`local_zone_of`] returns, whose VTIMEZONE the caller
/// writes.
pub fn todo_lines(out: &mut String, task: &Task) {
    let fields = &task.fields;
    let line = |out: &mut String, text: String| push_folded(out, &text);
    line(out, "BEGIN:VTODO".to_owned());
    line(out, format!("UID:{}", task.id));
    line(out, format!("DTSTAMP:{}", format_utc(task.updated_at)));
    line(out, format!("CREATED:{}", format_utc(task.created_at)));
    line(
        out,
        format!("LAST-MODIFIED:{}", format_utc(task.updated_at)),
    );
    line(
        out,
        format!("SUMMARY:{}", escape_text(fields.title.as_str())),
    );
    if !fields.description.is_empty() {
        line(
            out,
            format!("DESCRIPTION:{}", escape_text(&fields.description)),
        );
    }
    let zone_named = match fields.due {
        Some(due) => due_lines(out, task, due),
        None => false,
    };
    if !zone_named {
        line(
            out,
            format!("{ZONE_PROPERTY}:{}", fields.timezone.tz().name()),
        );
    }
    line(out, format!("STATUS:{}", status_value(fields.status)));
    if let Some(completed) = task.completed_at {
        line(out, format!("COMPLETED:{}", format_utc(completed)));
    }
    line(out, format!("PRIORITY:{}", priority_value(fields.priority)));
    if !fields.tags.is_empty() {
        let tags: Vec<String> = fields
            .tags
            .iter()
            .map(|t| escape_text(t.as_str()))
            .collect();
        line(out, format!("CATEGORIES:{}", tags.join(",")));
    }
    for reminder in &fields.reminders {
        line(out, "BEGIN:VALARM".to_owned());
        line(out, "ACTION:DISPLAY".to_owned());
        line(
            out,
            format!("DESCRIPTION:{}", escape_text(fields.title.as_str())),
        );
        match reminder {
            ReminderSpec::Offset(offset) => line(
                out,
                format!("TRIGGER;RELATED=END:{}", format_duration(offset.seconds())),
            ),
            ReminderSpec::At(at) => {
                line(out, format!("TRIGGER;VALUE=DATE-TIME:{}", format_utc(*at)))
            }
        }
        line(out, "END:VALARM".to_owned());
    }
    line(out, "END:VTODO".to_owned());
}

/// Appends a dated task's `DUE` (and, for a recurring one, `DTSTART` and `RRULE`); returns
/// whether a `TZID` names the task's zone.
fn due_lines(out: &mut String, task: &Task, due: Due) -> bool {
    let fields = &task.fields;
    let line = |out: &mut String, text: String| push_folded(out, &text);
    let zone = fields.timezone.tz();
    let (due_value, zone_named) = if due.all_day {
        (
            format!(
                ";VALUE=DATE:{}",
                fields.timezone.local_date(due.at).format("%Y%m%d")
            ),
            false,
        )
    } else {
        match local_time(zone, due.at) {
            DueTime::Local(local) => (format!(";TZID={}:{local}", zone.name()), true),
            DueTime::Utc => (format!(":{}", format_utc(due.at)), false),
        }
    };
    if let Some(rule) = &fields.recurrence {
        line(out, format!("DTSTART{due_value}"));
        line(out, format!("DUE{due_value}"));
        line(
            out,
            format!(
                "RRULE:{}",
                rrule_body(rule.as_str(), fields.timezone, due.all_day)
            ),
        );
    } else {
        line(out, format!("DUE{due_value}"));
    }
    zone_named
}

#[cfg(test)]
mod tests;
