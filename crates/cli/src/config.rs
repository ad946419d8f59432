//! Configuration: embedded defaults, an optional TOML file, `TICKLER_*` environment variables
//! and flags, validated once at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use tickler_app::RegistrationPolicy;

/// The defaults, with a comment on every setting.
pub const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The effective configuration.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Config {
    /// Local state directory.
    pub data_dir: PathBuf,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Database URL; empty for SQLite in `data_dir`.
    #[serde(serialize_with = "redact_url")]
    pub database_url: SecretString,
    /// Database settings.
    pub database: DatabaseConfig,
    /// Authentication settings.
    pub auth: AuthConfig,
    /// HTTP settings.
    pub http: HttpConfig,
    /// How the server sees its clients.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
    /// Event envelopes.
    pub events: EventsConfig,
    /// The services this process runs.
    pub roles: Roles,
    /// The event transport.
    pub bus: BusConfig,
    /// Consumer retries.
    pub consumers: ConsumersConfig,
    /// The MCP endpoint.
    pub mcp: McpConfig,
    /// The chat assistant's optional language model.
    pub llm: LlmConfig,
    /// Notifications: delivery, retries, SMTP, the webhook guard.
    pub notifier: NotifierConfig,
    /// The reminder scheduler.
    pub reminders: RemindersConfig,
    /// The live stream (role `realtime`).
    pub realtime: RealtimeConfig,
    /// The web app.
    pub web: WebConfig,
    /// Where `/metrics` is served.
    pub metrics: MetricsConfig,
    /// Where the database URL and the signing key come from.
    pub secrets: SecretsConfig,
    /// Trace export over OTLP.
    pub tracing: TracingConfig,
}

/// `[tracing]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct TracingConfig {
    /// OTLP/HTTP base URL (`/v1/traces` is appended); empty: the `OTEL_EXPORTER_OTLP_*`
    /// variables, or no export.
    pub otlp_endpoint: String,
    /// Fraction of new traces sampled; traces begun elsewhere follow their parent's decision.
    pub sampling_ratio: f64,
    /// `service.name` of exported spans; empty: `OTEL_SERVICE_NAME`, or `tickler`.
    pub service_name: String,
}

/// `[metrics]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct MetricsConfig {
    /// A separate address for `/metrics`; empty: served on `listen`.
    pub listen: String,
}

impl MetricsConfig {
    /// Returns the separate metrics address, if one is configured.
    pub fn address(&self) -> anyhow::Result<Option<SocketAddr>> {
        let text = self.listen.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).with_context(|| {
            format!("metrics.listen: {text:?} is not an address like 0.0.0.0:9090")
        })
    }
}

/// `[secrets]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SecretsConfig {
    /// `config` (the settings themselves) or `dapr` (Dapr's secret store building block).
    pub provider: SecretsProvider,
    /// The Dapr secret store component.
    pub dapr_store: String,
    /// The secret holding both keys (Kubernetes' store: a Secret's name); empty: each key is
    /// a secret of its own name.
    pub dapr_secret_name: String,
    /// The key holding the database URL.
    pub database_url_key: String,
    /// The key holding the signing key.
    pub jwt_secret_key: String,
}

/// Where secrets come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretsProvider {
    /// `database_url` and `auth.jwt_secret` as configured.
    Config,
    /// Read through the Dapr sidecar's secrets API at start.
    Dapr,
}

/// A service a process can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The HTTP API.
    Api,
    /// The outbox relay.
    Relay,
    /// The audit consumer.
    Audit,
    /// Notifications: the notifier consumer and the delivery worker.
    Notifier,
    /// Recurring tasks: the consumer that creates the next instance of a completed one.
    Recurring,
    /// The reminder scheduler: fires scheduled reminders at their time.
    Reminders,
    /// The live stream: `GET /api/v1/live` (WebSocket) and its tickets.
    Realtime,
}

impl Role {
    /// Every role this build has, which `all` stands for.
    pub const ALL: [Role; 7] = [
        Role::Api,
        Role::Relay,
        Role::Audit,
        Role::Notifier,
        Role::Recurring,
        Role::Reminders,
        Role::Realtime,
    ];

    /// Returns whether the role consumes events from the bus.
    pub fn consumes_events(&self) -> bool {
        matches!(self, Role::Audit | Role::Notifier | Role::Recurring)
    }

    /// Returns the role's name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Api => "api",
            Role::Relay => "relay",
            Role::Audit => "audit",
            Role::Notifier => "notifier",
            Role::Recurring => "recurring",
            Role::Reminders => "reminders",
            Role::Realtime => "realtime",
        }
    }
}

