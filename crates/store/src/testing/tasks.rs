//! Cases of [`crate::TaskStore`]: change sets, reads, listing, search, tags, series and imports.

mod changes;
mod imports;
mod listing;
mod search;
mod series;
mod tags;

pub use changes::*;
pub use imports::*;
pub use listing::*;
pub use search::*;
pub use series::*;
pub use tags::*;
