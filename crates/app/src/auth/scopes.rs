//! What a credential may do. Personal API tokens carry scopes so that an agent can be given
//! read-only access; a signed-in session has every scope.

use tickler_domain::FieldError;

use crate::error::{AppError, AppResult};

/// One scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Reading: safe HTTP methods and read-only tools.
    Read,
    /// Changing: every other HTTP method and tool.
    Write,
    /// The MCP endpoint.
    Mcp,
}

impl Scope {
    /// Returns the wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Mcp => "mcp",
        }
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scopes {
    read: bool,
    write: bool,
    mcp: bool,
}

impl Default for Scopes {
    fn default() -> Self {
        Self::ALL
    }
}

impl Scopes {
    /// Every scope.
    pub const ALL: Scopes = Scopes {
        read: true,
        write: true,
        mcp: true,
    };

    /// Parses scope names as a client sends them in `field`; unknown names and an empty list
    /// are invalid.
    pub fn parse<S: AsRef<str>>(field: &str, names: &[S]) -> Result<Self, FieldError> {
        let mut scopes = Scopes {
            read: false,
            write: false,
            mcp: false,
        };
        if names.is_empty() {
            return Err(FieldError::new(
                field,
                "empty",
                format!("{field} must name at least one of read, write, mcp"),
            ));
        }
        for name in names {
            match name.as_ref() {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "mcp" => scopes.mcp = true,
                other => {
                    return Err(FieldError::new(
                        field,
                        "unknown_scope",
                        format!("{other:?} is not a scope: use read, write or mcp"),
                    ));
                }
            }
        }
        Ok(scopes)
    }

    /// Reads scopes as stored; unknown names are ignored (never granting anything).
    pub fn from_stored<S: AsRef<str>>(names: &[S]) -> Self {
        Self::parse("scopes", names).unwrap_or(Scopes {
            read: names.iter().any(|name| name.as_ref() == "read"),
            write: names.iter().any(|name| name.as_ref() == "write"),
            mcp: names.iter().any(|name| name.as_ref() == "mcp"),
        })
    }

    /// Returns whether the set holds `scope`.
    pub fn has(self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Write => self.write,
            Scope::Mcp => self.mcp,
        }
    }

    /// Fails with [`AppError::InsufficientScope`] (403) unless the set holds `scope`.
    pub fn require(self, scope: Scope) -> AppResult<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(AppError::InsufficientScope(scope.as_str()))
        }
    }

    /// Returns the first scope of `other` this set lacks.
    pub fn missing_from(self, other: Scopes) -> Option<Scope> {
        [Scope::Read, Scope::Write, Scope::Mcp]
            .into_iter()
            .find(|scope| other.has(*scope) && !self.has(*scope))
    }

    /// Returns the names, in a fixed order.
    pub fn names(self) -> Vec<String> {
        [Scope::Read, Scope::Write, Scope::Mcp]
            .into_iter()
            .filter(|scope| self.has(*scope))
            .map(|scope| scope.as_str().to_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_known_names_only_and_print_in_order() {
        let read = Scopes::parse("scopes", &["read"]).unwrap();
        assert!(read.has(Scope::Read) && !read.has(Scope::Write) && !read.has(Scope::Mcp));
        assert_eq!(
            Scopes::parse("scopes", &["mcp", "read"]).unwrap().names(),
            ["read", "mcp"]
        );
        assert!(Scopes::parse("scopes", &["admin"]).is_err());
        assert!(Scopes::parse::<&str>("scopes", &[]).is_err());
        assert_eq!(read.missing_from(Scopes::ALL), Some(Scope::Write));
        assert_eq!(Scopes::ALL.missing_from(read), None);
        assert!(matches!(
            read.require(Scope::Write),
            Err(AppError::InsufficientScope("write"))
        ));
        assert_eq!(Scopes::from_stored(&["read", "bogus"]).names(), ["read"]);
    }
}
