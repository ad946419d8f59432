//! Listing tasks: filters, sort keys and keyset cursors.

use chrono::{DateTime, Utc};
use tickler_domain::{Priority, Tag, Task, TaskId, TaskStatus};

/// Largest page a list may return.
pub const MAX_PAGE_SIZE: u32 = 200;

/// What to list, for one user. Every filter narrows the result (AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskQuery {
    /// Full-text search over title, description and tags (each word must match; the last word
    /// also matches as a prefix). Backends escape it: it is never query syntax.
    pub text: Option<String>,
    /// Any of these statuses (empty: any).
    pub statuses: Vec<TaskStatus>,
    /// Any of these priorities (empty: any).
    pub priorities: Vec<Priority>,
    /// All of these tags.
    pub tags: Vec<Tag>,
    /// Due strictly before this instant.
    pub due_before: Option<DateTime<Utc>>,
    /// Due at or after this instant.
    pub due_after: Option<DateTime<Utc>>,
    /// Open and due strictly before this instant (`overdue=true` passes now).
    pub overdue_at: Option<DateTime<Utc>>,
    /// Sort keys, most significant first; the task id breaks ties. Empty means relevance when
    /// `text` is set and newest first otherwise.
    pub sort: Vec<SortKey>,
    /// Page size, 1 to [`MAX_PAGE_SIZE`].
    pub limit: u32,
    /// Continue after this position (from a previous page of the same query).
    pub after: Option<Cursor>,
}

/// What tasks can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// Due date; tasks without one come last in either direction.
    DueAt,
    /// Priority rank, `none` lowest.
    Priority,
    /// Title, case-insensitively.
    Title,
    /// Full-text relevance, best first when ascending (only with a text query).
    Relevance,
}

impl SortField {
    /// Returns the query-string name.
    pub fn as_str(&self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::DueAt => "due_at",
            SortField::Priority => "priority",
            SortField::Title => "title",
            SortField::Relevance => "relevance",
        }
    }

    /// Parses a query-string name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            SortField::CreatedAt,
            SortField::UpdatedAt,
            SortField::DueAt,
            SortField::Priority,
            SortField::Title,
            SortField::Relevance,
        ]
        .into_iter()
        .find(|field| field.as_str() == name)
    }
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// What to sort by.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

impl SortKey {
    /// Sorts by `field`, smallest first.
    pub const fn ascending(field: SortField) -> Self {
        Self {
            field,
            descending: false,
        }
    }

    /// Sorts by `field`, largest first.
    pub const fn descending(field: SortField) -> Self {
        Self {
            field,
            descending: true,
        }
    }
}

/// The value of one sort key at a cursor position.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    /// No value (a task without a due date).
    Null,
    /// An integer (priority rank, or a timestamp in microseconds since the epoch).
    Int(i64),
    /// A relevance score.
    Float(f64),
    /// A text (lowercased title).
    Text(String),
}

/// A position in a sorted listing: the sort-key values of the last task returned and its id.
/// Keyset pagination: a page starts strictly after this position, so concurrent inserts
/// never make a page repeat or skip a task that existed when paging began.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// One value per effective sort key, in order.
    pub values: Vec<CursorValue>,
    /// The last task's id.
    pub id: TaskId,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskPage {
    /// The tasks, in order.
    pub items: Vec<Task>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

impl TaskQuery {
    /// Returns the sort keys actually applied: the requested ones or the default.
    pub fn effective_sort(&self) -> Vec<SortKey> {
        if !self.sort.is_empty() {
            return self.sort.clone();
        }
        if self.text.is_some() {
            vec![SortKey::ascending(SortField::Relevance)]
        } else {
            vec![SortKey::descending(SortField::CreatedAt)]
        }
    }
}
