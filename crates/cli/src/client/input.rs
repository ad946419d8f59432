//! What a person types on the command line, read into API values: due dates and
//! recurrences in the same words quick add understands (read by the natural-language parser,
//! in the terminal's zone), reminder offsets and snooze durations (`10m`, `2h`, `1d`), and
//! answers to prompts (a password without echo).

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tickler_domain::{ReminderSpec, TimeZone};
use tickler_protocol::nl::ParseResponse;

use super::outcome::CliError;

/// A due date read from `--due`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueInput {
    /// RFC 3339.
    pub due_at: String,
    /// Whether it names a whole day.
    pub all_day: bool,
}

fn read(text: &str, now: DateTime<Utc>, zone: Tz) -> ParseResponse {
    let zone = TimeZone::parse(zone.name()).unwrap_or(TimeZone::UTC);
    ParseResponse::from(&tickler_task_parser::parse(text, now, zone))
}

/// Reads `--due`: an RFC 3339 instant, a `YYYY-MM-DD` date, or words ("tomorrow 5pm",
/// "next friday").
pub fn due(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<DueInput, CliError> {
    let text = text.trim();
    if DateTime::parse_from_rfc3339(text).is_ok() {
        return Ok(DueInput {
            due_at: text.to_owned(),
            all_day: false,
        });
    }
    if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok() {
        return Ok(DueInput {
            due_at: text.to_owned(),
            all_day: true,
        });
    }
    let parsed = read(text, now, zone);
    match (parsed.due_at, parsed.title) {
        (Some(due_at), None) => Ok(DueInput {
            due_at,
            all_day: parsed.all_day,
        }),
        _ => Err(CliError::usage(format!(
            "--due {text:?} is not a date: try \"tomorrow 9am\", \"next friday\" or 2026-12-24"
        ))),
    }
}

/// A recurrence read from `--every`, with the first due date it implies (for a task that has
/// none yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EveryInput {
    /// The RRULE body.
    pub rule: String,
    /// The first occurrence, when the words name one.
    pub first_due: Option<DueInput>,
}

/// Reads `--every`: an RRULE body (`FREQ=WEEKLY;BYDAY=MO`) or words after "every" ("day",
/// "monday", "2 weeks", "month on the 1st").
pub fn every(text: &str, now: DateTime<Utc>, zone: Tz) -> Result<EveryInput, CliError> {
    let text = text.trim();
    if text.to_ascii_uppercase().starts_with("FREQ=") {
        return Ok(EveryInput {
            rule: text.to_ascii_uppercase(),
            first_due: None,
        });
    }
    let words = if text.to_lowercase().starts_with("every ") {
        text.to_owned()
    } else {
        format!("every {text}")
    };
    let parsed = read(&words, now, zone);
    match (parsed.recurrence, parsed.title) {
        (Some(rule), None) => Ok(EveryInput {
            rule,
            first_due: parsed.due_at.map(|due_at| DueInput {
                due_at,
                all_day: parsed.all_day,
            }),
        }),
        _ => Err(CliError::usage(format!(
            "--every {text:?} is not a repetition: try day, monday, \"2 weeks\" or FREQ=MONTHLY"
        ))),
    }
}

/// Reads a span such as `10m`, `90s`, `2h`, `1h30m`, `3d` or `1w` into seconds.
pub fn span_seconds(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let value: i64 = number.parse().ok()?;
        number.clear();
        total = total.checked_add(value.checked_mul(unit)?)?;
        any = true;
    }
    if !number.is_empty() {
        // A bare number is minutes.
        total = total.checked_add(number.parse::<i64>().ok()?.checked_mul(60)?)?;
        any = true;
    }
    any.then_some(total)
}

