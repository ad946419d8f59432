//! Properties that hold for every input: the parser never panics, its JSON always has every
//! key, every recurrence is a rule the engine accepts, spans stay inside the text, a
//! future-meaning phrase never gives a due date before the local day of `now`, and a
//! conversational wrapper around a title of ordinary words gives back that title.

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
    "add",
    "please",
    "need",
    "thanks",
    "list",
    "yaad",
    "dilana",
    "hai",
    "likh",
    "lo",
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

/// Verbs that start a task and are no command word of the parser.
const TASK_VERBS: &[&str] = &[
    "call", "buy", "paint", "email", "water", "fix", "book", "clean", "pay", "renew", "feed",
    "wash", "order", "return", "collect", "print", "sign", "bake", "visit", "read", "write",
    "repair", "phone", "text", "walk", "iron", "vacuum", "cancel", "prepare", "review",
];

/// Ordinary words that are none of the grammar's.
const TASK_WORDS: &[&str] = &[
    "the",
    "dentist",
    "milk",
    "fence",
    "report",
    "plants",
    "bike",
    "flights",
    "garage",
    "rent",
    "cat",
    "car",
    "library",
    "books",
    "parcel",
    "invoice",
    "cake",
    "grandma",
    "Sara",
    "Omar",
    "insurance",
    "passport",
    "kitchen",
    "windows",
    "shirts",
    "letter",
    "lease",
    "annual",
    "budget",
    "green",
    "old",
    "big",
    "new",
    "broken",
    "red",
    "with",
    "and",
    "of",
    "from",
    "Ali",
    "store",
    "bills",
    "boxes",
    "laptop",
    "dog",
];

/// Every leading request phrase of README 2.10 (and a few spellings of them).
const LEADING_WRAPPERS: &[&str] = &[
    "add",
    "Add",
    "add a task to",
    "add a task:",
    "add a new task to",
    "add task",
    "create a task to",
    "create a task for",
    "new task:",
    "task:",
    "todo:",
    "note to self:",
    "please",
    "Please,",
    "please add",
    "can you",
    "can you add",
    "could you please",
    "could you please add",
    "would you",
    "would you please add a task to",
    "I need to",
    "i have to",
    "I've got to",
    "I must",
    "I should",
    "I want to",
    "don't forget to",
    "Don't forget to",
    "remember to",
    "make sure I",
    "make sure to",
    "remind me to",
    "please remind me to",
    "can you remind me to",
    "hey, add",
];

/// Every trailing request phrase of README 2.10.
const TRAILING_WRAPPERS: &[&str] = &[
    "",
    " please",
    ", thanks",
    ", thank you",
    ", thanks!",
    " to my list",
    " to the list",
    " for me",
    " to my list, thanks",
    " for me please",
];

fn ordinary_title() -> impl Strategy<Value = String> {
    (
        prop::sample::select(TASK_VERBS),
        prop::collection::vec(prop::sample::select(TASK_WORDS), 1..5),
    )
        .prop_map(|(verb, words)| format!("{verb} {}", words.join(" ")))
        // A title ending in a connective is not ordinary ("call the dentist and").
        .prop_filter("ends in a connective", |title| {
            !["and", "of", "from", "with", "the"]
                .iter()
                .any(|w| title.ends_with(&format!(" {w}")))
        })
}

proptest! {
    // Each case parses three sentences; 500 cases cover every wrapper many times over.
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn every_wrapper_around_an_ordinary_title_gives_back_that_title(
        title in ordinary_title(),
        lead in prop::sample::select(LEADING_WRAPPERS),
        trail in prop::sample::select(TRAILING_WRAPPERS),
        now in now(),
        zone in zone(),
    ) {
        let bare = parse(&title, now, zone);
        prop_assert_eq!(bare.title.as_deref(), Some(title.as_str()));
        for text in [format!("{lead} {title}{trail}"), format!("{title}{trail}")] {
            let parsed = parse(&text, now, zone);
            prop_assert_eq!(parsed.intent, tickler_task_parser::Intent::CreateTask, "{}", text);
            prop_assert_eq!(parsed.title.as_deref(), Some(title.as_str()), "{}", text);
            prop_assert_eq!(parsed.due_at, None, "{}", text);
            prop_assert!(parsed.reminders.is_empty(), "{}", text);
        }
    }

    #[test]
    fn every_urdu_wrapper_around_an_ordinary_title_gives_back_that_title(
        nouns in prop::collection::vec(prop::sample::select(&["doodh", "bill", "ammi", "gari", "dawai", "kitabein", "report", "bazaar", "sabzi"][..]), 1..4),
        verb in prop::sample::select(&["lena", "dena", "karna", "jana", "leni", "bhejni", "karwani", "banana", "likhna"][..]),
        wrap in prop::sample::select(&[
            "{} hai", "{} hain", "{} hai add kar do", "{} add kar do", "{} list mein add kar do",
            "{} likh lo", "{} note kar lo", "{} hai, add kar dein", "mujhe {} hai",
            "mujhe yaad dilana ke {} hai", "{} yaad dila dena", "yaad dilana {}",
        ][..]),
        now in now(),
        zone in zone(),
    ) {
        let title = format!("{} {verb}", nouns.join(" "));
        let text = wrap.replace("{}", &title);
        let parsed = parse(&text, now, zone);
        prop_assert_eq!(parsed.intent, tickler_task_parser::Intent::CreateTask, "{}", text);
        prop_assert_eq!(parsed.title.as_deref(), Some(title.as_str()), "{}", text);
        prop_assert_eq!(parsed.due_at, None, "{}", text);
    }
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
