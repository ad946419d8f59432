//! The audit trail of account changes and its hash chain, end to end: every security-relevant
//! change of an account shows in `GET /api/v1/audit` without any secret, and `tickler audit
//! verify`, run on the server's database, passes until a row is edited in the database.

use std::process::{Command, Output};

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::{Clock, SystemClock};

use crate::helpers::{Backend, TestApp, TestUser, eventually};

crate::on_both_backends!(
    account_changes_are_audited_without_secrets_and_the_cli_finds_an_edited_row,
);

const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a new and longer passphrase";

/// Runs `tickler audit verify` on the test server's database, as an operator would.
pub(crate) fn verify(app: &TestApp, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tickler"));
    command
        .arg("--data-dir")
        .arg(app.data_dir())
        .env_remove("TICKLER_DATABASE_URL");
    if let Some(url) = app.database_url() {
        command.args(["--database-url", &url]);
    }
    command.args(["audit", "verify"]).args(extra);
    command.output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

async fn json_of(response: reqwest::Response, expected: StatusCode) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, expected, "{body}");
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&body).unwrap()
    }
}

/// Edits a row of the audit trail in the database, past its append-only protection, as
/// someone with access to the database could.
pub(crate) async fn edit_row_in_the_database(app: &TestApp, event_id: &str) {
    let id: uuid::Uuid = event_id.parse().unwrap();
    match app.database_url() {
        Some(url) => {
            use sqlx::Connection as _;
            let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
                .execute(&mut connection)
                .await
                .unwrap();
            sqlx::query("UPDATE audit_events SET data = '{}' WHERE event_id = $1")
                .bind(id)
                .execute(&mut connection)
                .await
                .unwrap();
        }
        None => {
            let connection = rusqlite::Connection::open(app.data_dir().join("tickler.db")).unwrap();
            connection
                .busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            connection
                .execute_batch("DROP TRIGGER audit_events_before_update")
                .unwrap();
            let changed = connection
                .execute(
                    "UPDATE audit_events SET data = '{}' WHERE event_id = ?1",
                    [id.as_bytes().to_vec()],
                )
                .unwrap();
            assert_eq!(changed, 1);
        }
    }
}

