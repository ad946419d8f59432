//! Listing and searching tasks: one statement per query, built from its filters and sort keys,
//! paginated by keyset (see `design.md` for the indexes it relies on).

use rusqlite::Connection;
use rusqlite::types::Value;
use tickler_domain::UserId;
use tickler_store::backend::keyset::{self, KeyValue, Plan, RANKED_CANDIDATES};
use tickler_store::{SortField, SortKey, StoreError, TaskPage, TaskQuery};

use crate::codec::{self, TASK_COLUMN_COUNT, TASK_COLUMNS, micros};
use crate::error::ResultExt;
use crate::numbering::{task_range, user_seq};

/// The relevance score: bm25 with weights for title, tags and description (smaller is better).
const SCORE: &str = "bm25(tasks_search, 10.0, 5.0, 1.0)";
/// What a task without a due date sorts as, ascending and descending (generated columns).
const NO_DUE_ASCENDING: i64 = i64::MAX;
const NO_DUE_DESCENDING: i64 = -i64::MAX;

/// A statement under construction and its numbered parameters.
#[derive(Default)]
pub(crate) struct Statement {
    pub(crate) sql: String,
    pub(crate) parameters: Vec<Value>,
}

impl Statement {
    /// Adds a parameter and returns its placeholder.
    pub(crate) fn bind(&mut self, value: impl Into<Value>) -> String {
        self.parameters.push(value.into());
        format!("?{}", self.parameters.len())
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }
}

/// Lists one page of the user's tasks.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    query: &TaskQuery,
) -> Result<TaskPage, StoreError> {
    list_with(connection, owner, query, COLLECTED_TAG_TASKS)
}

/// [`list`], collecting the rarest requested tag when at most `collect_at_most` tasks carry
/// it (tests compare both ways).
fn list_with(
    connection: &Connection,
    owner: UserId,
    query: &TaskQuery,
    collect_at_most: i64,
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
    let Some(owner_seq) = user_seq(connection, owner.as_uuid())? else {
        return Ok(empty);
    };

    let mut statement = Statement::default();
    let owner_parameter = statement.bind(owner_seq);
    // Ranking costs more than matching: compute it only when the order uses it.
    let ranked = words.is_some() && keys.iter().any(|key| key.field == SortField::Relevance);
    match &words {
        Some(words) => {
            // The full-text index drives the query (CROSS JOIN fixes the order: looking each
            // task up in the index instead would evaluate the match once per task), and the
            // rowid range confines it to this user's tasks.
            let (low, high) = task_range(owner_seq);
            let expression = statement.bind(match_expression(words));
            let low = statement.bind(low);
            let high = statement.bind(high);
            // The matches are sorted as narrow rows (keys and rowid), and only the page's
            // tasks are read in full afterwards: sorting tens of thousands of whole rows,
            // descriptions included, would cost more than ranking them.
            let keys_selected: String = keys
                .iter()
                .enumerate()
                .map(|(position, key)| format!(", {} AS key{position}", sort_expression(key, true)))
                .collect();
            let score = if ranked { SCORE } else { "0.0" };
            statement.push(&format!(
                "SELECT t.seq AS seq, {score} AS score{keys_selected}, t.id AS id \
                 FROM tasks_search CROSS JOIN tasks t ON t.seq = tasks_search.rowid \
                 WHERE tasks_search MATCH {expression} \
                 AND tasks_search.rowid >= {low} AND tasks_search.rowid < {high} \
                 AND t.owner = {owner_parameter}"
            ));
        }
        None => statement.push(&format!(
            "SELECT {TASK_COLUMNS}, 0.0 FROM tasks t WHERE t.owner = {owner_parameter}"
        )),
    }
    // With words the full-text index drives, and each candidate's tags are checked.
    let collected = match &words {
        Some(_) => None,
        None => collected_tag(connection, owner_seq, query, collect_at_most)?,
    };
    push_filters(&mut statement, query, &owner_parameter, collected);
    if words.is_none()
        && let Some(first) = keys.first().filter(|key| key.field == SortField::DueAt)
    {
        push_due_bounds(
            &mut statement,
            query,
            sort_expression(first, false),
            first.descending,
        );
    }
    let (expressions, id_column): (Vec<String>, &str) = if ranked {
        // Only the newest matches are candidates (highest `seq`: the full-text index's own
        // order, so its scan stops after them); pages, cursors included, are cut from that
        // bounded set by rank.
        let candidates = statement.bind(i64::from(RANKED_CANDIDATES));
        statement.push(&format!(
            " ORDER BY tasks_search.rowid DESC LIMIT {candidates}"
        ));
        statement.sql = format!("SELECT * FROM ({}) c WHERE 1", statement.sql);
        (
            (0..keys.len()).map(|n| format!("c.key{n}")).collect(),
            "c.id",
        )
    } else {
        (
            keys.iter()
                .map(|key| sort_expression(key, words.is_some()).to_owned())
                .collect(),
            "t.id",
        )
    };
    if let Some((values, id)) = &after {
        push_after(
            &mut statement,
            (&keys, &expressions),
            values,
            (id_column, id.as_uuid()),
        );
    }
    let fetch = statement.bind(limit as i64 + 1);
    let order = keyset::order_by(&keys, &expressions, id_column);
    statement.push(&format!(" ORDER BY {order} LIMIT {fetch}"));
    if words.is_some() {
        let selected: Vec<String> = (0..keys.len()).map(|n| format!("k.key{n}")).collect();
        statement.sql = format!(
            "SELECT {TASK_COLUMNS}, k.score FROM ({}) k CROSS JOIN tasks t ON t.seq = k.seq \
             ORDER BY {}",
            statement.sql,
            keyset::order_by(&keys, &selected, "k.id")
        );
    }

    let mut prepared = connection.prepare_cached(&statement.sql).store()?;
    let mut rows = prepared
        .query(rusqlite::params_from_iter(statement.parameters.iter()))
        .store()?;
    let mut items = Vec::with_capacity(limit + 1);
    let mut last_score = 0.0;
    while let Some(row) = rows.next().store()? {
        if items.len() == limit {
            // One more row than the page: there is a next page.
            let next = items
                .last()
                .map(|task| keyset::next_cursor(&keys, task, last_score));
            return Ok(TaskPage { items, next });
        }
        items.push(codec::task_from_row(row, *owner.as_uuid())?);
        last_score = codec::value(row, TASK_COLUMN_COUNT)?;
    }
    Ok(TaskPage { items, next: None })
}

