//! Keyset cursors of lists ordered by an instant and an id (the audit trail, notifications):
//! the last item's pair as an opaque URL-safe token.

use std::fmt::Display;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use crate::error::{AppError, AppResult};

/// Returns the token of the position after `(at, id)`.
pub(crate) fn encode(at: DateTime<Utc>, id: impl Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.timestamp_micros()))
}

/// Reads a token made by [`encode`]; [`AppError::InvalidCursor`] for anything else.
pub(crate) fn decode<T: FromStr>(token: &str) -> AppResult<(DateTime<Utc>, T)> {
    let malformed = || AppError::InvalidCursor("the cursor is malformed");
    let bytes = URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (micros, id) = text.split_once('|').ok_or_else(malformed)?;
    let micros: i64 = micros.parse().map_err(|_| malformed())?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(malformed)?;
    Ok((at, id.parse().map_err(|_| malformed())?))
}

#[cfg(test)]
mod tests {
    use tickler_domain::EventId;

    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let id = EventId::from_uuid(uuid::Uuid::from_u128(9));
        assert_eq!(decode::<EventId>(&encode(at, id)).unwrap(), (at, id));
        for garbage in ["", "!!", "bm9wZQ", "MTIzfG5vdC1hLXV1aWQ"] {
            assert!(decode::<EventId>(garbage).is_err(), "{garbage}");
        }
    }
}
