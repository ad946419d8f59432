//! How long expanding typical rules takes. Not a pass/fail test (timings depend on the
//! machine); run it when changing the engine and update `recurrence/design.md`:
//!
//! ```text
//! cargo test -p tickler-domain --release --test expansion_cost -- --ignored --nocapture
//! ```

use std::hint::black_box;
use std::time::Instant;

use chrono::{DateTime, Utc};
use tickler_domain::{Recurrence, TimeZone};

const RULES: [&str; 10] = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
    "FREQ=MONTHLY;BYMONTHDAY=-1",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=MONTHLY;BYDAY=2TU",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
    "FREQ=HOURLY;INTERVAL=3",
    "FREQ=HOURLY;BYHOUR=9,17;BYDAY=MO,WE",
];

/// Rules that never match again (in UTC): the cost of giving up.
const NEVER: [&str; 4] = [
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31",
    "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=HOURLY;INTERVAL=2;BYHOUR=9",
];

#[test]
#[ignore = "a measurement, not a check; see the module docs"]
fn expanding_a_thousand_occurrences_of_typical_rules_is_fast() {
    let zone = TimeZone::parse("Europe/Berlin").unwrap();
    let start: DateTime<Utc> = "2026-01-01T08:00:00Z".parse().unwrap();
    let repeats = 20;
    for body in RULES {
        let rule = Recurrence::parse(body).unwrap();
        let began = Instant::now();
        for _ in 0..repeats {
            let count = rule.occurrences(start, zone).take(1000).count();
            assert_eq!(black_box(count), 1000);
        }
        let each = began.elapsed() / repeats;
        eprintln!("{body:<50} 1000 occurrences in {each:?}");
    }
    for body in NEVER {
        let rule = Recurrence::parse(body).unwrap();
        // In a DST zone the last rule matches for half of each year: the offset change shifts
        // which local hours two-hour steps land on.
        let zone = TimeZone::UTC;
        let began = Instant::now();
        assert_eq!(rule.occurrences(start, zone).count(), 1);
        eprintln!("{body:<50} gave up after {:?}", began.elapsed());
    }
}
