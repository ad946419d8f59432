//! Decoding request bodies with errors that name the offending field, so a wrong type or an
//! unknown field becomes a 422 field error rather than an opaque message.

use serde::de::DeserializeOwned;
use tickler_domain::{FieldError, ValidationErrors};

use crate::error::AppError;

/// Decodes a JSON body: a syntax error is [`AppError::MalformedJson`], a value that does not
/// fit the type a validation error on the field at fault.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let inner = error.inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return AppError::MalformedJson(inner.to_string());
        }
        // A type error may come before a syntax error later in the body ("[1,"): a body that
        // is not JSON at all is malformed, whatever the first mismatch was.
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            return AppError::MalformedJson(syntax.to_string());
        }
        field_error(error.path().to_string(), &inner.to_string())
    })?;
    // A body is one JSON document: anything after it but whitespace (`{...} x`, a second
    // document) makes it malformed, as `serde_json::from_slice` would say.
    deserializer
        .end()
        .map_err(|trailing| AppError::MalformedJson(trailing.to_string()))?;
    Ok(value)
}

/// Decodes a JSON body that must be an object (every request body of the API is).
pub fn object_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map_err(|syntax| AppError::MalformedJson(syntax.to_string()))?;
        return Err(FieldError::new("", "invalid_type", "the body must be a JSON object").into());
    }
    from_slice(bytes)
}

/// Decodes an already parsed JSON value, every failure being a field error.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(value)
        .map_err(|error| field_error(error.path().to_string(), &error.inner().to_string()))
}

fn field_error(path: String, message: &str) -> AppError {
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((name, _)) = rest.split_once('`')
    {
        // The path already ends with the unknown field's name.
        let field = if path == "." || path.is_empty() {
            name.to_owned()
        } else {
            path
        };
        return AppError::Validation(ValidationErrors::single(FieldError::new(
            field,
            "unknown_field",
            format!("unknown field `{name}`"),
        )));
    }
    let field = if path == "." { String::new() } else { path };
    let code = if message.starts_with("missing field") {
        "required"
    } else {
        "invalid_type"
    };
    AppError::Validation(ValidationErrors::single(FieldError::new(
        field,
        code,
        message.to_owned(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        tags: Option<Vec<String>>,
    }

    fn field_of(error: AppError) -> (String, &'static str) {
        let field = &error.field_errors()[0];
        (field.field.clone(), field.code)
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        assert!(matches!(
            from_slice::<Body>(b"{\"title\": "),
            Err(AppError::MalformedJson(_))
        ));
        assert!(matches!(
            from_slice::<Body>(b"not json"),
            Err(AppError::MalformedJson(_))
        ));
    }

    #[test]
    fn anything_after_the_document_but_whitespace_is_malformed_json() {
        for body in [
            &b"{\"title\": \"t\"} trailing"[..],
            b"{\"title\": \"t\"}{\"title\": \"u\"}",
            b"{\"title\": \"t\"},",
        ] {
            assert!(
                matches!(from_slice::<Body>(body), Err(AppError::MalformedJson(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
            assert!(matches!(
                object_from_slice::<Body>(body),
                Err(AppError::MalformedJson(_))
            ));
        }
        assert!(from_slice::<Body>(b" {\"title\": \"t\"} \r\n\t").is_ok());
    }

    #[test]
    fn a_type_error_before_a_syntax_error_is_still_malformed_json() {
        assert!(matches!(
            from_slice::<Body>(b"[1,"),
            Err(AppError::MalformedJson(_))
        ));
    }

    #[test]
    fn bodies_that_are_not_objects_are_refused() {
        let error = object_from_slice::<Body>(br#"["x"]"#).unwrap_err();
        assert_eq!(field_of(error), (String::new(), "invalid_type"));
        assert!(matches!(
            object_from_slice::<Body>(b"[1,"),
            Err(AppError::MalformedJson(_))
        ));
        assert!(object_from_slice::<Body>(br#" {"title": "x"}"#).is_ok());
    }

    #[test]
    fn type_errors_name_the_field() {
        let error = from_slice::<Body>(br#"{"title": "x", "tags": ["a", 5]}"#).unwrap_err();
        assert_eq!(field_of(error), ("tags[1]".to_owned(), "invalid_type"));
    }

    #[test]
    fn unknown_fields_are_named() {
        let error = from_slice::<Body>(br#"{"title": "x", "owner_id": "y"}"#).unwrap_err();
        assert_eq!(field_of(error), ("owner_id".to_owned(), "unknown_field"));
    }
}
