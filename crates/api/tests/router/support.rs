//! The harness: the complete router (every middleware) over a real SQLite store in a temporary
//! directory, driven with `tower::ServiceExt::oneshot`, no socket.

use std::sync::Arc;

use axum::body::Body;
use http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use tickler_api::{ApiExtensions, ApiSettings};
use tickler_app::{App, AppSettings, SystemClock};
use tickler_protocol::problem::{PROBLEM_JSON, Problem};
use tickler_store_sqlite::{SqliteConfig, SqliteStore};
use tower::ServiceExt;

/// The password of every test account.
pub const PASSWORD: &str = "correct horse battery";

/// A router over its own database.
pub struct TestRouter {
    router: axum::Router,
    _directory: tempfile::TempDir,
}

/// An answer read to its end.
pub struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.body))
    }

    /// Asserts that this is a problem document (RFC 9457) for `status` with `code`, consistent
    /// in itself and with the headers, and returns it.
    pub fn problem(&self, status: StatusCode, code: &str) -> Problem {
        assert_eq!(
            self.status,
            status,
            "status; body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE),
            Some(&HeaderValue::from_static(PROBLEM_JSON)),
            "content type of a {status}"
        );
        let problem: Problem = serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not a problem document ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        });
        assert_eq!(problem.code, code, "{problem:?}");
        assert_eq!(problem.status, status.as_u16(), "{problem:?}");
        assert_eq!(problem.problem_type, format!("/problems/{code}"));
        assert_eq!(Some(problem.title.as_str()), status.canonical_reason());
        assert!(
            problem
                .detail
                .as_deref()
                .is_some_and(|detail| !detail.is_empty()),
            "a problem says what went wrong: {problem:?}"
        );
        // The request id is in the document and in the header, the same.
        let request_id = self
            .headers
            .get("x-request-id")
            .and_then(|value| value.to_str().ok());
        assert!(request_id.is_some(), "x-request-id on a {status}");
        assert_eq!(problem.request_id.as_deref(), request_id);
        problem
    }
}

impl TestRouter {
    /// A router with default settings.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// A router whose use cases have adjusted settings.
    pub async fn with(adjust: impl FnOnce(&mut AppSettings)) -> Self {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(SqliteConfig::new(directory.path().join("tickler.db")))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let mut settings = AppSettings::default();
        adjust(&mut settings);
        let app = App::new(Arc::new(store), Arc::new(SystemClock), settings, &[7; 32]);
        let router = tickler_api::router(
            Arc::new(app),
            &ApiSettings::default(),
            ApiExtensions::default(),
        );
        Self {
            router,
            _directory: directory,
        }
    }

    /// Sends one request through the whole router and reads the answer.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// Sends a JSON body as `token`.
    pub async fn send_json(&self, token: &str, method: Method, path: &str, body: &Value) -> Answer {
        self.send(
            authorized(token, method, path)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Sends a request without a body as `token`.
    pub async fn send_empty(&self, token: &str, method: Method, path: &str) -> Answer {
        self.send(authorized(token, method, path).body(Body::empty()).unwrap())
            .await
    }

    /// Sends a request without credentials, with a JSON body when given.
    pub async fn send_anonymous(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let request = Request::builder().method(method).uri(path);
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        };
        self.send(request.unwrap()).await
    }

    /// Registers an account and returns its access token.
    pub async fn register(&self, email: &str) -> String {
        let answer = self
            .send_anonymous(
                Method::POST,
                "/api/v1/auth/register",
                Some(&json!({"email": email, "password": PASSWORD, "timezone": "UTC"})),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a task as `token` and returns its id.
    pub async fn create_task(&self, token: &str, title: &str) -> String {
        let answer = self
            .send_json(
                token,
                Method::POST,
                "/api/v1/tasks",
                &json!({"title": title}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        answer.json()["id"].as_str().unwrap().to_owned()
    }
}

/// A request builder carrying `Authorization: Bearer <token>`.
pub fn authorized(token: &str, method: Method, path: &str) -> http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
}