async fn account_changes_are_audited_without_secrets_and_the_cli_finds_an_edited_row(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        crate::notifications::peers::local_notifier(config);
        config.auth.refresh_reuse_grace_seconds = 0;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    // Everything secret this account is given or sends, to look for in its trail.
    let mut secrets = vec![
        PASSWORD.to_owned(),
        NEW_PASSWORD.to_owned(),
        ada.token.clone(),
    ];

    let token = json_of(
        app.post(
            &ada,
            "/api/v1/tokens",
            &json!({"name": "agent", "scopes": ["read"]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    secrets.push(token["token"].as_str().unwrap().to_owned());
    json_of(
        app.delete(
            &ada,
            &format!("/api/v1/tokens/{}", token["id"].as_str().unwrap()),
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;

    let hook_url = "http://127.0.0.1:9/hook/s3cr3t-path-token";
    secrets.push("s3cr3t-path-token".to_owned());
    let channel = json_of(
        app.post(
            &ada,
            "/api/v1/notification-channels",
            &json!({"kind": "webhook", "url": hook_url}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    secrets.push(channel["secret"].as_str().unwrap().to_owned());
    let channel_path = format!(
        "/api/v1/notification-channels/{}",
        channel["id"].as_str().unwrap()
    );
    json_of(
        app.patch(&ada, &channel_path, &json!({"enabled": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    let rotated = json_of(
        app.post(&ada, &format!("{channel_path}/rotate-secret"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    secrets.push(rotated["secret"].as_str().unwrap().to_owned());
    json_of(
        app.delete(&ada, &channel_path).await,
        StatusCode::NO_CONTENT,
    )
    .await;

    let feed = json_of(
        app.post(&ada, "/api/v1/calendar-feeds", &json!({"name": "phone"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let feed_url = feed["url"].as_str().unwrap();
    secrets.push(
        feed_url
            .rsplit('/')
            .next()
            .unwrap()
            .trim_end_matches(".ics")
            .to_owned(),
    );
    json_of(
        app.delete(
            &ada,
            &format!("/api/v1/calendar-feeds/{}", feed["id"].as_str().unwrap()),
        )
        .await,
        StatusCode::NO_CONTENT,
    )
    .await;

    let due = (SystemClock.now() + TimeDelta::days(2)).to_rfc3339();
    let task = app
        .create_task(
            &ada,
            json!({"title": "Stretch", "due_at": due, "reminders": ["-PT1H"]}),
        )
        .await;
    let reminders = eventually(10, || async {
        let page = json_of(app.get(&ada, "/api/v1/reminders").await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap().clone();
        (!items.is_empty()).then_some(items)
    })
    .await;
    json_of(
        app.post(
            &ada,
            &format!(
                "/api/v1/reminders/{}/snooze",
                reminders[0]["id"].as_str().unwrap()
            ),
            &json!({"minutes": 30}),
        )
        .await,
        StatusCode::OK,
    )
    .await;

    // A session: signed in, refreshed, its spent refresh token presented again (reuse).
    let session = app.login_with("ada@example.org", PASSWORD).await;
    let first_refresh = session["refresh_token"].as_str().unwrap().to_owned();
    secrets.push(first_refresh.clone());
    let refresh = |token: String| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/auth/refresh"))
                .json(&json!({"refresh_token": token}))
                .send()
                .await
                .unwrap()
        }
    };
    let rotated_session = json_of(refresh(first_refresh.clone()).await, StatusCode::OK).await;
    secrets.push(
        rotated_session["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    assert_eq!(
        refresh(first_refresh).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Another session, signed out with its refresh token.
    let second = app.login_with("ada@example.org", PASSWORD).await;
    secrets.push(second["refresh_token"].as_str().unwrap().to_owned());
    let signed_out = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": second["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert!(signed_out.status().is_success(), "{}", signed_out.status());

    // The password, then every session.
    json_of(
        app.patch(
            &ada,
            "/api/v1/me",
            &json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let again = app.login_with("ada@example.org", NEW_PASSWORD).await;
    let ada = TestUser {
        id: ada.id,
        token: again["access_token"].as_str().unwrap().to_owned(),
    };
    secrets.push(again["refresh_token"].as_str().unwrap().to_owned());
    json_of(
        app.post(&ada, "/api/v1/auth/logout-all", &json!({})).await,
        StatusCode::NO_CONTENT,
    )
    .await;
    let ada = TestUser {
        token: app.login_with("ada@example.org", NEW_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned(),
        ..ada
    };

    let page = json_of(
        app.get(&ada, "/api/v1/audit?limit=500").await,
        StatusCode::OK,
    )
    .await;
    let items = page["items"].as_array().unwrap();
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    for expected in [
        "tickler.account.registered",
        "tickler.session.started",
        "tickler.token.created",
        "tickler.token.revoked",
        "tickler.channel.created",
        "tickler.channel.updated",
        "tickler.channel.secret_rotated",
        "tickler.channel.deleted",
        "tickler.feed.created",
        "tickler.feed.revoked",
        "tickler.reminder.snoozed",
        "tickler.session.refresh_token_reused",
        "tickler.session.ended",
        "tickler.account.password_changed",
        "tickler.session.signed_out_everywhere",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    let snoozed = items
        .iter()
        .find(|i| i["type"] == "tickler.reminder.snoozed")
        .unwrap();
    assert_eq!(snoozed["task_id"], task["id"]);
    let updated = items
        .iter()
        .find(|i| i["type"] == "tickler.channel.updated")
        .unwrap();
    assert_eq!(updated["data"]["changed_fields"], json!(["enabled"]));
    assert!(items.iter().all(|i| i["origin"] == "api"));
    let trail = page.to_string();
    for secret in &secrets {
        assert!(
            !trail.contains(secret.as_str()),
            "a secret is in the audit trail: {secret}"
        );
    }

    // Verified on the server's database while it runs; then one row is edited there.
    let output = verify(&app, &[]);
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    assert!(
        text(&output.stdout).contains("audit trail intact"),
        "{}",
        text(&output.stdout)
    );
    let output = verify(&app, &["--user", "ada@example.org"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains(&ada.id),
        "{}",
        text(&output.stdout)
    );

    let edited = items
        .iter()
        .find(|i| i["type"] == "tickler.token.created")
        .unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    edit_row_in_the_database(&app, &edited).await;
    let output = verify(&app, &["--user", &ada.id]);
    assert!(!output.status.success());
    let report = text(&output.stderr);
    assert!(report.contains("audit chain broken"), "{report}");
    assert!(report.contains(&edited), "{report}");
    assert!(report.contains("expected"), "{report}");
}
