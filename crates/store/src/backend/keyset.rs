//! Keyset pagination shared by the backends: which way ties break, what a cursor's values mean
//! for each sort key, and the cursor that continues after a task.
//!
//! A cursor comes from a client and may have been tampered with. [`cursor_values`] accepts
//! every cursor this crate produces and anything that can be read the same way (an integer
//! where a float is expected, a timestamp far outside the calendar); anything else does not
//! fit the query, and backends answer it with an empty page rather than an error.

use chrono::{DateTime, Utc};
use tickler_domain::{Task, TaskId};

use crate::backend::search::search_words;
use crate::query::{Cursor, CursorValue, MAX_PAGE_SIZE, SortField, SortKey, TaskQuery};

/// Earliest instant a cursor timestamp is clamped to (year -4000, inside every backend's range
/// and before any storable date). Clamping keeps the order against every stored value.
pub const MIN_CURSOR_MICROS: i64 = -188_395_027_200_000_000;
/// Latest instant a cursor timestamp is clamped to (year 100000).
pub const MAX_CURSOR_MICROS: i64 = 3_093_527_980_800_000_000;

/// A search ordered by relevance ranks at most this many matches: the user's newest ones
/// (after the filters), taken in an order an index gives for free. Ranking costs time per
/// match, so a word common to 100,000 of a user's tasks would otherwise be ranked 100,000
/// times for one page of 50; with the bound, a page costs the same whatever the word. Pages
/// (cursors included) are cut from that bounded set by rank; orders other than relevance see
/// every match. 1,000 rather than more: at 1,000,000 tasks a PostgreSQL search for a prefix or
/// two words walks about 16 of the user's rows per candidate (p95 35 ms for 2,000 candidates,
/// docs/benchmarks.md).
pub const RANKED_CANDIDATES: u32 = 1_000;

/// A cursor value checked against its sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyValue {
    /// `created_at` or `updated_at`, in microseconds since the epoch (clamped).
    Timestamp(i64),
    /// `due_at` in microseconds since the epoch (clamped), `None` for a task without one.
    Due(Option<i64>),
    /// The priority rank (clamped to -1..=5, which orders alike against ranks 0 to 4).
    Rank(i64),
    /// The lowercased title.
    Text(String),
    /// The relevance score: smaller is better (finite).
    Score(f64),
}

impl KeyValue {
    /// Returns the instant of a timestamp or due value, if it has one.
    pub fn instant(&self) -> Option<DateTime<Utc>> {
        match self {
            KeyValue::Timestamp(micros) | KeyValue::Due(Some(micros)) => {
                DateTime::from_timestamp_micros(*micros)
            }
            _ => None,
        }
    }
}

/// A listing query checked and ready to turn into SQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The effective sort keys.
    pub keys: Vec<SortKey>,
    /// The cursor's values and id, when continuing a listing.
    pub after: Option<(Vec<KeyValue>, TaskId)>,
    /// The words to search for, when the query has a text.
    pub words: Option<Vec<String>>,
    /// The page size, within 1 to [`MAX_PAGE_SIZE`].
    pub limit: usize,
}

impl Plan {
    /// Checks a query; `None` when it can match nothing (a cursor that does not fit its sort
    /// keys, a text without words), which backends answer with an empty page.
    pub fn of(query: &TaskQuery) -> Option<Self> {
        let keys = query.effective_sort();
        let after = match &query.after {
            None => None,
            Some(cursor) => Some((cursor_values(&keys, cursor)?, cursor.id)),
        };
        let words = match &query.text {
            None => None,
            Some(text) => Some(search_words(text)?),
        };
        Some(Self {
            keys,
            after,
            words,
            limit: query.limit.clamp(1, MAX_PAGE_SIZE) as usize,
        })
    }
}

/// Returns whether the task id, which breaks ties, sorts descending: it follows the direction
/// of the least significant sort key, so a single-key listing reads one index in one direction.
pub fn id_descending(keys: &[SortKey]) -> bool {
    keys.last().is_some_and(|key| key.descending)
}

/// Returns whether every key (and so the id) sorts in the same direction, which lets backends
/// express "after the cursor" as one row-value comparison.
pub fn uniform_direction(keys: &[SortKey]) -> bool {
    keys.windows(2)
        .all(|pair| pair[0].descending == pair[1].descending)
}

