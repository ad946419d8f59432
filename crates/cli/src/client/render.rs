//! What the client prints for people: due dates in the terminal's local time, relative to
//! now ("tomorrow 09:00", "3 days ago"), task tables and details, in colour only when the
//! output is a terminal and `NO_COLOR` is not set (<https://no-color.org>).

use std::fmt::Write as _;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use chrono_tz::Tz;
use tickler_domain::{Priority, TaskStatus};
use tickler_protocol::reminder::ReminderBody;
use tickler_protocol::task::TaskBody;

use super::words;

/// The shortest id prefix the table shows, however few tasks there are (ids are UUIDv7:
/// their first digits are a timestamp, shared by every task made the same minute).
const MIN_SHORT_ID: usize = 8;

/// The terminal's time zone: `TZ` when it names an IANA zone, else the system's, else UTC.
pub fn local_zone() -> Tz {
    let from_tz = std::env::var("TZ")
        .ok()
        .and_then(|name| name.trim_start_matches(':').parse::<Tz>().ok());
    from_tz
        .or_else(|| {
            iana_time_zone::get_timezone()
                .ok()
                .and_then(|name| name.parse::<Tz>().ok())
        })
        .unwrap_or(Tz::UTC)
}

/// How text is styled: ANSI colours on a terminal, nothing otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stdout() -> Self {
        use std::io::IsTerminal as _;
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
        Self {
            colour: std::io::stdout().is_terminal() && !no_colour,
        }
    }

    /// Plain text.
    pub fn plain() -> Self {
        Self { colour: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour && !code.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

const BOLD: &str = "1";
const DIM: &str = "2";
const RED: &str = "31";
const BOLD_RED: &str = "1;31";
const YELLOW: &str = "33";
const BLUE: &str = "34";
const CYAN: &str = "36";

/// Formats an instant in `zone`, with the date: "Mon 7 Dec 2026 09:00" (or without the time
/// for an all-day date).
pub fn absolute(at: DateTime<Utc>, all_day: bool, zone: Tz) -> String {
    let local = at.with_timezone(&zone);
    if all_day {
        local.format("%a %-d %b %Y").to_string()
    } else {
        local.format("%a %-d %b %Y %H:%M").to_string()
    }
}

/// The zone in which a task's due instant names its date: an all-day task's date is the day
/// in the task's own zone (midnight there can be the previous day where the reader is);
/// a timed one is shown in the reader's zone.
pub fn date_zone(task: &TaskBody, reader: Tz) -> Tz {
    if task.all_day {
        task.timezone.parse().unwrap_or(reader)
    } else {
        reader
    }
}

/// Describes a due date relative to `now`, in `zone`: "in 25m", "today 17:00",
/// "tomorrow", "Fri 09:00", "3 days ago", or the date when it is far. An all-day date is
/// read in `date_zone` (see [`date_zone`]).
pub fn relative(
    at: DateTime<Utc>,
    all_day: bool,
    now: DateTime<Utc>,
    zone: Tz,
    date_zone: Tz,
) -> String {
    let local = at.with_timezone(&if all_day { date_zone } else { zone });
    let today = now.with_timezone(&zone).date_naive();
    let days = (local.date_naive() - today).num_days();
    let time = local.format("%H:%M").to_string();
    let minutes = (at - now).num_minutes();
    if !all_day && (0..60).contains(&minutes) && days == 0 {
        return format!("in {}m", minutes.max(1));
    }
    if !all_day && (-59..0).contains(&minutes) {
        return format!("{}m ago", -minutes);
    }
    let day = match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        -1 => "yesterday".to_owned(),
        2..=6 => local.format("%a").to_string(),
        -6..=-2 => format!("{} days ago", -days),
        _ => return far_date(local.date_naive(), today, all_day, &time),
    };
    if all_day || days < -1 {
        day
    } else {
        format!("{day} {time}")
    }
}

fn far_date(date: NaiveDate, today: NaiveDate, all_day: bool, time: &str) -> String {
    let shown = if date.year() == today.year() {
        date.format("%-d %b").to_string()
    } else {
        date.format("%-d %b %Y").to_string()
    };
    if all_day {
        shown
    } else {
        format!("{shown} {time}")
    }
}

/// The shortest prefix length, at least eight characters, that tells the given ids apart
/// (never ending just after a hyphen).
pub fn short_id_length(ids: &[String]) -> usize {
    let mut length = MIN_SHORT_ID;
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    for pair in sorted.windows(2) {
        let common = pair[0]
            .bytes()
            .zip(pair[1].bytes())
            .take_while(|(a, b)| a == b)
            .count();
        length = length.max(common + 1);
    }
    if let Some(id) = ids.first()
        && id.as_bytes().get(length - 1) == Some(&b'-')
    {
        length += 1;
    }
    length.min(36)
}

fn short(id: &str, length: usize) -> &str {
    id.get(..length).unwrap_or(id)
}

fn priority_label(priority: Priority) -> (&'static str, &'static str) {
    match priority {
        Priority::None => ("", ""),
        Priority::Low => ("low", BLUE),
        Priority::Medium => ("medium", YELLOW),
        Priority::High => ("high", RED),
        Priority::Urgent => ("urgent", BOLD_RED),
    }
}

fn due_colour(task: &TaskBody, now: DateTime<Utc>, zone: Tz) -> &'static str {
    let Some(due) = task.due_at else {
        return "";
    };
    if task.status == TaskStatus::Done {
        return "";
    }
    let today = now.with_timezone(&zone).date_naive();
    let due_day = due.with_timezone(&date_zone(task, zone)).date_naive();
    let overdue = if task.all_day {
        due_day < today
    } else {
        due < now
    };
    if overdue {
        BOLD_RED
    } else if due_day == today {
        YELLOW
    } else {
        ""
    }
}

