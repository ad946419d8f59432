//! `tickler parse`: reads one sentence with the natural-language parser, offline, and returns
//! the JSON object `POST /api/v1/parse` answers with.

use anyhow::Context;
use chrono::{DateTime, Utc};
use tickler_app::Clock as _;
use tickler_domain::TimeZone;
use tickler_protocol::nl::ParseResponse;

/// Parses `text` at `now` (default: the current time) in `zone` (default: the `TZ`
/// environment variable when it names an IANA zone, else UTC); returns the JSON object.
pub fn run(now: Option<&str>, zone: Option<&str>, text: &str) -> anyhow::Result<String> {
    let now = match now {
        Some(raw) => DateTime::parse_from_rfc3339(raw.trim())
            .with_context(|| format!("--now {raw:?} is not an RFC 3339 instant"))?
            .with_timezone(&Utc),
        None => tickler_app::SystemClock.now(),
    };
    let zone = match zone {
        Some(name) => {
            TimeZone::parse(name.trim()).with_context(|| format!("--tz {name:?} is unknown"))?
        }
        None => std::env::var("TZ")
            .ok()
            .and_then(|name| TimeZone::parse(name.trim_start_matches(':')).ok())
            .unwrap_or(TimeZone::UTC),
    };
    let parsed = tickler_task_parser::parse(text, now, zone);
    serde_json::to_string(&ParseResponse::from(&parsed)).context("failed to render the result")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_is_read_at_the_given_instant_and_zone() {
        let output = run(
            Some("2026-11-21T12:00:00Z"),
            Some("Asia/Karachi"),
            "call mom tomorrow at 5pm #family",
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&output).unwrap();
        assert_eq!(value["intent"], "create_task");
        assert_eq!(value["title"], "call mom");
        assert_eq!(value["due_at"], "2026-11-22T12:00:00Z");
        assert_eq!(value["tags"], serde_json::json!(["family"]));
    }

    #[test]
    fn a_bad_instant_or_zone_is_a_clear_error() {
        let error = run(Some("tomorrow"), None, "x").unwrap_err();
        assert!(error.to_string().contains("RFC 3339"), "{error}");
        let error = run(None, Some("Mars/Olympus"), "x").unwrap_err();
        assert!(error.to_string().contains("unknown"), "{error}");
    }
}
