//! Reading other task managers' exports, and tickler's own, into tasks to create.
//!
//! One reader per format (`todoist`, `taskwarrior`, `ticktick`, `ical`, `tickler`) turns a byte
//! stream into [`Row`]s, handed one at a time to a sink: a task to create ([`ImportedTask`],
//! with what each field was mapped from and what was left out), an item not carried over, or
//! a malformed row (with its line; the reader goes on with the next one). Readers stream:
//! they hold one item (and for Todoist one row of look-ahead) at a time, never the file.
//!
//! The crate is pure: no clock (`now` and the zone come in [`ReadOptions`]), no storage, no
//! ids. The application layer (`tickler-app`) turns rows into tasks through its use cases and
//! keeps the import ledger. Each reader says which published document its columns come from.

mod csv_rows;
mod ical;
mod json_stream;
mod recur;
mod taskwarrior;
mod text;
mod tickler;
mod ticktick;
mod todoist;
mod windows_zones;

use std::io::Read;

use chrono::{DateTime, Utc};
use tickler_domain::{ChannelKind, Priority, RecurrenceMode, TaskInput, TaskStatus, TimeZone};

pub use recur::taskwarrior_period_to_rrule;

/// The formats tickler imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Todoist's project CSV (its import/export template format).
    Todoist,
    /// `task export` JSON of Taskwarrior 2.6 (one array, or one object per line).
    Taskwarrior,
    /// TickTick's CSV backup.
    Ticktick,
    /// iCalendar (RFC 5545): `VTODO`s and `VEVENT`s.
    Ical,
    /// tickler's own export document (`docs/import-export.md`).
    Tickler,
}

impl Source {
    /// Every source.
    pub const ALL: [Source; 5] = [
        Source::Todoist,
        Source::Taskwarrior,
        Source::Ticktick,
        Source::Ical,
        Source::Tickler,
    ];

    /// Returns the wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Todoist => "todoist",
            Source::Taskwarrior => "taskwarrior",
            Source::Ticktick => "ticktick",
            Source::Ical => "ical",
            Source::Tickler => "tickler",
        }
    }

    /// Parses the wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|source| source.as_str() == name)
    }
}

/// What a reader needs to know besides the bytes.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The instant relative dates ("tomorrow", "every monday") are read at.
    pub now: DateTime<Utc>,
    /// The importing user's zone: dates without one are read in it.
    pub zone: TimeZone,
    /// The uploaded file's name, if known (a Todoist CSV is one project, named by its file).
    pub file_name: Option<String>,
}

/// A task's place in a series of the source, so that its instances become one tickler series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesRef {
    /// Identifies the series within the file (the source id of its template or first instance).
    pub key: String,
    /// The instance's number in the series, from 1.
    pub sequence: u32,
}

/// A field left out, or a note about how it was carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotCarried {
    /// The source's field.
    pub field: String,
    /// Why it was not carried over (or how it was carried instead).
    pub reason: String,
}

/// One task to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedTask {
    /// The line where the item ends.
    pub line: u64,
    /// Its id in the source; unique within a file.
    pub source_id: String,
    /// The fields, as a client would send them (validated by the use case).
    pub input: TaskInput,
    /// When the source says it was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When the source says it was completed (for a done task).
    pub completed_at: Option<DateTime<Utc>>,
    /// Its series in the source, if it is an instance of one.
    pub series: Option<SeriesRef>,
    /// Per tickler field, the source field(s) it came from (only fields that got a value).
    pub mapped: Vec<(&'static str, &'static str)>,
    /// Fields of the item not carried over, with the reason.
    pub not_carried: Vec<NotCarried>,
}

impl ImportedTask {
    fn new(line: u64, source_id: String) -> Self {
        Self {
            line,
            source_id,
            input: TaskInput::default(),
            created_at: None,
            completed_at: None,
            series: None,
            mapped: Vec::new(),
            not_carried: Vec::new(),
        }
    }

    fn map(&mut self, field: &'static str, from: &'static str) {
        if !self.mapped.iter().any(|(known, _)| *known == field) {
            self.mapped.push((field, from));
        }
    }

