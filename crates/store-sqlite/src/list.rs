//! Listing and searching tasks: one statement per query, built from its filters and sort keys,
//! paginated by keyset (see `design.md` for the indexes it relies on).

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};
use tickler_domain::UserId;
use tickler_store::backend::keyset::{self, KeyValue, Plan, RANKED_CANDIDATES};
use tickler_store::{SortField, SortKey, StoreError, TaskPage, TaskQuery};

use crate::codec::{self, TASK_COLUMN_COUNT, TASK_COLUMNS, micros};
use crate::error::ResultExt;
use crate::matching;
use crate::numbering::{task_range, user_seq};
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

/// How a listing with search words reaches its matches (without words the listing's order
/// index is read, and tags are checked or collected as [`collected_tag`] says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordAccess {
    /// The full-text index drives: the user's matches are read from it (by relevance, only the
    /// newest [`RANKED_CANDIDATES`]), then checked against the other filters and sorted. Cheap
    /// when matches are rare, and the only way for relevance.
    Collect,
    /// The order's index drives, as without words, and each task is checked (from its own
    /// text when that is all ASCII, otherwise in the full-text index: see `matching`),
    /// stopping once the page is full. Cheap when matches are common: a word in every task
    /// was 100,000 matches collected and sorted for a page.
    Walk,
}

/// How many of the user's newest tasks [`choose_access`] checks.
const SAMPLE_TASKS: i64 = 1_000;

/// The most tasks a walk is expected to check before [`WordAccess::Collect`] is chosen
/// instead: about 5 ms of checks from the tasks' text for ASCII words, 15 ms of full-text
/// lookups for others.
const WALK_BUDGET: i64 = 5_000;
const WALK_BUDGET_BEYOND_ASCII: i64 = 1_000;

/// The choices a listing makes from the data, fixed by tests that compare both ways.
#[derive(Debug, Clone, Copy)]
struct Choices {
    /// Collect the rarest requested tag when at most this many tasks carry it.
    collect_tag_at_most: i64,
    /// Reach word matches this way (`None`: as [`choose_access`] decides).
    words: Option<WordAccess>,
}

/// Lists one page of the user's tasks.
pub(crate) fn list(
    connection: &Connection,
    owner: UserId,
    query: &TaskQuery,
) -> Result<TaskPage, StoreError> {
    let choices = Choices {
        collect_tag_at_most: COLLECTED_TAG_TASKS,
        words: None,
    };
    list_with(connection, owner, query, choices)
}

