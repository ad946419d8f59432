//! Listing and searching tasks: one statement per query, built from its filters and sort keys,
//! paginated by keyset.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgPool, Postgres};
use tickler_domain::UserId;
use tickler_store::backend::keyset::{self, KeyValue, Plan, RANKED_CANDIDATES};
use tickler_store::{SortField, SortKey, StoreError, TaskPage, TaskQuery};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::rows::{self, TASK_COLUMN_COUNT, TASK_COLUMNS};

/// The relevance score of a candidate row, which carries its query (see
/// [`RANKED_CANDIDATES`]): smaller is better, so that ascending is best first. The weights of
/// the tsvector classes are D 0.1, C (description) 0.2, B (tags) 0.4, A (title) 1.0.
const SCORE: &str = "(-ts_rank('{0.1, 0.2, 0.4, 1.0}', t.search, t.query))::float8";

/// A parameter of a statement built at run time.
pub(crate) enum Parameter {
    Uuid(Uuid),
    Integer(i64),
    SmallInteger(i16),
    Float(f64),
    Text(String),
    Instant(DateTime<Utc>),
}

/// A statement under construction and its numbered parameters.
#[derive(Default)]
pub(crate) struct Statement {
    sql: String,
    parameters: Vec<Parameter>,
}

impl Statement {
    /// Adds a parameter and returns its placeholder.
    pub(crate) fn bind(&mut self, value: Parameter) -> String {
        self.parameters.push(value);
        format!("${}", self.parameters.len())
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// Returns the query with its parameters bound.
    pub(crate) fn into_query(self) -> Query<'static, Postgres, PgArguments> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(self.sql));
        for parameter in self.parameters {
            query = match parameter {
                Parameter::Uuid(value) => query.bind(value),
                Parameter::Integer(value) => query.bind(value),
                Parameter::SmallInteger(value) => query.bind(value),
                Parameter::Float(value) => query.bind(value),
                Parameter::Text(value) => query.bind(value),
                Parameter::Instant(value) => query.bind(value),
            };
        }
        query
    }
}

/// Lists one page of the user's tasks.
pub(crate) async fn list(
    pool: &PgPool,
    owner: UserId,
    query: &TaskQuery,
) -> Result<TaskPage, StoreError> {
    let empty = TaskPage {
        items: Vec::new(),
        next: None,
    };
    let Some(Plan {
        keys,
        after,
        words,
        limit,
    }) = Plan::of(query)
    else {
        return Ok(empty);
    };

    let mut statement = Statement::default();
    let owner_parameter = statement.bind(Parameter::Uuid(*owner.as_uuid()));
    // Ranking costs more than matching: compute it only when the order uses it.
    let ranked = words.is_some() && keys.iter().any(|key| key.field == SortField::Relevance);
    match &words {
        Some(words) if ranked => {
            // The newest matches (by creation, an index's order) are the candidates, ranked
            // outside (ranking reads each match's whole tsvector): pages, cursors included,
            // are cut from that bounded set by rank. The subquery is named `t` like the
            // table, so every column expression still holds.
            let text_query = statement.bind(Parameter::Text(tsquery(words)));
            statement.push(&format!(
                "SELECT t.*, query FROM tasks t, to_tsquery('simple', {text_query}) AS query \
                 WHERE t.user_id = {owner_parameter} AND t.search @@ query"
            ));
            push_filters(&mut statement, query, &owner_parameter);
            let candidates = statement.bind(Parameter::Integer(i64::from(RANKED_CANDIDATES)));
            statement.sql = format!(
                "SELECT {TASK_COLUMNS}, {SCORE} FROM ({} \
                 ORDER BY t.created_at DESC, t.id DESC LIMIT {candidates}) t WHERE TRUE",
                statement.sql
            );
        }
        Some(words) => {
            let text_query = statement.bind(Parameter::Text(tsquery(words)));
            statement.push(&format!(
                "SELECT {TASK_COLUMNS}, 0::float8 FROM tasks t, \
                 to_tsquery('simple', {text_query}) AS query \
                 WHERE t.user_id = {owner_parameter} AND t.search @@ query"
            ));
            push_filters(&mut statement, query, &owner_parameter);
        }
        None => {
            statement.push(&format!(
                "SELECT {TASK_COLUMNS}, 0::float8 FROM tasks t WHERE t.user_id = {owner_parameter}"
            ));
            push_filters(&mut statement, query, &owner_parameter);
        }
    }
    let expressions: Vec<String> = keys
        .iter()
        .map(|key| match key.field {
            SortField::Relevance if ranked => SCORE.to_owned(),
            _ => sort_expression(key),
        })
        .collect();
    if let Some((values, id)) = &after {
        push_after(&mut statement, &keys, &expressions, values, *id.as_uuid());
    }
    let fetch = statement.bind(Parameter::Integer(limit as i64 + 1));
    let order = keyset::order_by(&keys, &expressions, "t.id");
    statement.push(&format!(" ORDER BY {order} LIMIT {fetch}"));

    let found = statement.into_query().fetch_all(pool).await.store()?;
    let mut items = Vec::with_capacity(limit);
    let mut last_score = 0.0;
    for row in found.iter().take(limit) {
        items.push(rows::task(row)?);
        last_score = sqlx::Row::try_get(row, TASK_COLUMN_COUNT).store()?;
    }
    let next = if found.len() > limit {
        items
            .last()
            .map(|task| keyset::next_cursor(&keys, task, last_score))
    } else {
        None
    };
    Ok(TaskPage { items, next })
}

