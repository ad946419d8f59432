//! The reminder scheduler (the `reminders` role): fires scheduled reminders when they fall due.
//!
//! It sleeps until the earliest pending fire time (asked of the database, whose clock decides
//! what is due), woken early by commits of this process (a change may have planned an earlier
//! reminder) and at least every `max_sleep` (other processes' changes cannot wake it). Each
//! pass asks the store to fire the due reminders: in one transaction they are marked fired,
//! or missed when later than the catch-up horizon, and their `tickler.reminder.due` (or
//! `tickler.reminder.missed`) events are appended to the outbox. Several replicas may run:
//! PostgreSQL hands each due row to one of them (`FOR UPDATE SKIP LOCKED`), SQLite's single
//! writer fires each row once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tickler_app::{Clock, EventSettings, OutboxSignal, system_event};
use tickler_domain::ReminderState;
use tickler_protocol::event::ReminderEventData;
use tickler_store::{FiredReminder, ReminderEventBuilder, ReminderFiring, Store, StoreError};
use tokio_util::sync::CancellationToken;

use crate::consumer::sleep_or_shutdown;

/// The event type of a fired reminder.
pub const REMINDER_DUE_TYPE: &str = "reminder.due";
/// The event type of a reminder found later than the catch-up horizon.
pub const REMINDER_MISSED_TYPE: &str = "reminder.missed";

/// Settings of the scheduler (`[reminders]`).
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// Reminders found later than this (tickler was down) are recorded missed, not sent.
    pub missed_after: Duration,
    /// Longest sleep between looks at the schedule, so reminders planned by other processes
    /// (which cannot wake this one) fire at most this late.
    pub max_sleep: Duration,
    /// Reminders fired per transaction.
    pub batch: u32,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            missed_after: Duration::from_secs(24 * 3600),
            max_sleep: Duration::from_secs(2),
            batch: 500,
        }
    }
}

/// How long a wake-up by a commit waits for the commits that follow it.
const WAKE_COALESCING: Duration = Duration::from_millis(10);
/// How long to wait when due reminders were all held by another replica.
const RACE_PAUSE: Duration = Duration::from_millis(20);

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchedulerPass {
    /// Reminders fired.
    pub fired: usize,
    /// Reminders found missed.
    pub missed: usize,
}

/// Lateness of recent firings, for the p99 gauge.
#[derive(Debug, Default)]
struct LatenessWindow {
    samples: VecDeque<f64>,
}

/// Lateness samples kept for the p99 gauge.
const WINDOW: usize = 10_000;

impl LatenessWindow {
    fn record(&mut self, seconds: f64) {
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(seconds);
    }

    fn quantile(&self, q: f64) -> f64 {
        let mut sorted: Vec<f64> = self.samples.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        match sorted.len() {
            0 => 0.0,
            len => {
                let rank = ((len as f64) * q).ceil() as usize;
                sorted[rank.clamp(1, len) - 1]
            }
        }
    }
}

/// The scheduler loop.
#[derive(Debug)]
pub struct ReminderScheduler {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    signal: OutboxSignal,
    events: EventSettings,
    settings: SchedulerSettings,
    lateness: Mutex<LatenessWindow>,
}

