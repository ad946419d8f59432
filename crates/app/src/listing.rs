//! Listing and searching tasks: query parameters, opaque cursors, and the occurrences of a
//! recurring task.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tickler_domain::{
    FieldError, Priority, Recurrence, Tag, Task, TaskId, TaskStatus, TimeZone,
    validate_series_start,
};
use tickler_protocol::task::RecurrencePreviewRequest;
use tickler_store::query::MAX_PAGE_SIZE;
use tickler_store::{Cursor, CursorValue, SortField, SortKey, TaskQuery};

use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// Default page size.
const DEFAULT_PAGE_SIZE: u32 = 50;
/// Longest full-text query, in characters.
const MAX_QUERY_CHARS: usize = 500;
/// Most filter values of one kind (`tag`, `priority`, `status`, `sort`).
const MAX_FILTER_VALUES: usize = 50;
/// Default and largest number of occurrences returned.
const DEFAULT_OCCURRENCES: usize = 10;
/// Largest number of occurrences one request may ask for.
pub const MAX_OCCURRENCES: usize = 1_000;

/// The query parameters of `GET /api/v1/tasks`, as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTasksParams {
    /// Full-text query.
    pub q: Option<String>,
    /// `todo`, `in_progress`, `done`, or `open` (todo and in_progress); repeatable.
    pub status: Vec<String>,
    /// Priority names; repeatable.
    pub priority: Vec<String>,
    /// Tags that must all be present; repeatable.
    pub tag: Vec<String>,
    /// RFC 3339 instant.
    pub due_before: Option<String>,
    /// RFC 3339 instant.
    pub due_after: Option<String>,
    /// `true` or `false`.
    pub overdue: Option<String>,
    /// Sort keys, comma-separated and/or repeated, `-` prefix for descending.
    pub sort: Vec<String>,
    /// Page size.
    pub limit: Option<String>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

/// What an opaque cursor holds.
#[derive(Debug, Serialize, Deserialize)]
struct CursorToken {
    /// Fingerprint of the query the cursor belongs to.
    q: String,
    /// Sort values of the last item.
    v: Vec<CursorValue>,
    /// Id of the last item.
    id: TaskId,
}

impl App {
    /// Lists one page of the caller's tasks; returns the tasks and the cursor of the next page.
    pub async fn list_tasks(
        &self,
        actor: &Actor,
        params: ListTasksParams,
    ) -> AppResult<(Vec<Task>, Option<String>)> {
        let cursor = params.cursor.clone();
        let mut query = parse_query(params, self.now())?;
        let fingerprint = fingerprint(&query);
        if let Some(token) = cursor {
            query.after = Some(decode_cursor(
                &token,
                &fingerprint,
                &query.effective_sort(),
            )?);
        }
        let page = self.store.list_tasks(actor.user.id, &query).await?;
        let next = match page.next {
            Some(cursor) => Some(encode_cursor(&fingerprint, cursor)?),
            None => None,
        };
        Ok((page.items, next))
    }

    /// Returns the next due instants of a task, the first being its current due date.
    pub async fn occurrences(
        &self,
        actor: &Actor,
        id: TaskId,
        limit: Option<&str>,
    ) -> AppResult<Vec<DateTime<Utc>>> {
        let limit = match limit {
            None => DEFAULT_OCCURRENCES,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_OCCURRENCES).contains(n))
                .ok_or_else(|| {
                    FieldError::new(
                        "limit",
                        "out_of_range",
                        format!("limit must be an integer from 1 to {MAX_OCCURRENCES}"),
                    )
                })?,
        };
        let task = self.store.get_task(actor.user.id, id).await?;
        let Some(due) = task.fields.due else {
            return Ok(Vec::new());
        };
        match task.fields.recurrence {
            Some(rule) => expand(rule, due.at, task.fields.timezone, limit).await,
            None => Ok(vec![due.at]),
        }
    }
}

/// The first `limit` occurrences of `rule` from `start` in `zone`. A rule that rarely matches
/// can take a while to expand (the engine bounds its search): off the async workers.
async fn expand(
    rule: Recurrence,
    start: DateTime<Utc>,
    zone: TimeZone,
    limit: usize,
) -> AppResult<Vec<DateTime<Utc>>> {
    tokio::task::spawn_blocking(move || rule.occurrences(start, zone).take(limit).collect())
        .await
        .map_err(|error| AppError::Internal(format!("expanding a recurrence: {error}")))
}

