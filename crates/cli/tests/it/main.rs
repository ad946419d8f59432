//! End-to-end tests of the tickler server over real HTTP on a random port. Every API test
//! runs twice: against embedded SQLite (a temporary data directory) and against PostgreSQL
//! (a fresh database per test on the server named by `TICKLER_TEST_DATABASE_URL`; skipped
//! with a notice when it is unset).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod process;
mod scan;
mod terminal;

mod abuse;
mod accounts;
mod at_scale;
mod audit;
mod audit_chain;
mod backup;
mod chat;
mod cli;
mod contracts;
mod conversation;
mod crash;
mod durability;
mod faults;
mod feeds;
mod isolation;
mod kafka;
mod listing;
mod live;
mod mcp;
mod nl;
mod notifications;
mod occurrences;
mod operations;
mod operators;
mod ops;
mod port;
mod port_stream;
mod recurring;
mod reminder_crash;
mod reminders;
mod schemathesis;
mod scopes;
mod sessions;
mod stalled;
mod tags;
mod tasks;
mod traces;
mod validation;
mod web;
mod web_app;
