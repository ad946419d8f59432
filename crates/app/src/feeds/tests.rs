//! Feeds over a real (SQLite) store: paging through the owner's tasks, and filters.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tickler_protocol::auth::RegisterRequest;
use tickler_protocol::feed::CreateCalendarFeedRequest;
use tickler_protocol::task::TaskRequest;
use tickler_store_sqlite::{SqliteConfig, SqliteStore};

use crate::{Actor, App, AppError, AppSettings, ManualClock, Origin};

async fn app(directory: &tempfile::TempDir) -> (App, Actor) {
    let store = SqliteStore::open(SqliteConfig::new(directory.path().join("feeds.db")))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let now: DateTime<Utc> = "2026-11-21T07:00:00Z".parse().unwrap();
    let app = App::new(
        Arc::new(store),
        Arc::new(ManualClock::new(now)),
        AppSettings::default(),
        &[7; 32],
    );
    let session = app
        .register(RegisterRequest {
            email: "ada@example.org".into(),
            password: "correct horse battery".into(),
            name: None,
            timezone: Some("UTC".into()),
            session: None,
        })
        .await
        .unwrap();
    (app, Actor::new(session.user, Origin::Api))
}

fn uids(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("UID:").map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_feed_pages_through_every_dated_task_and_stops_at_the_undated_ones() {
    let directory = tempfile::tempdir().unwrap();
    let (app, actor) = app(&directory).await;
    let start: DateTime<Utc> = "2026-12-01T09:00:00Z".parse().unwrap();
    // More than two pages of the list (200 a page), and undated tasks that sort after them.
    let dated = 450;
    for n in 0..dated + 5 {
        let due_at = (n < dated)
            .then(|| tickler_domain::task::format_instant(start + TimeDelta::hours(i64::from(n))));
        app.create_task(
            &actor,
            TaskRequest {
                title: Some(format!("task {n}")),
                due_at,
                ..TaskRequest::default()
            },
            None,
        )
        .await
        .unwrap();
    }
    let (token, _) = app
        .create_calendar_feed(
            &actor,
            CreateCalendarFeedRequest {
                name: "All".into(),
                filter: None,
            },
        )
        .await
        .unwrap();
    let document = app.calendar_feed_document(&token).await.unwrap();
    let found = uids(&document.body);
    assert_eq!(found.len(), dated as usize);
    let mut distinct = found.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), found.len());

    let unknown = app.calendar_feed_document("tkf_nothing").await.unwrap_err();
    assert!(
        matches!(unknown, AppError::CalendarFeedNotFound),
        "{unknown:?}"
    );
}
