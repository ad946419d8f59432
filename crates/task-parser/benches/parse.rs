//! How long one sentence takes to parse: every sentence of the phrase corpus
//! (`tests/corpus/*.txt`), each parsed many times at its own clock and zone, in a release
//! build.
//!
//! ```text
//! cargo bench -p tickler-task-parser --bench parse            # 200 rounds of the corpus
//! cargo bench -p tickler-task-parser --bench parse -- 20      # fewer rounds
//! ```
//!
//! Prints the mean time per sentence for each corpus file and overall, and the slowest
//! sentence. Figures go to `docs/benchmarks.md` with the conditions they ran under.

// A benchmark binary: it prints its report, and a broken corpus file should stop it.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tickler_domain::TimeZone;

struct Sentence {
    text: String,
    now: DateTime<Utc>,
    zone: TimeZone,
}

/// Reads the sentences of one corpus file with the clock and zone each is read at.
fn sentences(path: &Path) -> Vec<Sentence> {
    let mut now: DateTime<Utc> = "2026-11-21T12:00:00Z".parse().unwrap();
    let mut zone = TimeZone::UTC;
    let mut out: Vec<Sentence> = Vec::new();
    for line in std::fs::read_to_string(path).unwrap().lines() {
        if let Some(rest) = line.strip_prefix("@now ") {
            now = rest.trim().parse().unwrap();
        } else if let Some(rest) = line.strip_prefix("@tz ") {
            zone = TimeZone::parse(rest.trim()).unwrap();
        } else if let Some(text) = line.strip_prefix("> ") {
            out.push(Sentence {
                text: text.replace("\\n", "\n"),
                now,
                zone,
            });
        } else if let Some(rest) = line.strip_prefix("now:")
            && let Some(last) = out.last_mut()
        {
            last.now = rest.trim().parse().unwrap();
        } else if let Some(rest) = line.strip_prefix("tz:")
            && let Some(last) = out.last_mut()
        {
            last.zone = TimeZone::parse(rest.trim()).unwrap();
        }
    }
    out
}

fn main() {
    let rounds: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let (mut total, mut count) = (Duration::ZERO, 0_u32);
    let mut slowest = (Duration::ZERO, String::new());
    println!("| corpus file | sentences | mean µs per sentence |");
    println!("| --- | --- | --- |");
    for path in paths {
        let file = sentences(&path);
        let mut file_total = Duration::ZERO;
        for sentence in &file {
            // Warm up once, then time the rounds together.
            black_box(tickler_task_parser::parse(
                &sentence.text,
                sentence.now,
                sentence.zone,
            ));
            let started = Instant::now();
            for _ in 0..rounds {
                black_box(tickler_task_parser::parse(
                    black_box(&sentence.text),
                    sentence.now,
                    sentence.zone,
                ));
            }
            let each = started.elapsed() / rounds;
            if each > slowest.0 {
                slowest = (each, sentence.text.clone());
            }
            file_total += each;
        }
        let sentences_in_file = u32::try_from(file.len()).unwrap();
        println!(
            "| {} | {} | {:.1} |",
            path.file_name().unwrap().to_string_lossy(),
            sentences_in_file,
            micros(file_total / sentences_in_file.max(1))
        );
        total += file_total;
        count += sentences_in_file;
    }
    println!("| all | {count} | {:.1} |", micros(total / count.max(1)));
    println!("slowest: {:.1} µs for {:?}", micros(slowest.0), slowest.1);
}

fn micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}
