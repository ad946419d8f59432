//! Moving in and out: importing other task managers' files (and tickler's own export) through
//! the task use cases, and exporting everything a user owns.

mod export;
mod import;

pub use export::ExportParams;
pub use import::{ImportParams, ImportSource};
