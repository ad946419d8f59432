//! The HTTP server's settings: `[http]`, `[server]` (who the clients are behind proxies),
//! `[web]`, `[mcp]` and `[metrics]` (where `/metrics` is served).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::values::{parse_duration, string_or_list};

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

    /// Returns the server's public address without a trailing slash, or `None` when unset.
    pub fn public_url(&self) -> Option<String> {
        let url = self.public_url.trim().trim_end_matches('/');
        (!url.is_empty()).then(|| url.to_owned())
    }

    /// Returns the request timeout.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        self.idempotency_retention()?;
        if self.request_timeout_seconds == 0 {
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
        Ok(())
    }
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

impl McpConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        if self.allowed_hosts.iter().any(|host| host.trim().is_empty()) {
            bail!("mcp.allowed_hosts must not contain empty names");
        }
        Ok(())
    }
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
