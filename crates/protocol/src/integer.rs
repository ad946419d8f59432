//! Integers as JSON Schema reads them: `208` and `208.0` are the same integer, so a client
//! that writes every number with a fraction still sends valid integer fields.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// Deserializes an optional integer field that may arrive as an integral float (`208.0`);
/// a fraction or a value out of the type's range is an error.
pub(crate) fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    // Beyond 2^53 a float no longer holds every integer; such values are refused.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0 && float.abs() <= EXACT)
                .map(|float| float as i64)
        })
        .and_then(|integer| T::try_from(integer).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "invalid value: {number}, expected an integer in range"
            ))
        })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional")]
        days: Option<u32>,
    }

    fn days(json: &str) -> Result<Option<u32>, serde_json::Error> {
        serde_json::from_str::<Body>(json).map(|body| body.days)
    }

    #[test]
    fn integral_floats_are_integers_and_fractions_are_refused() {
        assert_eq!(days(r#"{"days": 208}"#).unwrap(), Some(208));
        assert_eq!(days(r#"{"days": 208.0}"#).unwrap(), Some(208));
        assert_eq!(days(r#"{"days": null}"#).unwrap(), None);
        assert_eq!(days("{}").unwrap(), None);
        assert!(days(r#"{"days": 208.5}"#).is_err());
        assert!(days(r#"{"days": -1}"#).is_err());
        assert!(days(r#"{"days": 1e300}"#).is_err());
        assert!(days(r#"{"days": "208"}"#).is_err());
    }
}
