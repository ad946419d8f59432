//! Parsing and validating RRULE bodies (RFC 5545 section 3.3.10).
//!
//! Every rejection carries a specific, lower-case message: it reaches API clients as a 422
//! field error, so it names the part and says what would be accepted.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::RecurrenceError;
use super::rule::{Frequency, Rule, Until, WeekdayRule, parse_weekday_code};

/// Longest body accepted. Listing all 366 year days twice fits with room to spare; anything
/// longer is not a rule a person wrote.
const MAX_BODY_CHARS: usize = 4096;

/// Largest INTERVAL accepted: enough for "every 1000 hours" or "every 1000 years", small
/// enough that stepping through periods stays cheap.
pub(crate) const MAX_INTERVAL: u32 = 1000;

/// The rule parts this engine understands, in the spelling used in canonical bodies.
const PART_NAMES: [&str; 14] = [
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
];

/// Parses `body` into a rule and its canonical text (upper case, parts in the order given).
pub(crate) fn parse(body: &str) -> Result<(Rule, String), RecurrenceError> {
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(error(format!(
            "the rule is too long (at most {MAX_BODY_CHARS} characters)"
        )));
    }
    let upper = body.trim().to_ascii_uppercase();
    let upper = match upper.strip_prefix("RRULE:") {
        Some(rest) => rest.trim_start(),
        None => upper.as_str(),
    };
    if upper.contains("DTSTART") {
        return Err(error(
            "DTSTART does not belong in the rule: the task's due date is the start of the series",
        ));
    }
    if upper.chars().any(char::is_control) {
        return Err(error("the rule must be a single line of NAME=VALUE parts"));
    }
    if upper.is_empty() {
        return Err(error(
            "the rule is empty; it needs at least FREQ, e.g. FREQ=WEEKLY",
        ));
    }

    let mut frequency = None;
    let mut rule = Rule::new(Frequency::Daily);
    let mut order: Vec<&'static str> = Vec::new();
    for segment in upper.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, value)) = segment.split_once('=') else {
            return Err(error(format!(
                "rule part {} has no value; write parts as NAME=VALUE",
                quoted(segment)
            )));
        };
        let (name, value) = (name.trim(), value.trim());
        let Some(known) = PART_NAMES.iter().copied().find(|known| *known == name) else {
            return Err(error(format!("unknown rule part {}", quoted(name))));
        };
        if order.contains(&known) {
            return Err(error(format!("{known} is given more than once")));
        }
        order.push(known);
        match known {
            "FREQ" => frequency = Some(parse_frequency(value)?),
            "INTERVAL" => rule.interval = parse_interval(value)?,
            "COUNT" => rule.count = Some(parse_count(value)?),
            "UNTIL" => rule.until = Some(parse_until(value)?),
            "BYSECOND" => rule.by_second = list(known, value, "use 0 to 59", |v| ranged(v, 0, 59))?,
            "BYMINUTE" => rule.by_minute = list(known, value, "use 0 to 59", |v| ranged(v, 0, 59))?,
            "BYHOUR" => rule.by_hour = list(known, value, "use 0 to 23", |v| ranged(v, 0, 23))?,
            "BYDAY" => rule.by_day = list(known, value, BYDAY_HINT, parse_weekday_rule)?,
            "BYMONTHDAY" => {
                rule.by_month_day =
                    list(known, value, "use 1 to 31 or -31 to -1", |v| signed(v, 31))?
            }
            "BYYEARDAY" => {
                rule.by_year_day = list(known, value, "use 1 to 366 or -366 to -1", |v| {
                    signed(v, 366)
                })?
            }
            "BYWEEKNO" => {
                rule.by_week_no = list(known, value, "use 1 to 53 or -53 to -1", |v| signed(v, 53))?
            }
            "BYMONTH" => rule.by_month = list(known, value, "use 1 to 12", |v| ranged(v, 1, 12))?,
            "BYSETPOS" => {
                rule.by_set_pos = list(known, value, "use 1 to 366 or -366 to -1", |v| {
                    signed(v, 366)
                })?
            }
            _ => {
                rule.week_start = parse_weekday_code(value).ok_or_else(|| {
                    error(format!(
                        "WKST {} is not a weekday; use MO, TU, WE, TH, FR, SA or SU",
                        quoted(value)
                    ))
                })?
            }
        }
    }
    rule.frequency =
        frequency.ok_or_else(|| error("FREQ is required (for example FREQ=WEEKLY)"))?;
    check_combination(&rule)?;
    let canonical = order
        .iter()
        .map(|name| format!("{name}={}", render_part(&rule, name)))
        .collect::<Vec<_>>()
        .join(";");
    Ok((rule, canonical))
}