/// Returns the SQL condition "strictly after the cursor" for `keys`, given the expression each
/// key sorts by, the SQL of each cursor value (a placeholder or literal), and the id column and
/// the cursor id's SQL. Standard SQL both backends speak: one row-value comparison when every
/// key goes the same way (which both turn into an index range), otherwise "after on the first
/// key, or equal on it and after on the next, ...".
pub fn after_condition(
    keys: &[SortKey],
    expressions: &[String],
    values: &[String],
    id_column: &str,
    id_value: &str,
) -> String {
    let after = |descending: bool| if descending { "<" } else { ">" };
    let id_operator = after(id_descending(keys));
    if uniform_direction(keys) {
        return format!(
            "({}, {id_column}) {id_operator} ({}, {id_value})",
            expressions.join(", "),
            values.join(", ")
        );
    }
    let alternatives: Vec<String> = (0..=keys.len())
        .map(|position| {
            let mut terms: Vec<String> = (0..position)
                .map(|earlier| format!("{} = {}", expressions[earlier], values[earlier]))
                .collect();
            terms.push(match keys.get(position) {
                Some(key) => format!(
                    "{} {} {}",
                    expressions[position],
                    after(key.descending),
                    values[position]
                ),
                None => format!("{id_column} {id_operator} {id_value}"),
            });
            format!("({})", terms.join(" AND "))
        })
        .collect();
    format!("({})", alternatives.join(" OR "))
}

