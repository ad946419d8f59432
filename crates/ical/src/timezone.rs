//! VTIMEZONE components generated from the tz database that chrono-tz embeds.
//!
//! chrono-tz answers "which offset is in force at this instant" but does not list its
//! transitions, so they are found by sampling the offset once a day over a window of years and
//! bisecting each change to the second. Within the window every transition becomes an
//! observance (grouped with RDATEs when several share their offsets and name). When the zone
//! still changes offsets every year at the end of the window, the last run of regular changes of
//! each kind (such as "the last Sunday of March") is written as a yearly RRULE, so calendar
//! apps keep the right offsets for a recurring task's later occurrences.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone as _, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use crate::content::push_folded;

/// Earliest instant the scan looks at: older transitions (local mean time and the like) are
/// of no use to a task list and would only bloat the feed.
const EARLIEST_YEAR: i32 = 1970;
/// Latest year the scan looks at.
const LATEST_YEAR: i32 = 2200;
/// How many years the regular yearly changes must repeat to be written as an RRULE.
const MIN_REGULAR_YEARS: usize = 2;

/// The offset in force over a span of time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Offset {
    seconds: i32,
    daylight: bool,
    name: String,
}

fn offset_at(zone: Tz, instant: DateTime<Utc>) -> Offset {
    let offset = zone.offset_from_utc_datetime(&instant.naive_utc());
    let seconds =
        i32::try_from((offset.base_utc_offset() + offset.dst_offset()).num_seconds()).unwrap_or(0);
    Offset {
        seconds,
        daylight: !offset.dst_offset().is_zero(),
        name: offset
            .abbreviation()
            .map(str::to_owned)
            .unwrap_or_else(|| format_offset(seconds)),
    }
}

/// A change of offset.
#[derive(Debug, Clone)]
struct Transition {
    /// The first instant of the new offset.
    at: DateTime<Utc>,
    from: Offset,
    to: Offset,
}

impl Transition {
    /// The onset as RFC 5545 wants it: local time in the offset before the change.
    fn local_onset(&self) -> NaiveDateTime {
        (self.at + TimeDelta::seconds(i64::from(self.from.seconds))).naive_utc()
    }

    fn same_observance(&self, other: &Transition) -> bool {
        self.from == other.from && self.to == other.to
    }
}

