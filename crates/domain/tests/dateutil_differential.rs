//! Differential test of the recurrence engine against python-dateutil.
//!
//! A fixed-seed generator builds 600 rules across every FREQ and most rule parts (INTERVAL,
//! COUNT, UTC UNTIL, BYDAY with and without ordinals, BYMONTHDAY including negatives and
//! 29/30/31, BYMONTH, BYYEARDAY, BYWEEKNO, BYHOUR, BYMINUTE, BYSETPOS, WKST), each with a
//! DTSTART between 2020 and 2030 in one of eight zones (UTC, Berlin, New York, Santiago,
//! Sydney, Lord Howe, Kolkata, Tokyo). Half the DTSTARTs in DST zones sit shortly before a DST
//! change at an hour that change skips or repeats. `dateutil_oracle.py` expands all of them in
//! one `python3` process and the first 25 instances (40 for HOURLY) are compared exactly.
//! `TICKLER_DIFFERENTIAL_SEED` and `TICKLER_DIFFERENTIAL_CASES` widen the search.
//! For rules without COUNT, the recurring role's "next instance after a given instant"
//! (`Recurrence::next_after_ignoring_count`, used when a `from_due` instance's next occurrence
//! is already past) is also checked against dateutil's first instant after three instants
//! inside each series.
//!
//! dateutil departs from RFC 5545, or is wrong, in known ways; each is handled explicitly:
//!
//! * Spring-forward gaps: dateutil shifts such local times. The oracle expands on a naive
//!   local DTSTART and resolves each naive time itself, the RFC way (gap times are dropped,
//!   repeated times take their first occurrence), with Python's zoneinfo.
//! * DTSTART and COUNT: dateutil drops a DTSTART that does not match the rule and would count
//!   gap times, so COUNT and UNTIL are stripped from the rule dateutil sees and applied by the
//!   oracle (DTSTART first and counted, instances strictly after it, UNTIL inclusive). That
//!   DTSTART comes first and counts is therefore checked by unit tests, not here.
//! * HOURLY: dateutil steps by wall-clock hour across offset changes. HOURLY rules with only
//!   INTERVAL/BYMINUTE/BYSECOND in whole-hour zones are expanded by dateutil in UTC (elapsed
//!   hours) and compared in full; other HOURLY rules are compared only before the first offset
//!   change after DTSTART, so local-clock filters of HOURLY rules across a DST change are
//!   left to the unit tests.
//! * WEEKLY with BYSETPOS: dateutil's first week starts at DTSTART instead of at WKST, which
//!   moves BYSETPOS positions in that week. The oracle gives dateutil the start of DTSTART's
//!   week (BYDAY made explicit) and drops what precedes DTSTART.
//! * Not generated, because dateutil gets them wrong (each is unit-tested instead):
//!   BYDAY mixing plain and ordinal weekdays (`-1MO,TU`: dateutil intersects them and yields
//!   nothing); BYWEEKNO 52, 53, -52 and -53 (dateutil numbers the previous year's last week
//!   with this year's length, putting 2039-01-01 in week 53 where ISO 8601 has 2038-W52, and
//!   does not apply negative numbers to next year's week 1).
//! * Not generated, because they never match and dateutil would search up to year 9999:
//!   impossible day combinations, BYSETPOS beyond a period's candidates, INTERVAL with
//!   BYMONTH in MONTHLY rules, and HOURLY INTERVALs that cannot reach a BYHOUR. Giving up on
//!   such rules is unit-tested.
//! * Instants from 2090 on are not compared: chrono-tz models DST only up to 2099, Python's
//!   zoneinfo continues the rules. Both sides use tz database 2025b.
//!
//! Needs `python3` (3.9 or later, for zoneinfo, with the system tz database) and
//! python-dateutil. Set `TICKLER_SKIP_PYTHON_TESTS=1` to skip when they are missing.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tickler_domain::{Recurrence, TimeZone};

#[path = "dateutil_differential/generator.rs"]
mod generator;

use generator::{Case, generate_cases};

const CASES: usize = 600;
const HORIZON: &str = "2090-01-01T00:00:00Z";

