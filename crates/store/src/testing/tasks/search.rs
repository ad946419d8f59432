//! Full-text search: matching, ranking, escaping and paging by relevance.

use std::collections::HashSet;

use tickler_domain::{Task, TaskStatus, UserId};

use crate::backend::keyset::RANKED_CANDIDATES;
use crate::testing::backend::TestBackend;
use crate::testing::fixtures::*;
use crate::{SortField, SortKey, Store, TaskQuery};

/// Stores tasks of `owner` given as (title, description, tags).
async fn arrange(store: &dyn Store, owner: UserId, specs: &[(&str, &str, &[&str])]) -> Vec<Task> {
    let tasks: Vec<Task> = specs
        .iter()
        .enumerate()
        .map(|(n, (title, description, tag_names))| {
            let mut task = new_task(owner, title);
            task.fields.description = (*description).into();
            task.fields.tags = tags(tag_names);
            task.created_at = instant(n as i64);
            task
        })
        .collect();
    insert(store, &tasks).await;
    tasks
}

/// A word in the title ranks a task above one that has the word only in its description.
pub async fn a_title_match_outranks_a_description_only_match(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("misc notes", "the quarterly numbers look fine", &[]),
            ("quarterly report", "send it to the board", &[]),
            ("unrelated", "nothing to see", &[]),
        ],
    )
    .await;
    assert_eq!(
        titles_of(&*store, user.id, search("quarterly")).await,
        ["quarterly report", "misc notes"]
    );
}

/// All words must match; only the last one matches as a prefix.
pub async fn every_search_word_must_match_and_the_last_also_as_a_prefix(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("alpha beta", "", &[]),
            ("alpha gamma", "", &[]),
            ("report for alpha", "", &[]),
            ("reporting", "", &[]),
        ],
    )
    .await;
    let found = |text: &str| {
        let store = &store;
        let text = text.to_owned();
        async move { sorted_titles_of(&**store, user.id, search(&text)).await }
    };
    assert_eq!(found("alpha beta").await, ["alpha beta"]);
    assert_eq!(found("beta alpha").await, ["alpha beta"]);
    assert_eq!(
        found("alpha").await,
        ["alpha beta", "alpha gamma", "report for alpha"]
    );
    assert_eq!(found("rep").await, ["report for alpha", "reporting"]);
    assert_eq!(found("alpha rep").await, ["report for alpha"]);
    // Not the last word: no prefix match.
    assert!(found("rep alpha").await.is_empty());
    assert!(found("alpha delta").await.is_empty());
}

/// Descriptions and tags are searched as well as titles.
pub async fn search_covers_titles_descriptions_and_tags(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("buy milk", "", &["groceries"]),
            ("call mum", "ask about the groceries list", &[]),
            ("fix bike", "", &["garage"]),
        ],
    )
    .await;
    assert_eq!(
        sorted_titles_of(&*store, user.id, search("groceries")).await,
        ["buy milk", "call mum"]
    );
    assert_eq!(
        sorted_titles_of(&*store, user.id, search("garage")).await,
        ["fix bike"]
    );
}

/// Quotes, operators, column filters, parentheses and emoji are searched as plain text (or
/// ignored): they never fail and never act as query syntax.
pub async fn query_syntax_in_a_search_is_plain_text(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("rock and roll", "", &[]),
            ("meeting nearby", "", &[]),
            ("title of the book", "the foo chapter", &[]),
            ("party 🎉 tonight", "", &[]),
            ("plain", "", &[]),
        ],
    )
    .await;
    let cases: &[(&str, &[&str])] = &[
        ("\"", &[]),
        ("\"\"\"", &[]),
        ("*", &[]),
        ("&|!", &[]),
        ("🎉", &[]),
        (":", &[]),
        ("'", &[]),
        ("\\", &[]),
        ("(", &[]),
        ("AND", &["rock and roll"]),
        ("OR", &[]),
        ("NOT plain", &[]),
        ("NEAR(", &["meeting nearby"]),
        ("NEAR(meeting, 2)", &[]),
        ("title:foo", &["title of the book"]),
        ("-plain", &["plain"]),
        ("^plain", &["plain"]),
        ("plain*", &["plain"]),
        ("\"rock and\"", &["rock and roll"]),
        ("rock & roll | !", &["rock and roll"]),
        ("party 🎉", &["party 🎉 tonight"]),
        ("'rock' \"roll\"", &["rock and roll"]),
        ("pla:*", &["plain"]),
        ("plain\\", &["plain"]),
        ("{title}: rock", &[]),
    ];
    for (text, expected) in cases {
        let found = sorted_titles_of(&*store, user.id, search(text)).await;
        assert_eq!(found, *expected, "search {text:?}");
    }
    let long = "x".repeat(10_000);
    assert!(
        sorted_titles_of(&*store, user.id, search(&long))
            .await
            .is_empty()
    );
}

