//! The source of "now". Use cases take time from a [`Clock`] so tests can control it.

use std::fmt::Debug;

use chrono::{DateTime, Utc};

/// Tells the current time.
pub trait Clock: Send + Sync + Debug {
    /// Returns the current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place that reads the real clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved, for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: parking_lot::Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// Starts at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: parking_lot::Mutex::new(now),
        }
    }

    /// Moves the clock to `now`.
    pub fn set(&self, now: DateTime<Utc>) {
        *self.now.lock() = now;
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::TimeDelta) {
        *self.now.lock() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}
