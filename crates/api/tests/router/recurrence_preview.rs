//! `POST /api/v1/recurrence/preview`: the next occurrences of a rule before any task has it,
//! checked as a task's fields are, and the same instants the task gets once it is saved.

use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestRouter;

const PREVIEW: &str = "/api/v1/recurrence/preview";

fn instants(answer: &Value) -> Vec<&str> {
    answer["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_rule_previews_on_the_local_clock_and_matches_the_saved_task() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    // Mondays at 09:00 in London: the clocks go forward on 31 March 2030.
    let fields = json!({
        "recurrence": "FREQ=WEEKLY;BYDAY=MO",
        "due_at": "2030-03-18T09:00:00Z",
        "timezone": "Europe/London",
    });
    let answer = router
        .send_json(&token, Method::POST, PREVIEW, &fields)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let preview = answer.json();
    assert_eq!(
        instants(&preview),
        [
            "2030-03-18T09:00:00Z",
            "2030-03-25T09:00:00Z",
            "2030-04-01T08:00:00Z",
            "2030-04-08T08:00:00Z",
            "2030-04-15T08:00:00Z",
        ],
        "five by default, 09:00 local across the change"
    );

    // Saved as a task, the same fields give the same occurrences.
    let mut task = fields.clone();
    task["title"] = json!("Standup");
    let created = router
        .send_json(&token, Method::POST, "/api/v1/tasks", &task)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let saved = router
        .send_empty(
            &token,
            Method::GET,
            &format!("/api/v1/tasks/{id}/occurrences?limit=5"),
        )
        .await
        .json();
    assert_eq!(instants(&saved), instants(&preview));
}

#[tokio::test]
async fn all_day_dates_count_and_limit_bound_the_preview() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    // Whole days in Karachi (UTC+5); months without a 31st are skipped, never moved.
    let answer = router
        .send_json(
            &token,
            Method::POST,
            PREVIEW,
            &json!({
                "recurrence": "FREQ=MONTHLY",
                "due_at": "2030-01-31",
                "all_day": true,
                "timezone": "Asia/Karachi",
                "limit": 3,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(
        instants(&answer.json()),
        [
            "2030-01-30T19:00:00Z",
            "2030-03-30T19:00:00Z",
            "2030-05-30T19:00:00Z"
        ]
    );
    // COUNT ends the series before the limit; the user's zone (UTC here) is the default.
    let answer = router
        .send_json(
            &token,
            Method::POST,
            PREVIEW,
            &json!({"recurrence": "FREQ=DAILY;COUNT=3", "due_at": "2030-01-01T07:30:00Z", "limit": 50}),
        )
        .await;
    assert_eq!(
        instants(&answer.json()),
        [
            "2030-01-01T07:30:00Z",
            "2030-01-02T07:30:00Z",
            "2030-01-03T07:30:00Z"
        ]
    );
}

#[tokio::test]
async fn a_preview_refuses_what_saving_would_refuse_listing_every_field() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    let refused = |body: Value| {
        let router = &router;
        let token = token.clone();
        async move {
            let answer = router.send_json(&token, Method::POST, PREVIEW, &body).await;
            let problem = answer.problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            let mut errors: Vec<(String, String)> = problem
                .errors
                .iter()
                .map(|error| {
                    assert!(!error.message.is_empty(), "{error:?}");
                    (error.field.clone(), error.code.clone())
                })
                .collect();
            errors.sort();
            errors
        }
    };
    let errors =
        refused(json!({"recurrence": "FREQ=FORTNIGHTLY", "due_at": "2030-01-01T09:00:00Z"})).await;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "recurrence");
    // A valid rule without a first occurrence: a task would need its due date too.
    assert_eq!(
        refused(json!({"recurrence": "FREQ=DAILY"})).await,
        [("recurrence".to_owned(), "requires_due_at".to_owned())]
    );
    let fields: Vec<String> = refused(json!({
        "recurrence": "FREQ=DAILY",
        "due_at": "2030-01-01",
        "timezone": "Mars/Olympus_Mons",
        "limit": 51,
    }))
    .await
    .into_iter()
    .map(|(field, _)| field)
    .collect();
    assert_eq!(fields, ["due_at", "limit", "timezone"]);
    assert_eq!(
        refused(json!({"recurrence": "FREQ=DAILY", "due_at": "2030-01-01T09:00:00Z", "limit": 0}))
            .await,
        [("limit".to_owned(), "out_of_range".to_owned())]
    );
    // Nothing was created along the way.
    let tasks = router
        .send_empty(&token, Method::GET, "/api/v1/tasks")
        .await
        .json();
    assert_eq!(tasks["items"], json!([]));
}

#[tokio::test]
async fn a_preview_needs_a_signed_in_caller() {
    let router = TestRouter::new().await;
    router
        .send_anonymous(
            Method::POST,
            PREVIEW,
            Some(&json!({"recurrence": "FREQ=DAILY", "due_at": "2030-01-01T09:00:00Z"})),
        )
        .await
        .problem(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn rules_at_the_ends_of_the_calendar_are_answered_not_crashed() {
    let router = TestRouter::new().await;
    let token = router.register("ada@example.org").await;
    for (rule, due) in [
        ("FREQ=SECONDLY", "9999-12-31T23:59:58Z"),
        ("FREQ=YEARLY;INTERVAL=1000", "9000-02-29T00:00:00Z"),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "2030-01-01T00:00:00Z",
        ),
        ("FREQ=MONTHLY;BYDAY=-1FR", "0001-01-01T00:00:00Z"),
        ("FREQ=DAILY", "9999-12-31"),
    ] {
        let all_day = !due.contains('T');
        let answer = router
            .send_json(
                &token,
                Method::POST,
                PREVIEW,
                &json!({"recurrence": rule, "due_at": due, "all_day": all_day, "timezone": "Pacific/Kiritimati", "limit": 50}),
            )
            .await;
        assert!(
            answer.status == StatusCode::OK || answer.status == StatusCode::UNPROCESSABLE_ENTITY,
            "{rule} from {due}: {} {}",
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
}
