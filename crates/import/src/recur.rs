//! Taskwarrior's `recur` periods as RFC 5545 RRULEs.
//!
//! The periods are those of Taskwarrior's documentation ("Recurrence" and "Dates" pages of
//! taskwarrior.org: `daily`, `weekdays`, `weekly`, `biweekly`, `monthly`, `quarterly`,
//! `semiannual`, `annual`/`yearly`, `biannual`/`biyearly`, their synonyms, `<N><unit>` such as
//! `3d`, `2wks`, `6mo`, `1y`, and ISO 8601 durations such as `P2W`). Periods shorter than a day
//! have no tickler equivalent.

/// Returns the RRULE body for a Taskwarrior `recur` value, or why there is none.
pub fn taskwarrior_period_to_rrule(period: &str) -> Result<String, String> {
    let period = period.trim().to_ascii_lowercase();
    let named = match period.as_str() {
        "daily" | "day" => Some("FREQ=DAILY"),
        "weekdays" => Some("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
        "weekly" | "week" | "sennight" => Some("FREQ=WEEKLY"),
        "biweekly" | "fortnight" => Some("FREQ=WEEKLY;INTERVAL=2"),
        "monthly" | "month" => Some("FREQ=MONTHLY"),
        "bimonthly" => Some("FREQ=MONTHLY;INTERVAL=2"),
        "quarterly" => Some("FREQ=MONTHLY;INTERVAL=3"),
        "semiannual" => Some("FREQ=MONTHLY;INTERVAL=6"),
        "annual" | "yearly" | "year" => Some("FREQ=YEARLY"),
        "biannual" | "biyearly" => Some("FREQ=YEARLY;INTERVAL=2"),
        _ => None,
    };
    if let Some(rule) = named {
        return Ok(rule.to_owned());
    }
    if let Some(iso) = period.strip_prefix('p') {
        return iso_duration(iso).ok_or_else(|| unsupported(&period));
    }
    let digits: String = period.chars().take_while(char::is_ascii_digit).collect();
    let unit = &period[digits.len()..];
    let count: u32 = if digits.is_empty() {
        1
    } else {
        digits.parse().map_err(|_| unsupported(&period))?
    };
    if count == 0 {
        return Err(unsupported(&period));
    }
    let (freq, factor) = match unit {
        "d" | "day" | "days" => ("DAILY", 1),
        "w" | "wk" | "wks" | "week" | "weeks" => ("WEEKLY", 1),
        "mo" | "mos" | "mth" | "mths" | "month" | "months" => ("MONTHLY", 1),
        "q" | "qtr" | "qtrs" | "quarter" | "quarters" => ("MONTHLY", 3),
        "y" | "yr" | "yrs" | "year" | "years" => ("YEARLY", 1),
        "h" | "hr" | "hrs" | "hour" | "hours" | "min" | "mins" | "minute" | "minutes" | "s"
        | "sec" | "secs" | "second" | "seconds" => {
            return Err(format!(
                "recurrence every {period} is shorter than a day, which tickler does not repeat"
            ));
        }
        _ => return Err(unsupported(&period)),
    };
    let rule = rule(freq, count.saturating_mul(factor));
    // The engine bounds intervals; a rule it refuses is reported, never stored.
    match tickler_domain::Recurrence::parse(&rule) {
        Ok(_) => Ok(rule),
        Err(error) => Err(format!("recurrence every {period}: {error}")),
    }
}

fn iso_duration(body: &str) -> Option<String> {
    let (number, unit) = body.split_at(body.len().checked_sub(1)?);
    let count: u32 = number.parse().ok().filter(|count| *count > 0)?;
    let freq = match unit {
        "d" => "DAILY",
        "w" => "WEEKLY",
        "m" => "MONTHLY",
        "y" => "YEARLY",
        _ => return None,
    };
    Some(rule(freq, count))
}

fn rule(freq: &str, interval: u32) -> String {
    if interval == 1 {
        format!("FREQ={freq}")
    } else {
        format!("FREQ={freq};INTERVAL={interval}")
    }
}

fn unsupported(period: &str) -> String {
    format!("recurrence period {period:?} is not one Taskwarrior documents")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_periods_map_to_rules() {
        for (period, rule) in [
            ("daily", "FREQ=DAILY"),
            ("weekdays", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"),
            ("weekly", "FREQ=WEEKLY"),
            ("biweekly", "FREQ=WEEKLY;INTERVAL=2"),
            ("monthly", "FREQ=MONTHLY"),
            ("quarterly", "FREQ=MONTHLY;INTERVAL=3"),
            ("yearly", "FREQ=YEARLY"),
            ("3d", "FREQ=DAILY;INTERVAL=3"),
            ("2wks", "FREQ=WEEKLY;INTERVAL=2"),
            ("6mo", "FREQ=MONTHLY;INTERVAL=6"),
            ("2q", "FREQ=MONTHLY;INTERVAL=6"),
            ("P2W", "FREQ=WEEKLY;INTERVAL=2"),
            ("P1D", "FREQ=DAILY"),
        ] {
            assert_eq!(
                taskwarrior_period_to_rrule(period).as_deref(),
                Ok(rule),
                "{period}"
            );
        }
    }

    #[test]
    fn periods_shorter_than_a_day_and_nonsense_are_refused_with_a_reason() {
        assert!(
            taskwarrior_period_to_rrule("4h")
                .unwrap_err()
                .contains("shorter than a day")
        );
        assert!(taskwarrior_period_to_rrule("fortnightly-ish").is_err());
        assert!(taskwarrior_period_to_rrule("0d").is_err());
    }

    proptest! {
        #[test]
        fn every_rule_made_is_accepted_by_the_recurrence_engine(
            count in 1u32..500,
            unit in prop::sample::select(vec!["d", "days", "w", "wks", "mo", "q", "y", "yrs"]),
        ) {
            // Either a rule the engine accepts, or a reason: never a rule it would refuse.
            match taskwarrior_period_to_rrule(&format!("{count}{unit}")) {
                Ok(rule) => prop_assert!(tickler_domain::Recurrence::parse(&rule).is_ok(), "{}", rule),
                Err(reason) => prop_assert!(reason.contains("recurrence every"), "{}", reason),
            }
        }
    }
}
