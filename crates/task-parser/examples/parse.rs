//! Prints the JSON for a sentence: `cargo run -p tickler-task-parser --example parse --
//! [--now RFC3339] [--tz IANA] TEXT...` (the same object `tickler parse` prints).
#![allow(clippy::print_stdout)]

use chrono::{DateTime, Utc};
use tickler_domain::TimeZone;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
        .map_err(|e| e.to_string())?
        .with_timezone(&Utc);
    let mut zone = TimeZone::UTC;
    let mut words = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--now" => {
                let value = args.next().ok_or("--now needs a value")?;
                now = DateTime::parse_from_rfc3339(&value)
                    .map_err(|e| e.to_string())?
                    .with_timezone(&Utc);
            }
            "--tz" => {
                let value = args.next().ok_or("--tz needs a value")?;
                zone = TimeZone::parse(&value).map_err(|e| e.to_string())?;
            }
            _ => words.push(arg),
        }
    }
    let parsed = tickler_task_parser::parse(&words.join(" "), now, zone);
    let json = serde_json::to_string(&parsed).map_err(|e| e.to_string())?;
    println!("{json}");
    Ok(())
}
