//! JWT access tokens (HS256). A token names its user and the user's credentials version;
//! changing the password increments the version, which revokes every token issued before.
//!
//! Verifying a token (base64, two JSON documents, an HMAC, the claims' checks) costs more than
//! the rest of a cached read, so a verified token is remembered, keyed by its SHA-256 digest
//! (the token itself is not kept), until it expires: a token seen again is checked only for
//! expiry here. Revocation is not cached here: the caller still compares the credentials
//! version with the user's and checks the session on every request.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tickler_domain::UserId;
use tickler_store::SessionId;

use crate::error::{AppError, AppResult};

const ISSUER: &str = "tickler";
const AUDIENCE: &str = "tickler-api";
/// Seconds a token is still accepted after its `exp` (clock skew between replicas).
const LEEWAY_SECONDS: u64 = 30;
/// Most verified tokens remembered at once (about 100 bytes each); when full, the expired
/// ones are dropped, and if none has expired the whole set is.
const MAX_VERIFIED_TOKENS: usize = 10_000;

/// What a verified access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedToken {
    /// Its user.
    pub user: UserId,
    /// The user's credentials version when it was issued.
    pub credentials_version: i64,
    /// Its sign-in session (absent from tokens issued before sessions existed).
    pub session: Option<SessionId>,
    /// When it expires (seconds since the epoch).
    pub expires_at: i64,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// Always `tickler`.
    pub iss: String,
    /// Always `tickler-api`.
    pub aud: String,
    /// The user's credentials version when the token was issued.
    pub cv: i64,
    /// The sign-in session the token belongs to: it stops working when the session is revoked
    /// (signing out). Absent from tokens issued before sessions existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// Signs access tokens with the current HMAC key and verifies them with it or with a key it
/// replaced (key rotation: tokens signed before the rotation keep working until they expire).
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    previous: Vec<DecodingKey>,
    validation: Validation,
    verified: RwLock<HashMap<[u8; 32], VerifiedToken>>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSigner { .. }")
    }
}

impl TokenSigner {
    /// Builds a signer from the secret key (at least 32 bytes).
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous: Vec::new(),
            validation,
            verified: RwLock::new(HashMap::new()),
        }
    }

    /// Also accepts tokens signed with these earlier keys (never used to sign).
    pub fn with_previous(mut self, secrets: &[Vec<u8>]) -> Self {
        self.previous = secrets
            .iter()
            .map(|secret| DecodingKey::from_secret(secret))
            .collect();
        self
    }

    /// Issues a token for `user` of session `session`, valid for `ttl`.
    pub fn issue(
        &self,
        user: UserId,
        credentials_version: i64,
        session: Option<&str>,
        now: DateTime<Utc>,
        ttl: chrono::TimeDelta,
    ) -> AppResult<String> {
        let claims = Claims {
            sub: user.to_string(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            cv: credentials_version,
            sid: session.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AppError::Internal(format!("failed to sign access token: {error}")))
    }

    /// Verifies a token as [`TokenSigner::verify`] does, remembering it: a token verified
    /// before is only checked for expiry (against the system clock, with the same leeway).
    pub fn verify_cached(&self, token: &str) -> AppResult<VerifiedToken> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = unix_seconds();
        let cached = self.verified.read().get(&digest).copied();
        if let Some(verified) = cached {
            if expired(verified.expires_at, now) {
                self.verified.write().remove(&digest);
                return Err(AppError::Unauthenticated("the access token has expired"));
            }
            return Ok(verified);
        }
        let (user, claims) = self.verify(token)?;
        let session = match claims.sid.as_deref() {
            None => None,
            Some(sid) => {
                Some(SessionId(sid.parse::<uuid::Uuid>().map_err(|_| {
                    AppError::Unauthenticated("the access token is invalid")
                })?))
            }
        };
        let verified = VerifiedToken {
            user,
            credentials_version: claims.cv,
            session,
            expires_at: claims.exp,
        };
        let mut remembered = self.verified.write();
        if remembered.len() >= MAX_VERIFIED_TOKENS {
            remembered.retain(|_, token| !expired(token.expires_at, now));
            if remembered.len() >= MAX_VERIFIED_TOKENS {
                remembered.clear();
            }
        }
        remembered.insert(digest, verified);
        Ok(verified)
    }

    /// Verifies the signature (HS256 only: `alg=none` and other algorithms are refused),
    /// expiry (against the system clock, with 30 s leeway), issuer and audience.
    pub fn verify(&self, token: &str) -> AppResult<(UserId, Claims)> {
        let mut decoded = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation);
        for key in &self.previous {
            match &decoded {
                Err(error)
                    if *error.kind() == jsonwebtoken::errors::ErrorKind::InvalidSignature =>
                {
                    decoded = jsonwebtoken::decode::<Claims>(token, key, &self.validation);
                }
                _ => break,
            }
        }
        let data = decoded.map_err(|error| match error.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                AppError::Unauthenticated("the access token has expired")
            }
            _ => AppError::Unauthenticated("the access token is invalid"),
        })?;
        let user = data
            .claims
            .sub
            .parse::<UserId>()
            .map_err(|_| AppError::Unauthenticated("the access token is invalid"))?;
        Ok((user, data.claims))
    }
}

