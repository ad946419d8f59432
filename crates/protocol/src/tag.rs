//! Tag bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A tag name as requests send it: 1 to 64 letters, digits, `_` or `-`, in any script
/// (combining marks of Arabic and Indic scripts are kept too); stored lowercase. Used as
/// `#[schema(value_type = ...)]`; the field itself stays a string.
#[derive(Debug)]
pub struct TagName;

impl utoipa::PartialSchema for TagName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "1 to 64 letters, digits, `_` or `-` in any script (and the combining marks of Arabic and Indic scripts); stored lowercase",
            ))
            .min_length(Some(1))
            .max_length(Some(tickler_domain::tag::MAX_TAG_CHARS))
            .pattern(Some("^[\\p{L}\\p{N}_-]+$"))
            .into()
    }
}

impl ToSchema for TagName {}

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
    #[schema(value_type = TagName)]
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
