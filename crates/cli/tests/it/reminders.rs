//! Reminders end to end: a task's reminders are scheduled with the task, fire at their time
//! through the `reminders` role into the notifier's in-app list, move with the due date, are
//! cancelled by completion, fire late (or are recorded missed) after downtime, and can be
//! snoozed; on both databases.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::{Clock, EventSettings, OutboxSignal, SystemClock};
use tickler_cli::config::Roles;
use tickler_workers::reminders::{ReminderScheduler, SchedulerSettings};

use crate::helpers::{Backend, TestApp, TestUser, consumer_reached, eventually, problem};
use crate::on_both_backends;

fn now() -> DateTime<Utc> {
    tickler_domain::time::truncate_to_micros(SystemClock.now())
}

fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

async fn reminders(app: &TestApp, user: &TestUser, query: &str) -> Vec<Value> {
    let response = app.get(user, &format!("/api/v1/reminders{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn upcoming(app: &TestApp, user: &TestUser) -> Vec<Value> {
    reminders(app, user, "?upcoming=true").await
}

/// Reads the user's in-app notifications until `count` are there.
async fn notifications(app: &TestApp, user: &TestUser, count: usize) -> Vec<Value> {
    eventually(20, || async {
        let page: Value = app
            .get(user, "/api/v1/notifications")
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap().clone();
        (items.len() >= count).then_some(items)
    })
    .await
}

/// Counts the `tickler.reminder.*` events of the outbox by type.
async fn reminder_events(app: &TestApp, event_type: &str) -> Vec<Value> {
    let records = app
        .store()
        .outbox_after(Default::default(), 10_000)
        .await
        .unwrap();
    records
        .iter()
        .filter(|record| record.message.event_type == event_type)
        .map(|record| serde_json::from_str(&record.message.payload).unwrap())
        .collect()
}

async fn a_reminder_fires_once_at_its_time_and_notifies_its_user(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let fire_at = now() + TimeDelta::milliseconds(1500);
    let task = app
        .create_task(
            &ada,
            json!({"title": "Pay rent", "due_at": rfc3339(now() + TimeDelta::hours(1)),
                   "reminders": [rfc3339(fire_at)]}),
        )
        .await;
    let [pending] = upcoming(&app, &ada).await.try_into().unwrap();
    assert_eq!(pending["state"], "pending");
    assert_eq!(pending["task_id"], task["id"]);
    assert_eq!(pending["late"], false);

    let [notification] = notifications(&app, &ada, 1).await.try_into().unwrap();
    assert!(now() >= fire_at, "never early");
    assert_eq!(notification["reminder_id"], pending["id"]);
    assert_eq!(notification["title"], "Pay rent");
    let [fired] = reminders(&app, &ada, "").await.try_into().unwrap();
    assert_eq!(fired["state"], "fired");
    assert_eq!(fired["id"], pending["id"]);
    assert!(fired["late_ms"].as_i64().unwrap() < 1_000, "{fired}");
    assert!(upcoming(&app, &ada).await.is_empty());
    let events = reminder_events(&app, "tickler.reminder.due").await;
    assert_eq!(events.len(), 1, "fired exactly once");
    assert_eq!(events[0]["data"]["reminder_id"], pending["id"]);
    assert_eq!(events[0]["subject"], task["id"]);
    assert_eq!(
        events[0]["dataschema"],
        "urn:tickler:events:reminder.v1.json"
    );

    // The metric of the firing is exported.
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("tickler_reminder_lateness_seconds"),
        "{metrics}"
    );
}

async fn reminders_follow_the_due_date_and_completion_cancels_them(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let due = now() + TimeDelta::hours(3);
    let task = app
        .create_task(
            &ada,
            json!({"title": "Call mum", "due_at": rfc3339(due), "reminders": ["-PT30M", "-PT1H"]}),
        )
        .await;
    let id = task["id"].as_str().unwrap();
    let planned = upcoming(&app, &ada).await;
    let times: Vec<&str> = planned
        .iter()
        .map(|r| r["fire_at"].as_str().unwrap())
        .collect();
    assert_eq!(planned.len(), 2);
    assert_eq!(
        times[0].parse::<DateTime<Utc>>().unwrap(),
        due - TimeDelta::hours(1)
    );

    let later = due + TimeDelta::days(1);
    let response = app
        .patch(
            &ada,
            &format!("/api/v1/tasks/{id}"),
            &json!({"due_at": rfc3339(later)}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved = upcoming(&app, &ada).await;
    assert_eq!(moved.len(), 2);
    assert_eq!(
        moved[1]["fire_at"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap(),
        later - TimeDelta::minutes(30)
    );

    let response = app
        .post(&ada, &format!("/api/v1/tasks/{id}/complete"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(upcoming(&app, &ada).await.is_empty());
    let all = reminders(&app, &ada, "").await;
    assert!(all.iter().all(|r| r["state"] == "cancelled"), "{all:?}");

    let response = app
        .post(&ada, &format!("/api/v1/tasks/{id}/reopen"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(upcoming(&app, &ada).await, moved);

    let response = app.delete(&ada, &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(reminders(&app, &ada, "").await.is_empty());
}

/// Starts a scheduler of its own (another process, as far as the server can tell) and fires
/// until nothing is due.
async fn fire_with_another_scheduler(app: &TestApp, missed_after: Duration) {
    let scheduler = ReminderScheduler::new(
        app.store(),
        Arc::new(SystemClock),
        OutboxSignal::default(),
        EventSettings::default(),
        SchedulerSettings {
            missed_after,
            ..SchedulerSettings::default()
        },
    );
    while scheduler.run_once().await.unwrap() != Default::default() {}
}

async fn reminders_due_during_downtime_fire_late_or_are_missed_beyond_the_horizon(
    backend: Backend,
) {
    // Everything but the scheduler runs: it is "down".
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.roles = Roles::parse(&["api,relay,audit,notifier"]).unwrap();
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let start = now();
    let long_ago = start + TimeDelta::milliseconds(300);
    let recent = start + TimeDelta::seconds(4);
    app.create_task(
        &ada,
        json!({"title": "Water plants", "reminders": [rfc3339(long_ago)]}),
    )
    .await;
    app.create_task(
        &ada,
        json!({"title": "Feed cat", "reminders": [rfc3339(recent)]}),
    )
    .await;
    // Down until the second reminder is more than a second late, so it must be marked late.
    let down_until = recent + TimeDelta::milliseconds(1_500);
    tokio::time::sleep((down_until - now()).to_std().unwrap_or_default()).await;
    // Back up with a horizon halfway between the two reminders' lateness as measured now: the
    // first is beyond it (missed), the second within it (fired late), however long the
    // machine took to get here.
    let restarted_at = now();
    let midpoint = long_ago + (recent - long_ago) / 2;
    let horizon = (restarted_at - midpoint).to_std().unwrap();
    fire_with_another_scheduler(&app, horizon).await;
    let all = reminders(&app, &ada, "").await;
    let states: Vec<(&str, bool)> = all
        .iter()
        .map(|r| (r["state"].as_str().unwrap(), r["late"].as_bool().unwrap()))
        .collect();
    assert_eq!(states, [("fired", true), ("missed", true)], "{all:?}");
    let fired_at: DateTime<Utc> = all[0]["fired_at"].as_str().unwrap().parse().unwrap();
    // The scheduler fires by the database's clock, which SQLite reads to the millisecond
    // (`julianday('now')`): it may stand up to a millisecond behind the test's reading.
    assert!(
        fired_at >= restarted_at - TimeDelta::milliseconds(1),
        "{all:?}"
    );
    let [notification] = notifications(&app, &ada, 1).await.try_into().unwrap();
    assert_eq!(notification["title"], "Feed cat");
    assert_eq!(
        reminder_events(&app, "tickler.reminder.missed").await.len(),
        1
    );
    assert_eq!(reminder_events(&app, "tickler.reminder.due").await.len(), 1);
    // Once the notifier has handled the missed reminder's event, it still made no notification.
    let missed = app
        .store()
        .outbox_after(Default::default(), 10_000)
        .await
        .unwrap()
        .into_iter()
        .find(|record| record.message.event_type == "tickler.reminder.missed")
        .unwrap();
    consumer_reached(&app, "notifier", missed.position).await;
    assert_eq!(
        notifications(&app, &ada, 1).await.len(),
        1,
        "missed: not sent"
    );
}

async fn snoozing_moves_a_reminder_or_fires_it_again_and_is_scoped_to_its_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    app.create_task(
        &ada,
        json!({"title": "Stretch", "due_at": rfc3339(now() + TimeDelta::hours(2)),
               "reminders": [rfc3339(now() + TimeDelta::milliseconds(500)), "-PT1H"]}),
    )
    .await;
    notifications(&app, &ada, 1).await;
    let all = reminders(&app, &ada, "").await;
    let fired = all.iter().find(|r| r["state"] == "fired").unwrap();
    let pending = all.iter().find(|r| r["state"] == "pending").unwrap();
    let fired_id = fired["id"].as_str().unwrap();
    let pending_id = pending["id"].as_str().unwrap();

    // A pending reminder moves, keeping its id.
    let response = app
        .post(
            &ada,
            &format!("/api/v1/reminders/{pending_id}/snooze"),
            &json!({"minutes": 30}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let moved: Value = response.json().await.unwrap();
    assert_eq!(moved["id"], pending["id"]);
    assert_eq!(moved["snoozed"], true);
    let at: DateTime<Utc> = moved["fire_at"].as_str().unwrap().parse().unwrap();
    assert!((at - (now() + TimeDelta::minutes(30))).num_seconds().abs() < 5);

    // A fired one fires again, as a new reminder.
    let until = now() + TimeDelta::milliseconds(800);
    let response = app
        .post(
            &ada,
            &format!("/api/v1/reminders/{fired_id}/snooze"),
            &json!({"until": rfc3339(until)}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let again: Value = response.json().await.unwrap();
    assert_ne!(again["id"], fired["id"]);
    assert_eq!(again["spec"], "snooze");
    assert_eq!(upcoming(&app, &ada).await.len(), 2);
    let both = notifications(&app, &ada, 2).await;
    assert_eq!(both[0]["reminder_id"], again["id"]);

    // Bad bodies, other users, unknown ids.
    for body in [
        json!({"minutes": 0}),
        json!({"minutes": 10_081}),
        json!({"until": rfc3339(now() - TimeDelta::minutes(1))}),
        json!({}),
        json!({"minutes": 5, "until": rfc3339(now() + TimeDelta::hours(1))}),
        json!({"minutes": 5, "owner": "me"}),
    ] {
        let response = app
            .post(
                &ada,
                &format!("/api/v1/reminders/{pending_id}/snooze"),
                &body,
            )
            .await;
        problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let response = app
        .post(
            &grace,
            &format!("/api/v1/reminders/{pending_id}/snooze"),
            &json!({"minutes": 5}),
        )
        .await;
    let body = problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "reminder_not_found");
    let response = app
        .post(
            &ada,
            "/api/v1/reminders/not-a-reminder/snooze",
            &json!({"minutes": 5}),
        )
        .await;
    problem(response, StatusCode::NOT_FOUND).await;
    assert!(reminders(&app, &grace, "").await.is_empty());
    assert!(upcoming(&app, &grace).await.is_empty());
    let response = app.get(&ada, "/api/v1/reminders?upcoming=maybe").await;
    problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
}

on_both_backends!(
    a_reminder_fires_once_at_its_time_and_notifies_its_user,
    reminders_follow_the_due_date_and_completion_cancels_them,
    reminders_due_during_downtime_fire_late_or_are_missed_beyond_the_horizon,
    snoozing_moves_a_reminder_or_fires_it_again_and_is_scoped_to_its_owner,
);
