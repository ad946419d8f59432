//! Configuration: embedded defaults, an optional TOML file, `TICKLER_*` environment variables
//! and flags, validated once at start-up.
//!
//! Each component's settings type lives in a module of its own with the checks that concern
//! it alone (`auth`, `bus`, `database`, `llm`, `notifier`, `realtime`, `reminders`, `roles`,
//! `secrets`, `serve`, `telemetry`); this module layers the sources into [`Config`] and checks
//! what spans components.

mod auth;
mod bus;
mod database;
mod llm;
mod notifier;
mod realtime;
mod reminders;
mod roles;
mod secrets;
mod serve;
mod telemetry;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use auth::AuthConfig;
pub use bus::{BusConfig, BusKind, ConsumersConfig, EventsConfig};
pub use database::{DatabaseConfig, SyncMode, redacted_url};
pub use llm::LlmConfig;
pub use notifier::NotifierConfig;
pub use realtime::RealtimeConfig;
pub use reminders::RemindersConfig;
pub use roles::{Role, Roles};
pub use secrets::{SecretsConfig, SecretsProvider};
pub use serve::{HttpConfig, McpConfig, MetricsConfig, ServerConfig, WebConfig};
pub use telemetry::{LogConfig, LogFormat, TracingConfig};
pub use values::parse_duration;

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
    #[serde(serialize_with = "database::redact_url")]
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

    /// Checks the invariants every configuration must satisfy: each component's own, and those
    /// that span components.
    pub fn validate(&self) -> anyhow::Result<()> {
        database::validate_url(&self.database_url)?;
        self.auth.validate()?;
        self.database.validate()?;
        self.bus.validate()?;
        self.consumers.validate()?;
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
        self.tracing.validate()?;
        self.mcp.validate()?;
        self.llm.validate()?;
        self.server.trusted_proxies()?;
        self.http.validate()?;
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
        self.llm.settings()
    }

    /// Returns the server's public address without a trailing slash, or `None` when unset.
    pub fn public_url(&self) -> Option<String> {
        self.http.public_url()
    }

    /// Returns the request timeout.
    pub fn request_timeout(&self) -> Duration {
        self.http.request_timeout()
    }

    /// Renders the configuration as TOML with secrets redacted.
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("failed to render the configuration")
    }
}

#[cfg(test)]
mod tests {
    use tickler_app::RegistrationPolicy;

    use super::*;

    #[test]
    fn the_defaults_load_and_validate() {
        let config: Config = Figment::from(Toml::string(DEFAULTS)).extract().unwrap();
        config.validate().unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.database.sync, SyncMode::Full);
        assert_eq!(config.database.sqlite_memory_mib, 16);
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
        config.auth.jwt_secret = SecretString::from("");
        config.database.sqlite_memory_mib = 65_537;
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("database.sqlite_memory_mib")
        );
        config.database.sqlite_memory_mib = 0;
        config.validate().unwrap();
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