impl ReminderScheduler {
    /// Builds a scheduler; `signal` is the process's commit signal (it wakes the scheduler).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        signal: OutboxSignal,
        events: EventSettings,
        settings: SchedulerSettings,
    ) -> Self {
        Self {
            store,
            clock,
            signal,
            events,
            settings,
            lateness: Mutex::new(LatenessWindow::default()),
        }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut wake = self.signal.subscribe();
        let mut failures: u32 = 0;
        loop {
            // Commits from here on wake the sleep below; earlier ones are covered by this look
            // at the schedule (one indexed read: cheap enough to do on every wake-up).
            wake.borrow_and_update();
            let wait = match self.store.next_reminder_due_in().await {
                Ok(wait) => wait,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the next reminder");
                    Some(self.settings.max_sleep)
                }
            };
            if wait == Some(Duration::ZERO) {
                match self.run_once().await {
                    Ok(pass) => {
                        failures = 0;
                        if pass.fired + pass.missed == 0 {
                            // Due rows another replica holds: let it commit them.
                            if sleep_or_shutdown(RACE_PAUSE, &shutdown).await.is_err() {
                                break;
                            }
                        }
                    }
                    Err(error) => {
                        failures += 1;
                        let delay = Duration::from_millis(100)
                            .saturating_mul(1 << failures.min(6))
                            .min(Duration::from_secs(5));
                        tracing::warn!(%error, failures, "firing reminders failed; retrying");
                        if sleep_or_shutdown(delay, &shutdown).await.is_err() {
                            break;
                        }
                    }
                }
                continue;
            }
            let sleep = wait
                .unwrap_or(self.settings.max_sleep)
                .min(self.settings.max_sleep);
            tokio::select! {
                _ = wake.changed() => {
                    // A burst of commits is looked at once.
                    if sleep_or_shutdown(WAKE_COALESCING, &shutdown).await.is_err() {
                        break;
                    }
                }
                () = tokio::time::sleep(sleep) => {}
                () = shutdown.cancelled() => break,
            }
        }
        Ok(())
    }

    /// Fires one batch of due reminders.
    pub async fn run_once(&self) -> Result<SchedulerPass, StoreError> {
        let firing = ReminderFiring {
            limit: self.settings.batch,
            missed_after: self.settings.missed_after,
            build_event: self.event_builder(),
        };
        let fired = self.store.fire_due_reminders(&firing).await?;
        if fired.is_empty() {
            return Ok(SchedulerPass::default());
        }
        // Committed now: the lateness a user sees is from the fire time to this commit.
        let committed = self.clock.now();
        let mut pass = SchedulerPass::default();
        let mut window = self.lateness.lock().unwrap_or_else(|e| e.into_inner());
        for reminder in &fired {
            match reminder.reminder.state {
                ReminderState::Missed => {
                    pass.missed += 1;
                    tracing::warn!(
                        reminder_id = %reminder.reminder.id,
                        task_id = %reminder.reminder.task_id,
                        lateness_ms = reminder.reminder.lateness_ms.unwrap_or_default(),
                        "reminder missed: later than the catch-up horizon"
                    );
                }
                _ => {
                    pass.fired += 1;
                    let lateness = lateness_seconds(reminder.reminder.fire_at, committed);
                    metrics::histogram!("tickler_reminder_lateness_seconds").record(lateness);
                    window.record(lateness);
                }
            }
        }
        if pass.fired > 0 {
            metrics::counter!("tickler_reminders_fired_total").increment(pass.fired as u64);
            metrics::gauge!("tickler_reminder_lateness_p99_seconds").set(window.quantile(0.99));
        }
        if pass.missed > 0 {
            metrics::counter!("tickler_reminders_missed_total").increment(pass.missed as u64);
        }
        drop(window);
        tracing::debug!(fired = pass.fired, missed = pass.missed, "reminders fired");
        // Consumers in this process read the outbox: tell them.
        self.signal.notify();
        Ok(pass)
    }

    fn event_builder(&self) -> ReminderEventBuilder {
        let settings = self.events.clone();
        Arc::new(move |fired: &FiredReminder| reminder_event(&settings, fired))
    }
}

fn lateness_seconds(fire_at: DateTime<Utc>, committed: DateTime<Utc>) -> f64 {
    ((committed - fire_at).num_microseconds().unwrap_or(0).max(0) as f64) / 1e6
}

/// Builds the `tickler.reminder.due` (or `.missed`) event of a fired reminder.
pub fn reminder_event(
    settings: &EventSettings,
    fired: &FiredReminder,
) -> Result<tickler_store::OutboxMessage, StoreError> {
    let reminder = &fired.reminder;
    let fired_at = reminder.fired_at.unwrap_or(reminder.fire_at);
    let event_type = if reminder.state == ReminderState::Missed {
        REMINDER_MISSED_TYPE
    } else {
        REMINDER_DUE_TYPE
    };
    let data = ReminderEventData {
        reminder_id: reminder.id.to_string(),
        task_id: reminder.task_id,
        task_title: fired.task_title.clone(),
        due_at: fired.due_at,
        fire_at: reminder.fire_at,
        fired_at,
        late_ms: reminder.lateness_ms.unwrap_or_default().max(0),
        spec: reminder.spec.clone(),
    };
    system_event(
        settings,
        event_type,
        &reminder.task_id.to_string(),
        reminder.owner,
        "reminder.v1.json",
        fired_at,
        data,
    )
    .map_err(|error| StoreError::Internal(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_p99_of_the_window_is_the_99th_percentile_sample() {
        let mut window = LatenessWindow::default();
        for ms in 1..=1_000 {
            window.record(f64::from(ms) / 1000.0);
        }
        assert!((window.quantile(0.99) - 0.990).abs() < 1e-9);
        assert!((window.quantile(0.5) - 0.5).abs() < 1e-9);
        assert_eq!(LatenessWindow::default().quantile(0.99), 0.0);
    }
}
