//! Field-level validation errors, collected rather than failing at the first problem so a
//! client can fix every field in one round trip.

use std::fmt;

/// One invalid field: which one, a stable machine-readable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the client spelled it (`title`, `tags[3]`, `reminders[0]`).
    pub field: String,
    /// A stable snake_case code (`too_long`, `unknown_time_zone`, ...).
    pub code: &'static str,
    /// A lowercase human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

/// A non-empty list of field errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// Wraps a single field error.
    pub fn single(error: FieldError) -> Self {
        Self {
            errors: vec![error],
        }
    }

    /// Returns the field errors, in the order they were found.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Consumes the list.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", error.field, error.message)?;
        }
        Ok(())
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self::single(error)
    }
}

impl ValidationErrors {
    /// Builds the list from collected errors; `None` when there are none.
    pub fn from_errors(errors: Vec<FieldError>) -> Option<Self> {
        (!errors.is_empty()).then_some(Self { errors })
    }

    /// Prefixes every field name, for errors of a nested value (`changes.title`).
    pub fn nested_in(mut self, parent: &str) -> Self {
        for error in &mut self.errors {
            error.field = format!("{parent}.{}", error.field);
        }
        self
    }
}

/// Combines several field results: the tuple of their values when every one is valid, every
/// error otherwise. Each argument is a local `Result<T, E>` where `E: Into<ValidationErrors>`.
#[macro_export]
macro_rules! all_valid {
    ($($name:ident),+ $(,)?) => {{
        match ($($name,)+) {
            ($(Ok($name),)+) => Ok(($($name,)+)),
            ($($name,)+) => {
                let mut errors = Vec::new();
                $(
                    if let Err(error) = $name {
                        errors.extend($crate::ValidationErrors::from(error).into_errors());
                    }
                )+
                Err($crate::ValidationErrors::from_errors(errors)
                    .unwrap_or_else(|| $crate::ValidationErrors::single($crate::FieldError::new(
                        "", "invalid", "invalid input"))))
            }
        }
    }};
}
