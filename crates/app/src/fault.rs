//! Fault points for the failure tests: a process built with the cargo feature
//! `fault-injection` and started with `TICKLER_FAULT=<point>@<n>` aborts (no destructors, no
//! graceful shutdown, like `kill -9`) the `n`-th time it reaches `<point>` (`@<n>` omitted:
//! the first time); with `TICKLER_FAULT=<point>@<n>:stop` it stops itself there instead
//! (`SIGSTOP`, as a paused VM or a debugger would), and the test resumes it with `SIGCONT`.
//! Without the feature [`crash_point`] is an empty inline function and the variable is never
//! read, so a release build cannot be made to crash or stall by its environment.
//!
//! The feature is enabled only by the `tickler-cli` crate's dev-dependencies (so the binary
//! its end-to-end tests run has it) and by `--all-features`; `cargo build`, `cargo install`
//! and the container image build the binary without it. A binary that has it says so in a
//! warning when `TICKLER_FAULT` is set.
//!
//! The points (`docs/reliability.md` has the tests that use them):
//!
//! | point | where |
//! |---|---|
//! | [`FaultPoint::AfterCommitBeforePublish`] | a use case's change set (state + outbox rows) is committed; nothing was published or answered yet |
//! | [`FaultPoint::AfterPublishBeforeMark`] | the relay's batch is acknowledged by the broker; its outbox rows are not marked published yet |
//! | [`FaultPoint::BeforeDeliverySend`] | the delivery worker claimed (leased) a delivery and is about to attempt it |
//!
//! This is the one piece of process-global state in the crate (invariant 7 otherwise): a
//! counter per process, which is what a crash point counts.

/// A place where the failure tests crash the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// After `TaskStore::commit` of a use case returned, before anything woke the relay.
    AfterCommitBeforePublish,
    /// After the broker acknowledged a relay batch, before `EventStore::mark_published`.
    AfterPublishBeforeMark,
    /// After the delivery worker claimed a delivery, before it checks and sends it.
    BeforeDeliverySend,
}

impl FaultPoint {
    /// Returns the name `TICKLER_FAULT` uses.
    pub fn name(self) -> &'static str {
        match self {
            FaultPoint::AfterCommitBeforePublish => "after_commit_before_publish",
            FaultPoint::AfterPublishBeforeMark => "after_publish_before_mark",
            FaultPoint::BeforeDeliverySend => "before_delivery_send",
        }
    }
}

/// What `TICKLER_FAULT` asks for.
#[cfg(feature = "fault-injection")]
struct Armed {
    point: String,
    pass: u64,
    stop: bool,
}

/// Aborts (or stops) the process if `TICKLER_FAULT` names `point` and this is its chosen
/// pass.
#[cfg(feature = "fault-injection")]
pub fn crash_point(point: FaultPoint) {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};

    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    static PASSES: AtomicU64 = AtomicU64::new(0);
    let armed = ARMED.get_or_init(|| {
        let value = std::env::var("TICKLER_FAULT").ok()?;
        let (value, stop) = match value.strip_suffix(":stop") {
            Some(value) => (value.to_owned(), true),
            None => (value, false),
        };
        let (point, pass) = match value.split_once('@') {
            Some((point, pass)) => (point.to_owned(), pass.parse().unwrap_or(1)),
            None => (value, 1),
        };
        tracing::warn!(
            point = %point,
            pass,
            stop,
            "TICKLER_FAULT is set: this test build will fail on purpose"
        );
        Some(Armed { point, pass, stop })
    });
    let Some(armed) = armed else {
        return;
    };
    if armed.point != point.name() || PASSES.fetch_add(1, Ordering::SeqCst) + 1 != armed.pass {
        return;
    }
    if armed.stop {
        eprintln!(
            "tickler: injected fault {}@{}: stopping",
            armed.point, armed.pass
        );
        stop_here();
    } else {
        eprintln!(
            "tickler: injected fault {}@{}: aborting",
            armed.point, armed.pass
        );
        std::process::abort();
    }
}

/// Stops the whole process (`SIGSTOP`) before returning.
///
/// Addressed to the process id, the signal is taken by whichever thread the kernel picks (the
/// main one first), and this thread runs on until that one stops the group: measured on a
/// loaded 2-core machine, a thread calling `kill(getpid(), SIGSTOP)` ran 0.8 to 3.9 ms past
/// the call in 18 of 20 tries, time enough to check a lease and send a webhook. Addressed to
/// this thread's id, the signal still stops every thread of the process, but Linux prefers
/// the thread named, which is running, so it stops on its way out of the call (20 of 20
/// tries). Should another thread take it all the same, this one waits until the signal has
/// left the process's queue: that thread has then begun the group stop, and this one stops on
/// its way out of the next system call.
#[cfg(feature = "fault-injection")]
fn stop_here() {
    use rustix::process::Signal;
    use std::time::{Duration, Instant};

    let _ = rustix::process::kill_process(rustix::thread::gettid(), Signal::STOP);
    let deadline = Instant::now() + Duration::from_secs(5);
    while pending_for_process(Signal::STOP) && Instant::now() < deadline {
        std::thread::yield_now();
    }
}

/// Returns whether `signal` waits in the process's queue (`ShdPnd` in `/proc/self/status`);
/// false where that cannot be read.
#[cfg(feature = "fault-injection")]
fn pending_for_process(signal: rustix::process::Signal) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("ShdPnd:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal.as_raw() - 1)) != 0)
}

/// Does nothing: this build has no fault injection (cargo feature `fault-injection`).
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub fn crash_point(_point: FaultPoint) {}