/// The roles of a process: written as a list or as a comma-separated string, `all` for every
/// role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "Vec<String>")]
pub struct Roles(Vec<Role>);

impl Roles {
    /// Returns whether `role` is among them.
    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// Returns whether any of them consumes events from the bus.
    pub fn has_consumers(&self) -> bool {
        self.0.iter().any(Role::consumes_events)
    }

    /// Returns the roles, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    /// Parses role names.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut roles = Vec::new();
        for name in names
            .iter()
            .flat_map(|name| name.as_ref().split(','))
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let parsed: Vec<Role> = match name {
                "all" => Role::ALL.to_vec(),
                "api" => vec![Role::Api],
                "relay" => vec![Role::Relay],
                "audit" => vec![Role::Audit],
                "notifier" => vec![Role::Notifier],
                "recurring" => vec![Role::Recurring],
                "reminders" => vec![Role::Reminders],
                "realtime" => vec![Role::Realtime],
                other => {
                    return Err(format!(
                        "unknown role {other:?}; use all, api, relay, audit, notifier, recurring, reminders or realtime"
                    ));
                }
            };
            for role in parsed {
                if !roles.contains(&role) {
                    roles.push(role);
                }
            }
        }
        if roles.is_empty() {
            return Err("no role given".to_owned());
        }
        Ok(Self(roles))
    }
}

impl From<Roles> for Vec<String> {
    fn from(roles: Roles) -> Self {
        roles
            .0
            .iter()
            .map(|role| role.as_str().to_owned())
            .collect()
    }
}

impl<'de> Deserialize<'de> for Roles {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        let names = match Raw::deserialize(deserializer)? {
            Raw::One(text) => vec![text],
            Raw::Many(list) => list,
        };
        Roles::parse(&names).map_err(serde::de::Error::custom)
    }
}

/// `[bus]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BusConfig {
    /// The transport.
    pub kind: BusKind,
    /// Kafka bootstrap servers.
    pub kafka_brokers: String,
    /// Whether to create topics.
    pub create_topics: bool,
    /// Partitions of created topics.
    pub topic_partitions: i32,
    /// Replication factor of created topics.
    pub replication_factor: i32,
    /// Consumer group prefix.
    pub consumer_group_prefix: String,
    /// Dapr sidecar HTTP port.
    pub dapr_http_port: u16,
    /// Dapr pub/sub component.
    pub dapr_pubsub: String,
    /// The token the sidecar sends in `dapr-api-token` (Dapr's `APP_API_TOKEN`).
    #[serde(serialize_with = "redact")]
    pub dapr_app_token: SecretString,
    /// The token this process sends to the sidecar (Dapr's `DAPR_API_TOKEN`).
    #[serde(serialize_with = "redact")]
    pub dapr_api_token: SecretString,
    /// Idle polling interval.
    pub poll_interval_ms: u64,
    /// Relay batch size.
    pub relay_batch: u32,
    /// Outbox retention.
    pub outbox_retention_hours: u64,
    /// Topic names.
    pub topics: tickler_workers::topic::TopicNames,
    /// Extra librdkafka settings.
    #[serde(default)]
    pub kafka_options: std::collections::BTreeMap<String, String>,
}

impl BusConfig {
    /// The Dapr sidecar's base URL.
    pub fn dapr_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.dapr_http_port)
    }

    /// Takes the Dapr tokens from Dapr's own variables (`APP_API_TOKEN`, `DAPR_API_TOKEN`)
    /// when the configuration leaves them empty.
    pub fn adopt_dapr_tokens(&mut self, variable: impl Fn(&str) -> Option<String>) {
        for (token, name) in [
            (&mut self.dapr_app_token, "APP_API_TOKEN"),
            (&mut self.dapr_api_token, "DAPR_API_TOKEN"),
        ] {
            if token.expose_secret().is_empty()
                && let Some(value) = variable(name).filter(|value| !value.is_empty())
            {
                *token = SecretString::from(value);
            }
        }
    }
}

/// The event transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    /// Consumers read the outbox in the database.
    Embedded,
    /// Kafka.
    Kafka,
    /// A Dapr sidecar.
    Dapr,
}

/// `[consumers]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ConsumersConfig {
    /// Attempts before dead-lettering.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff_base_ms: u64,
    /// Longest retry delay.
    pub backoff_max_ms: u64,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseConfig {
    /// SQLite durability.
    pub sync: SyncMode,
    /// Pool size.
    pub max_connections: u32,
    /// Apply pending migrations at start; when false, wait until the schema is current.
    pub migrate_on_start: bool,
}

