//! Turns what a sentence said ([`Slots`]) into a due instant, an RRULE and reminders, reading
//! every calendar word on the wall clock of the requested zone.

use chrono::{DateTime, DurationRound, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc};
use tickler_domain::{Recurrence, RecurrenceMode, ReminderSpec};

use crate::calendar;
use crate::extract::Slots;
use crate::recurrence::RecurrenceSpec;
use crate::reminder;
use crate::scanner::Clock;
use crate::when::{self, TimeKind};

/// When a task is due and how it repeats.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Schedule {
    pub due_at: Option<DateTime<Utc>>,
    pub all_day: bool,
    pub recurrence: Option<String>,
    pub recurrence_mode: Option<RecurrenceMode>,
    pub reminders: Vec<ReminderSpec>,
}

/// Resolves the slots against the clock.
pub(crate) fn schedule(slots: &Slots, clock: &Clock) -> Schedule {
    let mut schedule = if slots.recurrence.is_some() {
        recurring(slots, clock)
    } else {
        one_off(slots, clock)
    };
    schedule.reminders = reminder::resolve(&slots.reminders, schedule.due_at, clock);
    schedule
}

/// The due date of a task that does not repeat.
fn one_off(slots: &Slots, clock: &Clock) -> Schedule {
    let mut schedule = Schedule::default();
    if let Some(after) = slots.after {
        schedule.due_at = clock.now.checked_add_signed(after);
        return schedule;
    }
    let date = slots
        .date
        .as_ref()
        .or(slots.start.as_ref())
        .or(slots.until.as_ref())
        .map(|spec| spec.date);
    let time = when::clock_time(slots.time, slots.part);
    match (date, time) {
        (Some(date), Some((time, extra))) => {
            schedule.due_at = at(clock, date, time, extra);
        }
        (Some(date), None) => {
            schedule.due_at = Some(clock.zone.start_of_day(date));
            schedule.all_day = true;
        }
        (None, Some((time, extra))) => {
            schedule.due_at = next_time(clock, time, extra, slots.time.map(|t| t.kind));
        }
        (None, None) => {}
    }
    schedule
}

/// A time with no date: today if it is still ahead, otherwise tomorrow ("by midnight" is
/// always the coming midnight).
fn next_time(
    clock: &Clock,
    time: NaiveTime,
    extra: i64,
    kind: Option<TimeKind>,
) -> Option<DateTime<Utc>> {
    let today = at(clock, clock.today, time, extra)?;
    if today > clock.now || kind == Some(TimeKind::Midnight) {
        return Some(today);
    }
    at(clock, clock.today, time, extra + 1)
}

/// Returns the instant of `time` on `date` plus `extra` days, moving a time skipped by a
/// spring-forward change forward by the gap.
fn at(clock: &Clock, date: NaiveDate, time: NaiveTime, extra: i64) -> Option<DateTime<Utc>> {
    let date = calendar::add_days(date, extra)?;
    Some(clock.zone.resolve_lenient(date.and_time(time)))
}

/// Returns the seed of a timed rule: `time` on `day`. The engine takes the time of day from
/// the seed's wall clock, so when `time` does not exist on `day` (a spring-forward gap) the
/// rule (whose days are pinned, see `RecurrenceSpec::pinned_to`) is seeded a day earlier
/// instead; the engine then skips the missing time as RFC 5545 says.
fn seed_at(
    clock: &Clock,
    spec: &RecurrenceSpec,
    day: NaiveDate,
    time: NaiveTime,
    extra: i64,
) -> Option<DateTime<Utc>> {
    let local = calendar::add_days(day, extra)?.and_time(time);
    if let Some(seed) = clock.zone.resolve_strict(local) {
        return Some(seed);
    }
    let days_fixed = !spec.frequency.is_sub_daily();
    let earlier = local.checked_sub_signed(TimeDelta::days(1));
    match earlier.and_then(|l| clock.zone.resolve_strict(l)) {
        Some(seed) if days_fixed => Some(seed),
        _ => Some(clock.zone.resolve_lenient(local)),
    }
}

/// The rule and first occurrence of a repeating task.
fn recurring(slots: &Slots, clock: &Clock) -> Schedule {
    let mut schedule = Schedule::default();
    let Some(mut spec) = slots.recurrence.clone() else {
        return schedule;
    };
    let mut start = slots.start.as_ref().map(|s| s.date);
    if let Some(date) = &slots.date
        && !spec.absorb(&date.pattern)
    {
        start = start.or(Some(date.date));
    }
    let part = slots.part.or(spec.part);
    let time = when::clock_time(slots.time, part);
    let until = slots.until.as_ref().and_then(|until| {
        let last = NaiveTime::from_hms_opt(23, 59, 59)?;
        Some(clock.zone.resolve_lenient(until.date.and_time(last)))
    });
    let first_minute = time.map_or_else(
        || clock.zone.local_datetime(clock.now).minute(),
        |(time, _)| time.minute(),
    );
    spec.start_minutes(first_minute);
    schedule.recurrence = Some(spec.rule(until, false));
    schedule.recurrence_mode = Some(if spec.from_completion {
        RecurrenceMode::FromCompletion
    } else {
        RecurrenceMode::FromDue
    });
    let sub_daily = spec.frequency.is_sub_daily();
    if sub_daily && time.is_none() && start.is_none() {
        // "every hour" starts now, to the minute.
        schedule.due_at = clock.now.duration_trunc(TimeDelta::minutes(1)).ok();
        return schedule;
    }
    let first_day = start.unwrap_or(clock.today).max(clock.today);
    let pattern = spec.pinned_to(first_day);
    let (seed, from) = match time {
        Some((time, extra)) => {
            let Some(seed) = seed_at(clock, &pattern, first_day, time, extra) else {
                return schedule;
            };
            let from = if first_day > clock.today {
                clock.zone.start_of_day(first_day)
            } else {
                clock.now
            };
            (seed, from)
        }
        None => {
            schedule.all_day = !sub_daily;
            let seed = clock.zone.start_of_day(first_day);
            (seed, seed)
        }
    };
    // The first occurrence is the first date matching the pattern; INTERVAL then counts from
    // it ("every other thursday" starts on the coming Thursday).
    schedule.due_at = Recurrence::parse(&pattern.rule(None, true))
        .ok()
        .and_then(|pattern| pattern.first_match_at_or_after(seed, clock.zone, from))
        .or(Some(seed));
    schedule
}
