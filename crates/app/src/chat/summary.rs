//! How the assistant names a task it saved, so a person sees at once what was understood:
//! `Added “buy milk”, tomorrow 17:00`. The parts come from the task as stored (not from the
//! sentence): the due date relative to now on the task's wall clock, how it repeats, its
//! reminders, its priority and its tags, in the message's language.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde_json::Value;
use tickler_domain::{ReminderSpec, TimeZone};

use super::language::Language;

/// The parts that describe a saved task after its title, in `language`.
pub(crate) fn describe(
    task: &Value,
    now: DateTime<Utc>,
    zone: TimeZone,
    language: Language,
) -> Vec<String> {
    let zone = task["timezone"]
        .as_str()
        .and_then(|z| TimeZone::parse(z).ok())
        .unwrap_or(zone);
    let due = instant(&task["due_at"]);
    let all_day = task["all_day"] == true;
    let mut parts = Vec::new();
    if let Some(due) = due {
        parts.push(moment(due, all_day, now, zone, language));
    }
    if let Some(rule) = task["recurrence"].as_str() {
        parts.push(repeats(rule, language));
    }
    let reminders = task["reminders"].as_array().map_or(&[][..], Vec::as_slice);
    for reminder in reminders {
        let fires = reminder
            .as_str()
            .and_then(|r| ReminderSpec::parse(r).ok())
            .and_then(|spec| spec.fire_at(due));
        if let Some(fires) = fires {
            let when = if due.is_some_and(|d| zone.local_date(d) == zone.local_date(fires)) {
                zone.local_datetime(fires).format("%H:%M").to_string()
            } else {
                moment(fires, false, now, zone, language)
            };
            parts.push(match language {
                Language::English => format!("reminder at {when}"),
                Language::Urdu => format!("یاد دہانی {when}"),
                Language::RomanUrdu => format!("reminder {when}"),
            });
        }
    }
    if let Some(priority) = task["priority"].as_str().filter(|p| *p != "none") {
        parts.push(match language {
            Language::Urdu => format!("ترجیح {priority}"),
            Language::English | Language::RomanUrdu => format!("{priority} priority"),
        });
    }
    let tags: Vec<String> = task["tags"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(|t| t.as_str().map(|t| format!("#{t}")))
        .collect();
    if !tags.is_empty() {
        parts.push(tags.join(" "));
    }
    parts
}

fn instant(value: &Value) -> Option<DateTime<Utc>> {
    value
        .as_str()
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .map(|d| d.with_timezone(&Utc))
}

/// A date (and time) relative to now: "today", "tomorrow 17:00", "Friday", "Fri 4 Dec 2026".
pub(crate) fn moment(
    at: DateTime<Utc>,
    all_day: bool,
    now: DateTime<Utc>,
    zone: TimeZone,
    language: Language,
) -> String {
    let local = zone.local_datetime(at);
    let date = local.date();
    let days = (date - zone.local_date(now)).num_days();
    let day = match (language, days) {
        (Language::English, 0) => "today".to_owned(),
        (Language::English, 1) => "tomorrow".to_owned(),
        (Language::Urdu, 0) => "آج".to_owned(),
        (Language::Urdu, 1) => "کل".to_owned(),
        (Language::Urdu, 2) => "پرسوں".to_owned(),
        (Language::RomanUrdu, 0) => "aaj".to_owned(),
        (Language::RomanUrdu, 1) => "kal".to_owned(),
        (Language::RomanUrdu, 2) => "parson".to_owned(),
        (_, 2..=6) => weekday(date.weekday(), language).to_owned(),
        _ => full_date(date, language),
    };
    if all_day {
        day
    } else {
        format!("{day} {}", local.format("%H:%M"))
    }
}

fn weekday(day: Weekday, language: Language) -> &'static str {
    let names: [&str; 7] = match language {
        Language::English => [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ],
        Language::Urdu => ["پیر", "منگل", "بدھ", "جمعرات", "جمعہ", "ہفتہ", "اتوار"],
        Language::RomanUrdu => [
            "peer", "mangal", "budh", "jumeraat", "juma", "hafta", "itwaar",
        ],
    };
    names[day.num_days_from_monday() as usize]
}

