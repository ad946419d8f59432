//! Settings of the PostgreSQL store.

use std::fmt;

/// How to reach the database.
#[derive(Clone)]
pub struct PostgresConfig {
    /// A `postgres://` URL (it may hold a password: never logged).
    pub url: String,
    /// Most connections in the pool.
    pub max_connections: u32,
}

impl PostgresConfig {
    /// Default settings for the database at `url`: up to 16 connections.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
        }
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &redacted(&self.url))
            .field("max_connections", &self.max_connections)
            .finish()
    }
}

/// Replaces the password of a URL, if any, by `***`.
pub(crate) fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let password = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{password}@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_appear_in_debug_output() {
        let config = PostgresConfig::new("postgres://app:s3cret@db:5432/tickler?sslmode=require");
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("postgres://app:***@db:5432/tickler?sslmode=require"));
        assert_eq!(redacted("postgres://app@db/x"), "postgres://app@db/x");
    }
}
