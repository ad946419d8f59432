//! Sign-in sessions over HTTP: short-lived access tokens with rotating refresh tokens for JSON
//! clients, the web app's cookie session with its CSRF and Origin checks, signing out of one
//! session and everywhere, and the web app's page and assets.

use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestUser, problem};

crate::on_both_backends!(
    a_refresh_token_works_once_and_its_reuse_signs_the_session_out,
    a_refresh_token_used_again_at_once_is_only_superseded,
    logging_out_ends_the_session_and_its_access_tokens,
    signing_out_everywhere_ends_every_session_but_keeps_api_tokens,
    the_browser_session_lives_in_http_only_cookies_guarded_by_csrf_and_origin,
);

const PASSWORD: &str = "correct horse battery";

/// Logs in as a JSON client; returns the session body.
async fn login(app: &TestApp, email: &str) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &str) -> Response {
    app.client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({"refresh_token": refresh_token}))
        .send()
        .await
        .unwrap()
}

fn bearer(token: &Value) -> TestUser {
    TestUser {
        id: String::new(),
        token: token.as_str().unwrap().to_owned(),
    }
}

async fn me_status(app: &TestApp, access_token: &Value) -> StatusCode {
    app.get(&bearer(access_token), "/api/v1/me").await.status()
}

async fn a_refresh_token_works_once_and_its_reuse_signs_the_session_out(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |config| {
        config.auth.refresh_reuse_grace_seconds = 0;
    })
    .await
    else {
        return;
    };
    app.register("ada@example.org").await;
    let first = login(&app, "ada@example.org").await;
    let response = refresh(&app, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(second["user"]["email"], "ada@example.org");
    assert_eq!(
        me_status(&app, &second["access_token"]).await,
        StatusCode::OK
    );

    // The spent token again: reuse. The whole session ends, its newest tokens included.
    let reused = refresh(&app, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        problem(reused, StatusCode::UNAUTHORIZED).await["code"],
        "refresh_token_reused"
    );
    let after = refresh(&app, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        problem(after, StatusCode::UNAUTHORIZED).await["code"],
        "invalid_refresh_token"
    );
    assert_eq!(
        me_status(&app, &second["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    // Another session of the same user is untouched.
    let other = login(&app, "ada@example.org").await;
    assert_eq!(
        me_status(&app, &other["access_token"]).await,
        StatusCode::OK
    );
    let garbage = refresh(&app, "tkr_not-a-token").await;
    assert_eq!(
        problem(garbage, StatusCode::UNAUTHORIZED).await["code"],
        "invalid_refresh_token"
    );
    // A refresh token is no bearer credential.
    assert_eq!(
        me_status(&app, &second["refresh_token"]).await,
        StatusCode::UNAUTHORIZED
    );
}

async fn a_refresh_token_used_again_at_once_is_only_superseded(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("ada@example.org").await;
    let first = login(&app, "ada@example.org").await;
    let token = first["refresh_token"].as_str().unwrap();
    let second: Value = refresh(&app, token).await.json().await.unwrap();
    // Within the grace window (10 s by default) a second use is a race between two tabs.
    let again = refresh(&app, token).await;
    assert_eq!(
        problem(again, StatusCode::CONFLICT).await["code"],
        "refresh_token_superseded"
    );
    assert_eq!(
        me_status(&app, &second["access_token"]).await,
        StatusCode::OK
    );
    assert_eq!(
        refresh(&app, second["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

async fn logging_out_ends_the_session_and_its_access_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("ada@example.org").await;
    let by_refresh = login(&app, "ada@example.org").await;
    let by_access = login(&app, "ada@example.org").await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .json(&json!({"refresh_token": by_refresh["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me_status(&app, &by_refresh["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    let refused = refresh(&app, by_refresh["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Without a refresh token, the access token names the session to end.
    let response = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(by_access["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        me_status(&app, &by_access["access_token"]).await,
        StatusCode::UNAUTHORIZED
    );
    let nothing = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(nothing.status(), StatusCode::UNAUTHORIZED);
}

async fn signing_out_everywhere_ends_every_session_but_keeps_api_tokens(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let ada = app.register("ada@example.org").await;
    let grace = app.register("grace@example.org").await;
    let api_token: Value = app
        .post(&ada, "/api/v1/tokens", &json!({"name": "script"}))
        .await
        .json()
        .await
        .unwrap();
    let laptop = login(&app, "ada@example.org").await;
    let phone = login(&app, "ada@example.org").await;

    let response = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(laptop["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for session in [&laptop, &phone] {
        assert_eq!(
            me_status(&app, &session["access_token"]).await,
            StatusCode::UNAUTHORIZED
        );
        let refused = refresh(&app, session["refresh_token"].as_str().unwrap()).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    // The token from registration predates it too.
    assert_eq!(
        app.get(&ada, "/api/v1/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me_status(&app, &api_token["token"]).await, StatusCode::OK);
    assert_eq!(app.get(&grace, "/api/v1/me").await.status(), StatusCode::OK);
    // Signing in again works.
    let again = login(&app, "ada@example.org").await;
    assert_eq!(
        me_status(&app, &again["access_token"]).await,
        StatusCode::OK
    );
}

/// Sends a request with the web app's cookies and, when given, its CSRF header and an
/// `Origin`.
async fn with_cookies(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("cookie", cookie);
    if let Some(csrf) = csrf {
        request = request.header("x-csrf-token", csrf);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

async fn post_task(
    app: &TestApp,
    access: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
) -> Response {
    let task = json!({"title": "From the browser"});
    with_cookies(
        app,
        Method::POST,
        "/api/v1/tasks",
        access,
        csrf,
        origin,
        Some(&task),
    )
    .await
}

/// The `Set-Cookie` values of a response, by cookie name.
fn set_cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap().to_owned();
            let name = text.split('=').next().unwrap().to_owned();
            (name, text)
        })
        .collect()
}

fn cookie_value(cookies: &[(String, String)], name: &str) -> String {
    let (_, text) = cookies
        .iter()
        .find(|(cookie, _)| cookie == name)
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"));
    text.split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_owned()
}

async fn the_browser_session_lives_in_http_only_cookies_guarded_by_csrf_and_origin(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.register("ada@example.org").await;
    let origin = app.base.clone();
    let login_body = json!({"email": "ada@example.org", "password": PASSWORD, "session": "cookie"});

    // A cookie session is started only from this server's pages.
    for foreign in [None, Some("https://evil.example")] {
        let mut request = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&login_body);
        if let Some(foreign) = foreign {
            request = request.header("origin", foreign);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(
            problem(refused, StatusCode::FORBIDDEN).await["code"],
            "origin_not_allowed"
        );
    }
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &origin)
        .json(&login_body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(response.headers());
    let body: Value = response.json().await.unwrap();
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let names: Vec<&str> = cookies.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["tickler_access", "tickler_refresh", "tickler_csrf"]);
    for (name, text) in &cookies {
        assert!(text.contains("SameSite=Strict"), "{text}");
        assert!(!text.contains("Secure"), "plain HTTP: {text}");
        assert_eq!(text.contains("HttpOnly"), name != "tickler_csrf", "{text}");
    }
    assert!(cookies[0].1.contains("Path=/;") && cookies[0].1.contains("Max-Age=900"));
    assert!(cookies[1].1.contains("Path=/api/v1/auth;"));
    let csrf = cookie_value(&cookies, "tickler_csrf");
    assert_eq!(body["csrf_token"], json!(csrf));
    let access = format!(
        "tickler_access={}",
        cookie_value(&cookies, "tickler_access")
    );
    let refresh_cookie = format!(
        "tickler_refresh={}; tickler_csrf={csrf}",
        cookie_value(&cookies, "tickler_refresh")
    );

    // Reads need only the cookie; writes need the CSRF header too, and never a foreign origin.
    let me = with_cookies(&app, Method::GET, "/api/v1/me", &access, None, None, None).await;
    assert_eq!(me.status(), StatusCode::OK);
    let without = post_task(&app, &access, None, None).await;
    assert_eq!(
        problem(without, StatusCode::FORBIDDEN).await["code"],
        "csrf_token_invalid"
    );
    let forged = post_task(&app, &access, Some("AAAA"), None).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let foreign = post_task(&app, &access, Some(&csrf), Some("https://evil.example")).await;
    assert_eq!(
        problem(foreign, StatusCode::FORBIDDEN).await["code"],
        "origin_not_allowed"
    );
    let created = post_task(&app, &access, Some(&csrf), Some(&origin)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    // A WebSocket upgrade with cookies must name this server as its origin.
    let upgrade = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", &access)
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(upgrade, StatusCode::FORBIDDEN).await["code"],
        "origin_not_allowed"
    );

    // Refreshing with the cookie needs the CSRF header and answers with new cookies.
    let refresh_path = "/api/v1/auth/refresh";
    let without = with_cookies(
        &app,
        Method::POST,
        refresh_path,
        &refresh_cookie,
        None,
        None,
        None,
    )
    .await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let refreshed = with_cookies(
        &app,
        Method::POST,
        refresh_path,
        &refresh_cookie,
        Some(&csrf),
        Some(&origin),
        None,
    )
    .await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let renewed = set_cookies(refreshed.headers());
    assert_ne!(
        cookie_value(&renewed, "tickler_refresh"),
        cookie_value(&cookies, "tickler_refresh")
    );
    assert_eq!(cookie_value(&renewed, "tickler_csrf"), csrf);
    let access = format!(
        "tickler_access={}",
        cookie_value(&renewed, "tickler_access")
    );

    // Logging out clears the cookies and ends the session.
    let both = format!(
        "{access}; tickler_refresh={}",
        cookie_value(&renewed, "tickler_refresh")
    );
    let logout = with_cookies(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        &both,
        Some(&csrf),
        None,
        None,
    )
    .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let cleared = set_cookies(logout.headers());
    assert_eq!(cleared.len(), 3);
    assert!(cleared.iter().all(|(_, text)| text.contains("Max-Age=0")));
    let me = with_cookies(&app, Method::GET, "/api/v1/me", &access, None, None, None).await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    // A page served over TLS (here: a proxy's https Origin) gets Secure cookies.
    let secure = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://tasks.example.org")
        .header("x-forwarded-host", "tasks.example.org")
        .json(&login_body)
        .send()
        .await
        .unwrap();
    assert_eq!(secure.status(), StatusCode::OK);
    assert!(
        set_cookies(secure.headers())
            .iter()
            .all(|(_, text)| text.contains("; Secure"))
    );
}
