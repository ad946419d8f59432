//! Todoist's project CSV.
//!
//! Columns come from Todoist's help article "Format a CSV file to import into Todoist"
//! (todoist.com/help/articles/format-a-csv-file-to-import-into-todoist-UVUXTmm6), which is
//! also what "Export as a template" writes: `TYPE` (`task`, `section`, `note`), `CONTENT`
//! (task name with `@label`s, section name or note text), `DESCRIPTION`, `PRIORITY` (1 is p1,
//! the highest, 4 is p4, the lowest; empty means p1), `INDENT` (1 top level, 2 a sub-task, ...),
//! `AUTHOR`, `RESPONSIBLE`, `DATE` (Todoist's natural-language date, `every ...` for
//! recurring tasks), `DATE_LANG`, `TIMEZONE`, `DURATION`, `DURATION_UNIT`, and the newer
//! `DEADLINE`, `DEADLINE_LANG`. A `note` row is a comment on the task above it. The file is one
//! project: its name (the uploaded file's name) becomes a tag, as does each section's.
//!
//! Todoist's backups (Settings → Backups, described in Todoist's help article on backups) are a
//! ZIP of these CSVs, one per project, each named by its project; an upload that starts with
//! a ZIP's magic bytes is read as one, entry by entry while it arrives.

use std::io::{BufRead, BufReader, ErrorKind, Read};

use chrono::{NaiveDate, NaiveDateTime};
use tickler_domain::task::format_instant;
use tickler_domain::{Priority, RecurrenceMode, TimeZone};

use crate::csv_rows::{self, Header};
use crate::text::{append_paragraph, fnv64, tag_of};
use crate::{ImportedTask, ReadError, ReadOptions, Row};

/// How every ZIP file starts: a local file header (or, for an empty archive, the end of the
/// central directory).
const ZIP_MAGIC: [&[u8; 4]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];

/// What all the entries of one backup may unpack to together: the upload limit's size, so a
/// small archive of highly compressible data (a ZIP bomb) costs at most as much work as the
/// largest upload would.
const MAX_UNPACKED_BYTES: u64 = 1 << 30;

pub(crate) fn read(
    input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let mut input = BufReader::new(input);
    let start = input.fill_buf()?;
    if ZIP_MAGIC.iter().any(|magic| start.starts_with(*magic)) {
        return read_backup(input, options, sink, MAX_UNPACKED_BYTES);
    }
    let project = options.file_name.as_deref().and_then(project_of);
    read_project(input, project, options, sink)
}

/// Returns the project a CSV file's name names (`Home Stuff.csv` → `Home Stuff`).
fn project_of(file_name: &str) -> Option<String> {
    let name = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let name = name
        .strip_suffix(".csv")
        .or_else(|| name.strip_suffix(".CSV"))
        .unwrap_or(name);
    Some(name.to_owned()).filter(|name| !tag_of(name).is_empty())
}

