//! Properties that hold for every input: parsing never panics, series are strictly increasing,
//! start at DTSTART, honour COUNT and satisfy the BYMONTH and BYDAY limits on the local clock.

use chrono::{DateTime, Datelike, Utc, Weekday};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

use super::super::Recurrence;
use super::zone;

const ZONES: [&str; 6] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "Australia/Sydney",
    "Asia/Kolkata",
];
const FREQUENCIES: [&str; 5] = ["HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY"];
const WEEKDAYS: [(&str, Weekday); 7] = [
    ("MO", Weekday::Mon),
    ("TU", Weekday::Tue),
    ("WE", Weekday::Wed),
    ("TH", Weekday::Thu),
    ("FR", Weekday::Fri),
    ("SA", Weekday::Sat),
    ("SU", Weekday::Sun),
];

/// A generated rule with the limits it promises.
#[derive(Debug, Clone)]
struct Generated {
    body: String,
    months: Vec<u32>,
    weekdays: Vec<Weekday>,
    count: Option<usize>,
}

fn generated_rule() -> impl Strategy<Value = Generated> {
    (
        select(FREQUENCIES.to_vec()),
        1_u32..4,
        subsequence((1_u32..=12).collect::<Vec<_>>(), 0..4),
        subsequence(WEEKDAYS.to_vec(), 0..4),
        proptest::option::of(1_usize..40),
        proptest::option::of(subsequence((0_u32..24).collect::<Vec<_>>(), 1..3)),
    )
        .prop_map(|(frequency, interval, months, weekdays, count, hours)| {
            let mut body = format!("FREQ={frequency};INTERVAL={interval}");
            let join = |items: Vec<String>| items.join(",");
            if !months.is_empty() {
                body += &format!(
                    ";BYMONTH={}",
                    join(months.iter().map(u32::to_string).collect())
                );
            }
            if !weekdays.is_empty() {
                let codes = weekdays
                    .iter()
                    .map(|(code, _)| (*code).to_owned())
                    .collect();
                body += &format!(";BYDAY={}", join(codes));
            }
            // An HOURLY rule whose hours never line up with its INTERVAL is valid but only
            // ends after a long search; keep the property tests quick.
            if let Some(hours) = hours.filter(|_| frequency != "HOURLY") {
                body += &format!(
                    ";BYHOUR={}",
                    join(hours.iter().map(u32::to_string).collect())
                );
            }
            if let Some(count) = count {
                body += &format!(";COUNT={count}");
            }
            Generated {
                body,
                months,
                weekdays: weekdays.into_iter().map(|(_, weekday)| weekday).collect(),
                count,
            }
        })
}

/// Whole minutes between 1990 and 2060.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (631_152_000_i64 / 60..2_840_140_800_i64 / 60)
        .prop_map(|minutes| DateTime::from_timestamp(minutes * 60, 0).unwrap())
}

proptest! {
    #[test]
    fn parsing_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Recurrence::parse(&text);
    }

    #[test]
    fn parsing_never_panics_on_rule_shaped_text(
        text in "(RRULE:)?((FREQ|INTERVAL|COUNT|UNTIL|BYDAY|BYMONTHDAY|BYYEARDAY|BYWEEKNO|BYMONTH|BYSETPOS|BYHOUR|BYMINUTE|BYSECOND|WKST)=[-+0-9A-Z,TZ]{0,12};?){0,6}"
    ) {
        if let Ok(rule) = Recurrence::parse(&text) {
            prop_assert_eq!(Recurrence::parse(rule.as_str()), Ok(rule.clone()));
        }
    }

    #[test]
    fn series_start_at_dtstart_increase_strictly_and_respect_their_limits(
        generated in generated_rule(),
        start in instant(),
        zone_name in select(ZONES.to_vec()),
    ) {
        let zone = zone(zone_name);
        let rule = Recurrence::parse(&generated.body).unwrap();
        let series: Vec<DateTime<Utc>> = rule.occurrences(start, zone).take(60).collect();
        prop_assert_eq!(series.first(), Some(&start));
        prop_assert!(series.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", series);
        if let Some(count) = generated.count {
            prop_assert!(series.len() <= count);
        }
        for instant in series.iter().skip(1) {
            let local = zone.local_date(*instant);
            if !generated.months.is_empty() {
                prop_assert!(generated.months.contains(&local.month()), "{} {}", instant, local);
            }
            if !generated.weekdays.is_empty() {
                prop_assert!(generated.weekdays.contains(&local.weekday()), "{} {}", instant, local);
            }
        }
    }

    #[test]
    fn next_after_agrees_with_the_series(
        generated in generated_rule(),
        start in instant(),
        zone_name in select(ZONES.to_vec()),
        pick in 0_usize..10,
    ) {
        let zone = zone(zone_name);
        let rule = Recurrence::parse(&generated.body).unwrap();
        let series: Vec<DateTime<Utc>> = rule.occurrences(start, zone).take(12).collect();
        if let Some(current) = series.get(pick) {
            prop_assert_eq!(rule.next_after(start, zone, *current), series.get(pick + 1).copied());
        }
    }
}

proptest! {
    #[test]
    fn extreme_instants_never_panic(
        seconds in any::<i64>(),
        other in any::<i64>(),
        body in select(vec!["FREQ=HOURLY", "FREQ=DAILY;BYHOUR=1,23", "FREQ=YEARLY;BYWEEKNO=1"]),
        zone_name in select(ZONES.to_vec()),
    ) {
        let clamp = |s: i64| {
            let s = s.clamp(DateTime::<Utc>::MIN_UTC.timestamp(), DateTime::<Utc>::MAX_UTC.timestamp());
            DateTime::from_timestamp(s, 0).unwrap()
        };
        let (instant, other) = (clamp(seconds), clamp(other));
        let zone = zone(zone_name);
        let rule = Recurrence::parse(body).unwrap();
        let _ = rule.occurrences(instant, zone).take(3).count();
        let _ = rule.next_after(instant, zone, other);
        let _ = rule.first_match_at_or_after(instant, zone, other);
        let _ = rule.next_from_completion(instant, false, zone, other);
        let _ = rule.next_from_completion(other, true, zone, instant);
    }
}
