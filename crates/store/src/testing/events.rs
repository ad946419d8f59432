//! Cases of [`crate::EventStore`]: the outbox, consumers, the audit trail and its chain, dead letters,
//! leases and live tickets.

mod audit_chain;
mod backbone;
mod live;
mod outbox;

pub use audit_chain::*;
pub use backbone::*;
pub use live::*;
pub use outbox::*;
