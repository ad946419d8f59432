//! Calendar feeds: `/api/v1/calendar-feeds` and the secret `/feeds/<token>.ics` address, read
//! back with independent iCalendar libraries (Python's `icalendar` and
//! `recurring_ical_events`, through `crates/cli/tests/ical_feed.py`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, TestUser, check_calendar_independently, error_fields, problem, provided,
};

crate::on_both_backends!(
    a_feed_matches_the_tasks_and_their_occurrences_in_an_independent_parser,
    a_feed_answers_304_until_a_task_changes_and_404_once_revoked,
    feeds_are_scoped_to_their_owner_and_filtered_like_the_task_list,
    feed_names_and_filters_are_validated,
);

/// Creates a feed and returns the response body (with its `url`).
async fn create_feed(app: &TestApp, user: &TestUser, body: Value) -> Value {
    let response = app.post(user, "/api/v1/calendar-feeds", &body).await;
    let status = response.status();
    let json: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "creating feed {body}: {json}");
    json
}

/// Fetches a feed address with no credentials at all.
async fn fetch(app: &TestApp, url: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(app.url(url));
    if let Some(etag) = etag {
        request = request.header("if-none-match", etag);
    }
    request.send().await.unwrap()
}

/// Fetches a feed that must answer 200 with iCalendar; returns its ETag and body.
async fn calendar(app: &TestApp, url: &str) -> (String, String) {
    let response = fetch(app, url, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (etag, response.text().await.unwrap())
}

/// The UIDs of a feed's VTODOs (read after unfolding).
fn uids(body: &str) -> Vec<String> {
    body.replace("\r\n ", "")
        .split("\r\n")
        .filter_map(|line| line.strip_prefix("UID:").map(str::to_owned))
        .collect()
}

async fn occurrences(app: &TestApp, user: &TestUser, id: &str, limit: usize) -> Vec<Value> {
    let response = app
        .get(
            user,
            &format!("/api/v1/tasks/{id}/occurrences?limit={limit}"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["occurrences"].as_array().unwrap().clone()
}

async fn a_feed_matches_the_tasks_and_their_occurrences_in_an_independent_parser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register_in("ada@example.org", "Europe/Berlin").await;
    let bodies = [
        // All-day, in a zone without daylight saving, with text that needs escaping.
        json!({"title": "Pay rent; \"flat\", 2nd floor \\ backslash", "all_day": true,
               "due_at": "2026-12-01", "timezone": "Asia/Karachi", "priority": "high",
               "description": "line one\nline two, with; specials", "tags": ["home", "money"],
               "reminders": ["-PT1H"]}),
        // Weekly on the local clock across the end of summer time, with two kinds of reminder.
        json!({"title": "Standup", "due_at": "2026-10-19T09:00:00+02:00",
               "timezone": "Europe/Berlin", "recurrence": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=8",
               "priority": "urgent", "tags": ["work"],
               "reminders": ["-PT30M", "2026-10-18T18:00:00Z"]}),
        // Monthly on the last Friday in New York, unbounded, across the November change.
        json!({"title": "Pay the cleaner ünïcödé 日本語 اردو", "due_at": "2026-09-25T17:30:00-04:00",
               "timezone": "America/New_York", "recurrence": "FREQ=MONTHLY;BYDAY=-1FR",
               "status": "in_progress", "priority": "low"}),
        // All-day and yearly.
        json!({"title": "Birthday", "all_day": true, "due_at": "2026-02-28",
               "timezone": "Australia/Sydney", "recurrence": "FREQ=YEARLY", "priority": "medium"}),
        // In UTC, done.
        json!({"title": "Filed taxes", "due_at": "2026-04-30T12:00:00Z", "timezone": "UTC",
               "status": "done"}),
        // Ending on a floating local time and, all-day, on a date (written as RFC 5545 wants).
        json!({"title": "Course", "due_at": "2026-10-20T09:00:00+02:00",
               "timezone": "Europe/Berlin", "recurrence": "FREQ=DAILY;UNTIL=20261027T090000"}),
        json!({"title": "Pill", "all_day": true, "due_at": "2026-11-01",
               "timezone": "America/New_York", "recurrence": "FREQ=DAILY;UNTIL=20261105"}),
        // A long title that must be folded.
        json!({"title": "x".repeat(120) + &"é".repeat(80), "due_at": "2026-11-02T08:00:00Z"}),
    ];
    let mut expected = Vec::new();
    for body in bodies {
        let mut task = app.create_task(&ada, body).await;
        let id = task["id"].as_str().unwrap().to_owned();
        let limit = if task["recurrence"].is_null() { 1 } else { 10 };
        let found = occurrences(&app, &ada, &id, limit).await;
        // Fewer than asked for: the series ends there, and the expansion must end there too.
        task["series_ended"] = json!(found.len() < limit);
        task["occurrences"] = Value::Array(found);
        expected.push(task);
    }
    let undated = app.create_task(&ada, json!({"title": "Someday"})).await;
    let grace = app.register("grace@example.org").await;
    let foreign = app
        .create_task(
            &grace,
            json!({"title": "Grace's", "due_at": "2026-11-02T08:00:00Z"}),
        )
        .await;

    let feed = create_feed(&app, &ada, json!({"name": "Ada's tasks"})).await;
    let url = feed["url"].as_str().unwrap();
    assert!(
        url.starts_with("/feeds/tkf_") && url.ends_with(".ics"),
        "{url}"
    );
    assert_eq!(feed["name"], "Ada's tasks");
    let (_, body) = calendar(&app, url).await;
    assert!(body.ends_with("END:VCALENDAR\r\n"));

    let Some(python) = provided("TICKLER_TEST_ICAL_PYTHON") else {
        return;
    };
    let absent = json!([undated["id"], foreign["id"]]);
    check_calendar_independently(python, &body, json!({"tasks": expected, "absent": absent})).await;
}

async fn a_feed_answers_304_until_a_task_changes_and_404_once_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let task = app
        .create_task(
            &ada,
            json!({"title": "Call", "due_at": "2026-11-02T08:00:00Z"}),
        )
        .await;
    let feed = create_feed(&app, &ada, json!({"name": "Mine"})).await;
    let url = feed["url"].as_str().unwrap();
    let (etag, first) = calendar(&app, url).await;
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    // Unchanged tasks give the same calendar and the same tag.
    let (again, second) = calendar(&app, url).await;
    assert_eq!((&etag, &first), (&again, &second));

    let unchanged = fetch(&app, url, Some(&etag)).await;
    assert_eq!(unchanged.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.headers()["etag"].to_str().unwrap(), etag);
    assert!(unchanged.text().await.unwrap().is_empty());
    let other_tag = fetch(&app, url, Some("\"something-else\"")).await;
    assert_eq!(other_tag.status(), StatusCode::OK);

    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let renamed = app.patch(&ada, &path, &json!({"title": "Call Anna"})).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    let changed = fetch(&app, url, Some(&etag)).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), etag);
    assert!(
        changed
            .text()
            .await
            .unwrap()
            .contains("SUMMARY:Call Anna\r\n")
    );

    // The list shows the feed without its address; revoking it makes the address a 404.
    let list = app.get(&ada, "/api/v1/calendar-feeds").await;
    assert_eq!(list.status(), StatusCode::OK);
    let list: Value = list.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], feed["id"]);
    assert!(
        list[0].get("url").is_none() && !list.to_string().contains("tkf_"),
        "{list}"
    );
    let revoke_path = format!("/api/v1/calendar-feeds/{}", feed["id"].as_str().unwrap());
    assert_eq!(
        app.delete(&ada, &revoke_path).await.status(),
        StatusCode::NO_CONTENT
    );
    let gone = problem(fetch(&app, url, None).await, StatusCode::NOT_FOUND).await;
    assert_eq!(gone["code"], "calendar_feed_not_found");
    let twice = problem(app.delete(&ada, &revoke_path).await, StatusCode::NOT_FOUND).await;
    assert_eq!(twice["code"], "calendar_feed_not_found");
    for unknown in [
        "/feeds/tkf_unknown.ics",
        "/feeds/.ics",
        "/feeds/tkf_unknown",
    ] {
        problem(fetch(&app, unknown, None).await, StatusCode::NOT_FOUND).await;
    }
}