/// Reads Todoist's backup: a ZIP with one project CSV per project, named by the project.
/// Entries are read in order as the upload arrives (local headers, not the central directory
/// at the end), one at a time; each is a project like an uploaded CSV. The entries together
/// may unpack to at most `budget` bytes, and none to more than its header declares.
fn read_backup(
    mut input: impl Read,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
    mut budget: u64,
) -> Result<(), ReadError> {
    let mut entries = 0u64;
    loop {
        let entry = match zip::read::read_zipfile_from_stream(&mut input) {
            Ok(Some(entry)) => entry,
            Ok(None) => return Ok(()),
            Err(zip::result::ZipError::Io(error)) if error.kind() != ErrorKind::UnexpectedEof => {
                return Err(ReadError::Io(error));
            }
            Err(error) => {
                return Err(ReadError::NotThisFormat {
                    line: 0,
                    reason: format!(
                        "not a readable ZIP (entry {}): {error}{}",
                        entries + 1,
                        if error.to_string().contains("length is not available") {
                            ": tickler reads a backup while it uploads, so each entry must give \
                             its size before its data, as Todoist's backups do; zip the CSVs \
                             again with `zip`, or import them one by one"
                        } else {
                            ""
                        }
                    ),
                });
            }
        };
        entries += 1;
        let name = entry
            .name()
            .map(|name| name.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(entry.name_raw()).into_owned());
        if entry.is_dir() {
            continue;
        }
        let project = project_of(&name);
        if !name.to_ascii_lowercase().ends_with(".csv") {
            let row = Row::NotCarried {
                line: 0,
                source_id: None,
                reason: format!("{name:?} in the backup is not a project CSV"),
            };
            if !sink(row) {
                return Ok(());
            }
            continue;
        }
        let declared = entry.size();
        budget = budget
            .checked_sub(declared)
            .ok_or_else(|| ReadError::NotThisFormat {
                line: 0,
                reason: format!(
                    "the ZIP entry {name:?} unpacks to {declared} bytes, past the \
                     {MAX_UNPACKED_BYTES} bytes a backup may unpack to in all"
                ),
            })?;
        let entry = Declared {
            inner: entry,
            left: declared,
        };
        let mut in_file = |row: Row| sink(in_entry(&name, row));
        match read_project(entry, project, options, &mut in_file) {
            Ok(()) => {}
            // A file of the backup that is not a project: said, and the next one read.
            Err(ReadError::NotThisFormat { line, reason }) => {
                if !sink(Row::NotCarried {
                    line,
                    source_id: None,
                    reason: format!("{name}: {reason}"),
                }) {
                    return Ok(());
                }
            }
            Err(ReadError::Io(error))
                if matches!(
                    error.kind(),
                    ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof
                ) =>
            {
                return Err(ReadError::NotThisFormat {
                    line: 0,
                    reason: format!("the ZIP entry {name:?} is corrupt: {error}"),
                });
            }
            Err(error) => return Err(error),
        }
    }
}

/// An entry's unpacked data, refused past the size its header declares (the size the budget
/// was charged with).
struct Declared<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Declared<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // One byte more than declared is enough to know the entry lies about its size.
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let wanted = buf.len().min(room);
        let read = self.inner.read(&mut buf[..wanted])?;
        let read_u64 = u64::try_from(read).unwrap_or(u64::MAX);
        if read_u64 > self.left {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                "it unpacks to more than its header declares",
            ));
        }
        self.left -= read_u64;
        Ok(read)
    }
}

/// Names the backup's file in what a row of it says (lines count within each file).
fn in_entry(name: &str, row: Row) -> Row {
    match row {
        Row::NotCarried {
            line,
            source_id,
            reason,
        } => Row::NotCarried {
            line,
            source_id,
            reason: format!("{name}: {reason}"),
        },
        Row::Malformed { line, reason } => Row::Malformed {
            line,
            reason: format!("{name}: {reason}"),
        },
        other => other,
    }
}

/// Reads one project CSV; `project` (its name) becomes a tag of each task.
fn read_project(
    input: impl Read,
    project: Option<String>,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Row) -> bool,
) -> Result<(), ReadError> {
    let mut reader = csv_rows::reader(input);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(record)) => Header::new(&record),
        Some(Err(error)) => return Err(csv_rows::io_or(error, not_todoist)),
        None => return Ok(()),
    };
    if !header.has("TYPE") || !header.has("CONTENT") {
        return Err(ReadError::NotThisFormat {
            line: 1,
            reason: "not a Todoist CSV: the header has no TYPE and CONTENT columns".to_owned(),
        });
    }
    let mut state = State {
        options,
        project,
        section: None,
        parents: Vec::new(),
        pending: None,
    };
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) if error.is_io_error() => return Err(csv_rows::io_or(error, not_todoist)),
            Err(error) => {
                let row = Row::Malformed {
                    line: csv_rows::error_line(&error),
                    reason: format!("unreadable CSV row: {error}"),
                };
                if !sink(row) {
                    return Ok(());
                }
                continue;
            }
        };
        for row in state.row(&header, &record) {
            if !sink(row) {
                return Ok(());
            }
        }
    }
    if let Some(task) = state.pending.take() {
        sink(Row::Task(Box::new(task)));
    }
    Ok(())
}