fn year_start(year: i32) -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Finds every change of offset in `[start, end)`.
fn transitions(zone: Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<Transition> {
    let step = TimeDelta::days(1);
    let mut found = Vec::new();
    let mut before = start;
    let mut offset_before = offset_at(zone, before);
    while before < end {
        let after = before + step;
        let offset_after = offset_at(zone, after);
        if offset_after != offset_before {
            // Bisect to the first second of the new offset.
            let (mut low, mut high) = (before, after);
            while high - low > TimeDelta::seconds(1) {
                let middle = low + (high - low) / 2;
                if offset_at(zone, middle) == offset_before {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            found.push(Transition {
                at: high,
                from: offset_before,
                to: offset_after.clone(),
            });
        }
        before = after;
        offset_before = offset_after;
    }
    found
}

/// How a yearly change falls in its month: the nth weekday, or the last one.
fn weekday_rule(local: NaiveDateTime) -> (u32, u32, bool) {
    let date = local.date();
    let nth = (date.day() - 1) / 7 + 1;
    let is_last = (date + TimeDelta::days(7)).month() != date.month();
    (date.month(), nth, is_last)
}

/// Returns the RRULE that produces every transition of `run` (same month, weekday and local
/// time, in consecutive years), or `None` when they follow no such rule.
fn yearly_rule(run: &[&Transition]) -> Option<String> {
    let first = run.first()?;
    let onset = first.local_onset();
    let (month, nth, _) = weekday_rule(onset);
    let weekday = onset.weekday();
    let consistent = |check: &dyn Fn(&Transition) -> bool| run.iter().all(|t| check(t));
    let regular = consistent(&|t| {
        let local = t.local_onset();
        local.time() == onset.time() && local.weekday() == weekday && local.month() == month
    }) && run
        .windows(2)
        .all(|pair| pair[1].local_onset().year() == pair[0].local_onset().year() + 1);
    if !regular {
        return None;
    }
    let ordinal = if consistent(&|t| weekday_rule(t.local_onset()).1 == nth) {
        nth.to_string()
    } else if consistent(&|t| weekday_rule(t.local_onset()).2) {
        "-1".to_owned()
    } else {
        return None;
    };
    let day = match weekday {
        chrono::Weekday::Mon => "MO",
        chrono::Weekday::Tue => "TU",
        chrono::Weekday::Wed => "WE",
        chrono::Weekday::Thu => "TH",
        chrono::Weekday::Fri => "FR",
        chrono::Weekday::Sat => "SA",
        chrono::Weekday::Sun => "SU",
    };
    Some(format!("FREQ=YEARLY;BYMONTH={month};BYDAY={ordinal}{day}"))
}

/// An observance to write: its first onset, the offsets, and either later onsets or a rule.
struct Observance<'a> {
    first: &'a Transition,
    rdates: Vec<NaiveDateTime>,
    rrule: Option<String>,
}

/// Writes the VTIMEZONE of `zone` valid for instants from `from` to `to` (and, where the zone
/// keeps a regular yearly rule, beyond `to`).
pub fn write_vtimezone(out: &mut String, zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) {
    let start = year_start(from.year().clamp(EARLIEST_YEAR, LATEST_YEAR) - 1);
    let end = year_start(to.year().clamp(EARLIEST_YEAR, LATEST_YEAR) + 3);
    let initial = offset_at(zone, start);
    let found = transitions(zone, start, end);
    // The offset in force when the window opens, as an observance whose change is a no-op.
    let opening = Transition {
        at: start,
        from: initial.clone(),
        to: initial,
    };

    // The trailing regular run of each kind becomes an RRULE when the zone still changes
    // offsets in the last years of the window.
    let mut ruled = vec![false; found.len()];
    let mut observances: Vec<Observance<'_>> = Vec::new();
    let still_changing = found
        .last()
        .is_some_and(|last| last.at >= year_start(end.year() - 1));
    if still_changing {
        for daylight in [true, false] {
            let indices: Vec<usize> = (0..found.len())
                .filter(|&i| found[i].to.daylight == daylight)
                .collect();
            let Some(&last) = indices.last() else {
                continue;
            };
            // Extend the run backwards while the rule keeps holding.
            let mut run_start = indices.len() - 1;
            while run_start > 0 {
                let candidate: Vec<&Transition> = indices[run_start - 1..]
                    .iter()
                    .map(|&i| &found[i])
                    .collect();
                let same = candidate.iter().all(|t| t.same_observance(&found[last]));
                if same && yearly_rule(&candidate).is_some() {
                    run_start -= 1;
                } else {
                    break;
                }
            }
            let run: Vec<&Transition> = indices[run_start..].iter().map(|&i| &found[i]).collect();
            if run.len() >= MIN_REGULAR_YEARS
                && let Some(rule) = yearly_rule(&run)
            {
                for &i in &indices[run_start..] {
                    ruled[i] = true;
                }
                observances.push(Observance {
                    first: run[0],
                    rdates: Vec::new(),
                    rrule: Some(rule),
                });
            }
        }
    }
    let mut irregular: Vec<&Transition> = vec![&opening];
    irregular.extend(
        found
            .iter()
            .zip(&ruled)
            .filter(|(_, ruled)| !**ruled)
            .map(|(t, _)| t),
    );
    // Transitions with the same offsets and name share one observance with RDATEs.
    let mut grouped: Vec<Observance<'_>> = Vec::new();
    for transition in irregular {
        match grouped
            .iter_mut()
            .find(|o| o.first.same_observance(transition) && !std::ptr::eq(o.first, &opening))
        {
            Some(observance) => observance.rdates.push(transition.local_onset()),
            None => grouped.push(Observance {
                first: transition,
                rdates: Vec::new(),
                rrule: None,
            }),
        }
    }
    grouped.extend(observances);

    push_folded(out, "BEGIN:VTIMEZONE");
    push_folded(out, &format!("TZID:{}", zone.name()));
    for observance in &grouped {
        let kind = if observance.first.to.daylight {
            "DAYLIGHT"
        } else {
            "STANDARD"
        };
        push_folded(out, &format!("BEGIN:{kind}"));
        push_folded(
            out,
            &format!("DTSTART:{}", format_local(observance.first.local_onset())),
        );
        if let Some(rule) = &observance.rrule {
            push_folded(out, &format!("RRULE:{rule}"));
        }
        for rdate in &observance.rdates {
            push_folded(out, &format!("RDATE:{}", format_local(*rdate)));
        }
        push_folded(
            out,
            &format!(
                "TZOFFSETFROM:{}",
                format_offset(observance.first.from.seconds)
            ),
        );
        push_folded(
            out,
            &format!("TZOFFSETTO:{}", format_offset(observance.first.to.seconds)),
        );
        push_folded(
            out,
            &format!(
                "TZNAME:{}",
                crate::content::escape_text(&observance.first.to.name)
            ),
        );
        push_folded(out, &format!("END:{kind}"));
    }
    push_folded(out, "END:VTIMEZONE");
}

/// Formats a local date-time as `YYYYMMDDTHHMMSS`.
pub(crate) fn format_local(local: NaiveDateTime) -> String {
    local.format("%Y%m%dT%H%M%S").to_string()
}

/// Formats a UTC offset as `+HHMM`, or `+HHMMSS` when it has seconds.
fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let magnitude = seconds.unsigned_abs();
    let (hours, minutes, secs) = (magnitude / 3600, magnitude / 60 % 60, magnitude % 60);
    if secs == 0 {
        format!("{sign}{hours:02}{minutes:02}")
    } else {
        format!("{sign}{hours:02}{minutes:02}{secs:02}")
    }
}
