//! Personal API tokens: random secrets shown once, stored only as a keyed hash.
//!
//! Verifying one costs an HMAC-SHA256 and an indexed lookup, not a password-grade hash: the
//! secret has 256 bits of entropy, so a slow KDF would add nothing but latency to every
//! request. The HMAC key is derived from the server's signing secret, so a stolen database
//! alone does not let anyone test candidate tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::{AppError, AppResult};

/// Every API token starts with this, which tells it apart from a JWT at a glance (and lets
/// secret scanners recognise leaked ones).
pub const TOKEN_PREFIX: &str = "tkl_";
/// How many characters of the secret are kept to recognise a token in a list.
const DISPLAY_PREFIX_CHARS: usize = 12;

/// Hashes API token secrets with a server-held key.
#[derive(Clone)]
pub struct TokenHasher {
    key: Vec<u8>,
}

impl std::fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHasher { .. }")
    }
}

impl TokenHasher {
    /// Derives the hashing key from the server secret.
    pub fn new(server_secret: &[u8]) -> Self {
        Self::for_purpose(server_secret, API_TOKEN_PURPOSE)
    }

    /// Derives a hashing key for another kind of secret (refresh tokens), so that a hash of
    /// one kind never matches a secret of another.
    pub fn for_purpose(server_secret: &[u8], purpose: &[u8]) -> Self {
        Self {
            key: hmac_sha256(server_secret, purpose),
        }
    }

    /// Returns the keyed hash of a secret.
    pub fn hash(&self, secret: &str) -> Vec<u8> {
        hmac_sha256(&self.key, secret.as_bytes())
    }
}

/// A hasher of one kind of secret under the current server secret and the ones it replaced:
/// new secrets are hashed with the current key; a presented one is looked up under each.
#[derive(Clone, Debug)]
pub(crate) struct RotatingHasher {
    current: TokenHasher,
    previous: Vec<TokenHasher>,
}

impl RotatingHasher {
    pub(crate) fn new(secret: &[u8], previous: &[Vec<u8>], purpose: &[u8]) -> Self {
        Self {
            current: TokenHasher::for_purpose(secret, purpose),
            previous: previous
                .iter()
                .map(|secret| TokenHasher::for_purpose(secret, purpose))
                .collect(),
        }
    }

    /// The hash a new secret is stored under.
    pub(crate) fn hash(&self, secret: &str) -> Vec<u8> {
        self.current.hash(secret)
    }

    /// The hashes a presented secret may be stored under, the current key's first.
    pub(crate) fn candidates<'a>(&'a self, secret: &'a str) -> impl Iterator<Item = Vec<u8>> + 'a {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(move |hasher| hasher.hash(secret))
    }
}

/// Why API token hashes are keyed: see the module documentation.
pub(crate) const API_TOKEN_PURPOSE: &[u8] = b"tickler api token hashing v1";

pub(crate) fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so construction cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("hmac accepts keys of any length"),
    };
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// A freshly generated token secret and what is stored about it.
#[derive(Debug)]
pub struct GeneratedToken {
    /// The full secret, shown to the user once.
    pub secret: String,
    /// Its first characters, stored for display.
    pub display_prefix: String,
}

/// Generates a token: the prefix and 32 random bytes in URL-safe base64.
pub fn generate() -> AppResult<GeneratedToken> {
    let secret = random_secret(TOKEN_PREFIX)?;
    let display_prefix = secret.chars().take(DISPLAY_PREFIX_CHARS).collect();
    Ok(GeneratedToken {
        secret,
        display_prefix,
    })
}

/// Returns `prefix` followed by 32 random bytes in URL-safe base64 (256 bits of entropy).
pub(crate) fn random_secret(prefix: &str) -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| AppError::Internal(format!("no randomness for a new secret: {error}")))?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// Returns whether a bearer credential looks like an API token rather than a JWT.
pub fn is_api_token(credential: &str) -> bool {
    credential.starts_with(TOKEN_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_distinct_prefixed_and_hash_deterministically() {
        let first = generate().unwrap();
        let second = generate().unwrap();
        assert_ne!(first.secret, second.secret);
        assert!(is_api_token(&first.secret));
        assert_eq!(first.secret.len(), TOKEN_PREFIX.len() + 43);
        assert!(first.secret.starts_with(&first.display_prefix));
        let hasher = TokenHasher::new(b"server secret");
        assert_eq!(hasher.hash(&first.secret), hasher.hash(&first.secret));
        assert_ne!(hasher.hash(&first.secret), hasher.hash(&second.secret));
        assert_ne!(
            hasher.hash(&first.secret),
            TokenHasher::new(b"other secret").hash(&first.secret)
        );
    }
}
