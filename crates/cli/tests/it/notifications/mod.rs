//! Notifications end to end: channels over the API, and fired reminders reaching the in-app
//! list, a real webhook receiver (signatures checked by the official Standard Webhooks
//! library) and a real SMTP server (aiosmtpd), with retries, dead letters and replay, on both
//! databases and over Kafka.

mod channels;
mod delivery;
mod race;
// Wall-clock measurements and kills: in the `serial` test group, never beside other tests.
pub mod peers;
mod serial;
mod smtp_outage;
mod verification;
