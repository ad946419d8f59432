//! Listing: filters, sorting, keyset pagination and ranked full-text search.

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, ids, problem};

crate::on_both_backends!(
    filters_combine_and_each_narrows_the_list,
    every_sort_key_orders_both_ways_with_tasks_without_due_dates_last,
    paging_through_a_list_returns_every_task_exactly_once,
    paging_while_tasks_are_inserted_neither_skips_nor_repeats,
    search_ranks_title_matches_above_description_matches,
    search_matches_word_prefixes_tags_and_other_scripts,
    bad_cursors_and_limits_are_client_errors,
);

async fn list(app: &TestApp, user: &TestUser, query: &str) -> Value {
    let response = app.get(user, &format!("/api/v1/tasks?{query}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

async fn titles(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    list(app, user, query).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn filters_combine_and_each_narrows_the_list(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let past = "2020-01-01T09:00:00Z";
    let future = "2099-01-01T09:00:00Z";
    app.create_task(
        &user,
        json!({"title": "a", "priority": "high", "tags": ["home", "money"], "due_at": past}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "b", "priority": "low", "tags": ["home"], "due_at": future}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "c", "priority": "urgent", "tags": ["work"], "status": "in_progress"}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "d", "status": "done", "due_at": past, "tags": ["home", "money"]}),
    )
    .await;

    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(sorted(titles(&app, &user, "").await), ["a", "b", "c", "d"]);
    assert_eq!(sorted(titles(&app, &user, "status=done").await), ["d"]);
    assert_eq!(
        sorted(titles(&app, &user, "status=open").await),
        ["a", "b", "c"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "status=todo&status=in_progress").await),
        ["a", "b", "c"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "priority=high&priority=urgent").await),
        ["a", "c"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "priority=high,low").await),
        ["a", "b"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "tag=home").await),
        ["a", "b", "d"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "tag=home&tag=money").await),
        ["a", "d"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "tag=HOME&tag=money&status=todo").await),
        ["a"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "due_before=2021-01-01T00:00:00Z").await),
        ["a", "d"]
    );
    assert_eq!(
        sorted(titles(&app, &user, "due_after=2021-01-01T00:00:00Z").await),
        ["b"]
    );
    assert_eq!(
        sorted(
            titles(
                &app,
                &user,
                "due_after=2020-01-01T09:00:00Z&due_before=2020-01-01T09:00:01Z"
            )
            .await
        ),
        ["a", "d"]
    );
    assert_eq!(sorted(titles(&app, &user, "overdue=true").await), ["a"]);
    assert_eq!(
        sorted(titles(&app, &user, "overdue=false").await),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        titles(&app, &user, "tag=nothing").await,
        Vec::<String>::new()
    );
}

async fn every_sort_key_orders_both_ways_with_tasks_without_due_dates_last(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for (title, priority, due) in [
        ("banana", "low", Some("2026-12-03T00:00:00Z")),
        ("Apple", "urgent", None),
        ("cherry", "none", Some("2026-12-01T00:00:00Z")),
        ("date", "high", Some("2026-12-02T00:00:00Z")),
    ] {
        let mut body = json!({"title": title, "priority": priority});
        if let Some(due) = due {
            body["due_at"] = json!(due);
        }
        app.create_task(&user, body).await;
    }
    assert_eq!(
        titles(&app, &user, "sort=title").await,
        ["Apple", "banana", "cherry", "date"]
    );
    assert_eq!(
        titles(&app, &user, "sort=-title").await,
        ["date", "cherry", "banana", "Apple"]
    );
    assert_eq!(
        titles(&app, &user, "sort=priority").await,
        ["cherry", "banana", "date", "Apple"]
    );
    assert_eq!(
        titles(&app, &user, "sort=-priority").await,
        ["Apple", "date", "banana", "cherry"]
    );
    assert_eq!(
        titles(&app, &user, "sort=due_at").await,
        ["cherry", "date", "banana", "Apple"]
    );
    assert_eq!(
        titles(&app, &user, "sort=-due_at").await,
        ["banana", "date", "cherry", "Apple"]
    );
    assert_eq!(
        titles(&app, &user, "sort=created_at").await,
        ["banana", "Apple", "cherry", "date"]
    );
    assert_eq!(
        titles(&app, &user, "").await,
        ["date", "cherry", "Apple", "banana"]
    );
    // Touch "banana" so it becomes the most recently updated.
    let page = list(&app, &user, "sort=title&limit=2").await;
    let banana = page["items"][1]["id"].as_str().unwrap().to_owned();
    app.patch(
        &user,
        &format!("/api/v1/tasks/{banana}"),
        &json!({"description": "ripe"}),
    )
    .await;
    assert_eq!(
        titles(&app, &user, "sort=-updated_at&limit=1").await,
        ["banana"]
    );
    // Several keys: priority groups, then title within a group.
    app.create_task(&user, json!({"title": "aardvark", "priority": "high"}))
        .await;
    assert_eq!(
        titles(&app, &user, "sort=-priority,title").await,
        ["Apple", "aardvark", "date", "banana", "cherry"]
    );
}

/// Pages through a listing (`query`, seven tasks a page) with the typed client, whose
/// query encoding carries the cursor back as issued, and returns the ids in the order seen.
async fn walk(app: &TestApp, user: &TestUser, query: &str) -> Vec<String> {
    let client = app.client_of(user);
    let mut pairs: Vec<(&str, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key, value.to_owned())
        })
        .collect();
    pairs.push(("limit", "7".to_owned()));
    let mut seen = Vec::new();
    loop {
        let page = client.query_tasks(&pairs).await.unwrap();
        assert!(
            page.items.len() <= 7,
            "{query}: a page of {}",
            page.items.len()
        );
        seen.extend(page.items.iter().map(|task| task.id.to_string()));
        match page.next_cursor {
            Some(next) => {
                pairs.retain(|(key, _)| *key != "cursor");
                pairs.push(("cursor", next));
            }
            None => return seen,
        }
    }
}

