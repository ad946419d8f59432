//! The writer: one thread owns the only connection that writes and commits the commands queued
//! while the previous commit was being flushed, together (group commit).
//!
//! A command is a closure run inside its own savepoint of the batch's transaction: a failing
//! command rolls back only its own changes and gets its own error, and its neighbours commit.
//! One `COMMIT` (one `fsync` in FULL mode) then acknowledges the whole batch. See `design.md`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use tickler_store::StoreError;
use tokio::sync::{mpsc, oneshot};

use crate::error::ResultExt;

/// Most commands committed in one transaction.
pub(crate) const MAX_BATCH: usize = 512;
/// Commands that may wait for the writer before senders are held back.
const QUEUE: usize = 4 * MAX_BATCH;
/// How often the checkpointer looks at the log when nothing wakes it.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);
/// Committed log frames after which the writer wakes the checkpointer.
const CHECKPOINT_FRAMES: u64 = 2_000;
/// Log frames (pages) from which the log should start over from its beginning: 32 MiB of
/// 4 KiB pages.
const RESTART_FRAMES: i64 = 8_192;
/// At most this many frames left for the writer to copy when it finishes a checkpoint.
const CATCH_UP_FRAMES: i64 = 256;

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (each is one flush to disk in FULL mode).
    pub transactions: u64,
    /// Commands acknowledged by those transactions, successful or not.
    pub commands: u64,
    /// The largest number of commands committed together.
    pub largest_batch: u64,
    /// Time spent running commands' statements, in microseconds.
    pub statement_micros: u64,
    /// Time spent in `COMMIT` (writing and flushing the log), in microseconds.
    pub commit_micros: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// Commands sent and not yet taken into a batch (a gauge, for the metrics).
    queued: AtomicU64,
    transactions: AtomicU64,
    commands: AtomicU64,
    largest_batch: AtomicU64,
    statement_micros: AtomicU64,
    commit_micros: AtomicU64,
}

/// A command on its way to the writer thread.
trait Job: Send {
    /// Runs the command's statements; returns whether they succeeded.
    fn run(&mut self, connection: &Connection) -> bool;
    /// Answers the caller once the batch's outcome is known (`Err` if it was not committed).
    fn finish(self: Box<Self>, committed: Result<(), StoreError>);
}

struct Command<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Command<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, connection: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = catch_unwind(AssertUnwindSafe(|| work(connection)))
            .unwrap_or_else(|_| Err(StoreError::Internal("a write command panicked".into())));
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn finish(self: Box<Self>, committed: Result<(), StoreError>) {
        let outcome = match (self.result, committed) {
            // A command that failed on its own keeps its own error: nothing of it was written
            // whether or not the batch committed.
            (Some(Err(error)), _) => Err(error),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(error)) => Err(error),
            (None, Ok(())) => Err(StoreError::Internal("a write command was not run".into())),
        };
        // The caller may have gone away (request cancelled): nothing to answer then.
        let _ = self.reply.send(outcome);
    }
}

enum Message {
    Job(Box<dyn Job>),
    Shutdown(oneshot::Sender<()>),
}

/// The handle the store keeps: sends commands to the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    sender: mpsc::Sender<Message>,
    closed: AtomicBool,
    counters: Arc<Counters>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Job(_) => "Job",
            Message::Shutdown(_) => "Shutdown",
        })
    }
}