/// SQLite `synchronous` mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Survives power loss.
    Full,
    /// Survives process crashes only.
    Normal,
}

/// `[auth]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AuthConfig {
    /// Signing key; empty means generated into the data directory.
    #[serde(serialize_with = "redact")]
    pub jwt_secret: SecretString,
    /// Signing keys `jwt_secret` replaced, newest first: still accepted, never used to sign.
    #[serde(
        deserialize_with = "secret_list",
        serialize_with = "redact_list",
        default
    )]
    pub previous_jwt_secrets: Vec<SecretString>,
    /// Registration policy.
    pub registration: RegistrationPolicy,
    /// Access token lifetime.
    pub access_token_ttl_seconds: u64,
    /// Refresh token lifetime (each refresh starts a new one).
    pub refresh_token_ttl_seconds: u64,
    /// How long after its use a refresh token is superseded rather than reused.
    pub refresh_reuse_grace_seconds: u64,
    /// Login guesses an account allows in a burst; one comes back every 15 minutes divided
    /// by this number.
    pub login_failures_per_account: u32,
    /// Login attempts per client network (IPv4 address, IPv6 /64) per minute.
    pub login_attempts_per_address: u32,
    /// Accounts one client network may create per hour (0: no limit).
    pub registrations_per_network: u32,
    /// Password hashes computed at once (0: one per core).
    pub password_hash_concurrency: usize,
    /// How long a request waits for a hashing slot before a 503, in milliseconds.
    pub password_hash_queue_ms: u64,
    /// Ids of operator accounts, besides those granted with `tickler admin grant`.
    #[serde(deserialize_with = "string_or_list")]
    pub admin_user_ids: Vec<String>,
    /// A removed setting (operators by e-mail address, which anyone could register first),
    /// read only to refuse to start while it is set.
    #[serde(default, deserialize_with = "string_or_list", skip_serializing)]
    pub admin_emails: Vec<String>,
}

impl AuthConfig {
    /// Returns the operator ids of `auth.admin_user_ids`, parsed.
    pub fn admin_user_ids(&self) -> anyhow::Result<Vec<tickler_domain::UserId>> {
        self.admin_user_ids
            .iter()
            .map(|raw| {
                raw.parse().map_err(|_| {
                    anyhow::anyhow!("auth.admin_user_ids: {raw:?} is not a user id (a UUID)")
                })
            })
            .collect()
    }
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ServerConfig {
    /// Networks (CIDR or single addresses) of reverse proxies whose `Forwarded` /
    /// `X-Forwarded-For` headers name the client; empty: the socket peer is the client.
    #[serde(deserialize_with = "string_or_list")]
    pub trusted_proxies: Vec<String>,
}

impl ServerConfig {
    /// Returns the trusted proxies, parsed.
    pub fn trusted_proxies(&self) -> anyhow::Result<tickler_api::client_address::TrustedProxies> {
        tickler_api::client_address::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|error| anyhow::anyhow!("server.trusted_proxies: {error}"))
    }
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct HttpConfig {
    /// Request timeout.
    pub request_timeout_seconds: u64,
    /// Graceful shutdown deadline.
    pub shutdown_grace_seconds: u64,
    /// The server's public address (absolute calendar feed URLs); empty when unknown.
    pub public_url: String,
    /// How long the response to an `Idempotency-Key` is remembered (`24h`).
    pub idempotency_retention: String,
}

impl HttpConfig {
    /// Returns the idempotency retention.
    pub fn idempotency_retention(&self) -> anyhow::Result<Duration> {
        parse_duration(&self.idempotency_retention).with_context(|| {
            format!(
                "http.idempotency_retention: {:?} is not a duration like 30s, 24h or 2d",
                self.idempotency_retention
            )
        })
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LogConfig {
    /// `json` or `pretty`.
    pub format: LogFormat,
    /// Tracing filter.
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// `[events]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventsConfig {
    /// CloudEvents source.
    pub source: String,
}

/// `[web]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct WebConfig {
    /// Whether the `api` role serves the web app at `/`.
    pub enabled: bool,
}

/// `[mcp]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct McpConfig {
    /// Host names accepted in the `Host` header of `/mcp` requests.
    #[serde(deserialize_with = "string_or_list")]
    pub allowed_hosts: Vec<String>,
}

/// `[llm]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct LlmConfig {
    /// Base URL of an OpenAI-compatible endpoint; empty disables the model.
    pub url: String,
    /// Model name.
    pub model: String,
    /// Bearer key, if the endpoint needs one.
    #[serde(serialize_with = "redact")]
    pub api_key: SecretString,
    /// How long one completion may take.
    pub timeout_seconds: u64,
}