/// Builds a tsquery from plain words: each a quoted lexeme, all required (`&`), the last one
/// also as a prefix (`:*`).
fn tsquery(words: &[String]) -> String {
    let last = words.len() - 1;
    words
        .iter()
        .enumerate()
        .map(|(index, word)| {
            let quoted = format!("'{}'", word.replace('\\', "\\\\").replace('\'', "''"));
            if index == last {
                format!("{quoted}:*")
            } else {
                quoted
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The expression a sort key orders by; each matches an index of the migration.
fn sort_expression(key: &SortKey) -> String {
    match key.field {
        SortField::CreatedAt => "t.created_at".into(),
        SortField::UpdatedAt => "t.updated_at".into(),
        SortField::DueAt if key.descending => "coalesce(t.due_at, '-infinity')".into(),
        SortField::DueAt => "coalesce(t.due_at, 'infinity')".into(),
        SortField::Priority => "t.priority".into(),
        SortField::Title => "t.title_sort".into(),
        // Without words there is no rank (with them, the candidates' score is used).
        SortField::Relevance => "0::float8".into(),
    }
}

/// Returns the SQL for a cursor value: a placeholder, or the infinity a missing due date sorts as.
fn key_value_sql(statement: &mut Statement, key: &SortKey, value: &KeyValue) -> String {
    let instant = |micros: i64| {
        // Cursor values are clamped into the calendar, so this always succeeds.
        DateTime::from_timestamp_micros(micros).unwrap_or_default()
    };
    match value {
        KeyValue::Timestamp(micros) | KeyValue::Due(Some(micros)) => {
            format!(
                "{}::timestamptz",
                statement.bind(Parameter::Instant(instant(*micros)))
            )
        }
        KeyValue::Due(None) if key.descending => "'-infinity'::timestamptz".into(),
        KeyValue::Due(None) => "'infinity'::timestamptz".into(),
        KeyValue::Rank(rank) => format!(
            "{}::smallint",
            statement.bind(Parameter::SmallInteger(
                i16::try_from(*rank).unwrap_or_default()
            ))
        ),
        KeyValue::Text(text) => format!("{}::text", statement.bind(Parameter::Text(text.clone()))),
        KeyValue::Score(score) => format!("{}::float8", statement.bind(Parameter::Float(*score))),
    }
}

/// Adds "strictly after the cursor in this order".
fn push_after(
    statement: &mut Statement,
    keys: &[SortKey],
    expressions: &[String],
    values: &[KeyValue],
    id: Uuid,
) {
    let parameters: Vec<String> = keys
        .iter()
        .zip(values)
        .map(|(key, value)| key_value_sql(statement, key, value))
        .collect();
    let id_parameter = format!("{}::uuid", statement.bind(Parameter::Uuid(id)));
    let condition = keyset::after_condition(keys, expressions, &parameters, "t.id", &id_parameter);
    statement.push(&format!(" AND {condition}"));
}

fn push_filters(statement: &mut Statement, query: &TaskQuery, owner_parameter: &str) {
    if !query.statuses.is_empty() {
        let list: Vec<String> = query
            .statuses
            .iter()
            .map(|status| statement.bind(Parameter::Text(status.as_str().to_owned())))
            .collect();
        statement.push(&format!(" AND t.status IN ({})", list.join(", ")));
    }
    if !query.priorities.is_empty() {
        let list: Vec<String> = query
            .priorities
            .iter()
            .map(|priority| statement.bind(Parameter::SmallInteger(priority.rank())))
            .collect();
        statement.push(&format!(" AND t.priority IN ({})", list.join(", ")));
    }
    if !query.tags.is_empty() {
        // One pass over the tags' index ranges, counting the wanted tags per task: a plan that
        // does not depend on statistics (one IN per tag let a stale estimate pick a nested loop
        // over every pair of rows).
        let tags: Vec<String> = query
            .tags
            .iter()
            .map(|tag| statement.bind(Parameter::Text(tag.as_str().to_owned())))
            .collect();
        statement.push(&format!(
            " AND t.id IN (SELECT task_id FROM task_tags \
             WHERE user_id = {owner_parameter} AND tag IN ({}) \
             GROUP BY task_id HAVING count(*) = {})",
            tags.join(", "),
            tags.len()
        ));
    }
    if let Some(before) = query.due_before {
        let before = statement.bind(Parameter::Instant(before));
        statement.push(&format!(" AND t.due_at < {before}"));
    }
    if let Some(after) = query.due_after {
        let after = statement.bind(Parameter::Instant(after));
        statement.push(&format!(" AND t.due_at >= {after}"));
    }
    if let Some(now) = query.overdue_at {
        let now = statement.bind(Parameter::Instant(now));
        statement.push(&format!(" AND t.status <> 'done' AND t.due_at < {now}"));
    }
}