impl Writer {
    /// Starts the writer thread on `connection` and a checkpointer thread on `checkpointer`.
    /// `before_commit` runs in every transaction after its commands, before `COMMIT`; if it
    /// fails, the whole batch is rolled back.
    pub(crate) fn start(
        connection: Connection,
        checkpointer: Connection,
        before_commit: fn(&Connection) -> Result<(), StoreError>,
    ) -> Result<Self, StoreError> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let (wake_checkpointer, checkpoint_requests) = std_mpsc::channel();
        let finish_checkpoint = Arc::new(AtomicBool::new(false));
        let checkpoint_finisher = Arc::clone(&finish_checkpoint);
        let counters = Arc::new(Counters::default());
        let writer_counters = Arc::clone(&counters);
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                WriterThread {
                    connection,
                    before_commit,
                    receiver,
                    counters: writer_counters,
                    wake_checkpointer,
                    finish_checkpoint,
                    frames_since_checkpoint: 0,
                }
                .run()
            })
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot start the writer: {error}"))
            })?;
        let checkpoint = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                run_checkpointer(&checkpointer, &checkpoint_requests, &checkpoint_finisher)
            })
            .map_err(|error| {
                StoreError::Unavailable(format!("cannot start the checkpointer: {error}"))
            })?;
        Ok(Self {
            sender,
            closed: AtomicBool::new(false),
            counters,
            threads: std::sync::Mutex::new(vec![writer, checkpoint]),
        })
    }

    /// Runs `work` on the writer thread inside the next batch's transaction; returns its result
    /// once the batch is committed (durably, as configured).
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.closed.load(Ordering::Acquire) {
            return Err(closed());
        }
        let (reply, answer) = oneshot::channel();
        let command = Command {
            work: Some(work),
            result: None,
            reply,
        };
        self.sender
            .send(Message::Job(Box::new(command)))
            .await
            .map_err(|_| closed())?;
        let queued = self.counters.queued.fetch_add(1, Ordering::Relaxed) + 1;
        metrics::gauge!("tickler_sqlite_writer_queue_depth").set(queued as f64);
        answer.await.map_err(|_| closed())?
    }

    /// Returns what the writer has done so far.
    pub(crate) fn stats(&self) -> WriterStats {
        WriterStats {
            transactions: self.counters.transactions.load(Ordering::Relaxed),
            commands: self.counters.commands.load(Ordering::Relaxed),
            largest_batch: self.counters.largest_batch.load(Ordering::Relaxed),
            statement_micros: self.counters.statement_micros.load(Ordering::Relaxed),
            commit_micros: self.counters.commit_micros.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting commands, lets the writer commit everything queued before, and waits for
    /// both threads to stop.
    pub(crate) async fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let (done, stopped) = oneshot::channel();
        if self.sender.send(Message::Shutdown(done)).await.is_ok() {
            let _ = stopped.await;
        }
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Without an async context to wait in, ask the writer to finish the queue and stop; it
        // exits on its own (the checkpointer follows once the writer's wake-up channel closes).
        if !self.closed.swap(true, Ordering::AcqRel) {
            let (done, _) = oneshot::channel();
            let _ = self.sender.try_send(Message::Shutdown(done));
        }
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the database is closed".into())
}

struct WriterThread {
    connection: Connection,
    before_commit: fn(&Connection) -> Result<(), StoreError>,
    receiver: mpsc::Receiver<Message>,
    counters: Arc<Counters>,
    wake_checkpointer: std_mpsc::Sender<()>,
    /// Set by the checkpointer when the log is long and nearly all copied.
    finish_checkpoint: Arc<AtomicBool>,
    frames_since_checkpoint: u64,
}

impl WriterThread {
    fn run(mut self) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
        let mut shutdown = None;
        while shutdown.is_none() {
            match self.receiver.blocking_recv() {
                Some(Message::Job(job)) => batch.push(job),
                Some(Message::Shutdown(done)) => shutdown = Some(done),
                // Every sender is gone: nothing more can arrive.
                None => break,
            }
            while batch.len() < MAX_BATCH && shutdown.is_none() {
                match self.receiver.try_recv() {
                    Ok(Message::Job(job)) => batch.push(job),
                    Ok(Message::Shutdown(done)) => shutdown = Some(done),
                    Err(_) => break,
                }
            }
            if !batch.is_empty() {
                self.commit_batch(&mut batch);
            }
        }
        // Commit what raced in before the queue closed, then leave the files tidy.
        self.receiver.close();
        while let Some(message) = self.receiver.blocking_recv() {
            if let Message::Job(job) = message {
                batch.push(job);
                if batch.len() == MAX_BATCH {
                    self.commit_batch(&mut batch);
                }
            }
        }
        if !batch.is_empty() {
            self.commit_batch(&mut batch);
        }
        if let Err(error) = self.connection.execute_batch("PRAGMA optimize") {
            tracing::warn!(%error, "failed to optimize the database on close");
        }
        drop(self.wake_checkpointer);
        if let Err(error) = self
            .connection
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        {
            tracing::warn!(%error, "failed to checkpoint the database on close");
        }
        if let Some(done) = shutdown {
            let _ = done.send(());
        }
    }

    /// Runs every job of `batch` in one transaction, each in its own savepoint, commits once and
    /// answers them all.
    fn commit_batch(&mut self, batch: &mut Vec<Box<dyn Job>>) {
        let size = batch.len() as u64;
        // A command counted by its sender after it was taken here makes the gauge briefly
        // low; saturating keeps it at zero rather than wrapping.
        let queued = self
            .counters
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |queued| {
                Some(queued.saturating_sub(size))
            })
            .unwrap_or(0)
            .saturating_sub(size);
        metrics::gauge!("tickler_sqlite_writer_queue_depth").set(queued as f64);
        metrics::histogram!("tickler_sqlite_writer_batch_size").record(size as f64);
        let started = std::time::Instant::now();
        let mut done: Vec<Box<dyn Job>> = Vec::with_capacity(batch.len());
        let mut in_transaction = false;
        for mut job in batch.drain(..) {
            if !in_transaction {
                if let Err(error) = execute(&self.connection, "BEGIN IMMEDIATE") {
                    job.finish(Err(crate::error::convert(error)));
                    continue;
                }
                in_transaction = true;
            }
            let succeeded = self.run_in_savepoint(job.as_mut());
            done.push(job);
            if !succeeded && self.connection.is_autocommit() {
                // SQLite rolled the whole transaction back (disk full, I/O error): nothing of
                // this batch so far is written.
                let error = StoreError::Unavailable("the transaction was rolled back".into());
                for job in done.drain(..) {
                    job.finish(Err(error_copy(&error)));
                }
                in_transaction = false;
            }
        }
        if !in_transaction {
            return;
        }
        let committing = std::time::Instant::now();
        let committed = (self.before_commit)(&self.connection)
            .and_then(|()| execute(&self.connection, "COMMIT").store());
        let micros = |duration: Duration| u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.counters
            .statement_micros
            .fetch_add(micros(committing - started), Ordering::Relaxed);
        self.counters
            .commit_micros
            .fetch_add(micros(committing.elapsed()), Ordering::Relaxed);
        if committed.is_err()
            && !self.connection.is_autocommit()
            && let Err(error) = execute(&self.connection, "ROLLBACK")
        {
            tracing::error!(%error, "failed to roll back a batch whose commit failed");
        }
        if let Err(error) = &committed {
            tracing::error!(%error, commands = done.len(), "failed to commit a batch of writes");
        }
        self.counters.transactions.fetch_add(1, Ordering::Relaxed);
        self.counters.commands.fetch_add(size, Ordering::Relaxed);
        self.counters
            .largest_batch
            .fetch_max(size, Ordering::Relaxed);
        let committed = committed
            .map_err(|error| StoreError::Unavailable(format!("the commit failed: {error}")));
        for job in done {
            job.finish(match &committed {
                Ok(()) => Ok(()),
                Err(error) => Err(error_copy(error)),
            });
        }
        self.note_commit(size);
    }

    fn run_in_savepoint(&self, job: &mut dyn Job) -> bool {
        if execute(&self.connection, "SAVEPOINT command").is_err() {
            return false;
        }
        if job.run(&self.connection) {
            return execute(&self.connection, "RELEASE command").is_ok();
        }
        if !self.connection.is_autocommit() {
            let undone = execute(&self.connection, "ROLLBACK TO command")
                .and_then(|()| execute(&self.connection, "RELEASE command"));
            if let Err(error) = undone {
                tracing::error!(%error, "failed to roll back a failed write command");
            }
        }
        false
    }

    /// Wakes the checkpointer now and then, instead of checkpointing inside a commit; finishes
    /// its checkpoint when it asks.
    fn note_commit(&mut self, commands: u64) {
        if self.finish_checkpoint.swap(false, Ordering::AcqRel) {
            // While the writer copies the last frames no new ones arrive, so the checkpoint
            // completes and the next transaction starts the log over from its beginning.
            // The background checkpointer cannot get there alone while writes keep coming.
            if let Err(error) = self
                .connection
                .execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
            {
                tracing::warn!(%error, "failed to finish a checkpoint");
            }
        }
        // A rough count: each command dirties a handful of pages.
        self.frames_since_checkpoint += commands * 8;
        if self.frames_since_checkpoint >= CHECKPOINT_FRAMES {
            self.frames_since_checkpoint = 0;
            let _ = self.wake_checkpointer.send(());
        }
    }
}

