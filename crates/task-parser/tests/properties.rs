//! Properties that hold for every input: the parser never panics, its JSON always has every
//! key, every recurrence is a rule the engine accepts, spans stay inside the text, and a
//! future-meaning phrase never gives a due date before the local day of `now`.

// Strategies build values from constants that are known to be valid.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use tickler_domain::{Recurrence, TimeZone};
use tickler_task_parser::parse;

const ZONES: &[&str] = &[
    "UTC",
    "America/New_York",
    "Asia/Karachi",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Santiago",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "America/St_Johns",
];

/// Words the grammar knows, so that random sentences reach deep into the rules.
const VOCABULARY: &[&str] = &[
    "every",
    "every!",
    "other",
    "at",
    "on",
    "by",
    "in",
    "due",
    "starting",
    "until",
    "the",
    "next",
    "this",
    "tomorrow",
    "today",
    "tonight",
    "morning",
    "evening",
    "night",
    "noon",
    "midnight",
    "monday",
    "fri",
    "sat",
    "weekday",
    "weekend",
    "week",
    "month",
    "year",
    "day",
    "days",
    "hours",
    "minutes",
    "remind",
    "me",
    "before",
    "and",
    ",",
    "p1",
    "!!!",
    "urgent",
    "important",
    "priority",
    "high",
    "#work",
    "@home",
    "feb",
    "14th",
    "3rd",
    "last",
    "of",
    "5pm",
    "17:00",
    "5:30",
    "a.m.",
    "23/04",
    "2026-03-01",
    "31/12/2026",
    "o'clock",
    "after",
    "completion",
    "mark",
    "as",
    "done",
    "delete",
    "move",
    "to",
    "rename",
    "show",
    "tasks",
    "what's",
    "kal",
    "aaj",
    "subah",
    "baje",
    "saadhe",
    "har",
    "juma",
    "ko",
    "mahine",
    "ki",
    "tareekh",
    "din",
    "baad",
    "dikhao",
    "mukammal",
    "kar",
    "do",
    "کل",
    "صبح",
    "۹",
    "بجے",
    "ہر",
    "جمعہ",
    "کو",
    "\"",
    "'",
    "(",
    ")",
    "-",
    "0",
    "7",
    "12",
    "31",
    "99999999999",
    "۰",
    "\u{0301}",
    "\u{064E}",
    "é",
    "🙂",
    "\n",
];

fn zone() -> impl Strategy<Value = TimeZone> {
    prop::sample::select(ZONES).prop_map(|name| TimeZone::parse(name).unwrap())
}

fn now() -> impl Strategy<Value = DateTime<Utc>> {
    // 1990 to 2090, to the second.
    (631_152_000_i64..3_786_912_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap())
}

fn sentence() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(VOCABULARY).prop_map(str::to_owned),
        1 => "[0-9]{1,4}",
        1 => any::<String>(),
    ];
    (prop::collection::vec(piece, 0..14), any::<bool>())
        .prop_map(|(pieces, glue)| pieces.join(if glue { "" } else { " " }))
}

/// Phrases that always mean a time at or after today.
fn future_phrase() -> impl Strategy<Value = String> {
    let phrases = prop_oneof![
        Just("tomorrow".to_owned()),
        Just("today".to_owned()),
        Just("tonight".to_owned()),
        Just("this weekend".to_owned()),
        Just("next week".to_owned()),
        Just("next month".to_owned()),
        Just("end of month".to_owned()),
        Just("by midnight".to_owned()),
        Just("day after tomorrow".to_owned()),
        prop::sample::select(
            &[
                "monday", "tuesday", "wed", "thursday", "friday", "saturday", "sunday"
            ][..]
        )
        .prop_flat_map(
            |day| prop::sample::select(&["", "this ", "next ", "on "][..])
                .prop_map(move |prefix| format!("{prefix}{day}"))
        ),
        (
            1u32..500,
            prop::sample::select(&["minutes", "hours", "days", "weeks", "months", "years"][..])
        )
            .prop_map(|(n, unit)| format!("in {n} {unit}")),
        (
            1u32..13,
            1u32..29,
            prop::sample::select(
                &[
                    "jan", "feb", "march", "apr", "may", "june", "jul", "aug", "sept", "oct",
                    "nov", "dec"
                ][..]
            )
        )
            .prop_map(|(_, day, month)| format!("{month} {day}")),
        (1u32..29).prop_map(|day| format!(
            "on the {day}{}",
            if day == 1 {
                "st"
            } else if day == 2 {
                "nd"
            } else if day == 3 {
                "rd"
            } else {
                "th"
            }
        )),
        (1u32..13, 0u32..60, any::<bool>())
            .prop_map(|(h, m, pm)| format!("at {h}:{m:02}{}", if pm { "pm" } else { "am" })),
        (0u32..24).prop_map(|h| format!("at {h}")),
        (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}")),
        Just("every day".to_owned()),
        Just("every monday at 9am".to_owned()),
        Just("every 27th".to_owned()),
        Just("kal subah 9 baje".to_owned()),
        Just("parson ko".to_owned()),
        Just("3 din baad".to_owned()),
    ];
    (
        phrases,
        prop::sample::select(&["", "tomorrow at ", "friday "][..]),
    )
        .prop_map(|(phrase, lead)| format!("call mom {lead}{phrase}"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn parsing_never_panics_on_any_text(text in any::<String>(), now in now(), zone in zone()) {
        let _ = parse(&text, now, zone);
    }

    #[test]
    fn parsing_never_panics_on_sentences_made_of_known_words(text in sentence(), now in now(), zone in zone()) {
        let parsed = parse(&text, now, zone);
        let json = serde_json::to_value(&parsed).unwrap();
        for key in [
            "intent", "title", "description", "due_at", "all_day", "recurrence",
            "recurrence_mode", "priority", "tags", "reminders", "target", "changes", "filter",
            "spans",
        ] {
            prop_assert!(json.get(key).is_some(), "missing {key} for {text:?}");
        }
        prop_assert_eq!(parsed.recurrence.is_some(), parsed.recurrence_mode.is_some());
        if let Some(rule) = &parsed.recurrence {
            prop_assert!(Recurrence::parse(rule).is_ok(), "{rule} from {text:?}");
        }
        prop_assert!(parsed.title.as_deref() != Some(""));
        let length = text.chars().count();
        for span in &parsed.spans {
            prop_assert!(span.start < span.end && span.end <= length, "{span:?} in {text:?}");
        }
        for pair in parsed.spans.windows(2) {
            prop_assert!(pair[0].end <= pair[1].start, "{:?} overlaps {:?}", pair[0], pair[1]);
        }
    }

    #[test]
    fn future_phrases_never_fall_before_the_local_day_of_now(text in future_phrase(), now in now(), zone in zone()) {
        let parsed = parse(&text, now, zone);
        let due = parsed.due_at;
        prop_assert!(due.is_some(), "no due date for {text:?}");
        let start_of_today = zone.start_of_day(zone.local_date(now));
        prop_assert!(due.is_some_and(|d| d >= start_of_today), "{text:?} at {now} in {zone}: {due:?}");
    }
}
