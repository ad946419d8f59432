//! `[secrets]`: where the database URL and the signing key come from.

use serde::{Deserialize, Serialize};

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
