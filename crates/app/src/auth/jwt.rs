//! JWT access tokens (HS256). A token names its user and the user's credentials version;
//! changing the password increments the version, which revokes every token issued before.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tickler_domain::UserId;

use crate::error::{AppError, AppResult};

const ISSUER: &str = "tickler";
const AUDIENCE: &str = "tickler-api";

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
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            previous: Vec::new(),
            validation,
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
}
