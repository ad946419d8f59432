//! Cases of [`crate::AccountStore`]: users, API tokens, sign-in sessions and calendar feeds.

mod audit;
mod feeds;
mod sessions;
mod users;

pub use audit::*;
pub use feeds::*;
pub use sessions::*;
pub use users::*;
