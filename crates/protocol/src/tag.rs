//! Tag bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tag and how many of the user's tasks carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TagCountBody {
    /// The tag.
    pub name: String,
    /// How many tasks carry it.
    pub count: u64,
}

/// The body of `PATCH /api/v1/tags/{name}`: rename the tag on every task, merging into an
/// existing tag of the new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameTagRequest {
    /// The new name.
    pub name: String,
}

/// What a tag rename or deletion changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TagChangeBody {
    /// The tag's name after the change (null after a deletion).
    pub name: Option<String>,
    /// How many tasks changed.
    pub tasks_changed: u64,
}