    fn drop_field(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.not_carried.push(NotCarried {
            field: field.into(),
            reason: reason.into(),
        });
    }

    fn set_title(&mut self, text: &str, from: &'static str) {
        let (title, rest) = text::title_and_overflow(text);
        self.input.title = title;
        self.map("title", from);
        if let Some(rest) = rest {
            text::append_paragraph(&mut self.input.description, &rest);
            self.drop_field(
                from,
                "longer than a tickler title (500 characters, one line): the rest is in the description",
            );
        }
    }

    fn set_status(&mut self, status: TaskStatus, from: &'static str) {
        self.input.status = status;
        self.map("status", from);
    }

    fn set_priority(&mut self, priority: Priority, from: &'static str) {
        self.input.priority = priority;
        if priority != Priority::None {
            self.map("priority", from);
        }
    }

    fn add_tag(&mut self, raw: &str, from: &'static str) {
        let tag = text::tag_of(raw);
        if tag.is_empty() {
            self.drop_field(
                from,
                format!("{raw:?} has no letters or digits to make a tag of"),
            );
            return;
        }
        if !self.input.tags.contains(&tag) {
            self.input.tags.push(tag);
        }
        self.map("tags", from);
    }

    fn set_recurrence(&mut self, rule: String, mode: RecurrenceMode, from: &'static str) {
        self.input.recurrence = Some(rule);
        self.input.recurrence_mode = mode;
        self.map("recurrence", from);
    }
}

/// A notification channel of a tickler export, to recreate (never with a secret: exports
/// hold none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedChannel {
    /// The line where the document's channels are.
    pub line: u64,
    /// `webhook`, `email` or `in_app`.
    pub kind: ChannelKind,
    /// A webhook's URL.
    pub url: Option<String>,
    /// An e-mail channel's address.
    pub address: Option<String>,
    /// Whether it was on.
    pub enabled: bool,
}

/// One item of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A task to create.
    Task(Box<ImportedTask>),
    /// A notification channel to recreate (tickler exports only).
    Channel(Box<ImportedChannel>),
    /// An item that is not a task tickler can hold (a section, a deleted task, ...).
    NotCarried {
        /// The line where it ends.
        line: u64,
        /// Its source id, if it has one.
        source_id: Option<String>,
        /// What it is, and why it is left out.
        reason: String,
    },
    /// A row that could not be read; the reader went on with the next one.
    Malformed {
        /// Its line.
        line: u64,
        /// What is wrong.
        reason: String,
    },
}

/// A failure that stops a reader (rows already handed to the sink stand).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The input could not be read.
    #[error("failed to read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not in the format at all (no header, not JSON, ...).
    #[error("line {line}: {reason}")]
    NotThisFormat {
        /// Where the reader gave up.
        line: u64,
        /// Why.
        reason: String,
    },
}

/// Whether the sink wants more rows.
pub type Continue = bool;

/// Reads `input` as `source`, handing each row to `sink` until the end or until `sink`
/// returns false.
pub fn read(
    source: Source,
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> Continue,
) -> Result<(), ReadError> {
    match source {
        Source::Todoist => todoist::read(input, options, sink),
        Source::Taskwarrior => taskwarrior::read(input, options, sink),
        Source::Ticktick => ticktick::read(input, options, sink),
        Source::Ical => ical::read(input, options, sink),
        Source::Tickler => tickler::read(input, options, sink),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn options() -> ReadOptions {
        ReadOptions {
            now: DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .map(|at| at.to_utc())
                .unwrap_or_default(),
            zone: TimeZone::parse("Europe/London").unwrap_or(TimeZone::UTC),
            file_name: None,
        }
    }

    pub(crate) fn options_named(name: &str) -> ReadOptions {
        ReadOptions {
            file_name: Some(name.to_owned()),
            ..options()
        }
    }

    pub(crate) fn rows(source: Source, text: &str) -> Vec<Row> {
        rows_with(source, text, &options())
    }

    pub(crate) fn rows_with(source: Source, text: &str, options: &ReadOptions) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut sink = |row: Row| {
            rows.push(row);
            true
        };
        if let Err(error) = read(source, text.as_bytes(), options, &mut sink) {
            panic!("{error}");
        }
        rows
    }
}
