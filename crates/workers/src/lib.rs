//! tickler's event backbone: the outbox relay, the consumer framework and its transports,
//! and the consumers.
//!
//! Every change commits its events to the outbox in the transaction of the change (see
//! `tickler-app`). From there:
//!
//! * **embedded** (the default): each consumer reads the outbox log from the database at its
//!   own committed position ([`embedded::EmbeddedConsumer`]);
//! * **kafka**: the [`relay::Relay`] publishes records in order to Kafka and marks them
//!   published once acknowledged; consumers read their consumer group
//!   ([`kafka::KafkaConsumer`]);
//! * **dapr**: the relay publishes through the Dapr sidecar; the sidecar delivers to the
//!   subscription routes of [`dapr::router`].
//!
//! On every transport the same [`consumer::Processor`] runs a [`consumer::Consumer`]: the
//! effect and the processed-event marker commit together (no double effect), transient
//! failures retry with backoff and jitter, and events that keep failing become dead letters.
//!
//! The `notifier` role is a consumer ([`consumers::NotifierConsumer`]: fired reminders become
//! notifications and pending deliveries, as `tickler_app::notifications::fan_out` decides) and a worker ([`delivery::DeliveryWorker`]: sends
//! the deliveries by webhook and e-mail, with retries, backoff and dead letters).
//!
//! The `reminders` role is the [`reminders::ReminderScheduler`]: it fires scheduled reminders
//! at their time, appending `tickler.reminder.due` to the outbox for the notifier.
//!
//! This crate must not depend on `tickler-api`; it reaches storage only through the `Store`
//! trait.

pub mod consumer;
pub mod consumers;
pub mod dapr;
pub mod delivery;
pub mod embedded;
pub mod event;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod relay;
pub mod reminders;
pub mod replay;
pub mod retention;
pub mod topic;
