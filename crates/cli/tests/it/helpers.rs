//! The test harness: a server started exactly as `tickler serve` starts it, and a client.

use std::sync::Once;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tickler_cli::config::Config;
use tickler_cli::serve::RunningServer;
use tickler_store_postgres::testing::TestDatabase;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one test per backend from an `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await;
                }
            )+
        }
    };
}

/// A running server and an HTTP client for it. `base` is the server's address behind the
/// secrets scan's relay (`crate::scan`), so that every response is scanned.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub _server: RunningServer,
    _data_dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
    _relay: crate::scan::Relay,
    _scan: ScanGuard,
}

/// Fails the test, when its server goes away, if the secrets scan found anything.
pub struct ScanGuard;

impl Drop for ScanGuard {
    fn drop(&mut self) {
        crate::scan::assert_clean();
    }
}

/// A registered user and their access token.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub token: String,
}

static CRYPTO: Once = Once::new();

/// Installs the TLS provider reqwest needs and the log subscriber: every log line of the
/// in-process servers goes through the secrets scan (`crate::scan`), and is printed with
/// `TEST_LOG`. The harness's own test password is a secret from the start.
pub fn init() {
    CRYPTO.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let print = std::env::var_os("TEST_LOG").is_some();
        let filter = if print {
            "info"
        } else {
            "info,tickler_api=debug,tickler_app=debug,tickler_cli=debug,tickler_store=debug,tickler_store_postgres=debug,tickler_store_sqlite=debug,tickler_workers=debug"
        };
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(crate::scan::ScanWriter { print })
            .try_init();
        crate::scan::know("the test users' password", "correct horse battery");
    });
}

impl TestApp {
    /// Starts a server on `backend` with default settings; `None` (after a notice) when the
    /// backend is not available in this environment.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server with adjusted settings.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        init();
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults().unwrap();
        config.data_dir = data_dir.path().to_path_buf();
        config.listen = "127.0.0.1:0".parse().unwrap();
        // Tests register many accounts from one address; the throttle has tests of its own.
        config.auth.registrations_per_network = 0;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let base_url = TestDatabase::base_url_from_env()?;
                let database = TestDatabase::create(&base_url).await.unwrap();
                config.database_url = database.url().to_owned().into();
                Some(database)
            }
        };
        adjust(&mut config);
        know_configured_secrets(&config);
        let server = tickler_cli::serve::start(config).await.unwrap();
        if let Ok(generated) =
            std::fs::read_to_string(data_dir.path().join(tickler_cli::secret::SECRET_FILE))
        {
            crate::scan::know("the generated JWT signing key", generated.trim());
        }
        let relay = crate::scan::Relay::start(server.address).await;
        let base = format!("http://{}", relay.address);
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            _server: server,
            _data_dir: data_dir,
            _database: database,
            _relay: relay,
            _scan: ScanGuard,
        })
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// The server's store, for checks the API does not expose (the outbox).
    pub fn store(&self) -> std::sync::Arc<dyn tickler_store::Store> {
        self._server.store.as_store()
    }

    /// The URL of this test's PostgreSQL database, to start another server on it.
    pub fn database_url(&self) -> Option<String> {
        self._database
            .as_ref()
            .map(|database| database.url().to_owned())
    }

    /// Runs `tickler admin ARGS` as a real process on this server's database (its data
    /// directory, or its PostgreSQL database), as an operator would.
    pub fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tickler"));
        for (name, _) in std::env::vars() {
            if name.starts_with("TICKLER_") {
                command.env_remove(name);
            }
        }
        command
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .env("TICKLER_LOG__LEVEL", "warn");
        if let Some(url) = self.database_url() {
            command.arg("--database-url").arg(url);
        }
        command.output().expect("the tickler binary runs")
    }

    /// Grants `email` operator rights with `tickler admin grant` (a real process). A server
    /// that verified the account's token in the last few seconds may still have it cached
    /// without them.
    pub async fn grant_operator(&self, email: &str) {
        let output = self.admin(&["grant", email]);
        assert!(
            output.status.success(),
            "tickler admin grant failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The typed client (`tickler-client`) acting as `user`, through the secrets scan's relay
    /// like every other request.
    pub fn client_of(&self, user: &TestUser) -> tickler_client::Client {
        tickler_client::Client::new(&self.base, &user.token).unwrap()
    }

    /// A request with the user's bearer token.
    pub fn request(&self, user: &TestUser, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&user.token)
    }

    pub async fn get(&self, user: &TestUser, path: &str) -> Response {
        self.request(user, Method::GET, path).send().await.unwrap()
    }

    pub async fn post(&self, user: &TestUser, path: &str, body: &Value) -> Response {
        self.request(user, Method::POST, path)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, user: &TestUser, path: &str, body: &Value) -> Response {
        self.request(user, Method::PATCH, path)
            .header("content-type", "application/merge-patch+json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, user: &TestUser, path: &str) -> Response {
        self.request(user, Method::DELETE, path)
            .send()
            .await
            .unwrap()
    }

    /// Signs in with a password and returns the session body.
    pub async fn login_with(&self, email: &str, password: &str) -> Value {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Reads the Prometheus text of `/metrics`.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Registers a user (time zone UTC unless given) and returns it with its token.
    pub async fn register(&self, email: &str) -> TestUser {
        self.register_in(email, "UTC").await
    }

    pub async fn register_in(&self, email: &str, timezone: &str) -> TestUser {
        let response = self
            .client
            .post(self.url("/api/v1/auth/register"))
            .json(
                &json!({"email": email, "password": "correct horse battery", "timezone": timezone}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "registering {email}"
        );
        let body: Value = response.json().await.unwrap();
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a task and returns its JSON.
    pub async fn create_task(&self, user: &TestUser, body: Value) -> Value {
        let response = self.post(user, "/api/v1/tasks", &body).await;
        let status = response.status();
        let json: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "creating {body}: {json}");
        json
    }
}

/// Tells the secrets scan the secrets of a configuration.
fn know_configured_secrets(config: &Config) {
    use secrecy::ExposeSecret;
    crate::scan::know(
        "the JWT signing key",
        config.auth.jwt_secret.expose_secret(),
    );
    for previous in &config.auth.previous_jwt_secrets {
        crate::scan::know("a previous JWT signing key", previous.expose_secret());
    }
    crate::scan::know(
        "the SMTP password",
        config.notifier.smtp_password.expose_secret(),
    );
    crate::scan::know_url_password(config.database_url.expose_secret());
}

/// Reads a problem response: asserts the status and media type, returns the body.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "body: {body}");
    assert_eq!(content_type, "application/problem+json", "body: {body}");
    assert_eq!(body["status"], json!(status.as_u16()));
    assert!(body["code"].is_string(), "problem without code: {body}");
    assert!(body["type"].is_string(), "problem without type: {body}");
    body
}

/// Returns the problem document of a refusal the typed client received, after checking that
/// the request was refused with `status`.
pub fn refused<T: std::fmt::Debug>(
    result: Result<T, tickler_client::ClientError>,
    status: StatusCode,
) -> tickler_protocol::problem::Problem {
    match result {
        Err(tickler_client::ClientError::Problem {
            status: actual,
            problem,
        }) => {
            assert_eq!(actual, status.as_u16(), "{problem:?}");
            assert_eq!(problem.status, actual, "{problem:?}");
            *problem
        }
        other => panic!("expected a {status} problem, got {other:?}"),
    }
}

/// Returns the fields named by a validation problem's errors.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Returns the ids of a page of tasks.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|task| task["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `probe` every 20 ms until it returns `Some`, for at most `seconds`.
pub async fn eventually<T, F, Fut>(seconds: u64, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached within {seconds} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits (up to ten seconds) until an event written through front door `origin` is readable in
/// the outbox; returns the origins of every readable event. PostgreSQL makes an outbox record
/// readable only once every older transaction on the server has ended, so it may lag a moment.
pub async fn outbox_origins_eventually(app: &TestApp, origin: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let records = app
            .store()
            .outbox_after(Default::default(), 1_000)
            .await
            .unwrap();
        let origins: Vec<String> = records
            .iter()
            .map(|record| {
                let event: Value = serde_json::from_str(&record.message.payload).unwrap();
                event["origin"].as_str().unwrap_or_default().to_owned()
            })
            .collect();
        if origins.iter().any(|o| o == origin) || std::time::Instant::now() > deadline {
            return origins;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits (up to twenty seconds) until the embedded consumer `consumer` has handled the outbox
/// record at `position` and every record before it: a barrier after which the absence of an
/// effect means the consumer decided against it, not that it has not got there yet.
pub async fn consumer_reached(
    app: &TestApp,
    consumer: &str,
    position: tickler_store::OutboxPosition,
) {
    store_consumer_reached(app.store().as_ref(), consumer, position).await;
}

/// [`consumer_reached`] on any store, for servers running in another process.
pub async fn store_consumer_reached(
    store: &dyn tickler_store::Store,
    consumer: &str,
    position: tickler_store::OutboxPosition,
) {
    eventually(20, || async {
        let reached = store.consumer_position(consumer).await.unwrap();
        (reached >= position).then_some(())
    })
    .await;
}

/// Waits until the embedded consumer `consumer` has handled every outbox record readable now.
/// On PostgreSQL a record becomes readable a moment after its commit (once older transactions
/// of the whole server have ended, see [`outbox_origins_eventually`]), so a record committed
/// just before the call may be left to after the barrier; callers that must cover one given
/// write wait for its record first and use [`consumer_reached`].
pub async fn consumer_caught_up(app: &TestApp, consumer: &str) {
    let head = app.store().outbox_head().await.unwrap();
    consumer_reached(app, consumer, head).await;
}

/// Waits (up to sixty seconds) until this process's consumer `consumer` has handled every
/// outbox record published to `topic` so far (as counted by `tickler_events_consumed_total`,
/// redeliveries included): the barrier for the Kafka bus, where positions live in the broker.
/// Call it after the records are readable; the relay publishes every record of the outbox.
pub async fn consumed_eventually(
    app: &TestApp,
    consumer: &str,
    topic: tickler_workers::topic::Topic,
) {
    let records = app
        .store()
        .outbox_after(Default::default(), 100_000)
        .await
        .unwrap();
    let expected = records
        .iter()
        .filter(|record| {
            tickler_workers::topic::Topic::routes(&record.message.event_type).contains(&topic)
        })
        .count() as f64;
    let label = format!("consumer=\"{consumer}\"");
    eventually(60, || async {
        let metrics = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let consumed: f64 = metrics
            .lines()
            .filter(|line| {
                line.starts_with("tickler_events_consumed_total{") && line.contains(&label)
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        (consumed >= expected).then_some(())
    })
    .await;
}

/// The value of a variable naming a tool or service the test command provides (`promtool`,
/// the Python peers...), or `None` after a notice; a failure under `TICKLER_REQUIRE_SERVICES=1`.
pub fn provided(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "{variable} is not set but TICKLER_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: {variable} is not set (scripts/test sets it)");
            None
        }
    }
}

/// Checks a calendar with independent iCalendar libraries (`tests/ical_feed.py`, Python's
/// `icalendar` and `recurring_ical_events`) against the tasks it must hold (`expected`:
/// `{"tasks": [...], "absent": [...]}`); panics with every failed check.
pub async fn check_calendar_independently(python: String, calendar: &str, expected: Value) {
    let directory = tempfile::tempdir().unwrap();
    let calendar_path = directory.path().join("calendar.ics");
    let expected_path = directory.path().join("expected.json");
    std::fs::write(&calendar_path, calendar).unwrap();
    std::fs::write(&expected_path, expected.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ical_feed.py");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .arg(&calendar_path)
            .arg(&expected_path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "the calendar failed the independent checks:\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        calendar
    );
}