/// `[realtime]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RealtimeConfig {
    /// How often each connection is pinged, in milliseconds.
    pub ping_interval_ms: u64,
    /// A connection not heard from (no pong) for this long is closed, in milliseconds.
    pub pong_timeout_ms: u64,
    /// Events queued per connection; a client further behind is reset.
    pub client_queue: usize,
    /// Longest wait between looks at the outbox log without a wake-up, in milliseconds.
    pub poll_interval_ms: u64,
    /// Outbox records read per batch.
    pub batch: u32,
}

impl RealtimeConfig {
    /// Returns the hub's settings.
    pub fn settings(&self) -> tickler_api::live::LiveSettings {
        tickler_api::live::LiveSettings {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            pong_timeout: Duration::from_millis(self.pong_timeout_ms),
            client_queue: self.client_queue,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            batch: self.batch,
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.ping_interval_ms == 0
            || self.pong_timeout_ms == 0
            || self.client_queue == 0
            || self.poll_interval_ms == 0
            || self.batch == 0
        {
            bail!(
                "realtime.ping_interval_ms, pong_timeout_ms, client_queue, poll_interval_ms and batch must be positive"
            );
        }
        Ok(())
    }
}

/// `[reminders]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RemindersConfig {
    /// Reminders found later than this (`30s`, `24h`) are recorded missed instead of sent.
    pub missed_after: String,
    /// Longest sleep between looks at the schedule, in milliseconds.
    pub max_sleep_ms: u64,
    /// Reminders fired per transaction.
    pub batch: u32,
}

impl RemindersConfig {
    /// Returns the catch-up horizon.
    pub fn missed_after(&self) -> anyhow::Result<Duration> {
        parse_duration(&self.missed_after).with_context(|| {
            format!(
                "reminders.missed_after: {:?} is not a duration like 30s, 24h or 2d",
                self.missed_after
            )
        })
    }

    fn validate(&self) -> anyhow::Result<()> {
        self.missed_after()?;
        if self.max_sleep_ms == 0 || self.batch == 0 {
            bail!("reminders.max_sleep_ms and reminders.batch must be positive");
        }
        Ok(())
    }
}

/// `[notifier]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NotifierConfig {
    /// Deliveries in flight at most.
    pub concurrency: usize,
    /// Deliveries of one channel in flight at most.
    pub per_channel_concurrency: usize,
    /// Delays between attempts (`250ms`, `5s`, `5m`, `2h`, `1d`).
    #[serde(deserialize_with = "string_or_list")]
    pub retry_schedule: Vec<String>,
    /// Spread of each delay, as a fraction.
    pub retry_jitter: f64,
    /// Longest `Retry-After` honoured.
    pub max_retry_after_seconds: u64,
    /// How long a claim on a delivery holds.
    pub lease_seconds: u64,
    /// Idle polling interval.
    pub poll_interval_ms: u64,
    /// Most channels per user.
    pub max_channels_per_user: u32,
    /// How long a rotated-out webhook secret keeps signing.
    pub secret_rotation_overlap_hours: u64,
    /// Hosts and networks webhooks may reach although not public.
    #[serde(deserialize_with = "string_or_list")]
    pub webhook_allow_hosts: Vec<String>,
    /// Webhook connect timeout.
    pub webhook_connect_timeout_ms: u64,
    /// Webhook exchange timeout.
    pub webhook_timeout_ms: u64,
    /// Most bytes of a webhook answer read.
    pub webhook_max_response_bytes: usize,
    /// `smtp://HOST:PORT` or `smtps://HOST:PORT`; empty: no e-mail.
    pub smtp_url: String,
    /// How `smtp://` is secured.
    pub smtp_tls: tickler_workers::delivery::email::SmtpTls,
    /// SMTP login.
    pub smtp_username: String,
    /// SMTP password.
    #[serde(serialize_with = "redact")]
    pub smtp_password: SecretString,
    /// The sender.
    pub smtp_from: String,
    /// SMTP exchange timeout.
    pub smtp_timeout_seconds: u64,
    /// SMTP connections kept open.
    pub smtp_connections: u32,
    /// How long the code mailed to verify an e-mail channel is valid (`24h`).
    pub verification_code_ttl: String,
    /// Wrong codes allowed per mailed code.
    pub verification_max_failures: u32,
    /// Verification mails one user may cause per hour.
    pub verification_mails_per_user: u32,
    /// Verification mails one address may receive per day, whoever asks.
    pub verification_mails_per_address: u32,
}

