//! Wakes in-process event consumers as soon as new outbox records are committed, so the
//! embedded bus delivers in milliseconds instead of at the next poll.

use tokio::sync::watch;

/// A counter bumped after every commit that appended outbox records. Receivers see that it
/// changed even if they were busy when it did (unlike a plain notification).
#[derive(Debug, Clone)]
pub struct OutboxSignal {
    sender: watch::Sender<u64>,
}

impl Default for OutboxSignal {
    fn default() -> Self {
        Self {
            sender: watch::Sender::new(0),
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
