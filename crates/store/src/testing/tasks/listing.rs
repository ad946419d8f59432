//! Listing: filters, sort orders and keyset pagination.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

use tickler_domain::{Priority, Task, TaskStatus, UserId};

use crate::query::{Cursor, CursorValue};
use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{SortField, SortKey, Store, TaskQuery};

/// A task to arrange: title, status, priority, due date (seconds from [`instant`]), tags.
type Spec<'a> = (&'a str, TaskStatus, Priority, Option<i64>, &'a [&'a str]);

/// Stores tasks of `owner` described by specs.
async fn arrange(store: &dyn Store, owner: UserId, specs: &[Spec<'_>]) -> Vec<Task> {
    let tasks: Vec<Task> = specs
        .iter()
        .enumerate()
        .map(|(n, (title, status, priority, due_seconds, tag_names))| {
            let mut task = new_task(owner, title);
            task.fields.status = *status;
            task.fields.priority = *priority;
            task.fields.due = due_seconds.and_then(due);
            task.fields.tags = tags(tag_names);
            task.created_at = instant(n as i64);
            task.updated_at = instant(n as i64);
            task
        })
        .collect();
    insert(store, &tasks).await;
    tasks
}

async fn filter_fixture(store: &dyn Store) -> UserId {
    use Priority::{High, Low, Medium, Urgent};
    use TaskStatus::*;
    let user = register(store, "ada@example.org").await;
    arrange(
        store,
        user.id,
        &[
            ("a", Todo, Priority::None, Some(-100), &["home"]),
            ("b", InProgress, Low, Some(0), &["home", "work"]),
            ("c", Done, High, Some(-50), &["work"]),
            ("d", Todo, Urgent, Some(100), &[]),
            ("e", Done, Medium, None, &["home", "work", "later"]),
            ("f", InProgress, High, None, &["later"]),
        ],
    )
    .await;
    user.id
}

/// Statuses filter with "any of".
pub async fn filtering_by_status_matches_any_of_the_given_statuses(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let query = |statuses: Vec<TaskStatus>| TaskQuery {
        statuses,
        ..everything()
    };
    assert_eq!(
        sorted_titles_of(&*store, owner, query(vec![TaskStatus::Done])).await,
        ["c", "e"]
    );
    assert_eq!(
        sorted_titles_of(
            &*store,
            owner,
            query(vec![TaskStatus::Todo, TaskStatus::InProgress])
        )
        .await,
        ["a", "b", "d", "f"]
    );
}

/// Priorities filter with "any of".
pub async fn filtering_by_priority_matches_any_of_the_given_priorities(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let query = |priorities: Vec<Priority>| TaskQuery {
        priorities,
        ..everything()
    };
    assert_eq!(
        sorted_titles_of(&*store, owner, query(vec![Priority::High])).await,
        ["c", "f"]
    );
    assert_eq!(
        sorted_titles_of(
            &*store,
            owner,
            query(vec![Priority::None, Priority::Urgent])
        )
        .await,
        ["a", "d"]
    );
}

/// Tags filter with "all of".
pub async fn filtering_by_tags_requires_all_of_them(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let query = |names: &[&str]| TaskQuery {
        tags: names.iter().map(|name| tag(name)).collect(),
        ..everything()
    };
    assert_eq!(
        sorted_titles_of(&*store, owner, query(&["home"])).await,
        ["a", "b", "e"]
    );
    assert_eq!(
        sorted_titles_of(&*store, owner, query(&["home", "work"])).await,
        ["b", "e"]
    );
    assert_eq!(
        sorted_titles_of(&*store, owner, query(&["home", "work", "later"])).await,
        ["e"]
    );
    assert!(
        sorted_titles_of(&*store, owner, query(&["nowhere"]))
            .await
            .is_empty()
    );
}

/// `due_before` excludes its instant, `due_after` includes it; tasks without a due date match
/// neither.
pub async fn due_before_is_exclusive_and_due_after_inclusive(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let before = TaskQuery {
        due_before: Some(instant(0)),
        ..everything()
    };
    assert_eq!(sorted_titles_of(&*store, owner, before).await, ["a", "c"]);
    let after = TaskQuery {
        due_after: Some(instant(0)),
        ..everything()
    };
    assert_eq!(sorted_titles_of(&*store, owner, after).await, ["b", "d"]);
    let window = TaskQuery {
        due_after: Some(instant(-50)),
        due_before: Some(instant(100)),
        ..everything()
    };
    assert_eq!(sorted_titles_of(&*store, owner, window).await, ["b", "c"]);
}

/// The due-date filters select the same tasks when the order is the due date itself, in either
/// direction, paged one task at a time, and the pages come in that order (the SQLite adapter
/// restates the filters on the order's own index column).
pub async fn due_filters_hold_under_a_due_date_order(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let filters: [(TaskQuery, &[&str]); 4] = [
        (
            TaskQuery {
                due_before: Some(instant(0)),
                ..everything()
            },
            &["a", "c"],
        ),
        (
            TaskQuery {
                due_after: Some(instant(0)),
                ..everything()
            },
            &["b", "d"],
        ),
        (
            TaskQuery {
                due_after: Some(instant(-50)),
                due_before: Some(instant(100)),
                ..everything()
            },
            &["c", "b"],
        ),
        (
            TaskQuery {
                overdue_at: Some(instant(1)),
                ..everything()
            },
            &["a", "b"],
        ),
    ];
    for (filter, ascending) in filters {
        for descending in [false, true] {
            let query = TaskQuery {
                sort: vec![SortKey {
                    field: SortField::DueAt,
                    descending,
                }],
                limit: 1,
                ..filter.clone()
            };
            let mut expected: Vec<&str> = ascending.to_vec();
            if descending {
                expected.reverse();
            }
            assert_eq!(
                titles_of(&*store, owner, query).await,
                expected,
                "{filter:?}, descending: {descending}"
            );
        }
    }
}

/// Overdue means not done and due strictly before the instant.
pub async fn overdue_lists_open_tasks_due_before_the_instant(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let overdue = |seconds| TaskQuery {
        overdue_at: Some(instant(seconds)),
        ..everything()
    };
    assert_eq!(sorted_titles_of(&*store, owner, overdue(0)).await, ["a"]);
    assert_eq!(
        sorted_titles_of(&*store, owner, overdue(1)).await,
        ["a", "b"]
    );
    assert_eq!(
        sorted_titles_of(&*store, owner, overdue(1_000)).await,
        ["a", "b", "d"]
    );
}

/// Every filter narrows the result.
pub async fn filters_combine(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let owner = filter_fixture(&*store).await;
    let query = TaskQuery {
        statuses: vec![TaskStatus::Done, TaskStatus::InProgress],
        tags: vec![tag("work")],
        priorities: vec![Priority::Low, Priority::Medium, Priority::High],
        due_after: Some(instant(-60)),
        ..everything()
    };
    assert_eq!(sorted_titles_of(&*store, owner, query).await, ["b", "c"]);
}

/// Tasks with many ties on every key: few distinct creation times, priorities, due dates and
/// titles that differ only in case.
async fn sort_fixture(store: &dyn Store) -> (UserId, Vec<Task>) {
    let user = register(store, "ada@example.org").await;
    let titles = [
        "apple", "Apple", "banana", "Éclair", "éclair", "zebra", "Zebra", "ápple",
    ];
    let tasks: Vec<Task> = (0..29)
        .map(|n: i64| {
            let mut task = new_task(user.id, titles[(n % 8) as usize]);
            task.fields.priority = Priority::ALL[(n % 5) as usize];
            task.fields.due = match n % 4 {
                0 => None,
                1 => due(-3_600),
                2 => due(0),
                _ => due(3_600 + n),
            };
            task.created_at = instant(n % 6);
            task.updated_at = instant(100 - n % 7);
            task
        })
        .collect();
    insert(store, &tasks).await;
    (user.id, tasks)
}

/// The order a listing must have, computed here independently of any backend.
pub fn expected_order(tasks: &[Task], keys: &[SortKey]) -> Vec<Task> {
    let mut sorted = tasks.to_vec();
    let id_descending = keys.last().is_some_and(|key| key.descending);
    sorted.sort_by(|a, b| {
        for key in keys {
            let ordering = compare(a, b, key);
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        let ordering = a.id.cmp(&b.id);
        if id_descending {
            ordering.reverse()
        } else {
            ordering
        }
    });
    sorted
}

fn compare(a: &Task, b: &Task, key: &SortKey) -> Ordering {
    let directed = |ordering: Ordering| {
        if key.descending {
            ordering.reverse()
        } else {
            ordering
        }
    };
    match key.field {
        SortField::CreatedAt => directed(a.created_at.cmp(&b.created_at)),
        SortField::UpdatedAt => directed(a.updated_at.cmp(&b.updated_at)),
        SortField::Priority => directed(a.fields.priority.cmp(&b.fields.priority)),
        SortField::Title => directed(
            a.fields
                .title
                .as_str()
                .to_lowercase()
                .cmp(&b.fields.title.as_str().to_lowercase()),
        ),
        // Without a due date last, whichever the direction.
        SortField::DueAt => match (a.fields.due, b.fields.due) {
            (Some(x), Some(y)) => directed(x.at.cmp(&y.at)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        SortField::Relevance => Ordering::Equal,
    }
}

const SORTABLE: [SortField; 5] = [
    SortField::CreatedAt,
    SortField::UpdatedAt,
    SortField::DueAt,
    SortField::Priority,
    SortField::Title,
];

/// Every sort key, ascending and descending, in pages of 4, matches the expected order.
pub async fn each_sort_key_orders_both_directions_with_ties_broken_by_id(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    for field in SORTABLE {
        for descending in [false, true] {
            let keys = vec![SortKey { field, descending }];
            let query = TaskQuery {
                sort: keys.clone(),
                limit: 4,
                ..TaskQuery::default()
            };
            let listed = list_all(&*store, owner, &query).await;
            assert_eq!(
                ids(&listed),
                ids(&expected_order(&tasks, &keys)),
                "order by {keys:?}: {:?}",
                titles(&listed)
            );
        }
    }
}

/// Several keys in mixed directions order by the first, then the next, down to the id.
pub async fn several_sort_keys_in_mixed_directions_order_key_by_key(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    let orders = [
        vec![
            SortKey::descending(SortField::Priority),
            SortKey::ascending(SortField::DueAt),
        ],
        vec![
            SortKey::descending(SortField::DueAt),
            SortKey::ascending(SortField::Title),
        ],
        vec![
            SortKey::ascending(SortField::Title),
            SortKey::descending(SortField::CreatedAt),
            SortKey::ascending(SortField::Priority),
        ],
        vec![
            SortKey::ascending(SortField::CreatedAt),
            SortKey::ascending(SortField::DueAt),
        ],
        vec![
            SortKey::descending(SortField::UpdatedAt),
            SortKey::descending(SortField::Priority),
        ],
    ];
    for keys in orders {
        let query = TaskQuery {
            sort: keys.clone(),
            limit: 3,
            ..TaskQuery::default()
        };
        let listed = list_all(&*store, owner, &query).await;
        assert_eq!(
            ids(&listed),
            ids(&expected_order(&tasks, &keys)),
            "order by {keys:?}: {:?}",
            titles(&listed)
        );
    }
}

/// Tasks without a due date follow every dated one, ascending and descending.
pub async fn tasks_without_a_due_date_come_last_in_both_directions(backend: &dyn TestBackend) {
    let store = backend.open().await;
    use Priority::None as NoPriority;
    use TaskStatus::Todo;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("undated 1", Todo, NoPriority, None, &[]),
            ("late", Todo, NoPriority, Some(100), &[]),
            ("undated 2", Todo, NoPriority, None, &[]),
            ("early", Todo, NoPriority, Some(-100), &[]),
        ],
    )
    .await;
    for descending in [false, true] {
        let query = TaskQuery {
            sort: vec![SortKey {
                field: SortField::DueAt,
                descending,
            }],
            limit: 1,
            ..TaskQuery::default()
        };
        let listed = titles_of(&*store, user.id, query).await;
        let dated: Vec<&str> = if descending {
            vec!["late", "early"]
        } else {
            vec!["early", "late"]
        };
        assert_eq!(&listed[..2], dated.as_slice(), "descending: {descending}");
        let mut undated = listed[2..].to_vec();
        undated.sort();
        assert_eq!(undated, ["undated 1", "undated 2"]);
    }
}

/// Titles compare case-insensitively (by Unicode lowercase, then code point).
pub async fn titles_sort_case_insensitively(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let tasks: Vec<Task> = ["beta", "Alpha", "ÉTÉ", "gamma", "Delta", "été!"]
        .into_iter()
        .map(|title| new_task(user.id, title))
        .collect();
    insert(&*store, &tasks).await;
    let query = TaskQuery {
        sort: vec![SortKey::ascending(SortField::Title)],
        ..everything()
    };
    let listed = titles_of(&*store, user.id, query).await;
    assert_eq!(listed[..4], ["Alpha", "beta", "Delta", "gamma"]);
    let mut accented = listed[4..].to_vec();
    accented.sort();
    assert_eq!(accented, ["ÉTÉ", "été!"]);
}

/// Without sort keys and text, the newest task comes first.
pub async fn the_default_order_is_newest_first(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    let listed = list_all(
        &*store,
        owner,
        &TaskQuery {
            limit: 5,
            ..TaskQuery::default()
        },
    )
    .await;
    assert_eq!(
        ids(&listed),
        ids(&expected_order(
            &tasks,
            &[SortKey::descending(SortField::CreatedAt)]
        ))
    );
}

/// For every key and direction and every page size from 1 to 7, walking the pages lists each
/// task exactly once.
pub async fn paging_through_every_order_neither_skips_nor_repeats(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    for field in SORTABLE {
        for descending in [false, true] {
            for limit in 1..=7 {
                let query = TaskQuery {
                    sort: vec![SortKey { field, descending }],
                    limit,
                    ..TaskQuery::default()
                };
                let listed = list_all(&*store, owner, &query).await;
                assert_eq!(listed.len(), tasks.len(), "{field:?} {descending} {limit}");
            }
        }
    }
}

/// Inserting tasks while paging does not make a page repeat or skip a task that existed when
/// paging began.
pub async fn paging_while_tasks_are_inserted_never_repeats_or_skips_existing_tasks(
    backend: &dyn TestBackend,
) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    let writer = {
        let store: Arc<dyn Store> = Arc::clone(&store);
        tokio::spawn(async move {
            for n in 0..40 {
                // Some sort before the pages already read, some after.
                let mut task = new_task(owner, &format!("inserted {n}"));
                task.created_at = instant(if n % 2 == 0 { -10 } else { 10 });
                task.fields.priority = Priority::ALL[n % 5];
                insert(&*store, &[task]).await;
                tokio::task::yield_now().await;
            }
        })
    };
    for keys in [
        vec![SortKey::descending(SortField::CreatedAt)],
        vec![SortKey::ascending(SortField::Priority)],
        vec![
            SortKey::descending(SortField::Priority),
            SortKey::ascending(SortField::CreatedAt),
        ],
    ] {
        let query = TaskQuery {
            sort: keys,
            limit: 2,
            ..TaskQuery::default()
        };
        // `list_all` fails on a repeated task.
        let listed = list_all(&*store, owner, &query).await;
        let seen: HashSet<_> = listed.iter().map(|task| task.id).collect();
        for task in &tasks {
            assert!(
                seen.contains(&task.id),
                "{} was skipped",
                task.fields.title.as_str()
            );
        }
    }
    writer.await.unwrap();
}

/// The page that ends the listing has no cursor, also when the count is a multiple of the size.
pub async fn the_last_page_has_no_next_cursor(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let tasks: Vec<Task> = (0..6)
        .map(|n| new_task(user.id, &format!("t{n}")))
        .collect();
    insert(&*store, &tasks).await;
    let first = store
        .list_tasks(
            user.id,
            &TaskQuery {
                limit: 3,
                ..TaskQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let second = store
        .list_tasks(
            user.id,
            &TaskQuery {
                limit: 3,
                after: first.next,
                ..TaskQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(second.items.len(), 3);
    assert!(second.next.is_none());
    let whole = store
        .list_tasks(
            user.id,
            &TaskQuery {
                limit: 6,
                ..TaskQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(whole.items.len(), 6);
    assert!(whole.next.is_none());
}

/// A tampered cursor (wrong number of values, wrong kinds, extreme values) never fails: it
/// yields an empty page or a page continuing from its values.
pub async fn a_cursor_that_does_not_fit_the_query_yields_an_empty_page(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let (owner, tasks) = sort_fixture(&*store).await;
    let id = tasks[0].id;
    let by = |field| vec![SortKey::ascending(field)];
    let cases: Vec<(Vec<SortKey>, Vec<CursorValue>, bool)> = vec![
        (by(SortField::CreatedAt), vec![], false),
        (
            by(SortField::CreatedAt),
            vec![CursorValue::Int(0), CursorValue::Int(0)],
            false,
        ),
        (
            by(SortField::CreatedAt),
            vec![CursorValue::Text("x".into())],
            false,
        ),
        (by(SortField::CreatedAt), vec![CursorValue::Null], false),
        (by(SortField::Title), vec![CursorValue::Int(3)], false),
        (
            by(SortField::Priority),
            vec![CursorValue::Float(0.5)],
            false,
        ),
        (
            by(SortField::Relevance),
            vec![CursorValue::Text("best".into())],
            false,
        ),
        // Values that fit, however extreme: the page continues after them.
        (
            by(SortField::CreatedAt),
            vec![CursorValue::Int(i64::MIN)],
            true,
        ),
        (by(SortField::DueAt), vec![CursorValue::Int(i64::MIN)], true),
        (
            by(SortField::Priority),
            vec![CursorValue::Int(-40_000)],
            true,
        ),
        (
            by(SortField::Title),
            vec![CursorValue::Text(String::new())],
            true,
        ),
        (by(SortField::DueAt), vec![CursorValue::Float(-1e300)], true),
        (
            by(SortField::CreatedAt),
            vec![CursorValue::Int(i64::MAX)],
            false,
        ),
        (
            by(SortField::UpdatedAt),
            vec![CursorValue::Float(1e300)],
            false,
        ),
    ];
    for (keys, values, continues) in cases {
        let query = TaskQuery {
            sort: keys.clone(),
            limit: 50,
            after: Some(Cursor {
                values: values.clone(),
                id,
            }),
            ..TaskQuery::default()
        };
        let page = store
            .list_tasks(owner, &query)
            .await
            .unwrap_or_else(|error| panic!("cursor {values:?} for {keys:?} failed: {error}"));
        if continues {
            assert_eq!(
                page.items.len(),
                tasks.len(),
                "cursor {values:?} for {keys:?}"
            );
        } else {
            assert!(page.items.is_empty(), "cursor {values:?} for {keys:?}");
        }
    }
    // A search text without any word matches nothing.
    let page = store.list_tasks(owner, &search("\"*")).await.unwrap();
    assert!(page.items.is_empty());
}
