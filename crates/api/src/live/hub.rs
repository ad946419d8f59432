//! The per-process fan-out of the live stream: one reader follows the outbox log (woken by
//! this process's commits, by the bus, or by a poll) and hands each event to the bounded
//! queues of its owner's connections. A full queue is never waited for: that connection is
//! marked overflowed and dropped from the hub, so a slow client slows nobody else.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tickler_app::live::{LiveEvent, OutboxPosition, format_cursor};
use tickler_app::{App, ReadPacer};
use tickler_domain::UserId;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// Settings of the live stream (`[realtime]`).
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// How often the server pings each connection.
    pub ping_interval: Duration,
    /// A connection from which nothing (no pong, no frame) was heard for this long is closed.
    pub pong_timeout: Duration,
    /// Events queued per connection before it is reset as too far behind.
    pub client_queue: usize,
    /// How long the reader waits for a wake-up before reading the log anyway (writes of other
    /// processes on the embedded bus are seen within this).
    pub poll_interval: Duration,
    /// Outbox records read per batch (the hub's reads and each replay's).
    pub batch: u32,
    /// The shortest time between two reads of the log that did not fill a batch: while
    /// commits keep coming, one read serves all the commits of this interval instead of one
    /// read each. A commit after a quiet interval is read at once; zero reads on every
    /// wake-up.
    pub min_read_interval: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(30),
            pong_timeout: Duration::from_secs(60),
            client_queue: 256,
            poll_interval: Duration::from_millis(200),
            batch: 512,
            min_read_interval: Duration::from_millis(5),
        }
    }
}

/// How soon the reader looks again when committed records wait behind an older transaction
/// (see [`tickler_app::live::LiveRead::held_back`]); the wait doubles up to the maximum, so
/// a record is delivered at most this long after the database lets readers see it.
const HELD_BACK_FIRST_RECHECK: Duration = Duration::from_millis(5);
/// The longest wait between looks while records are held back.
const HELD_BACK_MAX_RECHECK: Duration = Duration::from_millis(100);

/// An event ready to send: its position and its text frame, built once for every connection.
#[derive(Debug)]
pub struct QueuedEvent {
    /// Its position in the log.
    pub position: OutboxPosition,
    /// The `{"type":"event",...}` frame.
    pub frame: Utf8Bytes,
}

impl QueuedEvent {
    /// Builds the frame of `event`.
    pub fn new(event: &LiveEvent) -> Self {
        Self {
            position: event.position,
            frame: Utf8Bytes::from(format!(
                r#"{{"type":"event","cursor":"{}","event":{}}}"#,
                format_cursor(event.position),
                event.event
            )),
        }
    }
}

struct Subscriber {
    id: u64,
    sender: mpsc::Sender<Arc<QueuedEvent>>,
    overflowed: Arc<AtomicBool>,
}

#[derive(Default)]
struct HubState {
    /// The position the reader has dispatched up to; `None` until it started.
    position: Option<OutboxPosition>,
    subscribers: HashMap<UserId, Vec<Subscriber>>,
}

/// The fan-out of one process.
pub struct LiveHub {
    app: Arc<App>,
    settings: LiveSettings,
    state: Mutex<HubState>,
    wake: Notify,
    next_id: AtomicU64,
    /// Reads of the log so far.
    reads: AtomicU64,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveHub")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A connection's place in the hub: its queue, and the position from which the queue holds
/// every event of its user. Dropping it leaves the hub.
pub struct Subscription {
    hub: Arc<LiveHub>,
    id: u64,
    user: UserId,
    /// Every event of the user after this position arrives in the queue.
    pub position: OutboxPosition,
    receiver: mpsc::Receiver<Arc<QueuedEvent>>,
    overflowed: Arc<AtomicBool>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// What the queue of a subscription yielded.
#[derive(Debug)]
pub enum Received {
    /// The next event.
    Event(Arc<QueuedEvent>),
    /// The queue overflowed: the client must refetch.
    Overflowed,
    /// The hub stopped (shutdown).
    Closed,
}

impl Subscription {
    /// Waits for the next event of the user.
    pub async fn recv(&mut self) -> Received {
        if self.overflowed.load(Ordering::Acquire) {
            return Received::Overflowed;
        }
        match self.receiver.recv().await {
            Some(event) => Received::Event(event),
            None if self.overflowed.load(Ordering::Acquire) => Received::Overflowed,
            None => Received::Closed,
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        if let Some(list) = state.subscribers.get_mut(&self.user) {
            list.retain(|subscriber| subscriber.id != self.id);
            if list.is_empty() {
                state.subscribers.remove(&self.user);
            }
        }
    }
}

impl LiveHub {
    /// Builds the hub; [`LiveHub::run`] feeds it.
    pub fn new(app: Arc<App>, settings: LiveSettings) -> Arc<Self> {
        Arc::new(Self {
            app,
            settings,
            state: Mutex::new(HubState::default()),
            wake: Notify::new(),
            next_id: AtomicU64::new(0),
            reads: AtomicU64::new(0),
        })
    }

