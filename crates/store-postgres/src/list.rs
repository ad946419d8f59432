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

/// How a listing reaches the rows that match its words and tags, chosen per query by
/// [`choose_access`] from the user's newest rows, so that the plan does not rest on the
/// planner's estimate of how common a word or tag is (PostgreSQL guesses 2 % for any prefix
/// when its statistics hold fewer than 100 lexemes, and a generic plan guesses for every word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read the rows in the listing's order (through that order's index) and check each one,
    /// stopping once enough match: the words with `ts_match_vq` (a function, which no index
    /// serves, so the planner cannot swap the order's index for the full-text one) and the
    /// tags against the row's own array. Cheap when matches are common.
    Walk,
    /// Collect every match first through the full-text index and the tag table (a
    /// `MATERIALIZED` common table expression, which no order's index can read through), then
    /// sort them. Cheap when matches are rare.
    Collect,
}

/// How many of the user's newest rows [`choose_access`] checks.
const SAMPLE_ROWS: i64 = 1_000;

/// The most rows a walk is expected to read before [`Access::Collect`] is chosen instead.
const WALK_BUDGET: i64 = 50_000;

/// Lists one page of the user's tasks.
pub(crate) async fn list(
    pool: &PgPool,
    owner: UserId,
    query: &TaskQuery,
) -> Result<TaskPage, StoreError> {
    list_with(pool, owner, query, None).await
}

