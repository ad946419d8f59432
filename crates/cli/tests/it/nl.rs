//! Natural-language capture: `POST /api/v1/parse` answers what `tickler parse` prints, and
//! `POST /api/v1/tasks/quick` creates the task a sentence describes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, problem};
use crate::on_both_backends;

on_both_backends!(
    the_parse_endpoint_answers_what_the_cli_prints,
    parsing_defaults_to_the_users_time_zone,
    parse_errors_name_the_field,
    quick_add_creates_the_parsed_task_like_a_plain_create,
    quick_add_refuses_a_sentence_that_is_not_a_new_task,
    the_natural_language_routes_need_a_token,
);

async fn the_parse_endpoint_answers_what_the_cli_prints(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    for text in [
        "call mom tomorrow at 5pm p1 #family remind me 20 minutes before",
        "pay rent every month on the 1st at 9am #home",
        "move the dentist to next friday",
        "what's due this week?",
        "کل صبح ۹ بجے ڈاکٹر کے پاس جانا",
    ] {
        let response = app
            .post(
                &user,
                "/api/v1/parse",
                &json!({"text": text, "now": "2026-11-21T12:00:00+05:00", "tz": "Asia/Karachi"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let served: Value = response.json().await.unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_tickler"))
            .args([
                "parse",
                "--now",
                "2026-11-21T12:00:00+05:00",
                "--tz",
                "Asia/Karachi",
                text,
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(served, printed, "{text}");
    }
}

async fn parsing_defaults_to_the_users_time_zone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register_in("ada@example.org", "Asia/Karachi").await;
    let response = app
        .post(
            &user,
            "/api/v1/parse",
            &json!({"text": "tomorrow at 9am", "now": "2026-11-21T20:00:00Z"}),
        )
        .await;
    let body: Value = response.json().await.unwrap();
    // 20:00 UTC is already Sunday 01:00 in Karachi, so "tomorrow" is Monday.
    assert_eq!(body["due_at"], "2026-11-23T04:00:00Z");
    assert_eq!(body["all_day"], false);
}

async fn parse_errors_name_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .post(
            &user,
            "/api/v1/parse",
            &json!({"text": "  ", "now": "soon", "tz": "Mars/Olympus"}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(crate::helpers::error_fields(&body), ["text", "now", "tz"]);
    let response = app
        .post(&user, "/api/v1/parse", &json!({"text": "x".repeat(2_001)}))
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["code"], "too_long");
}

async fn quick_add_creates_the_parsed_task_like_a_plain_create(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register_in("ada@example.org", "Europe/London").await;
    let response = app
        .post(
            &user,
            "/api/v1/tasks/quick",
            &json!({"text": "pay rent every month on the 1st at 9am p2 #home remind me 1 day before"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["etag"], "\"1\"");
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["title"], "pay rent");
    assert_eq!(created["priority"], "high");
    assert_eq!(created["tags"], json!(["home"]));
    assert_eq!(created["timezone"], "Europe/London");
    assert_eq!(created["reminders"], json!(["-P1D"]));
    assert_eq!(created["recurrence_mode"], "from_due");
    let rule = created["recurrence"].as_str().unwrap();
    assert!(
        rule.contains("FREQ=MONTHLY") && rule.contains("BYMONTHDAY=1"),
        "{rule}"
    );
    assert!(created["due_at"].as_str().unwrap().ends_with("T09:00:00Z"));
    assert_eq!(
        location,
        format!("/api/v1/tasks/{}", created["id"].as_str().unwrap())
    );
    let fetched: Value = app.get(&user, &location).await.json().await.unwrap();
    assert_eq!(fetched, created);
}

async fn quick_add_refuses_a_sentence_that_is_not_a_new_task(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .post(
            &user,
            "/api/v1/tasks/quick",
            &json!({"text": "what's due tomorrow?"}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["code"], "not_a_new_task");
    let response = app
        .post(
            &user,
            "/api/v1/tasks/quick",
            &json!({"text": "tomorrow", "extra": 1}),
        )
        .await;
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["errors"][0]["field"], "extra");
    let page: Value = app.get(&user, "/api/v1/tasks").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}

async fn the_natural_language_routes_need_a_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for path in ["/api/v1/parse", "/api/v1/tasks/quick"] {
        let response = app
            .client
            .post(app.url(path))
            .json(&json!({"text": "call mom"}))
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
}
