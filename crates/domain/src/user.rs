//! User accounts: e-mail, display name, password policy and the zone tasks default to.

use chrono::{DateTime, Utc};

use crate::ids::UserId;
use crate::time::TimeZone;
use crate::validation::FieldError;

/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in bytes (bounds the cost of hashing).
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest e-mail address, in bytes (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// A user account, without its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Its login, lowercase.
    pub email: Email,
    /// How it is addressed, if it said.
    pub name: Option<String>,
    /// The zone its tasks default to.
    pub timezone: TimeZone,
    /// When it registered.
    pub created_at: DateTime<Utc>,
    /// When its profile last changed.
    pub updated_at: DateTime<Utc>,
    /// Incremented when the password changes; access tokens issued before are refused.
    pub credentials_version: i64,
    /// Whether it may use the operator routes. Set only by `tickler admin grant` on the
    /// server's database, never by registering or changing a profile.
    pub operator: bool,
}

/// A syntactically plausible e-mail address, lowercased. Deliverability is not checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates and lowercases an address.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let invalid = || FieldError::new("email", "invalid_email", "email is not a valid address");
        if email.len() > MAX_EMAIL_BYTES {
            return Err(FieldError::new(
                "email",
                "too_long",
                format!("email must be at most {MAX_EMAIL_BYTES} bytes"),
            ));
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let plausible = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !plausible {
            return Err(invalid());
        }
        Ok(Self(email))
    }

    /// Returns the address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a new password against the policy.
pub fn validate_password(field: &str, password: &str) -> Result<(), FieldError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            field,
            "too_short",
            format!("password must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("password must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Validates a display name: trimmed, at most 200 characters, no control characters. An empty
/// name means none.
pub fn validate_name(raw: &str) -> Result<Option<String>, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(
            "name",
            "too_long",
            format!("name must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "invalid_character",
            "name must not contain control characters",
        ));
    }
    Ok(Some(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
    }

    #[test]
    fn implausible_emails_are_refused() {
        for raw in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "a b@example.org",
            "a@b@c",
            "ada@.org",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn password_policy_bounds_length() {
        assert!(validate_password("password", "short").is_err());
        assert!(validate_password("password", "long enough").is_ok());
        assert!(validate_password("password", &"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
