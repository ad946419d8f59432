//! Tests of the recurrence engine. Expected values come from the calendar and the tz
//! database (checked by hand or against RFC 5545's own examples), never from the engine.

mod by_parts;
mod completion;
mod dst;
mod expand;
mod parse;
mod props;
mod queries;

use chrono::{DateTime, NaiveDateTime, Utc};

use super::Recurrence;
use crate::time::TimeZone;

fn zone(name: &str) -> TimeZone {
    TimeZone::parse(name).unwrap()
}

fn rule(body: &str) -> Recurrence {
    Recurrence::parse(body).unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The instant of a local wall-clock time written `2026-03-29 09:00` (it must exist).
fn at(zone: TimeZone, local: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S"))
        .unwrap_or_else(|e| panic!("{local}: {e}"));
    zone.resolve_strict(naive)
        .unwrap_or_else(|| panic!("{local} does not exist in {zone}"))
}

/// Renders an instant on `zone`'s clock with its offset: `2026-03-29 09:00 +02:00`.
fn show(zone: TimeZone, instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&zone.tz())
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// The first `limit` occurrences of `body` from local `start`, on `zone`'s clock without
/// offsets (`2026-03-29 09:00`).
fn local_series(body: &str, zone_name: &str, start: &str, limit: usize) -> Vec<String> {
    let zone = zone(zone_name);
    rule(body)
        .occurrences(at(zone, start), zone)
        .take(limit)
        .map(|instant| {
            zone.local_datetime(instant)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .collect()
}

/// Like [`local_series`], with each instant's UTC offset so DST handling is visible.
fn zoned_series(body: &str, zone_name: &str, start: &str, limit: usize) -> Vec<String> {
    let zone = zone(zone_name);
    rule(body)
        .occurrences(at(zone, start), zone)
        .take(limit)
        .map(|instant| show(zone, instant))
        .collect()
}

/// `(rule, local DTSTART, expected first occurrences)`, all in UTC.
pub(super) type Case = (&'static str, &'static str, &'static [&'static str]);

pub(super) fn check(cases: &[Case]) {
    for (body, start, expected) in cases {
        let actual = local_series(body, "UTC", start, expected.len() + 1);
        assert_eq!(
            &actual[..expected.len().min(actual.len())],
            *expected,
            "{body} from {start}"
        );
        assert!(
            actual.len() >= expected.len(),
            "{body} from {start}: {actual:?}"
        );
    }
}
