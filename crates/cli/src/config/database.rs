//! `[database]` and `database_url`: which store, and how it is opened.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// `[database]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct DatabaseConfig {
    /// SQLite durability.
    pub sync: SyncMode,
    /// Pool size.
    pub max_connections: u32,
    /// SQLite page cache per connection, in MiB.
    pub sqlite_cache_mib: u32,
    /// Soft limit on SQLite's memory, all connections together, in MiB (0: none).
    pub sqlite_memory_mib: u32,
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

impl DatabaseConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.max_connections == 0 {
            bail!("database.max_connections must be positive");
        }
        if self.sqlite_cache_mib == 0 || self.sqlite_cache_mib > 4096 {
            bail!("database.sqlite_cache_mib must be between 1 and 4096");
        }
        if self.sqlite_memory_mib > 65536 {
            bail!("database.sqlite_memory_mib must be at most 65536 (0: no limit)");
        }
        Ok(())
    }
}

/// Checks `database_url`: empty (SQLite in `data_dir`) or a PostgreSQL URL.
pub(super) fn validate_url(url: &SecretString) -> anyhow::Result<()> {
    let url = url.expose_secret();
    if !(url.is_empty() || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("database_url must be empty (SQLite in data_dir) or a postgres:// URL");
    }
    Ok(())
}

/// Shows a database URL without its password.
pub(super) fn redact_url<S: Serializer>(
    url: &SecretString,
    serializer: S,
) -> Result<S::Ok, S::Error> {
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