const BYDAY_HINT: &str = "use MO, TU, WE, TH, FR, SA or SU, optionally with an ordinal such as \
                          2TU or -1FR";

fn error(message: impl Into<String>) -> RecurrenceError {
    RecurrenceError::new(message)
}

/// Quotes user text for a message, cut short so a huge value cannot flood the response.
fn quoted(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("\"{short}...\"")
    } else {
        format!("\"{short}\"")
    }
}

fn parse_frequency(value: &str) -> Result<Frequency, RecurrenceError> {
    match value {
        "HOURLY" => Ok(Frequency::Hourly),
        "DAILY" => Ok(Frequency::Daily),
        "WEEKLY" => Ok(Frequency::Weekly),
        "MONTHLY" => Ok(Frequency::Monthly),
        "YEARLY" => Ok(Frequency::Yearly),
        "MINUTELY" | "SECONDLY" => Err(error(format!(
            "FREQ={value} is not supported; tasks repeat at most hourly (FREQ=HOURLY)"
        ))),
        other => Err(error(format!(
            "FREQ {} is not a frequency; use HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY",
            quoted(other)
        ))),
    }
}

fn parse_interval(value: &str) -> Result<u32, RecurrenceError> {
    unsigned(value)
        .filter(|interval| (1..=MAX_INTERVAL).contains(interval))
        .ok_or_else(|| {
            error(format!(
                "INTERVAL must be a whole number from 1 to {MAX_INTERVAL}"
            ))
        })
}

fn parse_count(value: &str) -> Result<u32, RecurrenceError> {
    unsigned(value)
        .filter(|count| *count >= 1)
        .ok_or_else(|| error("COUNT must be a whole number from 1 to 999999999"))
}

/// Parses UNTIL as a date (`20261231`), a UTC date-time (`20261231T235959Z`) or a floating
/// date-time (`20261231T235959`, read on the task's wall clock).
fn parse_until(value: &str) -> Result<Until, RecurrenceError> {
    let invalid = || {
        error(format!(
            "UNTIL {} is not a date or date-time; use 20261231 or 20261231T235959Z",
            quoted(value)
        ))
    };
    if !value.is_ascii() {
        return Err(invalid());
    }
    let (date_part, rest) = value.split_at(value.len().min(8));
    let date = fixed_digits(date_part, 8)
        .and_then(|_| {
            NaiveDate::from_ymd_opt(
                number(&date_part[..4])?,
                number(&date_part[4..6])?,
                number(&date_part[6..8])?,
            )
        })
        .ok_or_else(invalid)?;
    if rest.is_empty() {
        return Ok(Until::Date(date));
    }
    let (time_part, utc) = match rest.strip_suffix('Z') {
        Some(time_part) => (time_part, true),
        None => (rest, false),
    };
    let time = time_part
        .strip_prefix('T')
        .filter(|digits| fixed_digits(digits, 6).is_some())
        .and_then(|digits| {
            NaiveTime::from_hms_opt(
                number(&digits[..2])?,
                number(&digits[2..4])?,
                number(&digits[4..6])?,
            )
        })
        .ok_or_else(invalid)?;
    let local = NaiveDateTime::new(date, time);
    Ok(if utc {
        Until::Instant(DateTime::from_naive_utc_and_offset(local, Utc))
    } else {
        Until::Local(local)
    })
}