/// [`list`], with the choices it would make from the data given.
fn list_with(
    connection: &Connection,
    owner: UserId,
    query: &TaskQuery,
    choices: Choices,
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

    // Ranking costs more than matching: compute it only when the order uses it.
    let ranked = words.is_some() && keys.iter().any(|key| key.field == SortField::Relevance);
    let expression = match &words {
        Some(words) => match match_expression(connection, words)? {
            Some(expression) => Some(expression),
            // The last word begins no word of any task.
            None => return Ok(empty),
        },
        None => None,
    };
    let access = match (&words, &expression) {
        (Some(words), Some(expression)) => Some(match choices.words {
            // Relevance ranks the newest matches, which the full-text index gives in order.
            _ if ranked => WordAccess::Collect,
            Some(access) => access,
            None => {
                let budget = if words.iter().all(|word| word.is_ascii()) {
                    WALK_BUDGET
                } else {
                    WALK_BUDGET_BEYOND_ASCII
                };
                let wanted = limit as i64 + 1;
                choose_access(connection, owner_seq, query, expression, (wanted, budget))?
            }
        }),
        _ => None,
    };

    let mut statement = Statement::default();
    let owner_parameter = statement.bind(owner_seq);
    // The relevance of a task, when the order uses it (see `matching`).
    let score = match &words {
        Some(words) if ranked => {
            let words = statement.bind(words.join(" "));
            Some(format!(
                "{}(t.title, t.tags, t.description, {words})",
                matching::RELEVANCE
            ))
        }
        _ => None,
    };
    let collecting = access == Some(WordAccess::Collect);
    match &expression {
        Some(expression) if collecting => {
            // The full-text index drives the query (CROSS JOIN fixes the order: looking each
            // task up in the index instead would evaluate the match once per task), and the
            // rowid range confines it to this user's tasks.
            let (low, high) = task_range(owner_seq);
            let expression = statement.bind(expression.clone());
            let low = statement.bind(low);
            let high = statement.bind(high);
            // The matches are sorted as narrow rows (keys and rowid), and only the page's
            // tasks are read in full afterwards: sorting tens of thousands of whole rows,
            // descriptions included, would cost more than ranking them.
            let keys_selected: String = keys
                .iter()
                .enumerate()
                .map(|(position, key)| {
                    format!(
                        ", {} AS key{position}",
                        sort_expression(key, score.as_deref())
                    )
                })
                .collect();
            let score = score.as_deref().unwrap_or("0.0");
            statement.push(&format!(
                "SELECT t.seq AS seq, {score} AS score{keys_selected}, t.id AS id \
                 FROM tasks_search CROSS JOIN tasks t ON t.seq = tasks_search.rowid \
                 WHERE tasks_search MATCH {expression} \
                 AND tasks_search.rowid >= {low} AND tasks_search.rowid < {high} \
                 AND t.owner = {owner_parameter}"
            ));
        }
        _ => statement.push(&format!(
            "SELECT {TASK_COLUMNS}, 0.0 FROM tasks t WHERE t.owner = {owner_parameter}"
        )),
    }
    // Reading the order's index, the rarest tag may be collected; with the full-text index
    // driving, each candidate's tags are checked.
    let collected = if collecting {
        None
    } else {
        collected_tag(connection, owner_seq, query, choices.collect_tag_at_most)?
    };
    push_filters(&mut statement, query, &owner_parameter, collected);
    if !collecting && let Some(first) = keys.first().filter(|key| key.field == SortField::DueAt) {
        push_due_bounds(
            &mut statement,
            query,
            &sort_expression(first, None),
            first.descending,
        );
    }
    if let (Some(words), Some(expression), Some(WordAccess::Walk)) = (&words, &expression, access) {
        // Last, so that the cheaper filters reject a task first. The task's own text decides
        // when it is all ASCII (about 1 µs); otherwise the full-text index (about 15 µs).
        let words = statement.bind(words.join(" "));
        let expression = statement.bind(expression.clone());
        statement.push(&format!(
            " AND CASE {}(t.title, t.tags, t.description, {words}) WHEN 1 THEN 1 WHEN 0 THEN 0 \
             ELSE EXISTS (SELECT 1 FROM tasks_search WHERE tasks_search MATCH {expression} \
             AND tasks_search.rowid = t.seq) END",
            matching::MATCHES
        ));
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
                .map(|key| sort_expression(key, score.as_deref()))
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
    if collecting {
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

/// The most words a prefix may stand for in [`match_expression`]; a prefix that begins more
/// is left to FTS5.
const EXPANDED_WORDS: usize = 32;

/// Builds an FTS5 expression from plain words: each a quoted string (quotes doubled), all
/// required, the last one also as a prefix. `None`: the last word begins no indexed word, so
/// nothing matches.
///
/// FTS5 answers a prefix its `prefix` index does not hold (longer than 3 characters) by
/// merging the document lists of every word it begins into one list, in memory, for the whole
/// table before the first row, whatever the rowid range: 37 ms for `call*` in 1,000,000 tasks,
/// where `call` alone finds a user's newest 2,000 matches in 0.45 ms. Such a prefix is
/// replaced by the words it begins (`search_terms`, kept by the writer), so FTS5 reads their
/// lists lazily within the user's range. Words with other than ASCII characters keep the
/// prefix: the full-text index folds their accents, and `search_terms` is ordered by the
/// folded spelling.
fn match_expression(
    connection: &Connection,
    words: &[String],
) -> Result<Option<String>, StoreError> {
    let quoted = |word: &str| format!("\"{}\"", word.replace('"', "\"\""));
    let Some((last, others)) = words.split_last() else {
        return Ok(None);
    };
    let mut parts: Vec<String> = others.iter().map(|word| quoted(word)).collect();
    let prefix = format!("{}*", quoted(last));
    parts.push(if last.len() > 3 && last.is_ascii() {
        match prefixed_words(connection, last)? {
            Some(words) if words.is_empty() => return Ok(None),
            Some(words) => format!(
                "({})",
                words
                    .iter()
                    .map(|word| quoted(word))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
            None => prefix,
        }
    } else {
        prefix
    });
    Ok(Some(parts.join(" AND ")))
}

/// The indexed words an ASCII `prefix` begins, or `None` when there are more than
/// [`EXPANDED_WORDS`].
fn prefixed_words(
    connection: &Connection,
    prefix: &str,
) -> Result<Option<Vec<String>>, StoreError> {
    // The first string after every one that begins with the prefix: its last character
    // (ASCII, and never the last ASCII character, as words are letters and digits) plus one.
    let mut end = prefix.to_owned();
    let last = end.pop().map_or(0, |c| c as u8);
    end.push(char::from(last.saturating_add(1)));
    let mut statement = connection
        .prepare_cached(
            "SELECT term FROM search_terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
        )
        .store()?;
    let words = statement
        .query_map(
            rusqlite::params![prefix, end, EXPANDED_WORDS as i64 + 1],
            |row| row.get::<_, String>(0),
        )
        .store()?
        .collect::<Result<Vec<_>, _>>()
        .store()?;
    Ok((words.len() <= EXPANDED_WORDS).then_some(words))
}

/// Chooses how a listing sorted other than by relevance reaches its word matches, from the
/// user's newest [`SAMPLE_TASKS`] tasks (as the PostgreSQL adapter does): a walk when reading
/// tasks in the listing's order should find `wanted` matches (with the other filters) within
/// `budget` tasks ([`WALK_BUDGET`]); collecting when matches are rarer, or when the user has
/// fewer tasks than the sample (collecting them all is cheap).
fn choose_access(
    connection: &Connection,
    owner_seq: i64,
    query: &TaskQuery,
    expression: &str,
    (wanted, budget): (i64, i64),
) -> Result<WordAccess, StoreError> {
    let (low, high) = task_range(owner_seq);
    let sample_low: Option<i64> = connection
        .prepare_cached(
            "SELECT seq FROM tasks WHERE seq >= ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1 OFFSET ?3",
        )
        .store()?
        .query_row(rusqlite::params![low, high, SAMPLE_TASKS - 1], |row| {
            row.get(0)
        })
        .optional()
        .store()?;
    let Some(sample_low) = sample_low else {
        return Ok(WordAccess::Collect);
    };
    let mut statement = Statement::default();
    let owner_parameter = statement.bind(owner_seq);
    let expression = statement.bind(expression.to_owned());
    let sample_low = statement.bind(sample_low);
    let high = statement.bind(high);
    statement.push(&format!(
        "SELECT count(*) FROM tasks_search CROSS JOIN tasks t ON t.seq = tasks_search.rowid \
         WHERE tasks_search MATCH {expression} \
         AND tasks_search.rowid >= {sample_low} AND tasks_search.rowid < {high} \
         AND t.owner = {owner_parameter}"
    ));
    push_filters(&mut statement, query, &owner_parameter, None);
    let hits: i64 = connection
        .prepare_cached(&statement.sql)
        .store()?
        .query_row(
            rusqlite::params_from_iter(statement.parameters.iter()),
            |row| row.get(0),
        )
        .store()?;
    Ok(if hits * budget >= wanted * SAMPLE_TASKS {
        WordAccess::Walk
    } else {
        WordAccess::Collect
    })
}

/// The column (or score) a sort key orders by; `score` is the relevance expression when the
/// full-text index drives the listing.
fn sort_expression(key: &SortKey, score: Option<&str>) -> String {
    match key.field {
        SortField::CreatedAt => "t.created_at",
        SortField::UpdatedAt => "t.updated_at",
        SortField::DueAt if key.descending => "t.due_descending",
        SortField::DueAt => "t.due_ascending",
        SortField::Priority => "t.priority",
        SortField::Title => "t.title_sort",
        SortField::Relevance => return score.unwrap_or("0.0").to_owned(),
    }
    .to_owned()
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

    use tickler_domain::{Task, TaskId, TaskStatus, UserId};
    use tickler_store::backend::search::{is_word_char, search_words, word_matches};
    use tickler_store::testing::{
        everything, ids, insert, instant, new_task, page_through, register, tags, varied_filters,
        varied_sorts, varied_tasks,
    };
    use tickler_store::{SortField, SortKey, TaskQuery, TaskStore as _};

    use super::{Choices, EXPANDED_WORDS, WordAccess, list_with};
    use crate::{SqliteConfig, SqliteStore};

    /// Every page of `query`, listed with the given choices.
    async fn all_ids(
        store: &SqliteStore,
        owner: UserId,
        query: &TaskQuery,
        choices: Choices,
    ) -> Vec<TaskId> {
        let tasks = page_through(query, |asked| async move {
            store
                .readers
                .read(move |connection| list_with(connection, owner, &asked, choices))
                .await
                .unwrap()
        })
        .await;
        ids(&tasks)
    }

    /// The choices `list` makes, with the rarest tag collected when at most `collect_at_most`
    /// tasks carry it and word matches reached as `words` says.
    fn choices(collect_at_most: i64, words: Option<WordAccess>) -> Choices {
        Choices {
            collect_tag_at_most: collect_at_most,
            words,
        }
    }

    async fn open_store(directory: &tempfile::TempDir) -> SqliteStore {
        let store = SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// Whether a task matches a search text as the full-text index does (for the texts of
    /// these tests, whose accents never change whether a word matches): every word a word of
    /// the title, tags or description, the last one as a prefix.
    fn matches_text(task: &Task, text: &str) -> bool {
        let words = search_words(text).unwrap();
        let fields = &task.fields;
        let tag_text: Vec<&str> = fields.tags.as_slice().iter().map(|t| t.as_str()).collect();
        let document = format!(
            "{} {} {}",
            fields.title.as_str(),
            tag_text.join(" "),
            fields.description
        );
        words.iter().enumerate().all(|(index, word)| {
            document
                .split(|c: char| !is_word_char(c))
                .any(|token| word_matches(token, word, index + 1 == words.len()))
        })
    }

    /// Walking an order's index and checking each task's tags gives the same pages as
    /// collecting the rarest tag's tasks, for every order, with due ranges and statuses.
    #[tokio::test]
    async fn walking_and_collecting_tags_list_the_same_tasks() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
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
                    let collected = all_ids(&store, user.id, &query, choices(i64::MAX, None)).await;
                    let walked = all_ids(&store, user.id, &query, choices(0, None)).await;
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

    /// Walking an order's index and looking each task up in the full-text index gives the
    /// same pages as collecting the matches from the full-text index, for every order and
    /// filter and for common, rare, short and long prefixes; both list exactly the tasks whose
    /// words match.
    #[tokio::test]
    async fn walking_and_collecting_word_matches_list_the_same_tasks() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let user = register(&store, "ada@example.org").await;
        let other = register(&store, "bob@example.org").await;
        let mut tasks = varied_tasks(user.id, other.id);
        // Text beyond ASCII, which a walk checks in the full-text index.
        for (n, title) in ["call report über", "Café meeting", "کتاب call"]
            .iter()
            .enumerate()
        {
            let mut task = new_task(user.id, title);
            task.created_at = instant(1_000 + n as i64);
            task.updated_at = task.created_at;
            tasks.push(task);
        }
        insert(&store, &tasks).await;

        let sorts = varied_sorts();
        let filters = varied_filters();
        let texts = [
            "call",
            "rep",
            "report",
            "call repo",
            "meet",
            "notes",
            "zebra",
            "call zeb",
            "caf",
            "absent",
        ];
        let mut compared = 0;
        for text in texts {
            for filter in &filters {
                for sort in &sorts {
                    let query = TaskQuery {
                        text: Some(text.to_owned()),
                        sort: sort.clone(),
                        limit: 7,
                        ..filter.clone()
                    };
                    let walked = all_ids(
                        &store,
                        user.id,
                        &query,
                        choices(2_000, Some(WordAccess::Walk)),
                    )
                    .await;
                    let collected = all_ids(
                        &store,
                        user.id,
                        &query,
                        choices(2_000, Some(WordAccess::Collect)),
                    )
                    .await;
                    assert_eq!(walked, collected, "{query:?}");
                    let chosen = all_ids(&store, user.id, &query, choices(2_000, None)).await;
                    assert_eq!(chosen, walked, "{query:?}");
                    let mut expected: Vec<TaskId> = tasks
                        .iter()
                        .filter(|task| task.owner == user.id && matches_text(task, text))
                        .filter(|task| {
                            filter.statuses.is_empty()
                                || filter.statuses.contains(&task.fields.status)
                        })
                        .filter(|task| {
                            filter.priorities.is_empty()
                                || filter.priorities.contains(&task.fields.priority)
                        })
                        .filter(|task| {
                            filter
                                .tags
                                .iter()
                                .all(|tag| task.fields.tags.as_slice().contains(tag))
                        })
                        .filter(|task| {
                            let due = task.fields.due.map(|due| due.at);
                            filter
                                .due_after
                                .is_none_or(|after| due.is_some_and(|at| at >= after))
                                && filter
                                    .due_before
                                    .is_none_or(|before| due.is_some_and(|at| at < before))
                                && filter.overdue_at.is_none_or(|now| {
                                    task.fields.status != TaskStatus::Done
                                        && due.is_some_and(|at| at < now)
                                })
                        })
                        .map(|task| task.id)
                        .collect();
                    let mut listed = walked.clone();
                    expected.sort();
                    listed.sort();
                    assert_eq!(listed, expected, "{query:?}");
                    compared += usize::from(!walked.is_empty());
                }
            }
        }
        assert!(compared > 100, "only {compared} non-empty comparisons");
        store.close().await;
    }

    /// A prefix that begins more words than are written out is left to FTS5, and one that
    /// begins no word matches nothing; both list what a match of every word would.
    #[tokio::test]
    async fn prefixes_of_many_words_or_of_none_match_as_prefixes() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let user = register(&store, "ada@example.org").await;
        let many = EXPANDED_WORDS + 3;
        let tasks: Vec<Task> = (0..many)
            .map(|n| new_task(user.id, &format!("plan{n:03}x and more")))
            .chain([new_task(user.id, "planning"), new_task(user.id, "plain")])
            .collect();
        insert(&store, &tasks).await;
        for (text, expected) in [
            ("plan", many + 1),
            ("plan0", many),
            ("plan001", 1),
            ("plan001x", 1),
            ("planz", 0),
            ("more plan", many),
            ("pla", many + 2),
        ] {
            for sort in [vec![], vec![SortKey::ascending(SortField::Title)]] {
                let query = TaskQuery {
                    text: Some(text.to_owned()),
                    sort,
                    limit: 10,
                    ..everything()
                };
                let listed = all_ids(&store, user.id, &query, choices(2_000, None)).await;
                assert_eq!(listed.len(), expected, "{text}");
            }
        }
        store.close().await;
    }

    /// The writer keeps `search_terms` a superset of the full-text index's own words, spelled
    /// as the index spells them (accents folded, lowercase), through inserts and updates.
    #[tokio::test]
    async fn search_terms_hold_every_word_of_the_full_text_index() {
        let directory = tempfile::tempdir().unwrap();
        let store = open_store(&directory).await;
        let user = register(&store, "ada@example.org").await;
        // One transaction of text beyond ASCII (through the scratch full-text table), then
        // ASCII only (split by the writer), then an update.
        let mut tasks = vec![
            new_task(user.id, "Café CRÈME brûlée"),
            new_task(user.id, "کتاب خریدنا"),
            new_task(user.id, "plain words"),
        ];
        tasks[2].fields.description = "Straße numbers 42".into();
        tasks[2].fields.tags = tags(&["home", "über"]);
        insert(&store, &tasks).await;
        let mut ascii = new_task(user.id, "Ring the PLUMBER_about x2-valve");
        ascii.fields.description = "it's (really) urgent: 3pm".into();
        ascii.fields.tags = tags(&["to-do", "house_work"]);
        insert(&store, &[ascii]).await;
        let mut renamed = tasks[2].clone();
        renamed.fields.title = tickler_domain::Title::parse("renamed entirely").unwrap();
        renamed.version = 2;
        store
            .commit(tickler_store::ChangeSet {
                tasks: vec![tickler_store::TaskWrite::Update {
                    task: renamed,
                    expected_version: 1,
                }],
                ..tickler_store::ChangeSet::default()
            })
            .await
            .unwrap();
        // Read on the writer's connection: the readers may not create the vocabulary table.
        let (indexed, kept) = store
            .writer
            .write(|connection| {
                connection
                    .execute_batch(
                        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocabulary \
                         USING fts5vocab (main, tasks_search, 'row')",
                    )
                    .unwrap();
                let words = |sql: &str| -> Vec<String> {
                    let mut statement = connection.prepare(sql).unwrap();
                    statement
                        .query_map([], |row| row.get(0))
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap()
                };
                Ok((
                    words("SELECT term FROM temp.vocabulary ORDER BY term"),
                    words("SELECT term FROM search_terms ORDER BY term"),
                ))
            })
            .await
            .unwrap();
        for word in [
            "cafe", "creme", "brulee", "کتاب", "renamed", "straße", "uber", "42",
        ] {
            assert!(indexed.contains(&word.to_owned()), "{word} in {indexed:?}");
        }
        let missing: Vec<&String> = indexed.iter().filter(|word| !kept.contains(word)).collect();
        assert!(missing.is_empty(), "not in search_terms: {missing:?}");
        // The title's old words stay listed: they only add alternatives that match nothing.
        assert!(kept.contains(&"plain".to_owned()));

        // Words a version without the list wrote (a rollback) are added by the next migration.
        store
            .writer
            .write(|connection| {
                connection
                    .execute("DELETE FROM search_terms WHERE term >= 'p'", [])
                    .unwrap();
                Ok(())
            })
            .await
            .unwrap();
        let searched = TaskQuery {
            text: Some("plum".into()),
            ..everything()
        };
        let before = all_ids(&store, user.id, &searched, choices(2_000, None)).await;
        assert!(before.is_empty(), "the list lacks `plumber`: {before:?}");
        store.migrate().await.unwrap();
        let after = all_ids(&store, user.id, &searched, choices(2_000, None)).await;
        assert_eq!(after.len(), 1);
        store.close().await;
    }
}
