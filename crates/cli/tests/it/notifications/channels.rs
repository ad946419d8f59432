//! `/api/v1/notification-channels`: creation and its checks (the forgery guard, addresses,
//! limits, unknown fields), the in-app default, changes, secrets shown once, rotation, and
//! isolation between users.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::peers::local_notifier;
use crate::helpers::{Backend, TestApp, error_fields, problem};

crate::on_both_backends!(
    channels_are_managed_by_their_owner_and_never_show_their_secret,
    webhook_urls_to_forbidden_addresses_and_bad_fields_are_refused,
);

const CHANNELS: &str = "/api/v1/notification-channels";

async fn channels_are_managed_by_their_owner_and_never_show_their_secret(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        local_notifier(config);
        config.notifier.max_channels_per_user = 4;
    })
    .await
    else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let bob = app.register("bob@example.org").await;

    // In-app notifications are on before anything is configured.
    let listed: Value = app.get(&ada, CHANNELS).await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["kind"], "in_app");
    assert_eq!(listed[0]["enabled"], true);
    let in_app_id = listed[0]["id"].as_str().unwrap().to_owned();

    let response = app
        .post(
            &ada,
            CHANNELS,
            &json!({"kind": "webhook", "url": "http://127.0.0.1:9/hooks"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let webhook: Value = response.json().await.unwrap();
    let secret = webhook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    let response = app
        .post(
            &ada,
            CHANNELS,
            &json!({"kind": "email", "address": " Ada@Example.ORG "}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let email: Value = response.json().await.unwrap();
    assert_eq!(email["address"], "ada@example.org");
    assert!(email.get("secret").is_none());

    // The secret is never shown again: not listed, not read back, not after a change.
    let path = format!("{CHANNELS}/{webhook_id}");
    for response in [
        app.get(&ada, CHANNELS).await,
        app.get(&ada, &path).await,
        app.patch(&ada, &path, &json!({"enabled": false})).await,
    ] {
        assert_eq!(response.status(), StatusCode::OK);
        let text = response.text().await.unwrap();
        assert!(
            !text.contains(&secret[6..]) && !text.contains("\"secret\""),
            "{text}"
        );
    }
    let changed: Value = app.get(&ada, &path).await.json().await.unwrap();
    assert_eq!(changed["enabled"], false);
    let changed: Value = app
        .patch(
            &ada,
            &path,
            &json!({"enabled": true, "url": "http://127.0.0.1:9/v2"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (changed["enabled"].clone(), changed["url"].clone()),
        (json!(true), json!("http://127.0.0.1:9/v2"))
    );

    // Rotation shows the new secret once; the old one keeps signing for a while.
    let response = app
        .post(&ada, &format!("{path}/rotate-secret"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rotated: Value = response.json().await.unwrap();
    let new_secret = rotated["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(rotated["previous_secret_expires_at"].is_string());
    let email_path = format!("{CHANNELS}/{}", email["id"].as_str().unwrap());
    problem(
        app.post(&ada, &format!("{email_path}/rotate-secret"), &json!({}))
            .await,
        StatusCode::CONFLICT,
    )
    .await;
    let wrong = problem(
        app.patch(&ada, &email_path, &json!({"url": "http://127.0.0.1:9/"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&wrong), ["url"]);

    // The in-app channel: turned off, then back to its default by deleting it.
    let in_app_path = format!("{CHANNELS}/{in_app_id}");
    let off: Value = app
        .patch(&ada, &in_app_path, &json!({"enabled": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (off["id"].as_str(), off["enabled"].as_bool()),
        (Some(in_app_id.as_str()), Some(false))
    );
    let listed: Value = app.get(&ada, CHANNELS).await.json().await.unwrap();
    let kinds: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["enabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [("webhook", true), ("email", true), ("in_app", false)]
    );
    let twice = problem(
        app.post(&ada, CHANNELS, &json!({"kind": "in_app"})).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(twice["code"], "in_app_channel_exists");
    assert_eq!(
        app.delete(&ada, &in_app_path).await.status(),
        StatusCode::NO_CONTENT
    );
    let on: Value = app.get(&ada, &in_app_path).await.json().await.unwrap();
    assert_eq!(on["enabled"], true);

    // At most four channels (the in-app one does not count).
    for n in 0..2 {
        let url = format!("http://127.0.0.1:9/{n}");
        let response = app
            .post(&ada, CHANNELS, &json!({"kind": "webhook", "url": url}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let limit = problem(
        app.post(
            &ada,
            CHANNELS,
            &json!({"kind": "webhook", "url": "http://127.0.0.1:9/x"}),
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    assert_eq!(limit["code"], "channel_limit_reached");

    // Another user sees, changes and deletes none of it.
    for path in [&path, &email_path] {
        let not_found = problem(app.get(&bob, path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(not_found["code"], "notification_channel_not_found");
        problem(
            app.patch(&bob, path, &json!({"enabled": false})).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        problem(app.delete(&bob, path).await, StatusCode::NOT_FOUND).await;
        problem(
            app.post(&bob, &format!("{path}/rotate-secret"), &json!({}))
                .await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    problem(app.get(&bob, &in_app_path).await, StatusCode::NOT_FOUND).await;
    let bobs: Value = app.get(&bob, CHANNELS).await.json().await.unwrap();
    assert_eq!(bobs.as_array().unwrap().len(), 1);
    assert_ne!(bobs[0]["id"].as_str(), Some(in_app_id.as_str()));
    let still: Value = app.get(&ada, &path).await.json().await.unwrap();
    assert_eq!(still["enabled"], true);
    assert_eq!(
        app.delete(&ada, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    problem(app.get(&ada, &path).await, StatusCode::NOT_FOUND).await;
    problem(
        app.get(&ada, &format!("{CHANNELS}/not-an-id")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn webhook_urls_to_forbidden_addresses_and_bad_fields_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, local_notifier).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    // The operator allows 127.0.0.1 only.
    let forbidden = [
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://127.0.0.2/",
        "http://2130706434/",
        "http://0177.0.0.2/",
        "http://localhost/",
        "file:///etc/passwd",
        "gopher://example.org/",
        "https://user:secret@example.org/",
        "not a url",
    ];
    let mut refused = 0;
    for url in forbidden {
        let response = app
            .post(&ada, CHANNELS, &json!({"kind": "webhook", "url": url}))
            .await;
        if response.status() == StatusCode::UNPROCESSABLE_ENTITY {
            let body: Value = response.json().await.unwrap();
            refused += usize::from(error_fields(&body) == ["url"]);
        }
    }
    eprintln!(
        "forbidden webhook URLs refused at creation: {refused}/{}",
        forbidden.len()
    );
    assert_eq!(refused, forbidden.len());
    for allowed in [
        "http://127.0.0.1:8080/",
        "http://2130706433/",
        "https://hooks.example.org/in",
    ] {
        let response = app
            .post(&ada, CHANNELS, &json!({"kind": "webhook", "url": allowed}))
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{allowed}");
    }
    let long = format!("https://example.org/{}", "a".repeat(2_100));
    let cases = [
        (json!({"kind": "webhook", "url": long}), "url"),
        (json!({"kind": "webhook"}), "url"),
        (
            json!({"kind": "email", "address": "not an address"}),
            "address",
        ),
        (
            json!({"kind": "email", "address": "a@b.org\r\nBcc: x@y.org"}),
            "address",
        ),
        (json!({"kind": "email"}), "address"),
        (
            json!({"kind": "in_app", "url": "https://example.org/"}),
            "url",
        ),
        (
            json!({"kind": "webhook", "url": "https://example.org/", "address": "a@b.org"}),
            "address",
        ),
    ];
    for (body, field) in cases {
        let invalid = problem(
            app.post(&ada, CHANNELS, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(error_fields(&invalid), [field], "{body}");
    }
    // Fields a client may not set are refused, not ignored.
    for extra in [
        "user_id",
        "owner_id",
        "id",
        "created_at",
        "secret",
        "enabled_reason",
    ] {
        let mut body = json!({"kind": "webhook", "url": "https://example.org/"});
        body[extra] = json!("x");
        let response = app.post(&ada, CHANNELS, &body).await;
        assert!(response.status().is_client_error(), "{extra} was accepted");
    }
    problem(
        app.post(&ada, CHANNELS, &json!({"kind": "sms"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
}