async fn feeds_are_scoped_to_their_owner_and_filtered_like_the_task_list(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let work = app
        .create_task(
            &ada,
            json!({"title": "Report", "due_at": "2026-11-02T08:00:00Z",
                                  "tags": ["work"], "priority": "high"}),
        )
        .await;
    let done_work = app
        .create_task(
            &ada,
            json!({"title": "Old report", "due_at": "2026-10-02T08:00:00Z",
                                  "tags": ["work"], "status": "done"}),
        )
        .await;
    let home = app
        .create_task(
            &ada,
            json!({"title": "Garden", "due_at": "2026-11-03T08:00:00Z",
                                  "tags": ["home"]}),
        )
        .await;
    let hers = app
        .create_task(
            &grace,
            json!({"title": "Hers", "due_at": "2026-11-02T08:00:00Z",
                                    "tags": ["work"]}),
        )
        .await;
    let id = |task: &Value| task["id"].as_str().unwrap().to_owned();

    let filter = "tag=work&status=open";
    let filtered = create_feed(&app, &ada, json!({"name": "Work", "filter": filter})).await;
    assert_eq!(filtered["filter"], filter);
    let (_, body) = calendar(&app, filtered["url"].as_str().unwrap()).await;
    assert_eq!(uids(&body), [id(&work)]);
    // The same filter on the task list selects the same tasks.
    let listed: Value = app
        .get(&ada, &format!("/api/v1/tasks?{filter}"))
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<String> = listed["items"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(listed, [id(&work)]);

    let everything = create_feed(&app, &ada, json!({"name": "All"})).await;
    let (_, body) = calendar(&app, everything["url"].as_str().unwrap()).await;
    let mut all = uids(&body);
    all.sort();
    let mut mine = vec![id(&work), id(&done_work), id(&home)];
    mine.sort();
    assert_eq!(all, mine);

    let theirs = create_feed(&app, &grace, json!({"name": "Grace"})).await;
    let (_, body) = calendar(&app, theirs["url"].as_str().unwrap()).await;
    assert_eq!(uids(&body), [id(&hers)]);

    // Another user's feed is not found, for revoking and in the list.
    let foreign = format!(
        "/api/v1/calendar-feeds/{}",
        everything["id"].as_str().unwrap()
    );
    let refused = problem(app.delete(&grace, &foreign).await, StatusCode::NOT_FOUND).await;
    assert_eq!(refused["code"], "calendar_feed_not_found");
    calendar(&app, everything["url"].as_str().unwrap()).await;
    let listed: Value = app
        .get(&grace, "/api/v1/calendar-feeds")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], theirs["id"]);
    let malformed = problem(
        app.delete(&ada, "/api/v1/calendar-feeds/not-an-id").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(malformed["code"], "calendar_feed_not_found");
}