#[test]
fn the_engine_agrees_with_python_dateutil_on_generated_rules() {
    if !python_available() {
        return;
    }
    // The seed and size are fixed so failures reproduce; the environment can widen the search.
    let seed = env_number("TICKLER_DIFFERENTIAL_SEED").unwrap_or(20_260_601);
    let size = env_number("TICKLER_DIFFERENTIAL_CASES").map_or(CASES, |n| n as usize);
    let cases = generate_cases(size, seed);
    let results = run_oracle(&cases);
    let horizon: DateTime<Utc> = HORIZON.parse().unwrap();

    let mut mismatches = Vec::new();
    let mut oracle_errors = Vec::new();
    let (mut compared, mut instants, mut gaps, mut ambiguous) = (0, 0, 0_u64, 0_u64);
    let mut after_now_checks = 0_usize;
    let mut modes = std::collections::BTreeMap::<String, usize>::new();
    for (case, result) in cases.iter().zip(&results) {
        assert_eq!(
            result["id"].as_u64(),
            Some(case.id as u64),
            "oracle answered out of order"
        );
        if let Some(error) = result["error"].as_str() {
            oracle_errors.push(format!(
                "#{} {} ({}): {error}",
                case.id, case.rule, case.zone
            ));
            continue;
        }
        let cut = result["cut"]
            .as_str()
            .map(|c| c.parse::<DateTime<Utc>>().unwrap());
        let keep = |t: &DateTime<Utc>| *t < horizon && cut.is_none_or(|cut| *t < cut);
        let expected: Vec<String> = result["instants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().parse::<DateTime<Utc>>().unwrap())
            .filter(keep)
            .map(|t| t.to_rfc3339())
            .collect();
        let zone = TimeZone::parse(&case.zone).unwrap();
        let actual: Vec<String> = match Recurrence::parse(&case.rule) {
            Ok(rule) => rule
                .occurrences(case.dtstart, zone)
                .take(case.limit)
                .filter(keep)
                .map(|t| t.to_rfc3339())
                .collect(),
            Err(error) => vec![format!("rejected: {error}")],
        };
        compared += 1;
        instants += expected.len();
        gaps += result["gaps"].as_u64().unwrap_or(0);
        ambiguous += result["ambiguous"].as_u64().unwrap_or(0);
        *modes
            .entry(result["mode"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
        if actual != expected {
            mismatches.push(describe_mismatch(case, &expected, &actual));
        }
        // The recurring role's "first occurrence after now" (COUNT is applied by sequence
        // number there, so only rules without COUNT compare): for a few instants inside the
        // series, the next instance must be dateutil's first instant after it.
        if let (Ok(rule), false) = (Recurrence::parse(&case.rule), case.rule.contains("COUNT")) {
            let instants: Vec<DateTime<Utc>> =
                expected.iter().map(|t| t.parse().unwrap()).collect();
            for index in [0, instants.len() / 2, instants.len().saturating_sub(2)] {
                let Some(floor) = instants
                    .get(index)
                    .map(|t| *t + chrono::TimeDelta::minutes(1))
                else {
                    continue;
                };
                let Some(expected_next) = instants.iter().find(|t| **t > floor) else {
                    continue;
                };
                let actual_next = rule.next_after_ignoring_count(case.dtstart, zone, floor);
                after_now_checks += 1;
                if actual_next != Some(*expected_next) {
                    mismatches.push(format!(
                        "#{} {} in {} from {}: first after {floor}: dateutil {expected_next}, \
                         engine {actual_next:?}",
                        case.id, case.rule, case.zone, case.dtstart
                    ));
                }
            }
        }
    }

    eprintln!(
        "dateutil differential: {compared} rules compared ({modes:?}), {instants} instants, \
         {gaps} gap times skipped, {ambiguous} repeated times resolved, {after_now_checks} \
         first-after-now checks, {} mismatches, {} oracle errors",
        mismatches.len(),
        oracle_errors.len()
    );
    assert!(
        oracle_errors.is_empty(),
        "oracle errors:\n{}",
        oracle_errors.join("\n")
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // Guard the guard: the comparison must have covered enough ground to mean something.
    assert!(compared >= 300, "only {compared} rules compared");
    assert!(
        after_now_checks >= 300,
        "only {after_now_checks} first-after-now checks"
    );
    assert!(instants >= 5000, "only {instants} instants compared");
    assert!(
        gaps > 0 && ambiguous > 0,
        "no DST gaps ({gaps}) or repeats ({ambiguous}) exercised"
    );
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number"))
    })
}

fn describe_mismatch(case: &Case, expected: &[String], actual: &[String]) -> String {
    let first_difference = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    format!(
        "#{} {} in {} from {}: first difference at index {first_difference}: dateutil {:?}, \
         engine {:?} (lengths {} and {})",
        case.id,
        case.rule,
        case.zone,
        case.dtstart.to_rfc3339(),
        expected.get(first_difference),
        actual.get(first_difference),
        expected.len(),
        actual.len()
    )
}

/// Checks for python3 with dateutil and zoneinfo; `false` means skip, a panic means fail.
fn python_available() -> bool {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import dateutil.rrule, zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin')",
        ])
        .output();
    if probe.as_ref().is_ok_and(|output| output.status.success()) {
        return true;
    }
    let reason = match probe {
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(error) => format!("python3 could not be started: {error}"),
    };
    if std::env::var("TICKLER_SKIP_PYTHON_TESTS").as_deref() == Ok("1") {
        eprintln!("skipped the dateutil differential test (TICKLER_SKIP_PYTHON_TESTS=1): {reason}");
        return false;
    }
    panic!(
        "the dateutil differential test needs python3 (3.9+, with the system tz database) and \
         python-dateutil: install them (e.g. `apt-get install python3 python3-dateutil tzdata` \
         or `pip install python-dateutil tzdata`), or set TICKLER_SKIP_PYTHON_TESTS=1 to skip \
         this test. Probe failed: {reason}"
    );
}

fn run_oracle(cases: &[Case]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dateutil_oracle.py");
    let request = json!({
        "horizon": HORIZON,
        "cases": cases.iter().map(|case| json!({
            "id": case.id,
            "rule": case.rule,
            "zone": case.zone,
            "dtstart": case.dtstart.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "limit": case.limit,
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let response: Value = serde_json::from_slice(&output.stdout).expect("oracle JSON");
    let results = response["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), cases.len(), "the oracle skipped cases");
    results
}