impl NotifierConfig {
    /// Returns how long a verification code is valid.
    pub fn verification_code_ttl(&self) -> anyhow::Result<Duration> {
        let ttl = parse_duration(&self.verification_code_ttl).with_context(|| {
            format!(
                "notifier.verification_code_ttl: {:?} is not a duration like 30m, 24h or 2d",
                self.verification_code_ttl
            )
        })?;
        if ttl.is_zero() {
            bail!("notifier.verification_code_ttl must be positive");
        }
        Ok(ttl)
    }

    /// Returns the retry delays.
    pub fn retry_delays(&self) -> anyhow::Result<Vec<Duration>> {
        self.retry_schedule
            .iter()
            .map(|text| {
                parse_duration(text).with_context(|| {
                    format!("notifier.retry_schedule: {text:?} is not a duration like 5s, 5m or 2h")
                })
            })
            .collect()
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.concurrency == 0 || self.per_channel_concurrency == 0 {
            bail!("notifier.concurrency and notifier.per_channel_concurrency must be positive");
        }
        self.verification_code_ttl()?;
        if self.verification_max_failures == 0
            || self.verification_mails_per_user == 0
            || self.verification_mails_per_address == 0
        {
            bail!(
                "notifier.verification_max_failures, verification_mails_per_user and \
                 verification_mails_per_address must be positive"
            );
        }
        self.retry_delays()?;
        if !(0.0..=0.5).contains(&self.retry_jitter) {
            bail!("notifier.retry_jitter must be between 0 and 0.5");
        }
        tickler_app::notifications::AllowList::parse(&self.webhook_allow_hosts)
            .map_err(|error| anyhow::anyhow!("notifier.webhook_allow_hosts: {error}"))?;
        if self.webhook_timeout_ms == 0 || self.webhook_connect_timeout_ms == 0 {
            bail!("notifier.webhook_timeout_ms and webhook_connect_timeout_ms must be positive");
        }
        let smtp_timeout_ms = if self.smtp_url.trim().is_empty() {
            0
        } else {
            self.smtp_timeout_seconds.saturating_mul(1_000)
        };
        let longest_attempt = self.webhook_timeout_ms.max(smtp_timeout_ms);
        if self.lease_seconds.saturating_mul(1_000) < longest_attempt.saturating_mul(2) {
            bail!(
                "notifier.lease_seconds must be at least twice the longest attempt (webhook or SMTP timeout)"
            );
        }
        let smtp = self.smtp_url.trim();
        if !smtp.is_empty() {
            if !(smtp.starts_with("smtp://") || smtp.starts_with("smtps://")) {
                bail!("notifier.smtp_url must be an smtp:// or smtps:// URL (or empty: no e-mail)");
            }
            if self.smtp_from.trim().is_empty() {
                bail!("notifier.smtp_from must be set with notifier.smtp_url (--smtp-from)");
            }
            if self.smtp_timeout_seconds == 0 {
                bail!("notifier.smtp_timeout_seconds must be positive");
            }
        }
        Ok(())
    }
}

/// Parses `250ms`, `5s`, `5m`, `2h` or `1d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let millis = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    Some(Duration::from_millis(number.checked_mul(millis)?))
}

/// Reads a list written as a list or as one comma-separated string (environment variables).
fn string_or_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::One(text) => text
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
        Raw::Many(list) => list,
    })
}

/// Values given as flags, which override every other layer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlagOverrides {
    /// `--data-dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// `--listen`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// `--database-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// `--sync`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseOverrides>,
    /// `--roles`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// `--bus`, `--kafka-brokers`, `--dapr-http-port`.
    #[serde(skip_serializing_if = "BusOverrides::is_empty")]
    pub bus: BusOverrides,
    /// `--llm-url`, `--llm-model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmOverrides>,
    /// `--smtp-url`, `--smtp-from`, `--webhook-allow-hosts`.
    #[serde(skip_serializing_if = "NotifierOverrides::is_empty")]
    pub notifier: NotifierOverrides,
    /// `--otlp-endpoint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingOverrides>,
}

/// Flag overrides of `[tracing]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TracingOverrides {
    /// `--otlp-endpoint`.
    pub otlp_endpoint: String,
}

/// Flag overrides of `[notifier]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NotifierOverrides {
    /// `--smtp-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// `--smtp-from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_from: Option<String>,
    /// `--webhook-allow-hosts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_allow_hosts: Option<Vec<String>>,
}

impl NotifierOverrides {
    fn is_empty(&self) -> bool {
        self.smtp_url.is_none() && self.smtp_from.is_none() && self.webhook_allow_hosts.is_none()
    }
}