    /// Returns the settings.
    pub fn settings(&self) -> &LiveSettings {
        &self.settings
    }

    /// Returns the application.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Makes the reader look at the log now (the Kafka transport calls it for every record of
    /// `task-updates`, so writes of other processes arrive without waiting for the poll).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        // The state stays consistent whatever panicked while holding it: every update is a
        // single insert or removal.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the reader has started (the hub knows its position): until then clients
    /// cannot subscribe, and `/ready` says so.
    pub fn is_started(&self) -> bool {
        self.lock().position.is_some()
    }

    /// Joins the hub for `user`'s events; `None` until the reader has started.
    pub fn subscribe(self: &Arc<Self>, user: UserId) -> Option<Subscription> {
        let (sender, receiver) = mpsc::channel(self.settings.client_queue.max(1));
        let overflowed = Arc::new(AtomicBool::new(false));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let position = state.position?;
        state.subscribers.entry(user).or_default().push(Subscriber {
            id,
            sender,
            overflowed: overflowed.clone(),
        });
        drop(state);
        Some(Subscription {
            hub: self.clone(),
            id,
            user,
            position,
            receiver,
            overflowed,
        })
    }

    /// Follows the log until `shutdown`, from its head when it starts.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut position = loop {
            match self.app.live_head().await {
                Ok(head) => break head,
                Err(error) => {
                    tracing::warn!(%error, "live stream: cannot read the outbox head");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = shutdown.cancelled() => return Ok(()),
                    }
                }
            }
        };
        self.lock().position = Some(position);
        tracing::info!(?position, "live stream started");
        let mut commits = self.app.outbox_signal().subscribe();
        let mut recheck = HELD_BACK_FIRST_RECHECK;
        let mut pacer = ReadPacer::new(self.settings.min_read_interval);
        loop {
            // Mark the wake-up seen before reading, so a commit during the read is not missed.
            commits.borrow_and_update();
            let mut wait = self.settings.poll_interval;
            pacer.reading();
            self.reads.fetch_add(1, Ordering::Relaxed);
            match self.app.live_read(position, self.settings.batch).await {
                Ok(read) => {
                    if let Some(last) = read.last {
                        self.dispatch(&read.events, last);
                        position = last;
                        recheck = HELD_BACK_FIRST_RECHECK;
                        if read.full {
                            // More may be waiting: read on at once.
                            continue;
                        }
                    }
                    // What commits during the read wakes `commits`; what committed before it
                    // but is held back wakes nobody when it becomes readable: look again soon.
                    if read.held_back {
                        tracing::debug!(?position, ?recheck, "live stream: records held back");
                        wait = wait.min(recheck);
                        recheck = (recheck * 2).min(HELD_BACK_MAX_RECHECK);
                    } else {
                        recheck = HELD_BACK_FIRST_RECHECK;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "live stream: cannot read the outbox");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = shutdown.cancelled() => break,
                    }
                    continue;
                }
            }
            tokio::select! {
                _ = commits.changed() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
                () = shutdown.cancelled() => break,
            }
            // Commits that keep coming are read together, at most once per interval.
            tokio::select! {
                () = pacer.ready() => {}
                () = shutdown.cancelled() => break,
            }
        }
        // Connections see their queues close and end.
        self.lock().subscribers.clear();
        Ok(())
    }

    /// Hands events to their owners' queues and moves the hub's position to `last`, in one
    /// critical section, so a subscription made before receives all of them and one made
    /// after replays them from the log instead.
    fn dispatch(&self, events: &[LiveEvent], last: OutboxPosition) {
        // Frames are built before taking the lock, which then covers the hand-over and the
        // move of the position together.
        let queued: Vec<(UserId, Arc<QueuedEvent>)> = events
            .iter()
            .map(|event| (event.owner, Arc::new(QueuedEvent::new(event))))
            .collect();
        let mut state = self.lock();
        for (owner, event) in queued {
            let Some(list) = state.subscribers.get_mut(&owner) else {
                continue;
            };
            list.retain(|subscriber| match subscriber.sender.try_send(event.clone()) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    subscriber.overflowed.store(true, Ordering::Release);
                    tracing::info!(user_id = %owner, "live client fell too far behind; resetting it");
                    false
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
            if list.is_empty() {
                state.subscribers.remove(&owner);
            }
        }
        state.position = Some(last);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Instant;

    use tickler_app::{Actor, AppSettings, Origin, SystemClock};
    use tickler_protocol::task::TaskRequest;
    use tickler_store::testing::register;
    use tickler_store_sqlite::{SqliteConfig, SqliteStore};

    use super::*;

    async fn app(directory: &tempfile::TempDir) -> (Arc<App>, Actor) {
        let path = directory.path().join("live.db");
        let store = SqliteStore::open(SqliteConfig::new(path)).await.unwrap();
        store.migrate().await.unwrap();
        let user = register(&store, "ada@example.org").await;
        let app = App::new(
            Arc::new(store),
            Arc::new(SystemClock),
            AppSettings::default(),
            &[7; 32],
        );
        (Arc::new(app), Actor::new(user, Origin::Api))
    }

    async fn create(app: &App, actor: &Actor, title: &str) -> String {
        let request = TaskRequest {
            title: Some(title.into()),
            ..TaskRequest::default()
        };
        let created = app.create_task(actor, request, None).await.unwrap();
        created.body().id.to_string()
    }

    /// The task id of a received `task-update.v1` frame.
    async fn next_task_id(subscription: &mut Subscription) -> String {
        match subscription.recv().await {
            Received::Event(event) => {
                let frame: serde_json::Value = serde_json::from_str(event.frame.as_str()).unwrap();
                frame["event"]["data"]["task_id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }

    /// Commits that keep coming are read together, at most once per `min_read_interval`,
    /// and a commit after a quiet interval is read at once. The interval is derived from how
    /// long a commit and a read take on this machine now (twenty times that), so a loaded
    /// machine stretches it rather than failing the test; the hub's own loop over a real
    /// SQLite store, woken only by the commits (its poll interval is an hour).
    #[tokio::test]
    async fn commits_that_keep_coming_are_read_together_and_a_lone_one_at_once() {
        let directory = tempfile::tempdir().unwrap();
        let (app, actor) = app(&directory).await;
        let started = Instant::now();
        create(&app, &actor, "calibration").await;
        app.live_read(OutboxPosition::default(), 512).await.unwrap();
        let interval = (started.elapsed() * 20).max(Duration::from_millis(200));
        let hub = LiveHub::new(
            app.clone(),
            LiveSettings {
                poll_interval: Duration::from_secs(3600),
                min_read_interval: interval,
                ..LiveSettings::default()
            },
        );
        let shutdown = CancellationToken::new();
        let reader = tokio::spawn(hub.clone().run(shutdown.clone()));
        let mut subscription = loop {
            if let Some(subscription) = hub.subscribe(actor.user.id) {
                break subscription;
            }
            tokio::task::yield_now().await;
        };

        // A burst: each commit wakes the reader, which reads once per interval.
        let reads_before = hub.reads.load(Ordering::Relaxed);
        let burst = Instant::now();
        let mut ids = Vec::new();
        for n in 0..30 {
            ids.push(create(&app, &actor, &format!("burst {n}")).await);
        }
        for id in &ids {
            assert_eq!(
                &next_task_id(&mut subscription).await,
                id,
                "in commit order"
            );
        }
        let took = burst.elapsed();
        let reads = hub.reads.load(Ordering::Relaxed) - reads_before;
        // One read per interval begun during the burst, and the one that found the last
        // commits; on every wake-up it would have been about one per commit.
        let allowed = took.as_millis() / interval.as_millis() + 2;
        assert!(
            u128::from(reads) <= allowed,
            "{reads} reads for 30 commits in {took:?} at one per {interval:?}"
        );

        // Quiet for an interval: the next commit is read at once, not an interval later.
        tokio::time::sleep(interval).await;
        let lone = Instant::now();
        let id = create(&app, &actor, "lone").await;
        assert_eq!(next_task_id(&mut subscription).await, id);
        let latency = lone.elapsed();
        assert!(
            latency < interval,
            "a lone commit reached its subscriber after {latency:?} (interval {interval:?})"
        );

        shutdown.cancel();
        reader.await.unwrap().unwrap();
    }
}