/// Whether a token expiring at `expires_at` is refused at `now` (as `jsonwebtoken` decides).
fn expired(expires_at: i64, now: u64) -> bool {
    u64::try_from(expires_at).map_or(true, |exp| exp < now.saturating_sub(LEEWAY_SECONDS))
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(b"0123456789abcdef0123456789abcdef")
    }

    fn user() -> UserId {
        UserId::from_uuid(uuid::Uuid::from_u128(7))
    }

    #[allow(clippy::disallowed_methods)]
    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    #[test]
    fn an_issued_token_verifies_and_names_its_user() {
        let token = signer()
            .issue(user(), 3, Some("s"), now(), chrono::TimeDelta::hours(1))
            .unwrap();
        let (id, claims) = signer().verify(&token).unwrap();
        assert_eq!(id, user());
        assert_eq!(claims.cv, 3);
        assert_eq!(claims.sid.as_deref(), Some("s"));
    }

    #[test]
    fn expired_tampered_foreign_and_unsigned_tokens_are_refused() {
        let expired = signer()
            .issue(
                user(),
                0,
                None,
                now() - chrono::TimeDelta::hours(2),
                chrono::TimeDelta::hours(1),
            )
            .unwrap();
        assert!(signer().verify(&expired).is_err());

        let token = signer()
            .issue(user(), 0, None, now(), chrono::TimeDelta::hours(1))
            .unwrap();
        let foreign = TokenSigner::new(b"another key that is long enough!!");
        assert!(foreign.verify(&token).is_err());

        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        parts[0] = none_header;
        assert!(
            signer()
                .verify(&format!("{}.{}.", parts[0], parts[1]))
                .is_err()
        );

        let hs512_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert!(
            signer()
                .verify(&format!("{hs512_header}.{}.{}", parts[1], parts[2]))
                .is_err()
        );
        assert!(signer().verify("garbage").is_err());
    }

    #[test]
    fn a_remembered_token_is_still_refused_once_expired_and_a_tampered_one_is_not_taken_for_it() {
        let signer = signer();
        let token = signer
            .issue(
                user(),
                2,
                Some(&uuid::Uuid::from_u128(9).to_string()),
                now(),
                chrono::TimeDelta::hours(1),
            )
            .unwrap();
        let first = signer.verify_cached(&token).unwrap();
        assert_eq!(signer.verify_cached(&token).unwrap(), first);
        assert_eq!(first.user, user());
        assert_eq!(first.credentials_version, 2);
        assert_eq!(first.session, Some(SessionId(uuid::Uuid::from_u128(9))));

        let mut tampered = token.clone();
        tampered.push('A');
        assert!(signer.verify_cached(&tampered).is_err());

        // The remembered entry outlives its token: the expiry is checked on every hit.
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let long_ago = i64::try_from(unix_seconds()).unwrap() - 3_600;
        signer.verified.write().get_mut(&digest).unwrap().expires_at = long_ago;
        assert!(signer.verify_cached(&token).is_err());
        assert!(signer.verified.read().get(&digest).is_none());
    }
}
