//! Recurrence rules and reminder specs as a person reads them: `FREQ=WEEKLY;BYDAY=MO` is
//! "every Monday", `-PT30M` is "30 minutes before".

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// Describes an RFC 5545 RRULE body in English ("every 2 weeks on Monday and Friday"); an
/// unfamiliar rule is shown as written.
pub fn recurrence(rule: &str) -> String {
    let mut frequency = None;
    let mut interval = 1u32;
    let mut by_day: Vec<String> = Vec::new();
    let mut by_month_day: Vec<String> = Vec::new();
    let mut count = None;
    let mut until = None;
    for part in rule.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            return rule.to_owned();
        };
        match key.to_ascii_uppercase().as_str() {
            "FREQ" => frequency = Some(value.to_ascii_uppercase()),
            "INTERVAL" => match value.parse() {
                Ok(value) => interval = value,
                Err(_) => return rule.to_owned(),
            },
            "BYDAY" => {
                for day in value.split(',') {
                    match weekday_name(day) {
                        Some(name) => by_day.push(name),
                        None => return rule.to_owned(),
                    }
                }
            }
            "BYMONTHDAY" => by_month_day = value.split(',').map(str::to_owned).collect(),
            "COUNT" => count = Some(value.to_owned()),
            "UNTIL" => until = Some(value.get(..8).unwrap_or(value).to_owned()),
            "WKST" => {}
            _ => return rule.to_owned(),
        }
    }
    let unit = match frequency.as_deref() {
        Some("DAILY") => "day",
        Some("WEEKLY") => "week",
        Some("MONTHLY") => "month",
        Some("YEARLY") => "year",
        Some("HOURLY") => "hour",
        Some("MINUTELY") => "minute",
        _ => return rule.to_owned(),
    };
    const WORKWEEK: [&str; 5] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
    let mut words = if unit == "week" && interval == 1 && by_day == WORKWEEK {
        "every weekday".to_owned()
    } else if unit == "week" && interval == 1 && !by_day.is_empty() {
        format!("every {}", and_list(&by_day))
    } else {
        let mut words = match interval {
            1 => format!("every {unit}"),
            n => format!("every {n} {unit}s"),
        };
        if !by_day.is_empty() {
            words.push_str(&format!(" on {}", and_list(&by_day)));
        }
        if !by_month_day.is_empty() {
            words.push_str(&format!(" on day {}", and_list(&by_month_day)));
        }
        words
    };
    if let Some(count) = count {
        words.push_str(&format!(", {count} times"));
    }
    if let Some(until) = until {
        let date = match (until.get(..4), until.get(4..6), until.get(6..8)) {
            (Some(year), Some(month), Some(day)) => format!("{year}-{month}-{day}"),
            _ => until,
        };
        words.push_str(&format!(", until {date}"));
    }
    words
}

/// Describes a reminder spec: an offset from the due time ("30 minutes before", "at the due
/// time"), an instant (in `zone`), or a snooze.
pub fn reminder(spec: &str, zone: Tz) -> String {
    if spec == "snooze" {
        return "snoozed".to_owned();
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(spec) {
        return format!(
            "at {}",
            at.with_timezone(&Utc)
                .with_timezone(&zone)
                .format("%a %-d %b %Y %H:%M")
        );
    }
    let (before, body) = match spec.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, spec.strip_prefix('+').unwrap_or(spec)),
    };
    let Some(parts) = duration_parts(body) else {
        return spec.to_owned();
    };
    if parts.is_empty() {
        return "at the due time".to_owned();
    }
    format!(
        "{} {}",
        parts.join(" "),
        if before { "before" } else { "after" }
    )
}

/// Splits an ISO 8601 duration (`P1DT2H30M`) into "1 day", "2 hours", "30 minutes".
fn duration_parts(body: &str) -> Option<Vec<String>> {
    let body = body.strip_prefix('P')?;
    let (date, time) = match body.split_once('T') {
        Some((date, time)) => (date, time),
        None => (body, ""),
    };
    let mut parts = Vec::new();
    for (text, units) in [
        (date, &[('W', "week"), ('D', "day")][..]),
        (time, &[('H', "hour"), ('M', "minute"), ('S', "second")][..]),
    ] {
        let mut number = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let (_, unit) = units.iter().find(|(letter, _)| *letter == c)?;
            let value: u64 = number.parse().ok()?;
            number.clear();
            if value != 0 {
                let plural = if value == 1 { "" } else { "s" };
                parts.push(format!("{value} {unit}{plural}"));
            }
        }
        if !number.is_empty() {
            return None;
        }
    }
    Some(parts)
}

fn weekday_name(day: &str) -> Option<String> {
    // An ordinal before the day (`1MO`, `-1FR`) says which one of the month.
    let split = day
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(day.len());
    let (ordinal, code) = day.split_at(split);
    let name = match code.to_ascii_uppercase().as_str() {
        "MO" => "Monday",
        "TU" => "Tuesday",
        "WE" => "Wednesday",
        "TH" => "Thursday",
        "FR" => "Friday",
        "SA" => "Saturday",
        "SU" => "Sunday",
        _ => return None,
    };
    let ordinal = match ordinal {
        "" => "",
        "1" | "+1" => "the first ",
        "2" | "+2" => "the second ",
        "3" | "+3" => "the third ",
        "4" | "+4" => "the fourth ",
        "-1" => "the last ",
        _ => return None,
    };
    Some(format!("{ordinal}{name}"))
}

fn and_list(items: &[impl AsRef<str>]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => format!(
            "{} and {}",
            rest.iter()
                .map(|item| item.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_as_english() {
        for (rule, words) in [
            ("FREQ=DAILY", "every day"),
            ("FREQ=WEEKLY;BYDAY=MO", "every Monday"),
            ("FREQ=WEEKLY;INTERVAL=2", "every 2 weeks"),
            (
                "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
                "every 2 weeks on Monday and Friday",
            ),
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday"),
            ("FREQ=MONTHLY;BYMONTHDAY=1", "every month on day 1"),
            ("FREQ=MONTHLY;BYDAY=-1FR", "every month on the last Friday"),
            ("FREQ=YEARLY;COUNT=3", "every year, 3 times"),
            (
                "FREQ=DAILY;UNTIL=20270101T000000Z",
                "every day, until 2027-01-01",
            ),
            ("FREQ=SECONDLY", "FREQ=SECONDLY"),
            ("FREQ=DAILY;BYSETPOS=1", "FREQ=DAILY;BYSETPOS=1"),
        ] {
            assert_eq!(recurrence(rule), words, "{rule}");
        }
    }

    #[test]
    fn reminders_read_as_english_in_the_given_zone() {
        let karachi: Tz = "Asia/Karachi".parse().unwrap();
        for (spec, words) in [
            ("-PT30M", "30 minutes before"),
            ("-PT1H30M", "1 hour 30 minutes before"),
            ("-P1D", "1 day before"),
            ("PT0S", "at the due time"),
            ("PT15M", "15 minutes after"),
            ("2026-12-07T04:00:00Z", "at Mon 7 Dec 2026 09:00"),
            ("snooze", "snoozed"),
            ("P1Q", "P1Q"),
        ] {
            assert_eq!(reminder(spec, karachi), words, "{spec}");
        }
    }
}