async fn paging_through_a_list_returns_every_task_exactly_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut created = HashSet::new();
    for index in 0..40 {
        // Few distinct values so that ties must be broken by id.
        let body = json!({
            "title": format!("task {}", index % 3),
            "priority": (["low", "high"][index % 2]),
            "due_at": if index % 4 == 0 { Value::Null } else { json!(format!("2026-12-0{}T00:00:00Z", 1 + index % 3)) },
        });
        created.insert(
            app.create_task(&user, body).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for query in [
        "",
        "sort=title",
        "sort=-priority,due_at",
        "sort=due_at",
        "sort=-due_at,-title",
        "sort=updated_at",
    ] {
        let seen = walk(&app, &user, query).await;
        let distinct: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(seen.len(), 40, "{query}: repeated tasks");
        assert_eq!(distinct, created, "{query}: skipped tasks");
    }
}

async fn paging_while_tasks_are_inserted_neither_skips_nor_repeats(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let mut existing = HashSet::new();
    for index in 0..30 {
        let task = app
            .create_task(
                &user,
                json!({"title": format!("t{index:02}"), "priority": (["low", "high"][index % 2])}),
            )
            .await;
        existing.insert(task["id"].as_str().unwrap().to_owned());
    }
    for query in ["sort=created_at", "", "sort=-priority,title"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut inserted = 0;
        loop {
            let mut full = format!("{query}&limit=4");
            if let Some(cursor) = &cursor {
                full.push_str(&format!("&cursor={cursor}"));
            }
            let page = list(&app, &user, &full).await;
            seen.extend(ids(&page));
            // Between pages, another client inserts tasks anywhere in the order.
            for _ in 0..2 {
                app.create_task(&user, json!({"title": format!("new{inserted:02}"), "priority": (["low", "high"][inserted % 2])}))
                    .await;
                inserted += 1;
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let distinct: HashSet<&String> = seen.iter().collect();
        assert_eq!(
            distinct.len(),
            seen.len(),
            "{query}: a task was returned twice"
        );
        for id in &existing {
            assert!(seen.contains(id), "{query}: an existing task was skipped");
        }
        existing = seen.into_iter().collect();
    }
}

async fn search_ranks_title_matches_above_description_matches(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    app.create_task(
        &user,
        json!({"title": "groceries", "description": "remember the dentist card"}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "call the dentist", "description": "about the crown"}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "unrelated", "description": "nothing here"}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "dentist dentist", "description": "dentist twice over"}),
    )
    .await;
    let found = titles(&app, &user, "q=dentist").await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found.last().unwrap(), "groceries", "{found:?}");
    assert_eq!(found[0], "dentist dentist", "{found:?}");
    // Every word must match.
    assert_eq!(
        titles(&app, &user, "q=dentist crown").await,
        ["call the dentist"]
    );
    // Relevance pages too.
    let first = list(&app, &user, "q=dentist&limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = list(&app, &user, &format!("q=dentist&limit=2&cursor={cursor}")).await;
    assert_eq!(ids(&second).len(), 1);
    assert!(!ids(&first).contains(&ids(&second)[0]));
    // A sort key replaces relevance.
    assert_eq!(
        titles(&app, &user, "q=dentist&sort=title").await,
        ["call the dentist", "dentist dentist", "groceries"]
    );
}

async fn search_matches_word_prefixes_tags_and_other_scripts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    app.create_task(
        &user,
        json!({"title": "renew passport", "tags": ["travel"]}),
    )
    .await;
    app.create_task(
        &user,
        json!({"title": "دودھ خریدنا", "description": "بازار سے"}),
    )
    .await;
    app.create_task(&user, json!({"title": "Café visit"})).await;
    assert_eq!(titles(&app, &user, "q=pass").await, ["renew passport"]);
    assert_eq!(titles(&app, &user, "q=travel").await, ["renew passport"]);
    assert_eq!(titles(&app, &user, "q=دودھ").await, ["دودھ خریدنا"]);
    assert_eq!(titles(&app, &user, "q=بازار").await, ["دودھ خریدنا"]);
    assert_eq!(titles(&app, &user, "q=CAFÉ").await, ["Café visit"]);
    assert_eq!(
        titles(&app, &user, "q=nonexistentword").await,
        Vec::<String>::new()
    );
}

async fn bad_cursors_and_limits_are_client_errors(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for index in 0..3 {
        app.create_task(&user, json!({"title": format!("t{index}")}))
            .await;
    }
    let page = list(&app, &user, "limit=1&sort=title").await;
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let body = problem(
        app.get(
            &user,
            &format!("/api/v1/tasks?limit=1&sort=-title&cursor={cursor}"),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body["code"], "invalid_cursor");
    problem(
        app.get(&user, "/api/v1/tasks?cursor=definitely-not-a-cursor")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    for query in [
        "limit=0",
        "limit=201",
        "limit=10000",
        "limit=abc",
        "sort=colour",
        "sort=title,title",
        "sort=relevance",
    ] {
        problem(
            app.get(&user, &format!("/api/v1/tasks?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let long_query = "x".repeat(10_000);
    problem(
        app.get(&user, &format!("/api/v1/tasks?q={long_query}"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        list(&app, &user, "limit=200").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