/// Returns the `ORDER BY` list for `keys` sorted by `expressions`, ending with the id column.
pub fn order_by(keys: &[SortKey], expressions: &[String], id_column: &str) -> String {
    let direction = |descending: bool| if descending { "DESC" } else { "ASC" };
    keys.iter()
        .zip(expressions)
        .map(|(key, expression)| format!("{expression} {}", direction(key.descending)))
        .chain(std::iter::once(format!(
            "{id_column} {}",
            direction(id_descending(keys))
        )))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a cursor's values for `keys`; `None` when the cursor does not fit them (wrong number
/// of values, or a value of the wrong kind).
pub fn cursor_values(keys: &[SortKey], cursor: &Cursor) -> Option<Vec<KeyValue>> {
    if cursor.values.len() != keys.len() {
        return None;
    }
    keys.iter()
        .zip(&cursor.values)
        .map(|(key, value)| key_value(key.field, value))
        .collect()
}

fn key_value(field: SortField, value: &CursorValue) -> Option<KeyValue> {
    let clamp_time = |micros: i64| micros.clamp(MIN_CURSOR_MICROS, MAX_CURSOR_MICROS);
    match (field, value) {
        (SortField::CreatedAt | SortField::UpdatedAt, value) => {
            Some(KeyValue::Timestamp(clamp_time(integer(value)?)))
        }
        (SortField::DueAt, CursorValue::Null) => Some(KeyValue::Due(None)),
        (SortField::DueAt, value) => Some(KeyValue::Due(Some(clamp_time(integer(value)?)))),
        (SortField::Priority, value) => Some(KeyValue::Rank(integer(value)?.clamp(-1, 5))),
        (SortField::Title, CursorValue::Text(text)) => Some(KeyValue::Text(text.clone())),
        (SortField::Relevance, CursorValue::Float(score)) if score.is_finite() => {
            Some(KeyValue::Score(*score))
        }
        (SortField::Relevance, CursorValue::Int(score)) => Some(KeyValue::Score(*score as f64)),
        _ => None,
    }
}

/// Reads an integer, accepting a float without a fractional part (a JSON `5.0`).
fn integer(value: &CursorValue) -> Option<i64> {
    match value {
        CursorValue::Int(value) => Some(*value),
        CursorValue::Float(value) if value.is_finite() && value.fract() == 0.0 => {
            // Saturating: beyond i64 the clamp that follows gives the same order.
            Some(*value as i64)
        }
        _ => None,
    }
}

/// Returns the cursor that continues a listing after `task`, whose relevance score (smaller is
/// better; 0 without a text query) is `score`.
pub fn next_cursor(keys: &[SortKey], task: &Task, score: f64) -> Cursor {
    let values = keys
        .iter()
        .map(|key| match key.field {
            SortField::CreatedAt => CursorValue::Int(task.created_at.timestamp_micros()),
            SortField::UpdatedAt => CursorValue::Int(task.updated_at.timestamp_micros()),
            SortField::DueAt => match task.fields.due {
                Some(due) => CursorValue::Int(due.at.timestamp_micros()),
                None => CursorValue::Null,
            },
            SortField::Priority => CursorValue::Int(i64::from(task.fields.priority.rank())),
            SortField::Title => CursorValue::Text(title_sort_key(task.fields.title.as_str())),
            SortField::Relevance => CursorValue::Float(score),
        })
        .collect();
    Cursor {
        values,
        id: task.id,
    }
}

/// Returns the key a title sorts by: lowercased by Unicode rules (not only ASCII), compared by
/// code point.
pub fn title_sort_key(title: &str) -> String {
    title.to_lowercase()
}

#[cfg(test)]
mod tests {
    use tickler_domain::TaskId;
    use uuid::Uuid;

    use super::*;

    fn cursor(values: Vec<CursorValue>) -> Cursor {
        Cursor {
            values,
            id: TaskId::from_uuid(Uuid::nil()),
        }
    }

    #[test]
    fn cursors_of_the_wrong_arity_or_kind_do_not_fit() {
        let keys = [SortKey::descending(SortField::CreatedAt)];
        assert_eq!(cursor_values(&keys, &cursor(vec![])), None);
        assert_eq!(
            cursor_values(&keys, &cursor(vec![CursorValue::Text("x".into())])),
            None
        );
        assert_eq!(cursor_values(&keys, &cursor(vec![CursorValue::Null])), None);
        assert_eq!(
            cursor_values(&keys, &cursor(vec![CursorValue::Float(1.5)])),
            None
        );
        let relevance = [SortKey::ascending(SortField::Relevance)];
        assert_eq!(
            cursor_values(&relevance, &cursor(vec![CursorValue::Float(f64::NAN)])),
            None
        );
    }

    #[test]
    fn out_of_range_values_are_clamped_and_integral_floats_accepted() {
        let keys = [
            SortKey::ascending(SortField::DueAt),
            SortKey::ascending(SortField::Priority),
            SortKey::ascending(SortField::Relevance),
        ];
        let values = cursor_values(
            &keys,
            &cursor(vec![
                CursorValue::Int(i64::MAX),
                CursorValue::Float(-1e30),
                CursorValue::Int(3),
            ]),
        );
        assert_eq!(
            values,
            Some(vec![
                KeyValue::Due(Some(MAX_CURSOR_MICROS)),
                KeyValue::Rank(-1),
                KeyValue::Score(3.0)
            ])
        );
    }

    #[test]
    fn the_clamp_range_is_inside_the_calendar() {
        assert!(DateTime::from_timestamp_micros(MIN_CURSOR_MICROS).is_some());
        assert!(DateTime::from_timestamp_micros(MAX_CURSOR_MICROS).is_some());
    }

    #[test]
    fn mixed_directions_expand_into_alternatives() {
        let keys = [
            SortKey::descending(SortField::Priority),
            SortKey::ascending(SortField::DueAt),
        ];
        let expressions = ["p".to_owned(), "d".to_owned()];
        let values = ["?1".to_owned(), "?2".to_owned()];
        assert_eq!(
            after_condition(&keys, &expressions, &values, "id", "?3"),
            "((p < ?1) OR (p = ?1 AND d > ?2) OR (p = ?1 AND d = ?2 AND id > ?3))"
        );
        assert_eq!(order_by(&keys, &expressions, "id"), "p DESC, d ASC, id ASC");
        let uniform = [SortKey::descending(SortField::CreatedAt)];
        assert_eq!(
            after_condition(&uniform, &expressions[..1], &values[..1], "id", "?3"),
            "(p, id) < (?1, ?3)"
        );
    }

    #[test]
    fn ties_break_in_the_direction_of_the_last_key() {
        assert!(id_descending(&[
            SortKey::ascending(SortField::Priority),
            SortKey::descending(SortField::DueAt)
        ]));
        assert!(!id_descending(&[SortKey::ascending(SortField::Title)]));
    }
}