/// Flag overrides of `[bus]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BusOverrides {
    /// `--bus`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<BusKind>,
    /// `--kafka-brokers`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kafka_brokers: Option<String>,
    /// `--dapr-http-port`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dapr_http_port: Option<u16>,
}

impl BusOverrides {
    fn is_empty(&self) -> bool {
        self.kind.is_none() && self.kafka_brokers.is_none() && self.dapr_http_port.is_none()
    }
}

/// Flag overrides of `[llm]`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LlmOverrides {
    /// `--llm-url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `--llm-model`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// Flag overrides of `[database]`.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseOverrides {
    /// `--sync`.
    pub sync: SyncMode,
}

impl Config {
    /// Loads the layers and validates the result.
    pub fn load(file: Option<&Path>, flags: &FlagOverrides) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            if !path.is_file() {
                bail!("configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let mut config: Config = figment
            .merge(Env::prefixed("TICKLER_").split("__"))
            .merge(Serialized::defaults(flags))
            .extract()
            .context("invalid configuration")?;
        config
            .bus
            .adopt_dapr_tokens(|name| std::env::var(name).ok());
        config.validate()?;
        Ok(config)
    }

    /// Returns the built-in defaults alone (no file, no environment), for tests and tools
    /// that configure a server programmatically.
    pub fn defaults() -> anyhow::Result<Self> {
        let config: Config = Figment::from(Toml::string(DEFAULTS))
            .extract()
            .context("invalid built-in defaults")?;
        Ok(config)
    }

    /// Checks the invariants every configuration must satisfy.
    pub fn validate(&self) -> anyhow::Result<()> {
        let url = self.database_url.expose_secret();
        if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("database_url must be empty (SQLite in data_dir) or a postgres:// URL");
        }
        let secret = self.auth.jwt_secret.expose_secret();
        if !secret.is_empty() && secret.len() < 32 {
            bail!("auth.jwt_secret must be at least 32 bytes");
        }
        if self
            .auth
            .previous_jwt_secrets
            .iter()
            .any(|previous| previous.expose_secret().len() < 32)
        {
            bail!("auth.previous_jwt_secrets: every key must be at least 32 bytes");
        }
        if !self.auth.admin_emails.is_empty() {
            bail!(
                "auth.admin_emails no longer grants operator rights (anyone could register such \
                 an address first): remove it, and grant operators on this server's database \
                 with `tickler admin grant EMAIL` (or name them by id in auth.admin_user_ids)"
            );
        }
        if self.auth.access_token_ttl_seconds == 0 {
            bail!("auth.access_token_ttl_seconds must be positive");
        }
        if self.auth.refresh_token_ttl_seconds <= self.auth.access_token_ttl_seconds {
            bail!(
                "auth.refresh_token_ttl_seconds must be longer than auth.access_token_ttl_seconds"
            );
        }
        if self.database.max_connections == 0 {
            bail!("database.max_connections must be positive");
        }
        if self.bus.relay_batch == 0
            || self.bus.topic_partitions < 1
            || self.bus.replication_factor < 1
        {
            bail!(
                "bus.relay_batch, bus.topic_partitions and bus.replication_factor must be positive"
            );
        }
        if self.consumers.max_attempts == 0 {
            bail!("consumers.max_attempts must be at least 1");
        }
        if self.bus.kind == BusKind::Dapr
            && self.roles.has_consumers()
            && self.bus.dapr_app_token.expose_secret().is_empty()
        {
            bail!(
                "with the dapr bus, consumers receive events over HTTP from the sidecar: set \
                 APP_API_TOKEN (or bus.dapr_app_token) to the token the sidecar sends"
            );
        }
        self.metrics.address()?;
        if !(0.0..=1.0).contains(&self.tracing.sampling_ratio) {
            bail!("tracing.sampling_ratio must be between 0 and 1");
        }
        let endpoint = self.tracing.otlp_endpoint.trim();
        if !(endpoint.is_empty()
            || endpoint.starts_with("http://")
            || endpoint.starts_with("https://"))
        {
            bail!("tracing.otlp_endpoint must be an http:// or https:// URL (or empty)");
        }
        if self
            .mcp
            .allowed_hosts
            .iter()
            .any(|host| host.trim().is_empty())
        {
            bail!("mcp.allowed_hosts must not contain empty names");
        }
        let llm = self.llm.url.trim();
        if !llm.is_empty() {
            if !(llm.starts_with("http://") || llm.starts_with("https://")) {
                bail!("llm.url must be an http:// or https:// URL (or empty to disable the model)");
            }
            if self.llm.model.trim().is_empty() {
                bail!("llm.model must name the model when llm.url is set (--llm-model)");
            }
            if self.llm.timeout_seconds == 0 {
                bail!("llm.timeout_seconds must be positive");
            }
        }
        self.server.trusted_proxies()?;
        self.http.idempotency_retention()?;
        if self.auth.login_failures_per_account == 0 {
            bail!("auth.login_failures_per_account must be positive");
        }
        if self.http.request_timeout_seconds == 0 {
            bail!("http.request_timeout_seconds must be positive");
        }
        if let Some(url) = self.public_url() {
            let parsed = url::Url::parse(&url).ok();
            let usable = parsed.as_ref().is_some_and(|parsed| {
                matches!(parsed.scheme(), "http" | "https")
                    && parsed.host().is_some()
                    && parsed.query().is_none()
                    && parsed.fragment().is_none()
            });
            if !usable {
                bail!(
                    "http.public_url must be an http:// or https:// address without query or fragment, such as https://tickler.example.org (or empty)"
                );
            }
        }
        self.notifier.validate()?;
        self.reminders.validate()?;
        self.realtime.validate()?;
        Ok(())
    }