/// Default number of occurrences a recurrence preview returns.
const DEFAULT_PREVIEW_OCCURRENCES: u32 = 5;
/// Largest number of occurrences a recurrence preview returns.
pub const MAX_PREVIEW_OCCURRENCES: u32 = 50;

impl App {
    /// Expands a rule from a first occurrence without a task: what the task's occurrences would
    /// be if its fields were saved. The rule, date and zone are checked as a task's fields are
    /// (every problem at once), so a refusal here is the refusal saving would meet.
    pub async fn preview_occurrences(
        &self,
        actor: &Actor,
        request: &RecurrencePreviewRequest,
    ) -> AppResult<Vec<DateTime<Utc>>> {
        let limit = match request.limit {
            None => Ok(DEFAULT_PREVIEW_OCCURRENCES),
            Some(n) if (1..=MAX_PREVIEW_OCCURRENCES).contains(&n) => Ok(n),
            Some(_) => Err(FieldError::new(
                "limit",
                "out_of_range",
                format!("limit must be an integer from 1 to {MAX_PREVIEW_OCCURRENCES}"),
            )),
        };
        let start = validate_series_start(
            &request.recurrence,
            request.due_at.as_deref(),
            request.all_day.unwrap_or(false),
            request.timezone.as_deref(),
            actor.user.timezone,
        );
        let (limit, (rule, due, zone)) = tickler_domain::all_valid!(limit, start)?;
        expand(
            rule,
            due.at,
            zone,
            usize::try_from(limit).unwrap_or(usize::MAX),
        )
        .await
    }
}

pub(crate) fn parse_query(params: ListTasksParams, now: DateTime<Utc>) -> AppResult<TaskQuery> {
    let text = parse_text(params.q);
    let statuses = parse_statuses(&params.status);
    let priorities = parse_each("priority", &params.priority, Priority::parse);
    let tags = parse_each("tag", &params.tag, |raw| Tag::parse(raw).ok());
    let due_before = parse_instant("due_before", params.due_before.as_deref());
    let due_after = parse_instant("due_after", params.due_after.as_deref());
    let overdue = match params.overdue.as_deref() {
        None | Some("false") => Ok(None),
        Some("true") => Ok(Some(now)),
        Some(_) => Err(FieldError::new(
            "overdue",
            "invalid_value",
            "overdue must be true or false",
        )),
    };
    let limit = match params.limit.as_deref() {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("limit must be an integer from 1 to {MAX_PAGE_SIZE}"),
                )
            }),
    };
    let sort = parse_sort(&params.sort, text.as_ref().is_ok_and(Option::is_some));
    let (text, statuses, priorities, tags, due_before, due_after, overdue_at, limit, sort) = tickler_domain::all_valid!(
        text, statuses, priorities, tags, due_before, due_after, overdue, limit, sort
    )?;
    Ok(TaskQuery {
        text,
        statuses,
        priorities,
        tags,
        due_before,
        due_after,
        overdue_at,
        sort,
        limit,
        after: None,
    })
}