/// Builds an FTS5 expression from plain words: each a quoted string (quotes doubled), all
/// required, the last one also as a prefix.
fn match_expression(words: &[String]) -> String {
    let last = words.len() - 1;
    words
        .iter()
        .enumerate()
        .map(|(index, word)| {
            let quoted = format!("\"{}\"", word.replace('"', "\"\""));
            if index == last {
                format!("{quoted}*")
            } else {
                quoted
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The column (or score) a sort key orders by.
fn sort_expression(key: &SortKey, searching: bool) -> &'static str {
    match key.field {
        SortField::CreatedAt => "t.created_at",
        SortField::UpdatedAt => "t.updated_at",
        SortField::DueAt if key.descending => "t.due_descending",
        SortField::DueAt => "t.due_ascending",
        SortField::Priority => "t.priority",
        SortField::Title => "t.title_sort",
        SortField::Relevance if searching => SCORE,
        SortField::Relevance => "0.0",
    }
}

fn key_parameter(key: &SortKey, value: &KeyValue) -> Value {
    match value {
        KeyValue::Timestamp(micros) | KeyValue::Due(Some(micros)) | KeyValue::Rank(micros) => {
            Value::Integer(*micros)
        }
        KeyValue::Due(None) if key.descending => Value::Integer(NO_DUE_DESCENDING),
        KeyValue::Due(None) => Value::Integer(NO_DUE_ASCENDING),
        KeyValue::Text(text) => Value::Text(text.clone()),
        KeyValue::Score(score) => Value::Real(*score),
    }
}

/// Adds "strictly after the cursor in this order".
fn push_after(
    statement: &mut Statement,
    (keys, expressions): (&[SortKey], &[String]),
    values: &[KeyValue],
    (id_column, id): (&str, &uuid::Uuid),
) {
    let parameters: Vec<String> = keys
        .iter()
        .zip(values)
        .map(|(key, value)| statement.bind(key_parameter(key, value)))
        .collect();
    let id_parameter = statement.bind(id.as_bytes().to_vec());
    let condition =
        keyset::after_condition(keys, expressions, &parameters, id_column, &id_parameter);
    statement.push(&format!(" AND {condition}"));
}

/// Repeats the due-date filters on the column a due-date order reads (`due_ascending` or
/// `due_descending`: `due_at`, with no due date mapped past either end). The filters imply
/// them, so the rows are the same; stated on the index's own column they let SQLite seek into
/// the range instead of walking every earlier task (the Upcoming view, `due_after` sorted by
/// due date, read all of a user's tasks when none was due that late).
///
/// A bound also excludes the value tasks without a due date have in that column (any due-date
/// filter rejects them): otherwise they lie inside an open-ended range (`due_after` on
/// `due_ascending`, where they sort last) and a listing read them all only to drop them (the
/// Upcoming view read the 30,000 undated of 100,000 tasks: 251 ms p50).
fn push_due_bounds(statement: &mut Statement, query: &TaskQuery, column: &str, descending: bool) {
    let bounded =
        query.due_after.is_some() || query.due_before.is_some() || query.overdue_at.is_some();
    if !bounded {
        return;
    }
    if let Some(after) = query.due_after {
        let after = statement.bind(micros(after));
        statement.push(&format!(" AND {column} >= {after}"));
    }
    for before in [query.due_before, query.overdue_at].into_iter().flatten() {
        let before = statement.bind(micros(before));
        statement.push(&format!(" AND {column} < {before}"));
    }
    if descending {
        let undated = statement.bind(NO_DUE_DESCENDING);
        statement.push(&format!(" AND {column} > {undated}"));
    } else {
        let undated = statement.bind(NO_DUE_ASCENDING);
        statement.push(&format!(" AND {column} < {undated}"));
    }
}

/// A tag carried by at most this many of the user's tasks is collected (its tasks read from
/// `task_tags` and sorted); beyond it the listing walks its order's index and checks each task's
/// tags, which finds a page of common tags after a few rows where collecting them meant sorting
/// tens of thousands (two tags each on half of 100,000 tasks: 330 ms p50 collected).
const COLLECTED_TAG_TASKS: i64 = 2_000;

/// The index of the requested tag to collect, if the rarest of them is carried by at most
/// `collect_at_most` tasks ([`COLLECTED_TAG_TASKS`]; `tag_usage` counts each tag's tasks);
/// `None`: walk.
fn collected_tag(
    connection: &Connection,
    owner_seq: i64,
    query: &TaskQuery,
    collect_at_most: i64,
) -> Result<Option<usize>, StoreError> {
    let mut rarest: Option<(usize, i64)> = None;
    let mut counted = connection
        .prepare_cached("SELECT tasks FROM tag_usage WHERE owner = ?1 AND tag = ?2")
        .store()?;
    for (index, tag) in query.tags.iter().enumerate() {
        let tasks: i64 = counted
            .query_row(rusqlite::params![owner_seq, tag.as_str()], |row| row.get(0))
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(0),
                other => Err(other),
            })
            .store()?;
        if rarest.is_none_or(|(_, fewest)| tasks < fewest) {
            rarest = Some((index, tasks));
        }
    }
    Ok(rarest
        .filter(|(_, tasks)| *tasks <= collect_at_most)
        .map(|(index, _)| index))
}

/// Adds the query's filters. The tag at `collected` (see [`collected_tag`]) is matched by
/// collecting its tasks; every other tag by looking the task up in `task_tags` (its key).
fn push_filters(
    statement: &mut Statement,
    query: &TaskQuery,
    owner_parameter: &str,
    collected: Option<usize>,
) {
    if !query.statuses.is_empty() {
        let list: Vec<String> = query
            .statuses
            .iter()
            .map(|status| statement.bind(status.as_str().to_owned()))
            .collect();
        statement.push(&format!(" AND t.status IN ({})", list.join(", ")));
    }
    if !query.priorities.is_empty() {
        let list: Vec<String> = query
            .priorities
            .iter()
            .map(|priority| statement.bind(i64::from(priority.rank())))
            .collect();
        statement.push(&format!(" AND t.priority IN ({})", list.join(", ")));
    }
    for (index, tag) in query.tags.iter().enumerate() {
        let tag = statement.bind(tag.as_str().to_owned());
        if collected == Some(index) {
            statement.push(&format!(
                " AND t.seq IN (SELECT task_seq FROM task_tags \
                 WHERE owner = {owner_parameter} AND tag = {tag})"
            ));
        } else {
            statement.push(&format!(
                " AND EXISTS (SELECT 1 FROM task_tags WHERE owner = {owner_parameter} \
                 AND tag = {tag} AND task_seq = t.seq)"
            ));
        }
    }
    if let Some(before) = query.due_before {
        let before = statement.bind(micros(before));
        statement.push(&format!(" AND t.due_at < {before}"));
    }
    if let Some(after) = query.due_after {
        let after = statement.bind(micros(after));
        statement.push(&format!(" AND t.due_at >= {after}"));
    }
    if let Some(now) = query.overdue_at {
        let now = statement.bind(micros(now));
        statement.push(&format!(" AND t.status <> 'done' AND t.due_at < {now}"));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: failures panic

    use tickler_domain::{TaskId, TaskStatus};
    use tickler_store::testing::{
        everything, ids, insert, instant, page_through, register, tags, varied_tasks,
    };
    use tickler_store::{SortField, SortKey, TaskQuery};

    use super::list_with;
    use crate::{SqliteConfig, SqliteStore};

    /// Every page of `query`, the rarest tag collected when at most `collect_at_most` tasks
    /// carry it.
    async fn all_ids(
        store: &SqliteStore,
        owner: tickler_domain::UserId,
        query: &TaskQuery,
        collect_at_most: i64,
    ) -> Vec<TaskId> {
        let tasks = page_through(query, |asked| async move {
            store
                .readers
                .read(move |connection| list_with(connection, owner, &asked, collect_at_most))
                .await
                .unwrap()
        })
        .await;
        ids(&tasks)
    }

    /// Walking an order's index and checking each task's tags gives the same pages as
    /// collecting the rarest tag's tasks, for every order, with due ranges and statuses.
    #[tokio::test]
    async fn walking_and_collecting_tags_list_the_same_tasks() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let user = register(&store, "ada@example.org").await;
        let other = register(&store, "bob@example.org").await;
        let tasks = varied_tasks(user.id, other.id);
        insert(&store, &tasks).await;

        let sorts = [
            vec![],
            vec![SortKey::ascending(SortField::DueAt)],
            vec![SortKey::descending(SortField::DueAt)],
            vec![SortKey::descending(SortField::Priority)],
            vec![SortKey::ascending(SortField::Title)],
        ];
        let tag_sets: [&[&str]; 4] = [&["work"], &["home", "work"], &["work", "unused"], &["none"]];
        for sort in &sorts {
            for tag_set in tag_sets {
                for due in [false, true] {
                    let mut query = TaskQuery {
                        tags: tags(tag_set).as_slice().to_vec(),
                        statuses: vec![TaskStatus::Todo, TaskStatus::InProgress],
                        sort: sort.clone(),
                        limit: 7,
                        ..everything()
                    };
                    if due {
                        query.due_after = Some(instant(20_000));
                        query.due_before = Some(instant(60_000));
                    }
                    let collected = all_ids(&store, user.id, &query, i64::MAX).await;
                    let walked = all_ids(&store, user.id, &query, 0).await;
                    assert_eq!(walked, collected, "{sort:?} {tag_set:?} due {due}");
                    let expected = tasks
                        .iter()
                        .filter(|task| task.owner == user.id)
                        .filter(|task| {
                            tag_set.iter().all(|tag| {
                                task.fields
                                    .tags
                                    .as_slice()
                                    .iter()
                                    .any(|t| t.as_str() == *tag)
                            })
                        })
                        .filter(|task| task.fields.status != TaskStatus::Done)
                        .filter(|task| {
                            !due || task.fields.due.is_some_and(|due| {
                                due.at >= instant(20_000) && due.at < instant(60_000)
                            })
                        })
                        .count();
                    assert_eq!(collected.len(), expected, "{sort:?} {tag_set:?} due {due}");
                }
            }
        }
        store.close().await;
    }
}
