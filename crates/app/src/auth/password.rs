//! Password hashing with Argon2id (RustCrypto defaults: m = 19 MiB, t = 2, p = 1), off the async
//! runtime because one hash costs tens of milliseconds of CPU.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::error::{AppError, AppResult};

/// Hashes a password into a PHC string (`$argon2id$v=19$...`).
pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::Internal(format!("failed to hash password: {error}")))
    })
    .await
    .map_err(|error| AppError::Internal(format!("password hashing task failed: {error}")))?
}

/// Checks a password against a PHC string. A malformed stored hash counts as a mismatch (and
/// is logged), never as a success.
pub async fn verify(password: String, phc: String) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        match Argon2::default().verify_password(password.as_bytes(), phc.as_str()) {
            Ok(()) => true,
            Err(argon2::password_hash::Error::PasswordInvalid) => false,
            Err(error) => {
                tracing::error!(%error, "stored password hash cannot be verified");
                false
            }
        }
    })
    .await
    .map_err(|error| AppError::Internal(format!("password verification task failed: {error}")))
}

/// A hash of a random password, verified against when a login names an unknown e-mail so the
/// response takes as long as for a known one (no account enumeration by timing).
pub const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$pKMvPWhFyrVM7mfz0r7ccVcmo0QvTHV/bDy9X4S7k5E";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), phc.clone()).await.unwrap());
        assert!(!verify("wrong horse".into(), phc).await.unwrap());
    }

    #[tokio::test]
    async fn a_malformed_hash_never_verifies() {
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn the_decoy_hash_is_well_formed_so_checking_it_costs_a_real_verification() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DECOY_HASH).is_ok());
        assert!(!verify("x".into(), DECOY_HASH.into()).await.unwrap());
    }
}
