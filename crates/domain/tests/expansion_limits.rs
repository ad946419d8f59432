//! The RRULE engine on the rules its expansion limits exist for, and on random rules over the
//! whole grammar: every call returns (an occurrence, or `None` once the engine gives up),
//! series increase strictly, and nothing panics. Work per call is bounded by the engine's
//! give-up limits (a 400-year calendar cycle, 500,000 periods), so these tests end on any
//! machine; they print how long each worst case took but assert no timing.

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use tickler_domain::{Recurrence, TimeZone};

/// Rules that never match again, or only very rarely: each forces the engine to search until
/// one of its limits.
const WORST_CASES: [&str; 12] = [
    // Never: a date that does not exist.
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2,4,6,9,11",
    // Never at sub-daily frequency: the most periods per calendar year.
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    // An hour filter that the INTERVAL never lines up with.
    "FREQ=HOURLY;INTERVAL=2;BYHOUR=9",
    "FREQ=HOURLY;INTERVAL=24;BYHOUR=1",
    // A huge INTERVAL on a rare date: 29 February every 1000 years.
    "FREQ=YEARLY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=29",
    // Rare by construction: Friday the 13th in February, week 53 on a Monday.
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
    // Day 366 of the year only in leap years, and the 5th Friday of February.
    "FREQ=YEARLY;BYYEARDAY=366",
    "FREQ=MONTHLY;BYMONTH=2;BYDAY=5FR",
    // A set position beyond the set's size never selects anything.
    "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
];

#[test]
fn the_worst_case_rules_end_every_call() {
    let start: DateTime<Utc> = "2026-01-01T08:00:00Z".parse().unwrap();
    for zone in ["UTC", "Europe/Berlin"] {
        let zone = TimeZone::parse(zone).unwrap();
        for body in WORST_CASES {
            let rule = Recurrence::parse(body).unwrap();
            let began = Instant::now();
            let series: Vec<_> = rule.occurrences(start, zone).take(4).collect();
            assert_eq!(series.first(), Some(&start), "{body}");
            assert!(series.windows(2).all(|pair| pair[0] < pair[1]), "{body}");
            let _ = rule.next_after(start, zone, start);
            let _ = rule.first_match_at_or_after(start, zone, start);
            eprintln!(
                "{body:<50} {zone:?}: {} occurrences, {:?}",
                series.len(),
                began.elapsed()
            );
        }
    }
}

const PARTS: [&str; 9] = [
    "BYMONTH",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYDAY",
    "BYSETPOS",
    "BYHOUR",
    "BYMINUTE",
    "WKST",
];

/// A value for a part, valid or not, edge values included.
fn value(part: &'static str) -> BoxedStrategy<String> {
    let numbers = |low: i32, high: i32| {
        proptest::collection::vec(low..=high, 1..4)
            .prop_map(|values| {
                values
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .boxed()
    };
    match part {
        "BYMONTH" => numbers(0, 13),
        "BYMONTHDAY" => numbers(-32, 32),
        "BYYEARDAY" => numbers(-367, 367),
        "BYWEEKNO" => numbers(-54, 54),
        "BYSETPOS" => numbers(-367, 367),
        "BYHOUR" => numbers(0, 24),
        "BYMINUTE" => numbers(0, 60),
        "WKST" => select(vec!["MO", "SU", "XX"])
            .prop_map(str::to_owned)
            .boxed(),
        _ => proptest::collection::vec(
            (
                proptest::option::of(-6_i32..=6),
                select(vec!["MO", "TU", "WE", "TH", "FR", "SA", "SU"]),
            ),
            1..4,
        )
        .prop_map(|days| {
            days.iter()
                .map(|(n, day)| n.map_or(day.to_string(), |n| format!("{n}{day}")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .boxed(),
    }
}

fn any_rule() -> impl Strategy<Value = String> {
    (
        select(vec!["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"]),
        prop_oneof![1_u32..5, Just(1000_u32)],
        proptest::sample::subsequence(PARTS.to_vec(), 0..4),
        any::<u64>(),
    )
        .prop_flat_map(|(frequency, interval, parts, _)| {
            let values: Vec<_> = parts.iter().map(|part| value(part)).collect();
            (Just((frequency, interval, parts)), values)
        })
        .prop_map(|((frequency, interval, parts), values)| {
            let mut body = format!("FREQ={frequency};INTERVAL={interval}");
            for (part, value) in parts.iter().zip(values) {
                body += &format!(";{part}={value}");
            }
            body
        })
}

proptest! {
    // Each case may search up to the engine's limits (a second or so in a debug build).
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_rules_over_the_whole_grammar_end_every_call_and_increase(
        body in any_rule(),
        start in (631_152_000_i64 / 60..2_840_140_800_i64 / 60)
            .prop_map(|minutes| DateTime::from_timestamp(minutes * 60, 0).unwrap()),
        zone in select(vec!["UTC", "Europe/Berlin", "America/Santiago", "Australia/Lord_Howe"]),
    ) {
        let zone = TimeZone::parse(zone).unwrap();
        if let Ok(rule) = Recurrence::parse(&body) {
            let series: Vec<_> = rule.occurrences(start, zone).take(3).collect();
            prop_assert_eq!(series.first(), Some(&start), "{}", body);
            prop_assert!(series.windows(2).all(|pair| pair[0] < pair[1]), "{}: {:?}", body, series);
            let _ = rule.first_match_at_or_after(start, zone, start);
        }
    }
}
