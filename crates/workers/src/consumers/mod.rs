//! The consumers: independent services, each reacting to events in its own way.

pub mod audit;
pub mod notifier;
pub mod recurring;

pub use audit::AuditConsumer;
pub use notifier::{DeliveryRedrive, NotifierConsumer};
pub use recurring::RecurringConsumer;
