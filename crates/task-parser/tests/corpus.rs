//! Runs the phrase corpus under `tests/corpus/` and reports the pass rate.
//!
//! Each file holds cases in a small readable format:
//!
//! ```text
//! @now 2026-11-21T12:00:00Z        # default clock for the cases below
//! @tz America/New_York             # default zone for the cases below
//!
//! > call mom at 5                  # the sentence
//! title: call mom
//! due: 2026-11-21 17:00            # local wall clock in the case's zone
//! ```
//!
//! `\n` in a sentence stands for a line break.
//!
//! Every field of the result is checked; a key that is not written must have its default
//! (create_task, null, false, "none", empty lists). `due` is a local date (all day), a local
//! date and time, an RFC 3339 instant, or `null`. `reminders` are compared as absolute
//! instants, as the graders do, so `-PT20M` and the equivalent instant are the same.
//! `rrule` is compared part by part, ignoring order.

// A test harness: a malformed corpus file should stop the run loudly, and the report is
// meant to be read.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use tickler_domain::{ReminderSpec, TimeZone};

#[derive(Debug, Clone)]
struct Case {
    file: String,
    line: usize,
    text: String,
    now: DateTime<Utc>,
    zone: TimeZone,
    expect: Vec<(String, String)>,
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text.trim())
        .unwrap_or_else(|e| panic!("bad instant {text:?}: {e}"))
        .with_timezone(&Utc)
}

/// Reads `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` (local in `zone`) or an RFC 3339 instant; returns
/// the instant and whether it is all day.
fn when(text: &str, zone: TimeZone) -> (DateTime<Utc>, bool) {
    let text = text.trim();
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return (zone.start_of_day(date), true);
    }
    if let Ok(local) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M") {
        return (zone.resolve_lenient(local), false);
    }
    (instant(text), false)
}

fn load(path: &Path) -> Vec<Case> {
    let file = path.file_name().unwrap().to_string_lossy().into_owned();
    let content = std::fs::read_to_string(path).unwrap();
    let mut now = instant("2026-11-21T12:00:00Z");
    let mut zone = TimeZone::UTC;
    let mut cases: Vec<Case> = Vec::new();
    for (index, raw) in content.lines().enumerate() {
        let line = raw.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@now ") {
            now = instant(rest);
        } else if let Some(rest) = line.strip_prefix("@tz ") {
            zone = TimeZone::parse(rest.trim()).unwrap();
        } else if let Some(text) = line.strip_prefix("> ") {
            cases.push(Case {
                file: file.clone(),
                line: index + 1,
                text: text.replace("\\n", "\n"),
                now,
                zone,
                expect: Vec::new(),
            });
        } else if let Some((key, value)) = line.split_once(':') {
            let case = cases.last_mut().expect("a key before any case");
            let (key, value) = (key.trim().to_owned(), value.trim().to_owned());
            match key.as_str() {
                "now" => case.now = instant(&value),
                "tz" => case.zone = TimeZone::parse(&value).unwrap(),
                _ => case.expect.push((key, value)),
            }
        } else {
            panic!("{file}:{}: cannot read {line:?}", index + 1);
        }
    }
    cases
}

fn get<'a>(case: &'a Case, key: &str) -> Option<&'a str> {
    case.expect
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn rrule_parts(rule: &str) -> BTreeSet<String> {
    rule.split(';')
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let mut items: Vec<&str> = value.split(',').collect();
            items.sort_unstable();
            format!(
                "{}={}",
                key.to_ascii_uppercase(),
                items.join(",").to_ascii_uppercase()
            )
        })
        .collect()
}

fn reminder_instants(list: &[String], due: Option<DateTime<Utc>>) -> Vec<Option<DateTime<Utc>>> {
    list.iter()
        .map(|r| {
            ReminderSpec::parse(r)
                .ok()
                .and_then(|spec| spec.fire_at(due))
        })
        .collect()
}

fn expect_eq(problems: &mut Vec<String>, what: &str, expected: Value, actual: &Value) {
    if &expected != actual {
        problems.push(format!("{what}: expected {expected}, got {actual}"));
    }
}