/// Renders tasks as a table: id prefix, due (relative, local), priority, title, tags.
pub fn table(tasks: &[TaskBody], now: DateTime<Utc>, zone: Tz, style: Style) -> String {
    if tasks.is_empty() {
        return "no tasks\n".to_owned();
    }
    let ids: Vec<String> = tasks.iter().map(|task| task.id.to_string()).collect();
    let id_width = short_id_length(&ids);
    let rows: Vec<[String; 5]> = tasks
        .iter()
        .zip(&ids)
        .map(|(task, id)| {
            let due = task
                .due_at
                .map(|due| relative(due, task.all_day, now, zone, date_zone(task, zone)))
                .unwrap_or_default();
            let done = if task.status == TaskStatus::Done {
                "✓ "
            } else {
                ""
            };
            let repeats = if task.recurrence.is_some() {
                " ↻"
            } else {
                ""
            };
            [
                short(id, id_width).to_owned(),
                due,
                priority_label(task.priority).0.to_owned(),
                format!("{done}{}{repeats}", task.title),
                task.tags
                    .iter()
                    .map(|tag| format!("#{tag}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let header = ["ID", "DUE", "PRI", "TITLE", "TAGS"];
    let widths: Vec<usize> = (0..4)
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .chain([header[column].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let cells: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(column, name)| pad(name, widths.get(column).copied().unwrap_or(0)))
        .collect();
    let _ = writeln!(out, "{}", style.paint(BOLD, cells.join("  ").trim_end()));
    for (task, row) in tasks.iter().zip(&rows) {
        let done = task.status == TaskStatus::Done;
        let title_colour = if done { DIM } else { "" };
        let line = [
            style.paint(YELLOW, &pad(&row[0], widths[0])),
            style.paint(due_colour(task, now, zone), &pad(&row[1], widths[1])),
            style.paint(priority_label(task.priority).1, &pad(&row[2], widths[2])),
            style.paint(title_colour, &pad(&row[3], widths[3])),
            style.paint(CYAN, &row[4]),
        ]
        .join("  ");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn pad(text: &str, width: usize) -> String {
    let count = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(count)))
}

/// Renders what was understood of a task: title, due (local, relative and absolute),
/// recurrence and reminders in words, tags and priority; then `reminders`, the task's
/// pending reminders with their ids (for `tickler snooze`).
pub fn details(
    task: &TaskBody,
    reminders: &[ReminderBody],
    now: DateTime<Utc>,
    zone: Tz,
    style: Style,
) -> String {
    let mut out = String::new();
    let status = match task.status {
        TaskStatus::Done => " (done)",
        TaskStatus::InProgress => " (in progress)",
        TaskStatus::Todo => "",
    };
    let _ = writeln!(
        out,
        "{}  {}{status}",
        style.paint(YELLOW, &task.id.to_string()),
        style.paint(BOLD, &task.title)
    );
    let mut field = |name: &str, value: String| {
        let _ = writeln!(out, "  {:<10} {value}", style.paint(DIM, name));
    };
    match task.due_at {
        Some(due) => field(
            "due",
            format!(
                "{} ({} {})",
                style.paint(
                    due_colour(task, now, zone),
                    &relative(due, task.all_day, now, zone, date_zone(task, zone))
                ),
                absolute(due, task.all_day, date_zone(task, zone)),
                zone.name()
            ),
        ),
        None => field("due", "no due date".to_owned()),
    }
    if let Some(rule) = &task.recurrence {
        field("repeats", words::recurrence(rule));
    }
    if !task.reminders.is_empty() {
        let described: Vec<String> = task
            .reminders
            .iter()
            .map(|spec| words::reminder(spec, zone))
            .collect();
        field("reminders", described.join(", "));
    }
    if !task.tags.is_empty() {
        let tags: Vec<String> = task.tags.iter().map(|tag| format!("#{tag}")).collect();
        field("tags", style.paint(CYAN, &tags.join(" ")));
    }
    let (priority, colour) = priority_label(task.priority);
    if !priority.is_empty() {
        field("priority", style.paint(colour, priority));
    }
    if !task.description.is_empty() {
        field("notes", task.description.replace('\n', "\n             "));
    }
    for reminder in reminders {
        field(
            "reminder",
            format!(
                "{} fires {} ({})",
                style.paint(YELLOW, &reminder.id),
                relative(reminder.fire_at, false, now, zone, zone),
                absolute(reminder.fire_at, false, zone)
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn due_dates_read_relative_to_now_in_the_local_zone() {
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        // 2026-12-06 12:00 in Karachi.
        let now = at("2026-12-06T07:00:00Z");
        for (due, all_day, words) in [
            ("2026-12-06T07:25:00Z", false, "in 25m"),
            ("2026-12-06T06:50:00Z", false, "10m ago"),
            ("2026-12-06T12:00:00Z", false, "today 17:00"),
            ("2026-12-07T04:00:00Z", false, "tomorrow 09:00"),
            ("2026-12-06T19:00:00Z", true, "tomorrow"),
            ("2026-12-05T04:00:00Z", false, "yesterday 09:00"),
            ("2026-12-10T04:00:00Z", false, "Thu 09:00"),
            ("2026-12-02T04:00:00Z", false, "4 days ago"),
            ("2026-12-30T04:00:00Z", false, "30 Dec 09:00"),
            ("2027-01-30T19:00:00Z", true, "31 Jan 2027"),
        ] {
            assert_eq!(
                relative(at(due), all_day, now, karachi, karachi),
                words,
                "{due}"
            );
        }
    }

    #[test]
    fn an_all_day_date_is_the_day_of_the_tasks_zone_wherever_it_is_read() {
        let now = at("2026-12-06T18:00:00Z");
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        // Tomorrow, all day, in Karachi: midnight there is 19:00 UTC today.
        let due = at("2026-12-06T19:00:00Z");
        assert_eq!(relative(due, true, now, Tz::UTC, karachi), "tomorrow");
        assert_eq!(absolute(due, true, karachi), "Mon 7 Dec 2026");
    }

    #[test]
    fn short_ids_grow_until_the_listed_ids_differ() {
        let ids = [
            "0190abcd-1234-7000-8000-000000000001".to_owned(),
            "0190abcd-1299-7000-8000-000000000001".to_owned(),
        ];
        assert_eq!(short_id_length(&ids), 12);
        let ids = [
            "0190abcd-1234-7000-8000-000000000001".to_owned(),
            "0190abce-1234-7000-8000-000000000001".to_owned(),
        ];
        assert_eq!(short_id_length(&ids), 8);
        // A prefix never ends on a hyphen.
        let ids = [
            "0190abcd-1234-7000-8000-000000000001".to_owned(),
            "0190abcd1234-7000-8000-000000000001".to_owned(),
        ];
        assert_eq!(short_id_length(&ids), 10);
    }

    #[test]
    fn plain_style_adds_no_escape_codes() {
        assert_eq!(Style::plain().paint(RED, "x"), "x");
        assert_eq!(Style { colour: true }.paint(RED, "x"), "\x1b[31mx\x1b[0m");
    }
}