/// Lists one page, reaching the matches the given way (`None`: as [`choose_access`] decides).
pub(crate) async fn list_with(
    pool: &PgPool,
    owner: UserId,
    query: &TaskQuery,
    access: Option<Access>,
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
    // Ranking costs more than matching: compute it only when the order uses it.
    let ranked = words.is_some() && keys.iter().any(|key| key.field == SortField::Relevance);
    let access = match access {
        Some(access) => access,
        None if words.is_none() && query.tags.is_empty() => Access::Walk,
        None => {
            let wanted = if ranked {
                i64::from(RANKED_CANDIDATES)
            } else {
                limit as i64 + 1
            };
            choose_access(pool, owner, query, words.as_deref(), wanted).await?
        }
    };

    let mut statement = Statement::default();
    let owner_parameter = statement.bind(Parameter::Uuid(*owner.as_uuid()));
    // The matching rows, as a FROM item named `t` with the table's columns (and `query`, the
    // tsquery, when there are words).
    let text_query = words
        .as_ref()
        .map(|words| statement.bind(Parameter::Text(tsquery(words))));
    let mut matches = match (&text_query, access) {
        (Some(text_query), Access::Walk) => format!(
            "SELECT t.*, query FROM tasks t, to_tsquery('simple', {text_query}) AS query \
             WHERE t.user_id = {owner_parameter} AND ts_match_vq(t.search, query)"
        ),
        (Some(text_query), Access::Collect) => format!(
            "SELECT t.*, query FROM tasks t, to_tsquery('simple', {text_query}) AS query \
             WHERE t.user_id = {owner_parameter} AND t.search @@ query"
        ),
        (None, _) => format!("SELECT t.* FROM tasks t WHERE t.user_id = {owner_parameter}"),
    };
    {
        let mut filters = Statement {
            sql: String::new(),
            parameters: std::mem::take(&mut statement.parameters),
        };
        push_filters(&mut filters, query, &owner_parameter, access);
        matches.push_str(&filters.sql);
        statement.parameters = filters.parameters;
    }
    let source = match access {
        Access::Walk => format!("({matches}) t"),
        Access::Collect => {
            statement.push(&format!("WITH matches AS MATERIALIZED ({matches}) "));
            "matches t".to_owned()
        }
    };
    if ranked {
        // The newest matches (by creation, an index's order) are the candidates, ranked
        // outside (ranking reads each match's whole tsvector): pages, cursors included, are
        // cut from that bounded set by rank.
        let candidates = statement.bind(Parameter::Integer(i64::from(RANKED_CANDIDATES)));
        statement.push(&format!(
            "SELECT {TASK_COLUMNS}, {SCORE} FROM (SELECT * FROM {source} \
             ORDER BY t.created_at DESC, t.id DESC LIMIT {candidates}) t WHERE TRUE"
        ));
    } else {
        statement.push(&format!(
            "SELECT {TASK_COLUMNS}, 0::float8 FROM {source} WHERE TRUE"
        ));
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

/// Chooses how to reach a query's matches from how many of the user's newest
/// [`SAMPLE_ROWS`] rows match its words and filters (one cheap statement through the creation
/// index): a walk when reading rows in order should find `wanted` matches within
/// [`WALK_BUDGET`] rows, or when the user has no more rows than the sample; collecting
/// otherwise.
async fn choose_access(
    pool: &PgPool,
    owner: UserId,
    query: &TaskQuery,
    words: Option<&[String]>,
    wanted: i64,
) -> Result<Access, StoreError> {
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(Parameter::Uuid(*owner.as_uuid()));
    let sample = statement.bind(Parameter::Integer(SAMPLE_ROWS));
    let mut from = format!(
        "(SELECT * FROM tasks t WHERE t.user_id = {owner_parameter} \
         ORDER BY t.created_at DESC, t.id DESC LIMIT {sample}) t"
    );
    statement.push("SELECT count(*), count(*) FILTER (WHERE TRUE");
    if let Some(words) = words {
        let text_query = statement.bind(Parameter::Text(tsquery(words)));
        from.push_str(&format!(", to_tsquery('simple', {text_query}) AS query"));
        statement.push(" AND ts_match_vq(t.search, query)");
    }
    push_filters(&mut statement, query, &owner_parameter, Access::Walk);
    statement.push(&format!(") FROM {from}"));
    let row = statement.into_query().fetch_one(pool).await.store()?;
    let sampled: i64 = sqlx::Row::try_get(&row, 0).store()?;
    let hits: i64 = sqlx::Row::try_get(&row, 1).store()?;
    Ok(
        if sampled < SAMPLE_ROWS || hits * WALK_BUDGET >= wanted * SAMPLE_ROWS {
            Access::Walk
        } else {
            Access::Collect
        },
    )
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

/// Appends the query's filters (each ` AND ...`) on the rows of `t`.
fn push_filters(
    statement: &mut Statement,
    query: &TaskQuery,
    owner_parameter: &str,
    access: Access,
) {
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
        let tags: Vec<String> = query
            .tags
            .iter()
            .map(|tag| statement.bind(Parameter::Text(tag.as_str().to_owned())))
            .collect();
        match access {
            // Each row read carries its tags.
            Access::Walk => statement.push(&format!(
                " AND t.tags @> ARRAY[{}]::text[]",
                tags.join(", ")
            )),
            // One pass over the tags' index ranges, counting the wanted tags per task: a plan
            // that does not depend on statistics (one IN per tag let a stale estimate pick a
            // nested loop over every pair of rows).
            Access::Collect => statement.push(&format!(
                " AND t.id IN (SELECT task_id FROM task_tags \
                 WHERE user_id = {owner_parameter} AND tag IN ({}) \
                 GROUP BY task_id HAVING count(*) = {})",
                tags.join(", "),
                tags.len()
            )),
        }
    }
    if let Some(before) = query.due_before {
        let before = statement.bind(Parameter::Instant(before));
        statement.push(&format!(" AND t.due_at < {before}"));
        push_due_range(statement, "<", &before);
    }
    if let Some(after) = query.due_after {
        let after = statement.bind(Parameter::Instant(after));
        statement.push(&format!(" AND t.due_at >= {after}"));
        push_due_range(statement, ">=", &after);
    }
    if let Some(now) = query.overdue_at {
        let now = statement.bind(Parameter::Instant(now));
        statement.push(&format!(" AND t.status <> 'done' AND t.due_at < {now}"));
        push_due_range(statement, "<", &now);
    }
}

/// Repeats a bound on the due date on the expressions the due-date indexes hold (implied by
/// the bound on `due_at`, so the result is the same), so that a listing sorted by due date
/// reads only that range of its index instead of filtering from its start.
fn push_due_range(statement: &mut Statement, operator: &str, bound: &str) {
    statement.push(&format!(
        " AND coalesce(t.due_at, 'infinity') {operator} {bound} \
         AND coalesce(t.due_at, '-infinity') {operator} {bound}"
    ));
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

    use tickler_domain::TaskId;
    use tickler_store::TaskQuery;
    use tickler_store::testing::{
        everything, ids, insert, page_through, register, tags, varied_filters, varied_sorts,
        varied_tasks,
    };

    use super::{Access, list_with};
    use crate::PostgresStore;
    use crate::testing::TestDatabase;

    /// Every page of `query` reached the given way (or as chosen, for `None`).
    async fn all_ids(
        store: &PostgresStore,
        owner: tickler_domain::UserId,
        query: &TaskQuery,
        access: Option<Access>,
    ) -> Vec<TaskId> {
        let tasks = page_through(query, |asked| async move {
            list_with(&store.pool, owner, &asked, access).await.unwrap()
        })
        .await;
        ids(&tasks)
    }

    /// Walking an order's index and collecting the matches first give the same pages, for
    /// words common and rare, prefixes, tags, filters, due ranges and every order.
    #[tokio::test]
    async fn walking_and_collecting_list_the_same_tasks() {
        let Some(base_url) = TestDatabase::base_url_from_env() else {
            return;
        };
        let database = TestDatabase::create(&base_url).await.unwrap();
        let store = database.connect().await.unwrap();
        store.migrate().await.unwrap();
        let user = register(&store, "ada@example.org").await;
        let other = register(&store, "bob@example.org").await;
        let tasks = varied_tasks(user.id, other.id);
        insert(&store, &tasks).await;

        let mut sorts = varied_sorts();
        sorts.insert(0, vec![]);
        let mut filters = varied_filters();
        filters.insert(
            1,
            TaskQuery {
                tags: tags(&["work"]).as_slice().to_vec(),
                ..everything()
            },
        );
        let texts = [
            None,
            Some("call"),
            Some("rep"),
            Some("call report"),
            Some("zebra"),
        ];
        let mut compared = 0;
        for text in texts {
            for filter in &filters {
                if text.is_none() && filter.tags.is_empty() {
                    continue;
                }
                for sort in &sorts {
                    let query = TaskQuery {
                        text: text.map(str::to_owned),
                        sort: sort.clone(),
                        limit: 7,
                        ..filter.clone()
                    };
                    let walked = all_ids(&store, user.id, &query, Some(Access::Walk)).await;
                    let collected = all_ids(&store, user.id, &query, Some(Access::Collect)).await;
                    assert_eq!(walked, collected, "{query:?}");
                    assert_eq!(all_ids(&store, user.id, &query, None).await, walked);
                    compared += usize::from(!walked.is_empty());
                }
            }
        }
        assert!(compared > 100, "only {compared} queries matched anything");
        store.close().await;
    }
}
