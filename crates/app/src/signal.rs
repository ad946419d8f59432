//! Wakes in-process workers as soon as there is work for them: event consumers when new outbox
//! records are committed, so the embedded bus delivers in milliseconds instead of at the next
//! poll, and the delivery worker when deliveries are queued.

use std::time::Duration;

use tickler_store::ChangeSet;
use tokio::sync::watch;
use tokio::time::Instant;

/// Two counters: one bumped after every commit that appended outbox records, one after every
/// commit that queued deliveries. Receivers see that a counter changed even if they were busy
/// when it did (unlike a plain notification).
///
/// The delivery worker follows only the second: woken by every commit, it ran its claim query
/// once per task created (3,886 claims during 6,800 creates on PostgreSQL, none of which queued
/// a delivery).
#[derive(Debug, Clone)]
pub struct OutboxSignal {
    sender: watch::Sender<u64>,
    deliveries: watch::Sender<u64>,
}

impl Default for OutboxSignal {
    fn default() -> Self {
        Self {
            sender: watch::Sender::new(0),
            deliveries: watch::Sender::new(0),
        }
    }
}

impl OutboxSignal {
    /// Tells every receiver that new records may be readable.
    pub fn notify(&self) {
        self.sender
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Returns a receiver whose `changed()` resolves after the next [`OutboxSignal::notify`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.sender.subscribe()
    }

    /// Tells the delivery worker that deliveries were queued.
    pub fn notify_deliveries(&self) {
        self.deliveries
            .send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Returns a receiver whose `changed()` resolves after the next
    /// [`OutboxSignal::notify_deliveries`] (and only then).
    pub fn subscribe_deliveries(&self) -> watch::Receiver<u64> {
        self.deliveries.subscribe()
    }
}

/// Whom the commit of a change set wakes: noted before the change set goes to the store, told
/// once it committed (a failed commit wakes nobody). Every committer of change sets uses it, so
/// which change wakes which worker is decided here only.
#[derive(Debug, Clone, Copy)]
pub struct CommitWakes {
    events: bool,
    deliveries: bool,
}

impl CommitWakes {
    /// Notes what `changes` will need woken: the consumers for events, the delivery worker for
    /// queued deliveries.
    pub fn of(changes: &ChangeSet) -> Self {
        Self {
            events: !changes.events.is_empty(),
            deliveries: !changes.notifications.is_empty(),
        }
    }

    /// Wakes them, after the commit.
    pub fn notify(self, signal: &OutboxSignal) {
        if self.events {
            signal.notify();
        }
        if self.deliveries {
            signal.notify_deliveries();
        }
    }
}

/// Spaces the reads of a follower of the outbox log that the signal keeps waking: at most one
/// read per interval, so while commits keep coming one read serves every commit of the
/// interval instead of one read each. A read after a quiet interval goes at once, so a lone
/// commit is not delayed.
///
/// Under a load of creates on PostgreSQL most woken reads found nothing (the new record waited
/// behind a concurrent transaction, see `EventStore::outbox_held_back`): 1.5 outbox reads per
/// create, more statements than the create's own insert.
#[derive(Debug, Clone)]
pub struct ReadPacer {
    interval: Duration,
    last: Option<Instant>,
}

impl ReadPacer {
    /// At most one read per `interval` (zero: no pacing).
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: None,
        }
    }

    /// Notes that a read starts now.
    pub fn reading(&mut self) {
        self.last = Some(Instant::now());
    }

    /// Waits until the next read may start: an interval after the last one started.
    pub async fn ready(&self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paused time: the pacer's waits are exact, whatever the machine's load.
    #[tokio::test(start_paused = true)]
    async fn reads_are_spaced_by_the_interval_and_a_read_after_a_quiet_one_goes_at_once() {
        let interval = Duration::from_millis(5);
        let mut pacer = ReadPacer::new(interval);
        let start = Instant::now();
        pacer.ready().await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the first read goes at once"
        );
        pacer.reading();
        tokio::time::advance(Duration::from_millis(2)).await;
        pacer.ready().await;
        assert_eq!(
            start.elapsed(),
            interval,
            "woken 2 ms after a read: waits the rest"
        );
        pacer.reading();
        tokio::time::advance(Duration::from_millis(30)).await;
        let quiet = Instant::now();
        pacer.ready().await;
        assert_eq!(
            quiet.elapsed(),
            Duration::ZERO,
            "after a quiet interval: at once"
        );
        let mut unpaced = ReadPacer::new(Duration::ZERO);
        unpaced.reading();
        let now = Instant::now();
        unpaced.ready().await;
        assert_eq!(now.elapsed(), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_receiver_busy_during_a_notification_still_sees_it() {
        let signal = OutboxSignal::default();
        let mut receiver = signal.subscribe();
        signal.notify();
        tokio::time::timeout(std::time::Duration::from_secs(1), receiver.changed())
            .await
            .unwrap()
            .unwrap();
    }

    /// Appended events do not wake the delivery worker, and queued deliveries do not wake the
    /// consumers.
    #[tokio::test]
    async fn events_and_deliveries_wake_their_own_receivers_only() {
        let signal = OutboxSignal::default();
        let mut events = signal.subscribe();
        let mut deliveries = signal.subscribe_deliveries();
        signal.notify();
        assert!(events.has_changed().unwrap());
        assert!(!deliveries.has_changed().unwrap());
        events.mark_unchanged();
        signal.notify_deliveries();
        assert!(deliveries.has_changed().unwrap());
        assert!(!events.has_changed().unwrap());
        tokio::time::timeout(std::time::Duration::from_secs(1), deliveries.changed())
            .await
            .unwrap()
            .unwrap();
    }
}