fn fixed_digits(text: &str, length: usize) -> Option<()> {
    (text.len() == length && text.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

fn number<T: std::str::FromStr>(digits: &str) -> Option<T> {
    digits.parse().ok()
}

/// Parses a list part, dropping repeated values and rejecting the whole part on the first
/// bad item.
fn list<T: PartialEq>(
    name: &str,
    value: &str,
    hint: &str,
    parse_item: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, RecurrenceError> {
    let mut items = Vec::new();
    for raw in value.split(',').map(str::trim) {
        let item = parse_item(raw)
            .ok_or_else(|| error(format!("{name} value {} is not valid; {hint}", quoted(raw))))?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(items)
}

/// Parses a plain run of digits (no sign) of at most nine digits, so it always fits.
fn unsigned(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn ranged(text: &str, low: u32, high: u32) -> Option<u8> {
    unsigned(text)
        .filter(|n| (low..=high).contains(n))
        .and_then(|n| u8::try_from(n).ok())
}

/// Parses `[+|-]n` with `1 <= |n| <= limit`.
fn signed<T: TryFrom<i32>>(text: &str, limit: u32) -> Option<T> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = unsigned(digits).filter(|n| (1..=limit).contains(n))?;
    let magnitude = i32::try_from(magnitude).ok()?;
    T::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn parse_weekday_rule(text: &str) -> Option<WeekdayRule> {
    if !text.is_ascii() || text.len() < 2 {
        return None;
    }
    let (ordinal, code) = text.split_at(text.len() - 2);
    let weekday = parse_weekday_code(code)?;
    let ordinal = if ordinal.is_empty() {
        None
    } else {
        Some(signed::<i8>(ordinal, 53)?)
    };
    Some(WeekdayRule { ordinal, weekday })
}

/// Enforces the RFC 5545 rules about which parts may be combined, plus two of our own: an
/// ordinal BYDAY that can never fall inside a month is refused rather than expanded forever.
fn check_combination(rule: &Rule) -> Result<(), RecurrenceError> {
    let frequency = rule.frequency;
    if rule.count.is_some() && rule.until.is_some() {
        return Err(error(
            "COUNT and UNTIL cannot be used together; the series ends by one or the other",
        ));
    }
    if !rule.by_week_no.is_empty() && frequency != Frequency::Yearly {
        return Err(error("BYWEEKNO is only allowed with FREQ=YEARLY"));
    }
    if !rule.by_year_day.is_empty()
        && matches!(
            frequency,
            Frequency::Daily | Frequency::Weekly | Frequency::Monthly
        )
    {
        return Err(error(format!(
            "BYYEARDAY is not allowed with FREQ={frequency}"
        )));
    }
    if !rule.by_month_day.is_empty() && frequency == Frequency::Weekly {
        return Err(error("BYMONTHDAY is not allowed with FREQ=WEEKLY"));
    }
    let ordinals: Vec<i8> = rule.by_day.iter().filter_map(|day| day.ordinal).collect();
    if !ordinals.is_empty() {
        if !matches!(frequency, Frequency::Monthly | Frequency::Yearly) {
            return Err(error(format!(
                "BYDAY ordinals such as 2TU are only allowed with FREQ=MONTHLY or FREQ=YEARLY, \
                 not FREQ={frequency}"
            )));
        }
        if !rule.by_week_no.is_empty() {
            return Err(error(
                "BYDAY ordinals such as 2TU cannot be combined with BYWEEKNO",
            ));
        }
        let within_month = frequency == Frequency::Monthly || !rule.by_month.is_empty();
        if within_month && ordinals.iter().any(|ordinal| ordinal.unsigned_abs() > 5) {
            return Err(error(
                "a BYDAY ordinal within a month must be from 1 to 5 or -5 to -1",
            ));
        }
    }
    if !rule.by_set_pos.is_empty() && !rule.has_by_part() {
        return Err(error(
            "BYSETPOS needs another BYxxx part (such as BYDAY) to pick positions from",
        ));
    }
    Ok(())
}

fn render_part(rule: &Rule, name: &str) -> String {
    fn join<T: ToString>(items: &[T]) -> String {
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }
    match name {
        "FREQ" => rule.frequency.as_str().to_owned(),
        "INTERVAL" => rule.interval.to_string(),
        "COUNT" => rule.count.map(|c| c.to_string()).unwrap_or_default(),
        "UNTIL" => rule.until.map(|u| u.render()).unwrap_or_default(),
        "BYSECOND" => join(&rule.by_second),
        "BYMINUTE" => join(&rule.by_minute),
        "BYHOUR" => join(&rule.by_hour),
        "BYDAY" => join(&rule.by_day),
        "BYMONTHDAY" => join(&rule.by_month_day),
        "BYYEARDAY" => join(&rule.by_year_day),
        "BYWEEKNO" => join(&rule.by_week_no),
        "BYMONTH" => join(&rule.by_month),
        "BYSETPOS" => join(&rule.by_set_pos),
        _ => super::rule::weekday_code(rule.week_start).to_owned(),
    }
}
