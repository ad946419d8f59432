//! Registration, login, the profile, and personal API tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};
use tickler_app::RegistrationPolicy;

use crate::helpers::{Backend, TestApp, TestUser, error_fields, problem};

crate::on_both_backends!(
    registering_returns_a_session_for_the_new_account,
    a_second_registration_with_the_same_email_is_a_conflict,
    invalid_registrations_name_every_bad_field,
    logging_in_with_the_right_password_returns_a_working_token,
    a_wrong_password_and_an_unknown_email_get_the_same_answer,
    repeated_failed_logins_lock_the_account_for_a_while,
    closed_registration_refuses_everyone,
    first_user_registration_admits_exactly_one_account,
    the_profile_can_be_read_and_changed,
    changing_the_password_revokes_older_access_tokens,
    api_tokens_are_shown_once_work_as_bearer_and_can_be_revoked,
    requests_without_valid_credentials_are_unauthenticated,
);

async fn registering_returns_a_session_for_the_new_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(
            &json!({"email": "Ada@Example.org", "password": "correct horse battery",
                      "name": "Ada", "timezone": "Europe/London"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(
        body["refresh_token"]
            .as_str()
            .is_some_and(|token| token.starts_with("tkr_")),
        "{body}"
    );
    assert_eq!(body["refresh_expires_in"], 30 * 24 * 3600);
    assert_eq!(body["user"]["email"], "ada@example.org");
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["user"]["timezone"], "Europe/London");
    assert!(body.to_string().find("password").is_none(), "{body}");
    let user = TestUser {
        id: body["user"]["id"].as_str().unwrap().to_owned(),
        token: body["access_token"].as_str().unwrap().to_owned(),
    };
    let me: Value = app.get(&user, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["id"], body["user"]["id"]);
}

async fn a_second_registration_with_the_same_email_is_a_conflict(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("ada@example.org").await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "ADA@example.org", "password": "another password"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::CONFLICT).await;
    assert_eq!(body["code"], "email_taken");
}

async fn invalid_registrations_name_every_bad_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "not-an-email", "password": "short", "timezone": "Mars/Base"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(error_fields(&body), ["email", "password", "timezone"]);
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn logging_in_with_the_right_password_returns_a_working_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = login(&app, "ADA@example.org ", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let session = TestUser {
        token: body["access_token"].as_str().unwrap().to_owned(),
        ..user
    };
    assert_eq!(
        app.get(&session, "/api/v1/me").await.status(),
        StatusCode::OK
    );
}

async fn a_wrong_password_and_an_unknown_email_get_the_same_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("ada@example.org").await;
    let wrong = problem(
        login(&app, "ada@example.org", "wrong password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let unknown = problem(
        login(&app, "nobody@example.org", "wrong password").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(wrong["code"], "invalid_credentials");
    assert_eq!(wrong["detail"], unknown["detail"]);
}

async fn repeated_failed_logins_lock_the_account_for_a_while(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.login_failures_per_account = 3;
    })
    .await
    else {
        return;
    };
    app.register("ada@example.org").await;
    for _ in 0..3 {
        let response = login(&app, "ada@example.org", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused while the account is locked.
    let response = login(&app, "ada@example.org", "correct horse battery").await;
    assert!(response.headers().get("retry-after").is_some());
    let body = problem(response, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(body["code"], "too_many_attempts");
}

async fn closed_registration_refuses_everyone(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.registration = RegistrationPolicy::Closed;
    })
    .await
    else {
        return;
    };
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "ada@example.org", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    let body = problem(response, StatusCode::FORBIDDEN).await;
    assert_eq!(body["code"], "registration_closed");
}

async fn first_user_registration_admits_exactly_one_account(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.registration = RegistrationPolicy::FirstUser;
    })
    .await
    else {
        return;
    };
    let attempts = (0..4).map(|index| {
        app.client
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": format!("user{index}@example.org"),
                          "password": "correct horse battery"}))
            .send()
    });
    let responses = futures::future::join_all(attempts).await;
    let statuses: Vec<StatusCode> = responses
        .into_iter()
        .map(|response| response.unwrap().status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|status| **status == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::FORBIDDEN)
    );
}

async fn the_profile_can_be_read_and_changed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .patch(
            &user,
            "/api/v1/me",
            &json!({"name": "Ada Lovelace", "timezone": "asia/karachi"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = app.get(&user, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["name"], "Ada Lovelace");
    assert_eq!(me["timezone"], "Asia/Karachi");
    // New tasks default to the new zone.
    let task = app.create_task(&user, json!({"title": "t"})).await;
    assert_eq!(task["timezone"], "Asia/Karachi");
    // null clears the name; an unknown zone is refused.
    let response = app.patch(&user, "/api/v1/me", &json!({"name": null})).await;
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["name"], Value::Null);
    let body = problem(
        app.patch(&user, "/api/v1/me", &json!({"timezone": "Nowhere/Land"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&body), ["timezone"]);
    let body = problem(
        app.patch(&user, "/api/v1/me", &json!({"email": "x@y.z"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&body), ["email"]);
}

async fn changing_the_password_revokes_older_access_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let body = problem(
        app.patch(
            &user,
            "/api/v1/me",
            &json!({"password": "a brand new password"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&body), ["current_password"]);
    let body = problem(
        app.patch(
            &user,
            "/api/v1/me",
            &json!({"password": "a brand new password", "current_password": "wrong"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(body["errors"][0]["code"], "incorrect");

    let response = app
        .patch(
            &user,
            "/api/v1/me",
            &json!({"password": "a brand new password",
                    "current_password": "correct horse battery"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    problem(app.get(&user, "/api/v1/me").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        login(&app, "ada@example.org", "correct horse battery")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&app, "ada@example.org", "a brand new password")
            .await
            .status(),
        StatusCode::OK
    );
}

async fn api_tokens_are_shown_once_work_as_bearer_and_can_be_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .post(
            &user,
            "/api/v1/tokens",
            &json!({"name": "laptop cli", "expires_in_days": 30}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tkl_"));
    assert!(created["expires_at"].is_string());

    let listed: Value = app.get(&user, "/api/v1/tokens").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "laptop cli");
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is listed"
    );
    assert!(secret.starts_with(listed[0]["prefix"].as_str().unwrap()));

    let by_token = TestUser {
        token: secret.clone(),
        ..user.clone()
    };
    let me: Value = app.get(&by_token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["id"], user.id);
    app.create_task(&by_token, json!({"title": "made with a token"}))
        .await;

    let id = created["id"].as_str().unwrap();
    let response = app.delete(&user, &format!("/api/v1/tokens/{id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    problem(
        app.get(&by_token, "/api/v1/me").await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    problem(
        app.delete(&user, &format!("/api/v1/tokens/{id}")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let body = problem(
        app.post(
            &user,
            "/api/v1/tokens",
            &json!({"name": "", "expires_in_days": 0}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&body), ["name", "expires_in_days"]);
}

async fn requests_without_valid_credentials_are_unauthenticated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let user = app.register("ada@example.org").await;
    let response = app
        .client
        .get(app.url("/api/v1/tasks"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("www-authenticate").is_some());
    problem(response, StatusCode::UNAUTHORIZED).await;
    for credential in ["garbage", "tkl_not-a-real-token", "a.b.c", ""] {
        let response = app
            .client
            .get(app.url("/api/v1/tasks"))
            .header("authorization", format!("Bearer {credential}"))
            .send()
            .await
            .unwrap();
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/tasks"))
        .header("authorization", format!("Basic {}", user.token))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
}
