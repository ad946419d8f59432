//! RFC 3339 instants written without `core::fmt`: the same text as chrono's own `Serialize`
//! (`2026-12-06T18:58:40.123Z`: UTC as `Z`, the fraction in 0, 3, 6 or 9 digits, whichever
//! holds it exactly), built in a stack buffer. Task bodies carry up to four instants, and
//! formatting them through `fmt` cost more than the rest of the body's JSON.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Serializer;

/// Longest text [`write`] produces: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
const MAX_LEN: usize = 30;

/// Writes `at` into `buffer` and returns the text, or `None` for what chrono writes in
/// another shape (years outside 0–9999, leap seconds).
pub fn write<'buffer>(
    at: &DateTime<Utc>,
    buffer: &'buffer mut [u8; MAX_LEN],
) -> Option<&'buffer str> {
    let year = at.year();
    let nanos = at.nanosecond();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut put = |at: usize, value: u32, digits: usize| {
        let mut value = value;
        for position in (at..at + digits).rev() {
            buffer[position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    let mut length = 19;
    let (fraction, digits) = if nanos == 0 {
        (0, 0)
    } else if nanos.is_multiple_of(1_000_000) {
        (nanos / 1_000_000, 3)
    } else if nanos.is_multiple_of(1_000) {
        (nanos / 1_000, 6)
    } else {
        (nanos, 9)
    };
    if digits > 0 {
        put(20, fraction, digits);
        length += 1 + digits;
    }
    buffer[4] = b'-';
    buffer[7] = b'-';
    buffer[10] = b'T';
    buffer[13] = b':';
    buffer[16] = b':';
    buffer[19] = b'.';
    buffer[length] = b'Z';
    std::str::from_utf8(&buffer[..=length]).ok()
}

/// `serialize_with` for a `DateTime<Utc>` field.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; MAX_LEN];
    match write(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => serde::Serialize::serialize(at, serializer),
    }
}

/// `serialize_with` for an `Option<DateTime<Utc>>` field.
pub fn serialize_option<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn chrono_text(at: &DateTime<Utc>) -> String {
        serde_json::to_string(at).unwrap()
    }

    fn fast_text(at: &DateTime<Utc>) -> String {
        let mut text = Vec::new();
        serialize(at, &mut serde_json::Serializer::new(&mut text)).unwrap();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn instants_are_written_exactly_as_chrono_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 12, 6, 18, 58, 40).unwrap();
        let mut instants = vec![
            base,
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap(),
        ];
        for nanos in [
            1,
            999,
            1_000,
            120_000,
            123_000_000,
            100_000_000,
            999_999_999,
            5_000_010,
        ] {
            instants.push(base + chrono::TimeDelta::nanoseconds(nanos));
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        instants.push(leap);
        for at in &instants {
            assert_eq!(fast_text(at), chrono_text(at), "{at:?}");
        }
        let none: Option<DateTime<Utc>> = None;
        let mut text = Vec::new();
        serialize_option(&none, &mut serde_json::Serializer::new(&mut text)).unwrap();
        assert_eq!(text, b"null");
    }
}