async fn feed_names_and_filters_are_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    for (body, field) in [
        (json!({"name": "  "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "Work", "filter": "sort=title"}), "filter"),
        (json!({"name": "Work", "filter": "status=bogus"}), "filter"),
        (
            json!({"name": "Work", "filter": "due_before=tomorrow"}),
            "filter",
        ),
    ] {
        let response = app.post(&ada, "/api/v1/calendar-feeds", &body).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), [field], "{body}: {problem}");
    }
    let unknown_field = app
        .post(
            &ada,
            "/api/v1/calendar-feeds",
            &json!({"name": "x", "colour": "red"}),
        )
        .await;
    assert!(unknown_field.status().is_client_error());
    let anonymous = reqwest::Client::new()
        .post(app.url("/api/v1/calendar-feeds"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let openapi: Value = fetch(&app, "/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/calendar-feeds",
        "/api/v1/calendar-feeds/{id}",
        "/feeds/{file}",
    ] {
        assert!(
            openapi["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    // A leading "?" and surrounding spaces are dropped; an empty filter is no filter.
    let feed = create_feed(&app, &ada, json!({"name": "W", "filter": " ?tag=work "})).await;
    assert_eq!(feed["filter"], "tag=work");
    let feed = create_feed(&app, &ada, json!({"name": "All", "filter": ""})).await;
    assert!(feed["filter"].is_null());
}

/// With `http.public_url` set, the address handed out is absolute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_knows_its_public_url_hands_out_absolute_feed_addresses() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| {
        config.http.public_url = "https://tickler.example.org/".to_owned();
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let feed = create_feed(&app, &ada, json!({"name": "Mine"})).await;
    let url = feed["url"].as_str().unwrap();
    let path = url
        .strip_prefix("https://tickler.example.org/feeds/")
        .unwrap();
    calendar(&app, &format!("/feeds/{path}")).await;
}
