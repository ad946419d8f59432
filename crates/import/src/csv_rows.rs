//! CSV files read one record at a time, columns found by their header names.

use std::io::Read;

use csv::StringRecord;

use crate::ReadError;

/// A header row: where each named column is.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    names: Vec<String>,
}

impl Header {
    pub(crate) fn new(record: &StringRecord) -> Self {
        Self {
            names: record
                .iter()
                .map(|name| {
                    name.trim()
                        .trim_start_matches('\u{feff}')
                        .to_ascii_lowercase()
                })
                .collect(),
        }
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.names
            .iter()
            .any(|known| known == &name.to_ascii_lowercase())
    }

    /// Returns the trimmed value of a column in a record; empty when absent.
    pub(crate) fn get<'r>(&self, record: &'r StringRecord, name: &str) -> &'r str {
        let name = name.to_ascii_lowercase();
        self.names
            .iter()
            .position(|known| *known == name)
            .and_then(|index| record.get(index))
            .map(str::trim)
            .unwrap_or_default()
    }
}

/// A flexible CSV reader (rows may have fewer or more fields than the header).
pub(crate) fn reader(input: impl Read) -> csv::Reader<impl Read> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
}

/// The line a record starts on.
pub(crate) fn line_of(record: &StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

/// The line of a CSV error.
pub(crate) fn error_line(error: &csv::Error) -> u64 {
    error.position().map_or(0, csv::Position::line)
}

/// Returns a CSV error that is an input failure (the upload broke off, a ZIP entry is corrupt)
/// as [`ReadError::Io`], so that reading stops; any other through `otherwise`.
pub(crate) fn io_or(
    error: csv::Error,
    otherwise: impl FnOnce(csv::Error) -> ReadError,
) -> ReadError {
    match error.kind() {
        csv::ErrorKind::Io(io) => ReadError::Io(std::io::Error::new(io.kind(), io.to_string())),
        _ => otherwise(error),
    }
}
