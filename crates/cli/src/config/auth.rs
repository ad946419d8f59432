//! `[auth]`: the signing keys, registration, token lifetimes, sign-in limits and operators.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tickler_app::RegistrationPolicy;

use super::values::{redact, redact_list, secret_list, string_or_list};

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

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let secret = self.jwt_secret.expose_secret();
        if !secret.is_empty() && secret.len() < 32 {
            bail!("auth.jwt_secret must be at least 32 bytes");
        }
        if self
            .previous_jwt_secrets
            .iter()
            .any(|previous| previous.expose_secret().len() < 32)
        {
            bail!("auth.previous_jwt_secrets: every key must be at least 32 bytes");
        }
        if !self.admin_emails.is_empty() {
            bail!(
                "auth.admin_emails no longer grants operator rights (anyone could register such \
                 an address first): remove it, and grant operators on this server's database \
                 with `tickler admin grant EMAIL` (or name them by id in auth.admin_user_ids)"
            );
        }
        if self.access_token_ttl_seconds == 0 {
            bail!("auth.access_token_ttl_seconds must be positive");
        }
        if self.refresh_token_ttl_seconds <= self.access_token_ttl_seconds {
            bail!(
                "auth.refresh_token_ttl_seconds must be longer than auth.access_token_ttl_seconds"
            );
        }
        if self.login_failures_per_account == 0 {
            bail!("auth.login_failures_per_account must be positive");
        }
        Ok(())
    }
}