/// Runs a statement without parameters, prepared once per connection.
fn execute(connection: &Connection, sql: &str) -> rusqlite::Result<()> {
    connection.prepare_cached(sql)?.execute([]).map(|_| ())
}

fn error_copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::NotFound => StoreError::NotFound,
        StoreError::Conflict(conflict) => StoreError::Conflict(*conflict),
        StoreError::Unavailable(message) => StoreError::Unavailable(message.clone()),
        StoreError::Internal(message) => StoreError::Internal(message.clone()),
    }
}

/// Copies the write-ahead log into the database file whenever woken (or every
/// [`CHECKPOINT_INTERVAL`]), without blocking the writer; stops when the writer does. When the
/// log is long and nearly all copied, asks the writer to copy the rest (see
/// [`WriterThread::note_commit`]); when it is very long, asks regardless.
fn run_checkpointer(
    connection: &Connection,
    wake_ups: &std_mpsc::Receiver<()>,
    finish: &AtomicBool,
) {
    loop {
        match wake_ups.recv_timeout(CHECKPOINT_INTERVAL) {
            Ok(()) | Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let outcome = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match outcome {
            Ok((frames, copied)) => {
                let nearly_done = frames - copied <= CATCH_UP_FRAMES;
                if frames >= RESTART_FRAMES && (nearly_done || frames >= 4 * RESTART_FRAMES) {
                    finish.store(true, Ordering::Release);
                }
            }
            Err(error) => tracing::warn!(%error, "failed to checkpoint the write-ahead log"),
        }
    }
}
