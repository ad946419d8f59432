//! Webhook signing secrets: generated, shown once, kept sealed at rest, and used to sign
//! every webhook as Standard Webhooks specifies.
//!
//! The server must be able to sign, so a secret cannot be stored as a one-way hash like an
//! API token. It is sealed instead with ChaCha20-Poly1305 under a key derived from the server
//! secret (HMAC-SHA256 with a purpose label), with the channel id as associated data: a
//! database dump alone reveals no secret, and a sealed secret moved to another channel does
//! not open. Changing the server secret makes the sealed secrets unreadable: webhook channels
//! then need their secrets rotated.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::Sha256;
use tickler_domain::ChannelId;

use crate::error::{AppError, AppResult};

/// Every secret starts with this, as Standard Webhooks specifies.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a secret (the specification allows 24 to 64).
const SECRET_BYTES: usize = 32;
/// The first byte of a sealed secret: the format, so that it can change later.
const SEALED_FORMAT: u8 = 1;

/// A webhook signing secret in clear: its raw bytes. `Debug` shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl WebhookSecret {
    /// Generates a new random secret.
    pub fn generate() -> AppResult<Self> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|error| {
            AppError::Internal(format!("no randomness for a webhook secret: {error}"))
        })?;
        Ok(Self(bytes))
    }

    /// Reads a secret in its `whsec_...` form.
    pub fn parse(text: &str) -> Option<Self> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        STANDARD.decode(encoded).ok().map(Self)
    }

    /// Returns the `whsec_...` form shown to the user.
    pub fn display(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// Returns the signature of a message: `v1,` and the base64 HMAC-SHA256 of
    /// `{id}.{timestamp}.{body}` under the secret's bytes.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC accepts keys of any length, so construction cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts keys of any length"),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// Seals and opens webhook secrets with a key derived from the server secret.
pub struct SecretSealer {
    key: LessSafeKey,
    /// Keys derived from server secrets this one replaced: they open, never seal.
    previous: Vec<LessSafeKey>,
}

impl std::fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretSealer { .. }")
    }
}

impl SecretSealer {
    /// Derives the sealing key from the server secret.
    pub fn new(server_secret: &[u8]) -> Self {
        Self {
            key: Self::derive(server_secret),
            previous: Vec::new(),
        }
    }

    /// Also opens secrets sealed under these earlier server secrets (key rotation).
    pub fn with_previous(mut self, server_secrets: &[Vec<u8>]) -> Self {
        self.previous = server_secrets
            .iter()
            .map(|secret| Self::derive(secret))
            .collect();
        self
    }

    fn derive(server_secret: &[u8]) -> LessSafeKey {
        let mut mac = match Hmac::<Sha256>::new_from_slice(server_secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("hmac accepts keys of any length"),
        };
        mac.update(b"tickler webhook secret sealing v1");
        let key = mac.finalize().into_bytes();
        let key = match UnboundKey::new(&CHACHA20_POLY1305, &key) {
            Ok(key) => key,
            Err(_) => unreachable!("HMAC-SHA256 gives the 32 bytes ChaCha20-Poly1305 needs"),
        };
        LessSafeKey::new(key)
    }

    /// Seals a channel's secret: the format byte, a random nonce, the ciphertext and its tag.
    pub fn seal(&self, channel: ChannelId, secret: &WebhookSecret) -> AppResult<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|error| AppError::Internal(format!("no randomness for a nonce: {error}")))?;
        let mut sealed = secret.0.clone();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(channel.as_uuid().as_bytes()),
                &mut sealed,
            )
            .map_err(|_| AppError::Internal("sealing a webhook secret failed".into()))?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(SEALED_FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a channel's sealed secret; `None` if it was sealed for another channel, under
    /// another server secret, or altered.
    pub fn open(&self, channel: ChannelId, sealed: &[u8]) -> Option<WebhookSecret> {
        let (&format, rest) = sealed.split_first()?;
        if format != SEALED_FORMAT || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        std::iter::once(&self.key)
            .chain(&self.previous)
            .find_map(|key| {
                let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
                let mut buffer = ciphertext.to_vec();
                let plain = key
                    .open_in_place(nonce, Aad::from(channel.as_uuid().as_bytes()), &mut buffer)
                    .ok()?;
                Some(WebhookSecret(plain.to_vec()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(n: u128) -> ChannelId {
        ChannelId::from_uuid(uuid::Uuid::from_u128(n))
    }

    #[test]
    fn after_a_key_rotation_secrets_sealed_under_the_previous_key_still_open() {
        let secret = WebhookSecret(vec![5; 24]);
        let sealed = SecretSealer::new(&[7; 32])
            .seal(channel(1), &secret)
            .unwrap();
        let rotated = SecretSealer::new(&[8; 32]).with_previous(&[vec![9; 32], vec![7; 32]]);
        assert_eq!(rotated.open(channel(1), &sealed), Some(secret.clone()));
        assert_eq!(rotated.open(channel(2), &sealed), None);
        // New secrets are sealed with the current key only.
        let resealed = rotated.seal(channel(1), &secret).unwrap();
        assert_eq!(
            SecretSealer::new(&[8; 32]).open(channel(1), &resealed),
            Some(secret)
        );
        assert_eq!(
            SecretSealer::new(&[7; 32]).open(channel(1), &resealed),
            None
        );
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_channel_and_server_secret() {
        let sealer = SecretSealer::new(&[7; 32]);
        let secret = WebhookSecret::generate().unwrap();
        let sealed = sealer.seal(channel(1), &secret).unwrap();
        assert!(!sealed.windows(secret.0.len()).any(|w| w == secret.0));
        assert_eq!(sealer.open(channel(1), &sealed), Some(secret.clone()));
        assert_eq!(sealer.open(channel(2), &sealed), None);
        assert_eq!(SecretSealer::new(&[8; 32]).open(channel(1), &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(sealer.open(channel(1), &tampered), None);
        assert_eq!(sealer.open(channel(1), &[]), None);
        assert_ne!(sealer.seal(channel(1), &secret).unwrap(), sealed);
    }

    #[test]
    fn secrets_show_in_the_standard_form_and_sign_like_the_specification() {
        // The example of the Standard Webhooks reference libraries.
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let generated = WebhookSecret::generate().unwrap();
        assert!(generated.display().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&generated.display()), Some(generated));
        assert_eq!(format!("{:?}", secret), "WebhookSecret(..)");
    }
}
