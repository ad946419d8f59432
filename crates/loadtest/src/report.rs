//! Latency samples and their summary.

use std::time::Duration;

/// Latencies in microseconds.
#[derive(Debug, Default)]
pub struct Samples {
    micros: Vec<u32>,
    /// Requests that failed or returned an unexpected status.
    pub errors: u64,
}

impl Samples {
    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        self.micros
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Merges another worker's samples.
    pub fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    /// Returns how many requests succeeded.
    pub fn count(&self) -> usize {
        self.micros.len()
    }

    /// Returns the given percentile in milliseconds.
    pub fn percentile_ms(&mut self, percentile: f64) -> f64 {
        if self.micros.is_empty() {
            return f64::NAN;
        }
        self.micros.sort_unstable();
        let rank = ((percentile / 100.0) * (self.micros.len() - 1) as f64).round() as usize;
        f64::from(self.micros[rank.min(self.micros.len() - 1)]) / 1000.0
    }
}

/// Prints a Markdown row: label, scenario, requests/s, p50, p95, p99, max, errors.
pub fn row(label: &str, scenario: &str, samples: &mut Samples, elapsed: Duration) {
    let rate = samples.count() as f64 / elapsed.as_secs_f64();
    println!(
        "| {label} | {scenario} | {rate:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
        samples.percentile_ms(50.0),
        samples.percentile_ms(95.0),
        samples.percentile_ms(99.0),
        samples.percentile_ms(100.0),
        samples.errors
    );
}

/// Prints the table header.
pub fn header() {
    println!("| backend | scenario | req/s | p50 ms | p95 ms | p99 ms | max ms | errors |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
}
