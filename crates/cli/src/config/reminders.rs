//! `[reminders]`: the reminder scheduler.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::values::parse_duration;

/// `[reminders]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RemindersConfig {
    /// Reminders found later than this (`30s`, `24h`) are recorded missed instead of sent.
    pub missed_after: String,
    /// Longest sleep between looks at the schedule, in milliseconds.
    pub max_sleep_ms: u64,
    /// Reminders fired per transaction.
    pub batch: u32,
}

impl RemindersConfig {
    /// Returns the catch-up horizon.
    pub fn missed_after(&self) -> anyhow::Result<Duration> {
        parse_duration(&self.missed_after).with_context(|| {
            format!(
                "reminders.missed_after: {:?} is not a duration like 30s, 24h or 2d",
                self.missed_after
            )
        })
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        self.missed_after()?;
        if self.max_sleep_ms == 0 || self.batch == 0 {
            bail!("reminders.max_sleep_ms and reminders.batch must be positive");
        }
        Ok(())
    }
}