/// Matching ignores case, and works for words in Urdu.
pub async fn search_ignores_case_and_handles_non_latin_scripts(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    arrange(
        &*store,
        user.id,
        &[
            ("Visit GRANDMA", "", &[]),
            ("کتاب خریدنا", "بازار سے", &[]),
            ("دوا لینا", "", &["صحت"]),
        ],
    )
    .await;
    assert_eq!(
        titles_of(&*store, user.id, search("grandma")).await,
        ["Visit GRANDMA"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("VISIT gr")).await,
        ["Visit GRANDMA"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("کتاب")).await,
        ["کتاب خریدنا"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("بازار")).await,
        ["کتاب خریدنا"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("صحت")).await,
        ["دوا لینا"]
    );
    assert_eq!(
        titles_of(&*store, user.id, search("کتا")).await,
        ["کتاب خریدنا"]
    );
}

/// Paging a search by relevance lists every match once, best first.
pub async fn search_results_page_by_relevance(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut specs: Vec<(String, String)> = Vec::new();
    for n in 0..6 {
        specs.push((format!("garden chore {n}"), String::new()));
        specs.push((format!("chore {n}"), "in the garden".into()));
    }
    specs.push(("no match".into(), "nothing".into()));
    let borrowed: Vec<(&str, &str, &[&str])> = specs
        .iter()
        .map(|(title, description)| (title.as_str(), description.as_str(), &[][..]))
        .collect();
    arrange(&*store, user.id, &borrowed).await;
    for limit in [1, 2, 5] {
        let query = TaskQuery {
            limit,
            ..search("garden")
        };
        let listed = titles_of(&*store, user.id, query).await;
        assert_eq!(listed.len(), 12, "limit {limit}");
        assert_eq!(listed.iter().collect::<HashSet<_>>().len(), 12);
        // Every title match precedes every description-only match.
        assert!(
            listed[..6].iter().all(|title| title.starts_with("garden")),
            "limit {limit}: {listed:?}"
        );
    }
}

/// A search by relevance ranks only the newest [`RANKED_CANDIDATES`] matches, so its cost is
/// bounded whatever the word; other orders still see every match.
pub async fn a_relevance_search_ranks_only_the_newest_matches(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let candidates = RANKED_CANDIDATES as usize;
    let mut specs: Vec<(String, String)> = (0..5)
        .map(|n| (format!("garden party {n}"), String::new()))
        .collect();
    specs.extend((0..candidates).map(|n| (format!("chore {n}"), "in the garden".to_owned())));
    specs.push(("garden gate".into(), String::new()));
    let borrowed: Vec<(&str, &str, &[&str])> = specs
        .iter()
        .map(|(title, description)| (title.as_str(), description.as_str(), &[][..]))
        .collect();
    arrange(&*store, user.id, &borrowed).await;

    let ranked = titles_of(
        &*store,
        user.id,
        TaskQuery {
            limit: 500,
            ..search("garden")
        },
    )
    .await;
    assert_eq!(ranked.len(), candidates);
    assert_eq!(ranked[0], "garden gate");
    assert!(!ranked.iter().any(|title| title.starts_with("garden party")));

    let newest_first = TaskQuery {
        sort: vec![SortKey::descending(SortField::CreatedAt)],
        limit: 500,
        ..search("garden")
    };
    assert_eq!(
        titles_of(&*store, user.id, newest_first).await.len(),
        candidates + 6
    );
}

/// A search combines with filters and with other orders.
pub async fn search_combines_with_filters_and_other_orders(backend: &dyn TestBackend) {
    let store = backend.open().await;
    let user = register(&*store, "ada@example.org").await;
    let mut tasks = arrange(
        &*store,
        user.id,
        &[
            ("report one", "", &["work"]),
            ("report two", "", &["work"]),
            ("report three", "", &["home"]),
            ("summary", "", &["work"]),
        ],
    )
    .await;
    tasks[1].fields.status = TaskStatus::Done;
    tasks[1].version = 2;
    store
        .commit(crate::ChangeSet {
            tasks: vec![crate::TaskWrite::Update {
                task: tasks[1].clone(),
                expected_version: 1,
            }],
            ..crate::ChangeSet::default()
        })
        .await
        .unwrap();
    let query = TaskQuery {
        tags: vec![tag("work")],
        sort: vec![SortKey::descending(SortField::CreatedAt)],
        limit: 1,
        ..search("report")
    };
    assert_eq!(
        titles_of(&*store, user.id, query.clone()).await,
        ["report two", "report one"]
    );
    let open = TaskQuery {
        statuses: vec![TaskStatus::Todo],
        ..query
    };
    assert_eq!(titles_of(&*store, user.id, open).await, ["report one"]);
    let by_title = TaskQuery {
        sort: vec![
            SortKey::ascending(SortField::Relevance),
            SortKey::descending(SortField::Title),
        ],
        limit: 2,
        ..search("report")
    };
    assert_eq!(
        titles_of(&*store, user.id, by_title).await,
        ["report two", "report three", "report one"]
    );
}
