//! Router tests: the complete router, every middleware included, over a real SQLite store,
//! driven with `oneshot` (no socket). What a client gets for each kind of mistake, before and
//! after a use case runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod extraction;
mod limits;
mod problems;
mod recurrence_preview;
mod support;
