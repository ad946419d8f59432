//! Moving in and out: the import report (`POST /api/v1/imports`) and the versioned export
//! document (`GET /api/v1/exports?format=json`), which the `tickler` importer reads back.
//!
//! The export format is documented in `docs/import-export.md`; its `format` is always
//! [`EXPORT_FORMAT`] and its `version` [`EXPORT_VERSION`]. Later versions only add fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tickler_domain::{ChannelId, ChannelKind, TaskId};
use utoipa::ToSchema;

use crate::audit::AuditEntryBody;
use crate::notification::ChannelBody;
use crate::problem::Problem;
use crate::task::TaskBody;

/// The `format` of every tickler export document.
pub const EXPORT_FORMAT: &str = "tickler-export";
/// The version of the export document this build writes (and the newest it reads).
pub const EXPORT_VERSION: u32 = 1;

/// Where an imported file comes from (the `source` field of `POST /api/v1/imports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportSourceName {
    /// A Todoist CSV export.
    Todoist,
    /// Taskwarrior's `task export` JSON.
    Taskwarrior,
    /// A TickTick CSV backup.
    Ticktick,
    /// An iCalendar file (VTODO and VEVENT).
    Ical,
    /// A tickler export.
    Tickler,
}

/// The multipart form of `POST /api/v1/imports`: its fields in this order (the file streams,
/// so `source` must come before it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportForm {
    /// The format of the file.
    pub source: ImportSourceName,
    /// `true` (the default): report what the import would do and write nothing.
    #[serde(default)]
    pub dry_run: Option<bool>,
    /// The file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The formats of `GET /api/v1/exports`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// The versioned JSON document that `source=tickler` imports back (the default).
    Json,
    /// An iCalendar file of the tasks.
    Ical,
}

/// Everything a user owns, as `GET /api/v1/exports?format=json` writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportDocument {
    /// Always `tickler-export`.
    pub format: String,
    /// The format version, 1.
    pub version: u32,
    /// When the export was taken.
    pub exported_at: DateTime<Utc>,
    /// The account the data belongs to (no credentials).
    pub account: ExportAccount,
    /// The notification channels, without their signing secrets.
    pub channels: Vec<ChannelBody>,
    /// Every task, done and recurring instances included, oldest first. Each carries its
    /// series (`series_id`, `sequence`), reminders and tags.
    pub tasks: Vec<ExportTask>,
}

/// The account an export was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportAccount {
    /// Its e-mail address.
    pub email: String,
    /// Its display name, if it has one.
    pub name: Option<String>,
    /// Its IANA time zone.
    pub timezone: String,
}

/// One task of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExportTask {
    /// The task as the API shows it.
    #[serde(flatten)]
    pub task: TaskBody,
    /// Its audit trail, oldest first, when the export was asked for with `history=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<AuditEntryBody>>,
}

/// What an import did, or (a dry run) would do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// `todoist`, `taskwarrior`, `ticktick`, `ical` or `tickler`.
    pub source: String,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Counts, final when the report is.
    pub progress: ImportProgress,
    /// Per task field, where its values came from and how many tasks got one.
    pub fields: Vec<FieldMapping>,
    /// The tasks created (or, in a dry run, to create), in file order.
    pub tasks: Vec<ImportedTaskBody>,
    /// The notification channels of a tickler export, recreated (or, a dry run, to recreate).
    #[serde(default)]
    pub channels: Vec<ImportedChannelBody>,
    /// Every item or field of the file that was not carried over, with the reason.
    pub not_carried_over: Vec<NotCarriedOver>,
    /// Rows that could not be read, skipped.
    pub malformed: Vec<MalformedRow>,
}

/// The media type of an import answered line by line (`Accept: application/x-ndjson`).
pub const NDJSON: &str = "application/x-ndjson";

/// One line of `POST /api/v1/imports` answered as [`NDJSON`]: progress lines while the import
/// runs, then one `report` line (or, if it failed after progress was sent, one `error` line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ImportStreamLine {
    /// The counts so far, sent as the import goes (after each batch of tasks, about every 200
    /// items), never after the report.
    Progress {
        /// Items of the file handled so far (read, and created, skipped or reported); it only
        /// grows.
        processed: u64,
        /// The running counts, as in the report's `progress`.
        counts: ImportProgress,
    },
    /// The last line of an import that ran: the report the plain JSON answer would be.
    Report {
        /// What the import did.
        report: ImportReport,
    },
    /// The last line of an import that failed once progress lines were sent (the status was
    /// already 200): the problem document the plain answer would have been.
    Error {
        /// What went wrong.
        problem: Problem,
    },
}

/// Running counts of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportProgress {
    /// Items read from the file (tasks, malformed rows and items not carried over).
    pub rows_read: u64,
    /// Tasks created (a dry run: tasks that would be).
    pub tasks_created: u64,
    /// Tasks skipped because an earlier import of the same source id created them.
    pub already_imported: u64,
    /// Rows that could not be read.
    pub malformed: u64,
    /// Bytes of the file read so far.
    pub bytes_read: u64,
}

/// How one tickler field was filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldMapping {
    /// The tickler field (`title`, `due_at`, ...).
    pub field: String,
    /// The source's field(s) it came from.
    pub from: String,
    /// How many imported tasks got a value for it.
    pub tasks: u64,
}

/// One task of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedTaskBody {
    /// The line of the file where the item ends.
    pub line: u64,
    /// Its id in the source (for files without ids, one derived from its position and text).
    pub source_id: String,
    /// Its tickler title.
    pub title: String,
    /// `create` (dry run), `created` or `already_imported`.
    pub action: String,
    /// The tickler task (created now, or by the earlier import); absent in a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<TaskId>,
}

/// A notification channel of an import. Webhook channels are created off, with a new signing
/// secret (the export holds none): configure the receiver with it, then turn the channel on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportedChannelBody {
    /// `webhook`, `email` or `in_app`.
    pub kind: ChannelKind,
    /// A webhook's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An e-mail channel's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `create` or `update` (dry run), `created`, `updated` (the in-app channel's on/off), or
    /// `already_imported` (the account has an equal channel: same kind and URL or address).
    pub action: String,
    /// Whether it is on, on this server (once the import is applied).
    pub enabled: bool,
    /// The channel on this server; absent in a dry run for a channel to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<ChannelId>,
    /// A created webhook channel's signing secret (`whsec_...`), shown only here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// An item or field not carried over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotCarriedOver {
    /// The line of the file where the item ends.
    pub line: u64,
    /// The item's source id, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The source field, or `item` when the whole item was left out.
    pub field: String,
    /// Why.
    pub reason: String,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MalformedRow {
    /// Its line.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}