fn not_todoist(error: csv::Error) -> ReadError {
    ReadError::NotThisFormat {
        line: csv_rows::error_line(&error),
        reason: format!("not a Todoist CSV: {error}"),
    }
}

struct State<'o> {
    options: &'o ReadOptions,
    project: Option<String>,
    section: Option<String>,
    /// Titles of the enclosing tasks, by indent level.
    parents: Vec<String>,
    /// The last task read: a `note` row below it belongs to it.
    pending: Option<ImportedTask>,
}

impl State<'_> {
    fn row(&mut self, header: &Header, record: &csv::StringRecord) -> Vec<Row> {
        let line = csv_rows::line_of(record);
        let kind = header.get(record, "TYPE");
        let content = header.get(record, "CONTENT");
        let mut rows = Vec::new();
        match kind {
            "" if content.is_empty() => {}
            "note" => match &mut self.pending {
                Some(task) => {
                    append_paragraph(&mut task.input.description, content);
                    task.map("description", "note rows");
                }
                None => rows.push(Row::NotCarried {
                    line,
                    source_id: None,
                    reason: "a note with no task above it".to_owned(),
                }),
            },
            "section" => {
                rows.extend(self.pending.take().map(|task| Row::Task(Box::new(task))));
                self.section = Some(content.to_owned()).filter(|name| !name.is_empty());
                self.parents.clear();
                rows.push(Row::NotCarried {
                    line,
                    source_id: None,
                    reason: format!(
                        "section {content:?}: tickler has no sections, its tasks carry the tag {:?}",
                        tag_of(content)
                    ),
                });
            }
            "task" => {
                rows.extend(self.pending.take().map(|task| Row::Task(Box::new(task))));
                match self.task(header, record, line) {
                    Ok(task) => self.pending = Some(task),
                    Err(reason) => rows.push(Row::Malformed { line, reason }),
                }
            }
            other => rows.push(Row::Malformed {
                line,
                reason: format!("TYPE {other:?} is not task, section or note"),
            }),
        }
        rows
    }

    fn task(
        &mut self,
        header: &Header,
        record: &csv::StringRecord,
        line: u64,
    ) -> Result<ImportedTask, String> {
        let column = |name: &str| header.get(record, name);
        let content = column("CONTENT");
        let source_id = format!(
            "{}:{line}:{}",
            self.project.as_deref().unwrap_or("project"),
            fnv64(&[content, column("DATE"), column("DESCRIPTION")])
        );
        let mut task = ImportedTask::new(line, source_id);
        // Labels are `@name` words of the content.
        let mut words = Vec::new();
        let mut labels = Vec::new();
        for word in content.split(' ') {
            match word.strip_prefix('@') {
                Some(label) if !label.is_empty() => labels.push(label),
                _ => words.push(word),
            }
        }
        let title = words.join(" ");
        if title.trim().is_empty() {
            return Err("the task has no CONTENT".to_owned());
        }
        task.set_title(&title, "CONTENT");
        for label in labels {
            task.add_tag(label, "CONTENT @labels");
        }
        let description = column("DESCRIPTION");
        if !description.is_empty() {
            append_paragraph(&mut task.input.description, description);
            task.map("description", "DESCRIPTION");
        }
        task.set_priority(
            match column("PRIORITY") {
                "1" | "" => Priority::Urgent,
                "2" => Priority::High,
                "3" => Priority::Medium,
                "4" => Priority::None,
                other => return Err(format!("PRIORITY {other:?} is not 1, 2, 3 or 4")),
            },
            "PRIORITY",
        );
        let indent: usize = match column("INDENT") {
            "" => 1,
            text => text
                .parse()
                .ok()
                .filter(|indent| (1..=5).contains(indent))
                .ok_or_else(|| format!("INDENT {text:?} is not 1 to 5"))?,
        };
        self.parents.truncate(indent - 1);
        if indent > 1 {
            match self.parents.last() {
                Some(parent) => {
                    append_paragraph(
                        &mut task.input.description,
                        &format!("Sub-task of: {parent}"),
                    );
                    task.drop_field(
                        "INDENT",
                        "tickler has no sub-tasks: imported as its own task, its parent named in the description",
                    );
                }
                None => {
                    task.drop_field("INDENT", "indented under no task: imported as its own task")
                }
            }
        }
        self.parents.push(task.input.title.clone());
        let zone_name = column("TIMEZONE");
        let mut zone = self.options.zone;
        if !zone_name.is_empty() {
            match TimeZone::parse(zone_name) {
                Ok(parsed) => {
                    zone = parsed;
                    task.input.timezone = Some(parsed.name().to_owned());
                    task.map("timezone", "TIMEZONE");
                }
                Err(_) => task.drop_field(
                    "TIMEZONE",
                    format!("{zone_name:?} is not an IANA time zone"),
                ),
            }
        }
        let date = column("DATE");
        if !date.is_empty() {
            self.date(&mut task, date, zone, column("DATE_LANG"));
        }
        let deadline = column("DEADLINE");
        if !deadline.is_empty() {
            append_paragraph(
                &mut task.input.description,
                &format!("Deadline: {deadline}"),
            );
            task.drop_field(
                "DEADLINE",
                "tickler has one date per task: noted in the description",
            );
        }
        if !column("DURATION").is_empty() {
            task.drop_field("DURATION", "tickler tasks have no duration");
        }
        for name in ["AUTHOR", "RESPONSIBLE"] {
            if !column(name).is_empty() {
                task.drop_field(name, "a tickler task belongs to the one user importing it");
            }
        }
        if let Some(section) = &self.section {
            task.add_tag(section, "section rows");
        }
        if let Some(project) = &self.project {
            task.add_tag(project, "file name (the project)");
        }
        Ok(task)
    }

    fn date(&self, task: &mut ImportedTask, date: &str, zone: TimeZone, language: &str) {
        if let Ok(day) = NaiveDate::parse_from_str(date, "%Y-%m-%d") {
            task.input.due_at = Some(day.to_string());
            task.input.all_day = true;
            task.map("due_at", "DATE");
            return;
        }
        for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
            if let Ok(local) = NaiveDateTime::parse_from_str(date, format) {
                task.input.due_at = Some(format_instant(zone.resolve_lenient(local)));
                task.map("due_at", "DATE");
                return;
            }
        }
        // Todoist's own words ("tomorrow 5pm", "every monday", "every! 3 days") go through
        // tickler's parser, which reads the same phrases.
        let parsed = tickler_task_parser::parse(&format!("task {date}"), self.options.now, zone);
        if parsed.due_at.is_none() && parsed.recurrence.is_none() {
            task.drop_field("DATE", format!("tickler could not read the date {date:?}"));
            return;
        }
        let leftover = parsed.title.as_deref().unwrap_or("task").trim();
        if leftover != "task" {
            task.drop_field(
                "DATE",
                format!(
                    "the words {:?} of {date:?} were not understood",
                    leftover.trim_start_matches("task ")
                ),
            );
        }
        if let Some(due) = parsed.due_at {
            task.input.all_day = parsed.all_day;
            task.input.due_at = Some(if parsed.all_day {
                zone.local_date(due).to_string()
            } else {
                format_instant(due)
            });
            task.map("due_at", "DATE");
        }
        if let Some(rule) = parsed.recurrence {
            task.set_recurrence(
                rule,
                parsed.recurrence_mode.unwrap_or(RecurrenceMode::FromDue),
                "DATE (every ...)",
            );
        }
        if !language.is_empty() && language != "en" {
            task.drop_field(
                "DATE_LANG",
                format!("dates were read as English, not {language:?}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{options_named, rows_with};
    use tickler_domain::TaskStatus;

    const PROJECT: &str = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT\n\
task,Water the plants @home,,4,1,Ann (1),,every monday,en,Europe/Berlin,,\n\
note,Use the blue can,,,,,,,,,,\n\
section,Errands,,,,,,,,,,\n\
task,Buy stamps,at the post office,2,1,,,2026-12-24,en,,,\n\
task,Ask about parcels,,3,2,,,tomorrow 5pm,en,,15,minute\n\
pony,what,,,,,,,,,,\n\
task,Pay fine,,9,1,,,,,,,\n";

    #[test]
    fn a_project_csv_becomes_tasks_with_labels_sections_notes_and_recurrence() {
        let rows = rows_with(
            crate::Source::Todoist,
            PROJECT,
            &options_named("Home Stuff.csv"),
        );
        let tasks: Vec<_> = rows
            .iter()
            .filter_map(|row| match row {
                Row::Task(task) => Some(task),
                _ => None,
            })
            .collect();
        assert_eq!(tasks.len(), 3, "{rows:?}");
        let water = tasks[0];
        assert_eq!(water.input.title, "Water the plants");
        assert_eq!(water.input.tags, vec!["home", "home-stuff"]);
        assert_eq!(water.input.description, "Use the blue can");
        assert_eq!(
            water.input.recurrence.as_deref(),
            Some("FREQ=WEEKLY;BYDAY=MO")
        );
        assert_eq!(water.input.timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(water.input.priority, Priority::None);
        assert!(water.not_carried.iter().any(|n| n.field == "AUTHOR"));
        let stamps = tasks[1];
        assert_eq!(stamps.input.due_at.as_deref(), Some("2026-12-24"));
        assert!(stamps.input.all_day);
        assert_eq!(stamps.input.priority, Priority::High);
        assert_eq!(stamps.input.tags, vec!["errands", "home-stuff"]);
        let ask = tasks[2];
        assert!(ask.input.description.contains("Sub-task of: Buy stamps"));
        assert!(ask.input.due_at.is_some());
        assert_eq!(ask.input.status, TaskStatus::Todo);
        assert!(
            rows.iter()
                .any(|row| matches!(row, Row::Malformed { line: 7, .. }))
        );
        assert!(rows.iter().any(
            |row| matches!(row, Row::Malformed { line: 8, reason } if reason.contains("PRIORITY"))
        ));
    }

    /// A Todoist backup: one CSV per project, deflated, as a ZIP writer lays it out.
    pub(crate) fn backup(files: &[(&str, &str)]) -> Vec<u8> {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, text) in files {
            zip.start_file(*name, options).unwrap();
            zip.write_all(text.as_bytes()).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn tasks_of(rows: &[Row]) -> Vec<&ImportedTask> {
        rows.iter()
            .filter_map(|row| match row {
                Row::Task(task) => Some(task.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_backup_zip_is_read_project_by_project_each_name_a_tag() {
        let work = "TYPE,CONTENT,PRIORITY,INDENT,DATE\n\
task,Send the report,1,1,every friday\n\
task,Draft it,2,2,\n";
        let zip = backup(&[
            ("Home Stuff.csv", PROJECT),
            ("Work.csv", work),
            ("notes.txt", "not a project"),
        ]);
        let mut rows = Vec::new();
        read(
            zip.as_slice(),
            &options_named("Todoist backup.zip"),
            &mut |row| {
                rows.push(row);
                true
            },
        )
        .unwrap();
        let tasks = tasks_of(&rows);
        assert_eq!(tasks.len(), 5, "{rows:?}");
        // The same rows as the project's own CSV gives, source ids included.
        let alone = rows_with(
            crate::Source::Todoist,
            PROJECT,
            &options_named("Home Stuff.csv"),
        );
        assert_eq!(tasks[..3], tasks_of(&alone)[..]);
        let send = tasks[3];
        assert_eq!(send.input.tags, vec!["work"]);
        assert_eq!(
            send.input.recurrence.as_deref(),
            Some("FREQ=WEEKLY;BYDAY=FR")
        );
        assert!(
            tasks[4]
                .input
                .description
                .contains("Sub-task of: Send the report")
        );
        assert!(rows.iter().any(|row| matches!(
            row,
            Row::Malformed { line: 7, reason } if reason.starts_with("Home Stuff.csv: ")
        )));
        assert!(rows.iter().any(|row| matches!(
            row,
            Row::NotCarried { reason, .. } if reason.contains("notes.txt")
        )));
    }

    #[test]
    fn a_corrupt_backup_stops_with_a_reason() {
        let mut zip = backup(&[("Home.csv", PROJECT)]);
        // The first entry's deflated data (after the 30-byte header, the name and the extra
        // field) starts with a block of the reserved type 3.
        let data = 30
            + usize::from(u16::from_le_bytes([zip[26], zip[27]]))
            + usize::from(u16::from_le_bytes([zip[28], zip[29]]));
        for byte in &mut zip[data..data + 20] {
            *byte = 0xff;
        }
        let truncated = &backup(&[("Home.csv", PROJECT)])[..20];
        let junk = b"PK\x03\x04 is all this has of a ZIP";
        for broken in [zip.as_slice(), truncated, junk] {
            let mut rows = 0;
            let outcome = read(broken, &options_named("b.zip"), &mut |_| {
                rows += 1;
                true
            });
            match outcome {
                Err(ReadError::NotThisFormat { reason, .. }) => {
                    assert!(reason.contains("ZIP"), "{reason}")
                }
                other => panic!("{other:?} after {rows} rows"),
            }
        }
    }

    #[test]
    fn a_backup_unpacking_past_its_budget_is_refused_before_it_is_read() {
        let big = format!("TYPE,CONTENT\n{}", "task,Water the plants\n".repeat(2_000));
        let zip = backup(&[("Home.csv", PROJECT), ("Big.csv", &big)]);
        let budget = u64::try_from(PROJECT.len() + big.len() - 1).unwrap();
        let mut rows = Vec::new();
        let outcome = read_backup(
            zip.as_slice(),
            &options_named("b.zip"),
            &mut |row| {
                rows.push(row);
                true
            },
            budget,
        );
        match outcome {
            Err(ReadError::NotThisFormat { reason, .. }) => {
                assert!(reason.contains("\"Big.csv\" unpacks to"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // The first project, within the budget, was read; nothing of the second.
        assert_eq!(tasks_of(&rows).len(), 3, "{rows:?}");
    }

    #[test]
    fn an_entry_unpacking_past_its_declared_size_is_an_error() {
        let mut entry = Declared {
            inner: &b"twelve bytes"[..],
            left: 6,
        };
        let mut text = String::new();
        let error = entry.read_to_string(&mut text).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidData);
        let mut exact = Declared {
            inner: &b"twelve bytes"[..],
            left: 12,
        };
        text.clear();
        exact.read_to_string(&mut text).unwrap();
        assert_eq!(text, "twelve bytes");
    }

    #[test]
    fn the_same_file_gives_the_same_source_ids() {
        let ids = |text: &str| -> Vec<String> {
            rows_with(crate::Source::Todoist, text, &options_named("p.csv"))
                .into_iter()
                .filter_map(|row| match row {
                    Row::Task(task) => Some(task.source_id),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(ids(PROJECT), ids(PROJECT));
    }
}