    /// Returns whether the database is PostgreSQL.
    pub fn uses_postgres(&self) -> bool {
        !self.database_url.expose_secret().is_empty()
    }

    /// Returns the language model's settings, or `None` when no model is configured.
    pub fn llm_settings(&self) -> Option<tickler_llm::LlmSettings> {
        let url = self.llm.url.trim();
        (!url.is_empty()).then(|| tickler_llm::LlmSettings {
            url: url.to_owned(),
            model: self.llm.model.trim().to_owned(),
            api_key: Some(self.llm.api_key.clone()).filter(|key| !key.expose_secret().is_empty()),
            timeout: Duration::from_secs(self.llm.timeout_seconds),
        })
    }

    /// Returns the server's public address without a trailing slash, or `None` when unset.
    pub fn public_url(&self) -> Option<String> {
        let url = self.http.public_url.trim().trim_end_matches('/');
        (!url.is_empty()).then(|| url.to_owned())
    }

    /// Returns the request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_seconds)
    }

    /// Renders the configuration as TOML with secrets redacted.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("failed to render the configuration")
    }
}

fn redact<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    if secret.expose_secret().is_empty() {
        serializer.serialize_str("")
    } else {
        serializer.serialize_str("[redacted]")
    }
}

fn redact_list<S: Serializer>(secrets: &[SecretString], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(secrets.iter().map(|_| "[redacted]"))
}

/// Reads a list of secrets written as a list or as one comma-separated string.
fn secret_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SecretString>, D::Error> {
    Ok(string_or_list(deserializer)?
        .into_iter()
        .map(SecretString::from)
        .collect())
}

/// Shows a database URL without its password.
fn redact_url<S: Serializer>(url: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&redacted_url(url.expose_secret()))
}