/// Reads `--remind`: a span before the due time (`30m`, `1d`), an ISO 8601 offset
/// (`-PT30M`) or an RFC 3339 instant, as the API's reminder spec (in its canonical form).
pub fn reminder(text: &str) -> Result<String, CliError> {
    let text = text.trim();
    let spec = match span_seconds(text) {
        Some(seconds) => format!("-PT{seconds}S"),
        None => text.to_owned(),
    };
    ReminderSpec::parse(&spec)
        .map(|spec| spec.to_string())
        .map_err(|_| {
            CliError::usage(format!(
                "--remind {text:?} is not a reminder: try 30m, 1h or 1d before the due time, or an RFC 3339 instant"
            ))
        })
}

/// Asks a question on stderr and reads one line of stdin (without echo when stdin is a
/// terminal and `secret`). `None` at end of input.
pub fn prompt(question: &str, secret: bool) -> Result<Option<String>, CliError> {
    let failed =
        |error: std::io::Error| CliError::failure(format!("cannot read the answer: {error}"));
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal();
    // Echo goes off before the question shows, so nothing typed after it is echoed.
    let echo = if terminal && secret {
        Some(EchoOff::new(&stdin).map_err(failed)?)
    } else {
        None
    };
    if terminal {
        eprint!("{question}");
        std::io::stderr().flush().map_err(failed)?;
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line).map_err(failed)?;
    if echo.is_some() {
        eprintln!();
    }
    drop(echo);
    if read == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

/// Turns the terminal's echo off until dropped.
struct EchoOff<'a> {
    stdin: &'a std::io::Stdin,
    saved: rustix::termios::Termios,
}

impl<'a> EchoOff<'a> {
    fn new(stdin: &'a std::io::Stdin) -> std::io::Result<Self> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let saved = tcgetattr(stdin)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ECHONL);
        tcsetattr(stdin, OptionalActions::Now, &quiet)?;
        Ok(Self { stdin, saved })
    }
}

impl Drop for EchoOff<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(
            self.stdin,
            rustix::termios::OptionalActions::Now,
            &self.saved,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn karachi() -> Tz {
        "Asia/Karachi".parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-06T07:00:00Z".parse().unwrap()
    }

    #[test]
    fn due_dates_are_read_from_words_dates_and_instants() {
        let due_tomorrow = due("tomorrow 5pm", now(), karachi()).unwrap();
        assert_eq!(due_tomorrow.due_at, "2026-12-07T12:00:00Z");
        assert!(!due_tomorrow.all_day);
        assert!(due("2026-12-24", now(), karachi()).unwrap().all_day);
        let instant = due("2026-12-24T10:00:00+05:00", now(), karachi()).unwrap();
        assert_eq!(instant.due_at, "2026-12-24T10:00:00+05:00");
        let error = due("whenever", now(), karachi()).unwrap_err();
        assert_eq!(error.outcome, super::super::outcome::Outcome::Usage);
    }

    #[test]
    fn repetitions_are_read_from_words_or_rules() {
        assert_eq!(
            every("monday", now(), karachi()).unwrap().rule,
            "FREQ=WEEKLY;BYDAY=MO"
        );
        assert_eq!(
            every("every 2 weeks", now(), karachi()).unwrap().rule,
            "FREQ=WEEKLY;INTERVAL=2"
        );
        assert_eq!(
            every("freq=daily", now(), karachi()).unwrap().rule,
            "FREQ=DAILY"
        );
        assert!(every("blue moon", now(), karachi()).is_err());
    }

    #[test]
    fn spans_and_reminders_read_as_offsets() {
        assert_eq!(span_seconds("10m"), Some(600));
        assert_eq!(span_seconds("1h30m"), Some(5_400));
        assert_eq!(span_seconds("15"), Some(900));
        assert_eq!(span_seconds("2x"), None);
        assert_eq!(span_seconds(""), None);
        assert_eq!(reminder("30m").unwrap(), "-PT30M");
        assert_eq!(reminder("1h30m").unwrap(), "-PT1H30M");
        assert_eq!(reminder("-PT30M").unwrap(), "-PT30M");
        assert!(reminder("soon").is_err());
    }
}
