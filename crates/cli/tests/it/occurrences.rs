//! `GET /api/v1/tasks/{id}/occurrences`: recurrence expanded on the task's wall clock.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, problem};

crate::on_both_backends!(
    a_daily_rule_keeps_local_time_across_both_dst_changes,
    monthly_rules_skip_missing_days_and_count_ends_the_series,
    last_weekday_of_the_month_uses_bysetpos,
    tasks_without_a_rule_have_at_most_their_due_date,
    the_occurrence_limit_is_validated,
);

async fn occurrences(app: &TestApp, user: &TestUser, body: Value, limit: usize) -> Vec<String> {
    let task = app.create_task(user, body).await;
    let path = format!(
        "/api/v1/tasks/{}/occurrences?limit={limit}",
        task["id"].as_str().unwrap()
    );
    let response = app.get(user, &path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|instant| instant.as_str().unwrap().to_owned())
        .collect()
}

async fn a_daily_rule_keeps_local_time_across_both_dst_changes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    // 09:00 Europe/Berlin: 08:00Z in winter, 07:00Z in summer (2026-03-29 and 2026-10-25).
    let spring = occurrences(
        &app,
        &user,
        json!({"title": "standup", "due_at": "2026-03-27T09:00:00+01:00",
               "timezone": "Europe/Berlin", "recurrence": "FREQ=DAILY"}),
        4,
    )
    .await;
    assert_eq!(
        spring,
        [
            "2026-03-27T08:00:00Z",
            "2026-03-28T08:00:00Z",
            "2026-03-29T07:00:00Z",
            "2026-03-30T07:00:00Z"
        ]
    );
    let autumn = occurrences(
        &app,
        &user,
        json!({"title": "standup", "due_at": "2026-10-24T09:00:00+02:00",
               "timezone": "Europe/Berlin", "recurrence": "FREQ=DAILY"}),
        3,
    )
    .await;
    assert_eq!(
        autumn,
        [
            "2026-10-24T07:00:00Z",
            "2026-10-25T08:00:00Z",
            "2026-10-26T08:00:00Z"
        ]
    );
    // New York: weekly on Sunday 02:30 local, a time that does not exist on 2026-03-08.
    let gap = occurrences(
        &app,
        &user,
        json!({"title": "backup", "due_at": "2026-03-01T02:30:00-05:00",
               "timezone": "America/New_York", "recurrence": "FREQ=WEEKLY"}),
        3,
    )
    .await;
    assert_eq!(
        gap,
        [
            "2026-03-01T07:30:00Z",
            "2026-03-15T06:30:00Z",
            "2026-03-22T06:30:00Z"
        ],
        "the skipped 02:30 of 2026-03-08 must be left out, not moved"
    );
}

async fn monthly_rules_skip_missing_days_and_count_ends_the_series(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let thirty_first = occurrences(
        &app,
        &user,
        json!({"title": "invoice", "due_at": "2027-01-31T10:00:00Z",
               "recurrence": "FREQ=MONTHLY;BYMONTHDAY=31"}),
        4,
    )
    .await;
    assert_eq!(
        thirty_first,
        [
            "2027-01-31T10:00:00Z",
            "2027-03-31T10:00:00Z",
            "2027-05-31T10:00:00Z",
            "2027-07-31T10:00:00Z"
        ]
    );
    let last_day = occurrences(
        &app,
        &user,
        json!({"title": "rent", "due_at": "2028-01-31T00:00:00Z", "all_day": true,
               "recurrence": "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3"}),
        10,
    )
    .await;
    assert_eq!(
        last_day,
        [
            "2028-01-31T00:00:00Z",
            "2028-02-29T00:00:00Z",
            "2028-03-31T00:00:00Z"
        ]
    );
}

async fn last_weekday_of_the_month_uses_bysetpos(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let found = occurrences(
        &app,
        &user,
        json!({"title": "report", "due_at": "2026-01-30T17:00:00Z",
               "recurrence": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"}),
        4,
    )
    .await;
    assert_eq!(
        found,
        [
            "2026-01-30T17:00:00Z",
            "2026-02-27T17:00:00Z",
            "2026-03-31T17:00:00Z",
            "2026-04-30T17:00:00Z"
        ]
    );
}

async fn tasks_without_a_rule_have_at_most_their_due_date(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let once = occurrences(
        &app,
        &user,
        json!({"title": "once", "due_at": "2026-12-01T09:00:00Z"}),
        5,
    )
    .await;
    assert_eq!(once, ["2026-12-01T09:00:00Z"]);
    let never = occurrences(&app, &user, json!({"title": "someday"}), 5).await;
    assert!(never.is_empty());
}

async fn the_occurrence_limit_is_validated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let task = app
        .create_task(
            &user,
            json!({"title": "t", "due_at": "2026-12-01T09:00:00Z", "recurrence": "FREQ=HOURLY"}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    for limit in ["0", "1001", "x", "-1"] {
        problem(
            app.get(
                &user,
                &format!("/api/v1/tasks/{id}/occurrences?limit={limit}"),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let body: Value = app
        .get(&user, &format!("/api/v1/tasks/{id}/occurrences"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["occurrences"].as_array().unwrap().len(), 10);
    let body: Value = app
        .get(&user, &format!("/api/v1/tasks/{id}/occurrences?limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["occurrences"].as_array().unwrap().len(), 1000);
}
