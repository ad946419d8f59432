//! Reading query-string parameters shared by the listing use cases.

use tickler_domain::FieldError;

/// Reads an optional `true`/`false` parameter (absent: false).
pub(crate) fn flag(field: &'static str, raw: Option<&str>) -> Result<bool, FieldError> {
    match raw {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(FieldError::new(
            field,
            "invalid_format",
            format!("{field} must be true or false"),
        )),
    }
}

/// Reads an optional page size from 1 to `max` (absent: `default`).
pub(crate) fn page_size(raw: Option<&str>, default: u32, max: u32) -> Result<u32, FieldError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                FieldError::new(
                    "limit",
                    "out_of_range",
                    format!("limit must be an integer from 1 to {max}"),
                )
            }),
    }
}
