//! The web app's page and assets as served (the browser tests drive the app itself).

use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_is_served_with_a_strict_policy_and_versioned_gzipped_assets() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else {
        return;
    };
    for path in ["/", "/today", "/settings", "/signup"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(policy.contains("default-src 'none'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let page = response.text().await.unwrap();
        assert!(page.contains(&format!("/assets/{}/main.js", tickler_web::VERSION)));
    }
    let script = app
        .client
        .get(app.url(&format!("/assets/{}/main.js", tickler_web::VERSION)))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert_eq!(script.headers()["content-encoding"], "gzip");
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(
        script.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let stale = app
        .client
        .get(app.url("/assets/000000000000/main.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_web_app_only_the_api_answers() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |config| config.web.enabled = false).await
    else {
        return;
    };
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let health = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
