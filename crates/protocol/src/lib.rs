//! Wire formats of tickler: the JSON bodies of the HTTP API, RFC 9457 problem details, and the
//! CloudEvents envelope of domain events. Changing a type here changes a public contract
//! (the OpenAPI document, the event schemas in `contracts/events/`), so additions are
//! optional fields and breaking changes are new versions.
//!
//! Types here carry no logic beyond conversions from domain values (and from the parser's
//! result); they derive `serde` and `utoipa::ToSchema`, and those that are also tool arguments
//! (MCP, chat) derive `schemars::JsonSchema`.

pub mod audit;
pub mod auth;
pub mod chat;
pub mod event;
pub mod feed;
pub mod instant;
mod integer;
pub mod live;
pub mod nl;
pub mod notification;
pub mod port;
pub mod problem;
pub mod reminder;
pub mod tag;
pub mod task;
pub mod time_zone;

pub use problem::{FieldErrorBody, Problem};