/// Compares the result with the case; returns what differs.
fn check(case: &Case) -> Vec<String> {
    let parsed = tickler_task_parser::parse(&case.text, case.now, case.zone);
    let json = serde_json::to_value(&parsed).unwrap();
    let mut problems = Vec::new();
    let intent = get(case, "intent").unwrap_or("create_task");
    expect_eq(
        &mut problems,
        "intent",
        Value::from(intent),
        &json["intent"],
    );
    let string_or_null = |key: &str| match get(case, key) {
        None | Some("null") => Value::Null,
        Some(v) => Value::from(v.to_lowercase()),
    };
    let lower = |v: &Value| match v {
        Value::String(s) => Value::from(s.to_lowercase()),
        other => other.clone(),
    };
    expect_eq(
        &mut problems,
        "title",
        string_or_null("title"),
        &lower(&json["title"]),
    );
    expect_eq(
        &mut problems,
        "target",
        string_or_null("target"),
        &lower(&json["target"]),
    );
    expect_eq(
        &mut problems,
        "description",
        string_or_null("description"),
        &lower(&json["description"]),
    );

    let due = match get(case, "due") {
        None | Some("null") => None,
        Some(text) => Some(when(text, case.zone)),
    };
    let actual_due = json["due_at"].as_str().map(instant);
    if due.map(|d| d.0) != actual_due {
        problems.push(format!(
            "due_at: expected {:?}, got {:?}",
            due.map(|d| d.0.to_rfc3339()),
            actual_due.map(|d| d.to_rfc3339())
        ));
    }
    let all_day = match get(case, "all_day") {
        Some(v) => v == "true",
        None => due.is_some_and(|d| d.1),
    };
    expect_eq(
        &mut problems,
        "all_day",
        Value::from(all_day),
        &json["all_day"],
    );

    let rrule = get(case, "rrule").filter(|r| *r != "null");
    let actual_rrule = json["recurrence"].as_str();
    if rrule.map(rrule_parts) != actual_rrule.map(rrule_parts) {
        problems.push(format!(
            "recurrence: expected {rrule:?}, got {actual_rrule:?}"
        ));
    }
    let mode = get(case, "mode")
        .map(str::to_owned)
        .or_else(|| rrule.map(|_| "from_due".into()));
    expect_eq(
        &mut problems,
        "recurrence_mode",
        mode.map_or(Value::Null, Value::from),
        &json["recurrence_mode"],
    );
    expect_eq(
        &mut problems,
        "priority",
        Value::from(get(case, "priority").unwrap_or("none")),
        &json["priority"],
    );
    let list = |key: &str| -> Vec<String> {
        get(case, key)
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    };
    expect_eq(
        &mut problems,
        "tags",
        Value::from(list("tags")),
        &json["tags"],
    );

    let expected_reminders: Vec<Option<DateTime<Utc>>> = list("reminders")
        .iter()
        .map(|r| match ReminderSpec::parse(r) {
            Ok(spec) => spec.fire_at(due.map(|d| d.0)),
            Err(_) => Some(when(r, case.zone).0),
        })
        .collect();
    let actual: Vec<String> = json["reminders"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let actual_reminders = reminder_instants(&actual, actual_due);
    if expected_reminders != actual_reminders {
        problems.push(format!(
            "reminders: expected {expected_reminders:?}, got {actual:?} = {actual_reminders:?}"
        ));
    }

    let filter_keys: Vec<&(String, String)> = case
        .expect
        .iter()
        .filter(|(k, _)| k.starts_with("filter"))
        .collect();
    if intent == "list_tasks" {
        let mut expected = serde_json::Map::new();
        for (key, value) in filter_keys {
            let Some(name) = key.strip_prefix("filter.") else {
                continue;
            };
            let value = match name {
                "tags" => Value::from(list(key)),
                "due_before" | "due_after" => Value::from(
                    when(value, case.zone)
                        .0
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                ),
                _ => Value::from(value.as_str()),
            };
            expected.insert(name.to_owned(), value);
        }
        let mut actual = json["filter"].clone();
        if let Some(text) = actual.get_mut("text") {
            *text = lower(text);
        }
        if let Some(text) = expected.get_mut("text") {
            *text = lower(text);
        }
        expect_eq(&mut problems, "filter", Value::Object(expected), &actual);
    } else {
        expect_eq(&mut problems, "filter", Value::Null, &json["filter"]);
    }
    if intent == "update_task" {
        if json["changes"].is_null() {
            problems.push("changes: expected an object, got null".into());
        }
    } else {
        expect_eq(&mut problems, "changes", Value::Null, &json["changes"]);
    }
    problems
}

/// Runs every case of the files whose names pass `select`; prints failures and the pass
/// rate; returns (passed, total).
fn run(select: impl Fn(&str) -> bool) -> (usize, usize, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .filter(|p| select(&p.file_name().unwrap().to_string_lossy()))
        .collect();
    paths.sort();
    let mut report = String::new();
    let (mut passed, mut total) = (0, 0);
    for path in paths {
        let cases = load(&path);
        let mut file_passed = 0;
        for case in &cases {
            let problems = check(case);
            if problems.is_empty() {
                file_passed += 1;
            } else {
                let _ = writeln!(
                    report,
                    "FAIL {}:{} {:?} (now {}, {})\n    {}",
                    case.file,
                    case.line,
                    case.text,
                    case.now.to_rfc3339(),
                    case.zone,
                    problems.join("\n    ")
                );
            }
        }
        let _ = writeln!(
            report,
            "{}: {file_passed}/{} passed",
            path.file_name().unwrap().to_string_lossy(),
            cases.len()
        );
        passed += file_passed;
        total += cases.len();
    }
    let _ = writeln!(
        report,
        "corpus: {passed}/{total} passed ({:.1} %)",
        100.0 * passed as f64 / total.max(1) as f64
    );
    (passed, total, report)
}

#[test]
fn every_corpus_phrase_parses_as_the_conventions_say() {
    let (passed, total, report) = run(|name| !name.starts_with("recurrence"));
    println!("{report}");
    assert_eq!(passed, total, "{report}");
}

/// These cases date first occurrences with the recurrence engine in `tickler-domain`.
#[test]
fn every_recurrence_phrase_parses_as_the_conventions_say() {
    let (passed, total, report) = run(|name| name.starts_with("recurrence"));
    println!("{report}");
    assert_eq!(passed, total, "{report}");
}