fn full_date(date: NaiveDate, language: Language) -> String {
    const URDU_MONTHS: [&str; 12] = [
        "جنوری",
        "فروری",
        "مارچ",
        "اپریل",
        "مئی",
        "جون",
        "جولائی",
        "اگست",
        "ستمبر",
        "اکتوبر",
        "نومبر",
        "دسمبر",
    ];
    match language {
        Language::English => date.format("%a %-d %b %Y").to_string(),
        Language::RomanUrdu => date.format("%-d %b %Y").to_string(),
        Language::Urdu => format!(
            "{} {} {}",
            date.day(),
            URDU_MONTHS[date.month0() as usize],
            date.year()
        ),
    }
}

/// How a rule repeats, in words: "every day", "every 2 weeks", "har mahine".
fn repeats(rule: &str, language: Language) -> String {
    let part = |key: &str| {
        rule.split(';')
            .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
    };
    let interval: u32 = part("INTERVAL").and_then(|i| i.parse().ok()).unwrap_or(1);
    let unit = match part("FREQ") {
        Some("HOURLY") => 0,
        Some("DAILY") => 1,
        Some("WEEKLY") => 2,
        Some("MONTHLY") => 3,
        Some("YEARLY") => 4,
        _ => 5,
    };
    let (one, many): ([&str; 6], [&str; 6]) = match language {
        Language::English => (
            [
                "every hour",
                "every day",
                "every week",
                "every month",
                "every year",
                "repeats",
            ],
            ["hours", "days", "weeks", "months", "years", "times"],
        ),
        Language::Urdu => (
            [
                "ہر گھنٹے",
                "روزانہ",
                "ہر ہفتے",
                "ہر مہینے",
                "ہر سال",
                "دہرایا جائے گا",
            ],
            ["گھنٹے", "دن", "ہفتے", "مہینے", "سال", "بار"],
        ),
        Language::RomanUrdu => (
            [
                "har ghante",
                "rozana",
                "har hafte",
                "har mahine",
                "har saal",
                "repeat hoga",
            ],
            ["ghante", "din", "hafte", "mahine", "saal", "baar"],
        ),
    };
    if interval == 1 || unit == 5 {
        return one[unit].to_owned();
    }
    match language {
        Language::English => format!("every {interval} {}", many[unit]),
        Language::Urdu => format!("ہر {interval} {}", many[unit]),
        Language::RomanUrdu => format!("har {interval} {}", many[unit]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_saved_task_is_described_relative_to_now_in_each_language() {
        let now = at("2026-11-21T12:00:00Z");
        let task = json!({
            "title": "feed the cat", "due_at": "2026-11-22T18:00:00Z", "all_day": false,
            "timezone": "UTC", "recurrence": "FREQ=DAILY;INTERVAL=2", "reminders": ["PT0S"],
            "priority": "high", "tags": ["home"],
        });
        let cases = [
            (
                Language::English,
                "tomorrow 18:00|every 2 days|reminder at 18:00|high priority|#home",
            ),
            (
                Language::RomanUrdu,
                "kal 18:00|har 2 din|reminder 18:00|high priority|#home",
            ),
            (
                Language::Urdu,
                "کل 18:00|ہر 2 دن|یاد دہانی 18:00|ترجیح high|#home",
            ),
        ];
        for (language, expected) in cases {
            let parts = describe(&task, now, TimeZone::UTC, language);
            assert_eq!(parts.join("|"), expected, "{language:?}");
        }
    }

    #[test]
    fn dates_further_away_are_named_by_weekday_then_by_date() {
        let now = at("2026-11-21T12:00:00Z");
        let zone = TimeZone::UTC;
        let say = |due: &str, all_day| moment(at(due), all_day, now, zone, Language::English);
        assert_eq!(say("2026-11-21T00:00:00Z", true), "today");
        assert_eq!(say("2026-11-27T09:30:00Z", false), "Friday 09:30");
        assert_eq!(say("2026-12-04T00:00:00Z", true), "Fri 4 Dec 2026");
        assert_eq!(
            moment(at("2026-11-23T00:00:00Z"), true, now, zone, Language::Urdu),
            "پرسوں"
        );
    }
}