fn parse_text(q: Option<String>) -> Result<Option<String>, FieldError> {
    let Some(q) = q else { return Ok(None) };
    let q: String = q.chars().filter(|c| !c.is_control()).collect();
    let q = q.trim();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(FieldError::new(
            "q",
            "too_long",
            format!("q must be at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    // A query with no searchable word filters nothing: treat it as absent.
    Ok(q.chars().any(char::is_alphanumeric).then(|| q.to_owned()))
}

fn parse_statuses(raw: &[String]) -> Result<Vec<TaskStatus>, FieldError> {
    let mut statuses = Vec::new();
    for value in split_values(raw) {
        let parsed: &[TaskStatus] = match value {
            "open" => &[TaskStatus::Todo, TaskStatus::InProgress],
            "todo" => &[TaskStatus::Todo],
            "in_progress" => &[TaskStatus::InProgress],
            "done" => &[TaskStatus::Done],
            other => {
                return Err(FieldError::new(
                    "status",
                    "invalid_value",
                    format!("unknown status {other:?}; use todo, in_progress, done or open"),
                ));
            }
        };
        for status in parsed {
            if !statuses.contains(status) {
                statuses.push(*status);
            }
        }
    }
    Ok(statuses)
}

fn parse_each<T: PartialEq>(
    field: &str,
    raw: &[String],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, FieldError> {
    let values: Vec<&str> = split_values(raw).collect();
    if values.len() > MAX_FILTER_VALUES {
        return Err(FieldError::new(
            field,
            "too_many",
            format!("at most {MAX_FILTER_VALUES} {field} values"),
        ));
    }
    let mut parsed = Vec::with_capacity(values.len());
    for value in values {
        let item = parse(value).ok_or_else(|| {
            FieldError::new(field, "invalid_value", format!("invalid {field} {value:?}"))
        })?;
        if !parsed.contains(&item) {
            parsed.push(item);
        }
    }
    Ok(parsed)
}

/// Splits repeated and comma-separated values (`?tag=a&tag=b,c`).
fn split_values(raw: &[String]) -> impl Iterator<Item = &str> {
    raw.iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

fn parse_instant(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, FieldError> {
    raw.map(|text| {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|instant| instant.with_timezone(&Utc))
            .map_err(|_| {
                FieldError::new(
                    field,
                    "invalid_format",
                    format!("{field} must be an RFC 3339 instant"),
                )
            })
    })
    .transpose()
}

fn parse_sort(raw: &[String], has_text: bool) -> Result<Vec<SortKey>, FieldError> {
    let mut keys: Vec<SortKey> = Vec::new();
    for value in split_values(raw) {
        let (name, descending) = match value.strip_prefix('-') {
            Some(name) => (name, true),
            None => (value.strip_prefix('+').unwrap_or(value), false),
        };
        let field = SortField::parse(name).ok_or_else(|| {
            FieldError::new(
                "sort",
                "invalid_value",
                format!(
                    "unknown sort key {name:?}; use created_at, updated_at, due_at, priority, title or relevance"
                ),
            )
        })?;
        if field == SortField::Relevance && !has_text {
            return Err(FieldError::new(
                "sort",
                "invalid_value",
                "sorting by relevance needs a q",
            ));
        }
        if keys.iter().any(|key| key.field == field) {
            return Err(FieldError::new(
                "sort",
                "duplicate",
                format!("sort key {name:?} given twice"),
            ));
        }
        keys.push(SortKey { field, descending });
    }
    Ok(keys)
}

/// A fingerprint of everything that decides a listing's order and membership, so a cursor
/// cannot be replayed against a different query.
fn fingerprint(query: &TaskQuery) -> String {
    let description = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        query.text,
        query.statuses,
        query.priorities,
        query.tags,
        query.due_before,
        query.due_after,
        query.overdue_at.is_some(),
        query.effective_sort()
    );
    hex::encode(&Sha256::digest(description.as_bytes())[..8])
}

fn encode_cursor(fingerprint: &str, cursor: Cursor) -> AppResult<String> {
    let token = CursorToken {
        q: fingerprint.to_owned(),
        v: cursor.values,
        id: cursor.id,
    };
    let json = serde_json::to_vec(&token)
        .map_err(|error| AppError::Internal(format!("failed to encode a cursor: {error}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(token: &str, fingerprint: &str, sort: &[SortKey]) -> AppResult<Cursor> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| AppError::InvalidCursor("the cursor is malformed"))?;
    let token: CursorToken = serde_json::from_slice(&bytes)
        .map_err(|_| AppError::InvalidCursor("the cursor is malformed"))?;
    if token.q != fingerprint {
        return Err(AppError::InvalidCursor(
            "the cursor belongs to a different query; repeat the query's parameters with it",
        ));
    }
    let well_typed = token.v.len() == sort.len()
        && sort.iter().zip(&token.v).all(|(key, value)| {
            matches!(
                (key.field, value),
                (
                    SortField::CreatedAt | SortField::UpdatedAt | SortField::Priority,
                    CursorValue::Int(_)
                ) | (SortField::DueAt, CursorValue::Int(_) | CursorValue::Null)
                    | (SortField::Title, CursorValue::Text(_))
                    | (SortField::Relevance, CursorValue::Float(_))
            )
        });
    if !well_typed {
        return Err(AppError::InvalidCursor("the cursor is malformed"));
    }
    Ok(Cursor {
        values: token.v,
        id: token.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn params() -> ListTasksParams {
        ListTasksParams::default()
    }

    #[test]
    fn repeated_and_comma_separated_values_combine() {
        let query = parse_query(
            ListTasksParams {
                tag: vec!["Home,work".into(), "home".into()],
                priority: vec!["high".into(), "urgent".into()],
                status: vec!["open".into()],
                sort: vec!["-priority,due_at".into()],
                ..params()
            },
            now(),
        )
        .unwrap();
        let tags: Vec<&str> = query.tags.iter().map(Tag::as_str).collect();
        assert_eq!(tags, ["home", "work"]);
        assert_eq!(query.priorities, [Priority::High, Priority::Urgent]);
        assert_eq!(query.statuses, [TaskStatus::Todo, TaskStatus::InProgress]);
        assert_eq!(
            query.sort,
            [
                SortKey::descending(SortField::Priority),
                SortKey::ascending(SortField::DueAt)
            ]
        );
    }

    #[test]
    fn every_bad_parameter_is_reported() {
        let error = parse_query(
            ListTasksParams {
                status: vec!["later".into()],
                priority: vec!["p9".into()],
                due_before: Some("tomorrow".into()),
                overdue: Some("yes".into()),
                sort: vec!["colour".into()],
                limit: Some("10000".into()),
                q: Some("x".repeat(501)),
                ..params()
            },
            now(),
        )
        .unwrap_err();
        let fields: Vec<&str> = error
            .field_errors()
            .iter()
            .map(|e| e.field.as_str())
            .collect();
        assert_eq!(
            fields,
            [
                "q",
                "status",
                "priority",
                "due_before",
                "overdue",
                "limit",
                "sort"
            ]
        );
    }

    #[test]
    fn relevance_needs_a_text_query_and_is_the_default_with_one() {
        assert!(
            parse_query(
                ListTasksParams {
                    sort: vec!["relevance".into()],
                    ..params()
                },
                now()
            )
            .is_err()
        );
        let query = parse_query(
            ListTasksParams {
                q: Some("dentist".into()),
                ..params()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            query.effective_sort(),
            [SortKey::ascending(SortField::Relevance)]
        );
    }

    #[test]
    fn a_cursor_only_continues_the_query_it_came_from() {
        let query = parse_query(
            ListTasksParams {
                sort: vec!["due_at".into()],
                ..params()
            },
            now(),
        )
        .unwrap();
        let print = fingerprint(&query);
        let id = TaskId::from_uuid(uuid::Uuid::from_u128(5));
        let token = encode_cursor(
            &print,
            Cursor {
                values: vec![CursorValue::Null],
                id,
            },
        )
        .unwrap();
        let cursor = decode_cursor(&token, &print, &query.effective_sort()).unwrap();
        assert_eq!(cursor.id, id);

        let other = parse_query(
            ListTasksParams {
                sort: vec!["-due_at".into()],
                ..params()
            },
            now(),
        )
        .unwrap();
        assert!(matches!(
            decode_cursor(&token, &fingerprint(&other), &other.effective_sort()),
            Err(AppError::InvalidCursor(_))
        ));
        assert!(decode_cursor("%%%", &print, &query.effective_sort()).is_err());
        assert!(decode_cursor("e30", &print, &query.effective_sort()).is_err());
    }

    #[test]
    fn a_tampered_cursor_with_wrong_value_types_is_refused() {
        let query = parse_query(params(), now()).unwrap();
        let print = fingerprint(&query);
        let token = encode_cursor(
            &print,
            Cursor {
                values: vec![CursorValue::Text("x".into())],
                id: TaskId::from_uuid(uuid::Uuid::from_u128(5)),
            },
        )
        .unwrap();
        assert!(decode_cursor(&token, &print, &query.effective_sort()).is_err());
    }
}