/// Returns the URL with any password replaced by `[redacted]`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_load_and_validate() {
        let config: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        config.validate().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database.sync, SyncMode::Full);
        assert!(!config.uses_postgres());
    }

    #[test]
    fn flags_override_the_file_and_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tickler.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\n[auth]\nregistration = \"closed\"\n",
        )
        .unwrap();
        let flags = FlagOverrides {
            listen: Some("127.0.0.1:9100".into()),
            database: Some(DatabaseOverrides {
                sync: SyncMode::Normal,
            }),
            ..FlagOverrides::default()
        };
        let config = Config::load(Some(&file), &flags).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(config.auth.registration, RegistrationPolicy::Closed);
        assert_eq!(config.database.sync, SyncMode::Normal);
    }

    #[test]
    fn secrets_are_redacted_when_printed() {
        let mut config: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        config.auth.jwt_secret = SecretString::from("x".repeat(40));
        config.database_url = SecretString::from("postgres://app:hunter2@db.internal/tickler");
        let printed = config.to_redacted_toml().unwrap();
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains(&"x".repeat(40)));
        assert!(printed.contains("postgres://app:[redacted]@db.internal/tickler"));
        assert!(printed.contains("jwt_secret = \"[redacted]\""));
    }

    #[test]
    fn roles_read_from_lists_and_comma_separated_text() {
        assert_eq!(
            Roles::parse(&["api,relay"]).unwrap(),
            Roles(vec![Role::Api, Role::Relay])
        );
        assert_eq!(Roles::parse(&["all"]).unwrap(), Roles(Role::ALL.to_vec()));
        assert!(
            Roles::parse(&["api", "bogus"])
                .unwrap_err()
                .contains("unknown role")
        );
        assert_eq!(
            Roles::parse(&["realtime"]).unwrap(),
            Roles(vec![Role::Realtime])
        );
        assert_eq!(
            Roles::parse(&["recurring"]).unwrap(),
            Roles(vec![Role::Recurring])
        );
        assert!(Roles::parse::<&str>(&[]).is_err());
        let flags = FlagOverrides {
            roles: Some(vec!["audit".into()]),
            bus: BusOverrides {
                kind: Some(BusKind::Kafka),
                kafka_brokers: Some("10.0.0.1:9092".into()),
                dapr_http_port: None,
            },
            ..FlagOverrides::default()
        };
        let config = Config::load(None, &flags).unwrap();
        assert!(config.roles.has(Role::Audit) && !config.roles.has(Role::Api));
        assert_eq!(config.bus.kind, BusKind::Kafka);
        assert_eq!(config.bus.kafka_brokers, "10.0.0.1:9092");
        assert_eq!(config.bus.topics.audit_events, "audit-events");
    }

    #[test]
    fn a_language_model_needs_a_url_and_a_model_name() {
        let mut config: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        assert!(config.llm_settings().is_none());
        config.llm.url = "http://127.0.0.1:11434".into();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--llm-model")
        );
        config.llm.model = "llama3.1".into();
        config.validate().unwrap();
        let settings = config.llm_settings().unwrap();
        assert_eq!(settings.model, "llama3.1");
        assert!(settings.api_key.is_none());
        config.llm.url = "ftp://x".into();
        assert!(config.validate().is_err());
    }

    #[test]
    fn invalid_values_are_refused_with_a_clear_message() {
        let mut config: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        config.database_url = SecretString::from("mysql://x");
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("postgres://")
        );
        config.database_url = SecretString::from("");
        config.auth.jwt_secret = SecretString::from("short");
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("32 bytes")
        );
    }

    #[test]
    fn notifier_settings_read_durations_lists_and_flags() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        for bad in ["", "5", "m5", "5 weeks", "-1s"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        let config = Config::defaults().unwrap();
        assert_eq!(config.notifier.retry_delays().unwrap().len(), 9);
        assert!(config.roles.has(Role::Notifier));
        let flags = FlagOverrides {
            notifier: NotifierOverrides {
                smtp_url: Some("smtp://127.0.0.1:2525".into()),
                smtp_from: Some("tickler <t@example.org>".into()),
                webhook_allow_hosts: Some(vec!["127.0.0.1".into(), "10.0.0.0/8".into()]),
            },
            ..FlagOverrides::default()
        };
        let config = Config::load(None, &flags).unwrap();
        assert_eq!(config.notifier.smtp_url, "smtp://127.0.0.1:2525");
        assert_eq!(
            config.notifier.webhook_allow_hosts,
            ["127.0.0.1", "10.0.0.0/8"]
        );
    }

    #[test]
    fn the_reminders_role_and_its_horizon_are_configurable() {
        let mut config = Config::defaults().unwrap();
        assert!(config.roles.has(Role::Reminders));
        assert_eq!(
            config.reminders.missed_after().unwrap(),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(
            Roles::parse(&["reminders"]).unwrap(),
            Roles(vec![Role::Reminders])
        );
        assert!(
            config
                .to_redacted_toml()
                .unwrap()
                .contains("missed_after = \"24h\"")
        );
        config.reminders.missed_after = "30s".into();
        assert_eq!(
            config.reminders.missed_after().unwrap(),
            Duration::from_secs(30)
        );
        config.reminders.missed_after = "a day".into();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("reminders.missed_after")
        );
    }

    #[test]
    fn invalid_notifier_settings_are_refused_and_the_smtp_password_redacted() {
        let mut config = Config::defaults().unwrap();
        config.notifier.smtp_url = "smtp://mail.example.org".into();
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("--smtp-from")
        );
        config.notifier.smtp_from = "t@example.org".into();
        config.validate().unwrap();
        config.notifier.smtp_password = SecretString::from("hunter2");
        assert!(!config.to_redacted_toml().unwrap().contains("hunter2"));
        config.notifier.retry_schedule = vec!["soon".into()];
        assert!(config.validate().is_err());
        config.notifier.retry_schedule = vec!["5s".into()];
        config.notifier.webhook_allow_hosts = vec!["10.0.0.0/99".into()];
        assert!(config.validate().is_err());
        config.notifier.webhook_allow_hosts = Vec::new();
        config.notifier.lease_seconds = 10;
        assert!(config.validate().unwrap_err().to_string().contains("lease"));
    }
}
