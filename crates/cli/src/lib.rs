//! The wiring of the `tickler` binary: configuration layers, storage selection, the server
//! secret, logging, and the server's start-up and shutdown. The binary (`main.rs`) only parses
//! arguments; integration tests start the server through [`serve::start`], exactly as the
//! binary does.
//!
//! The command-line client (`tickler login`, `add`, `ls`, ...) lives in [`client`], over the
//! typed `tickler-client`.
//!
//! Business rules live in `tickler-app`; HTTP in `tickler-api`; SQL in the store crates.

pub mod admin;
pub mod audit;
pub mod backup;
pub mod client;
pub mod config;
pub mod dlq;
pub mod healthcheck;
pub mod mcp;
pub mod parse;
pub mod port;
pub mod roles;
pub mod secret;
pub mod serve;
pub mod storage;
pub mod telemetry;
