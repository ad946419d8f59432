//! Real `tickler` processes (and a real Kafka-protocol broker) for tests that kill things.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

/// A `tickler serve` child process.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
}

impl ServerProcess {
    /// Starts `tickler serve` on a free port with extra arguments and environment, and waits
    /// for the line announcing its URL. Its log lines go through the secrets scan
    /// (`crate::scan`), and are printed with `TEST_LOG`.
    pub fn start(data_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        crate::helpers::init();
        for (name, value) in env {
            if name.contains("SECRET") || name.contains("PASSWORD") {
                crate::scan::know(name, value);
            }
        }
        if let Some(at) = args.iter().position(|arg| *arg == "--database-url") {
            crate::scan::know_url_password(args[at + 1]);
        }
        let mut server = Self::start_logging(data_dir, args, env, Stdio::piped());
        let stderr = server.child.stderr.take().unwrap();
        let print = std::env::var_os("TEST_LOG").is_some();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                crate::scan::scan_log_line(&line);
                if print {
                    eprintln!("{line}");
                }
            }
        });
        if let Ok(generated) =
            std::fs::read_to_string(data_dir.join(tickler_cli::secret::SECRET_FILE))
        {
            crate::scan::know("the generated JWT signing key", generated.trim());
        }
        server
    }

    /// Starts like [`ServerProcess::start`], its log lines going to `logs`.
    pub fn start_logging(
        data_dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        logs: Stdio,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tickler"));
        command
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env_remove("TICKLER_DATABASE_URL")
            .env("TICKLER_LOG__LEVEL", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(logs);
        let mut child = command.spawn().expect("the tickler binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("tickler listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, base }
    }

    /// SIGKILL: no graceful shutdown, no flush.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        crate::scan::assert_clean();
    }
}

/// Opens, beside a running server, the store that `tickler serve --data-dir DATA_DIR ARGS`
/// uses (as `tickler dlq` does), for checks the API does not expose.
pub async fn open_store(data_dir: &Path, args: &[&str]) -> tickler_cli::storage::OpenStore {
    let mut config = tickler_cli::config::Config::defaults().unwrap();
    config.data_dir = data_dir.to_path_buf();
    if let Some(at) = args.iter().position(|arg| *arg == "--database-url") {
        config.database_url = args[at + 1].to_owned().into();
    }
    tickler_cli::storage::open(&config).await.unwrap()
}

/// Registers `email` and returns its access token.
pub async fn register(base: &str, email: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Logs in and returns a fresh access token.
pub async fn login(base: &str, email: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Reads every page of a listing endpoint that returns `{items, next_cursor}`.
pub async fn all_pages(base: &str, token: &str, path: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{base}{path}");
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// A tansu broker with the memory engine, on a port of its own.
pub struct Broker {
    child: Option<Child>,
    /// Where clients connect (and what the broker advertises).
    pub address: String,
    /// Where the broker itself listens: `address` unless it stands behind a [`Link`].
    listen: String,
    link: Option<Link>,
}

impl Broker {
    /// Starts a private broker; `None` (with a notice) when `TICKLER_TANSU_BIN` is not set.
    pub async fn start() -> Option<Self> {
        let address = free_address();
        Self::launch(address.clone(), address, None).await
    }

    /// Starts a private broker that clients reach through a [`Link`], so that a test can cut
    /// them all off and bring them back while the broker keeps its topics, records and group
    /// offsets, as a real Kafka cluster does across a network outage.
    pub async fn start_behind_link() -> Option<Self> {
        let address = free_address();
        let listen = free_address();
        let link = Link::open(&address, &listen).await;
        Self::launch(address, listen, Some(link)).await
    }

    async fn launch(address: String, listen: String, link: Option<Link>) -> Option<Self> {
        let Some(binary) = std::env::var_os("TICKLER_TANSU_BIN") else {
            assert!(
                std::env::var("TICKLER_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "TICKLER_TANSU_BIN is not set but TICKLER_REQUIRE_SERVICES=1"
            );
            eprintln!("skipped: set TICKLER_TANSU_BIN to run the broker tests");
            return None;
        };
        let mut broker = Self {
            child: None,
            address,
            listen,
            link,
        };
        broker.spawn(&binary).await;
        broker.warm_up().await;
        Some(broker)
    }

    async fn spawn(&mut self, binary: &std::ffi::OsStr) {
        let child = Command::new(binary)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{}", self.listen),
                "--advertised-listener-url",
                &format!("tcp://{}", self.address),
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tansu starts");
        self.child = Some(child);
        for _ in 0..300 {
            if std::net::TcpStream::connect(&self.listen).is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("tansu did not listen on {}", self.listen);
    }

    /// Runs one consumer group through a fresh broker before tickler meets it. On a tansu that
    /// never hosted a group, librdkafka's first group join received a metadata answer naming
    /// no topic and crashed on it (a defect of the broker and the client, not tickler's); the
    /// test command's smoke test does the same for its shared broker.
    async fn warm_up(&self) {
        let Some(python) = std::env::var_os("TICKLER_TEST_PYTHON") else {
            return;
        };
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/lib/kafka-smoke.py"
        );
        let status = tokio::process::Command::new(python)
            .arg(script)
            .arg(&self.address)
            .status()
            .await
            .unwrap();
        assert!(status.success(), "the broker failed its smoke test");
    }

    /// Cuts every client off the broker (open connections reset, new ones refused); the
    /// broker keeps running. Only for a broker started with [`Broker::start_behind_link`].
    pub fn cut(&self) {
        self.link.as_ref().expect("a broker behind a link").cut();
    }

    /// Lets clients reach the broker again after [`Broker::cut`].
    pub async fn restore(&self) {
        self.link
            .as_ref()
            .expect("a broker behind a link")
            .restore()
            .await;
    }

    /// Kills the broker; the memory engine forgets every topic and record.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        if let Some(link) = &self.link {
            link.cut();
        }
    }
}

fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A TCP relay from `front` to `back` that a test can cut and restore: the network between
/// tickler and its broker, with the outage made by the harness.
struct Link {
    front: String,
    back: String,
    tasks: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Link {
    async fn open(front: &str, back: &str) -> Self {
        let link = Self {
            front: front.to_owned(),
            back: back.to_owned(),
            tasks: std::sync::Arc::default(),
        };
        link.restore().await;
        link
    }

    async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(&self.front).await.unwrap();
        let back = self.back.clone();
        let tasks = self.tasks.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let back = back.clone();
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&back).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().unwrap().push(relay.abort_handle());
            }
        });
        self.tasks.lock().unwrap().push(acceptor.abort_handle());
    }

    fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Writes a configuration file that puts a process on the Kafka bus, with topics and consumer
/// groups private to one test, and returns its path. The test profile sets
/// `batch.num.messages=1`: tansu's memory engine mis-reports offsets inside multi-record batches
/// (a defect of that broker, worked around in tests, not in the product).
pub fn kafka_config(dir: &Path, brokers: &str, prefix: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{prefix}.toml"));
    let text = format!(
        r#"[bus]
kind = "kafka"
kafka_brokers = "{brokers}"
consumer_group_prefix = "{prefix}"
poll_interval_ms = 50

[bus.topics]
task_events = "{prefix}-task-events"
reminders = "{prefix}-reminders"
task_updates = "{prefix}-task-updates"
audit_events = "{prefix}-audit-events"

[bus.kafka_options]
"batch.num.messages" = "1"
"#
    );
    std::fs::write(&path, text).unwrap();
    path
}
