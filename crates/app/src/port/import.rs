//! `POST /api/v1/imports` and `tickler import`: a file read by `tickler-import` on a blocking
//! thread, its rows handed over a bounded channel (so the file streams: neither the upload nor
//! its tasks are held whole), checked against the import ledger, validated like API input and
//! created in batches, each batch one change set with its events and ledger rows.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use tickler_domain::time::truncate_to_micros;
use tickler_domain::{
    ChannelKind, DomainEvent, FieldError, SeriesPosition, Task, TaskId, TaskStatus,
};
pub use tickler_import::Source as ImportSource;
use tickler_import::{ImportedChannel, ImportedTask, ReadError, ReadOptions, Row};
use tickler_protocol::notification::{CreateChannelRequest, UpdateChannelRequest};
use tickler_protocol::port::{
    FieldMapping, ImportProgress, ImportReport, ImportedChannelBody, ImportedTaskBody,
    MalformedRow, NotCarriedOver,
};
use tickler_store::{ChangeSet, Conflict, ImportRecord, SeriesWrite, StoreError, TaskWrite};
use tokio::sync::{mpsc, watch};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::{Actor, App, Origin};

/// Tasks created per change set: large enough to share a flush, small enough to keep a
/// transaction short.
const BATCH: usize = 200;
/// Rows waiting between the reader and the writer.
const CHANNEL_ROWS: usize = 1_000;

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportParams {
    /// The format of the file.
    pub source: ImportSource,
    /// True to only report what would happen.
    pub dry_run: bool,
    /// The uploaded file's name (a Todoist project's name).
    pub file_name: Option<String>,
}

/// Counts the bytes a reader hands out, for progress.
struct CountingReader<R> {
    inner: R,
    bytes: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.bytes.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

/// The state of one import while it runs.
struct Run<'a> {
    app: &'a App,
    actor: Actor,
    params: ImportParams,
    report: ImportReport,
    field_counts: Vec<(&'static str, &'static str, u64)>,
    /// Source ids seen in this file (a second occurrence is malformed).
    seen: HashSet<String>,
    /// The tickler series id of each source series met so far.
    series: HashMap<String, TaskId>,
    /// The sequence number each of those series was advanced to by a committed batch.
    advanced: HashMap<TaskId, u32>,
    pending: Vec<ImportedTask>,
    bytes: Arc<AtomicU64>,
    progress: Option<watch::Sender<ImportProgress>>,
    /// `rows_read` when progress was last published.
    published_at: u64,
}

impl App {
    /// Imports a file for the caller (see the module docs). A dry run writes nothing. A
    /// malformed row is reported with its line and skipped; a file that is not in the format
    /// at all is refused (422) before anything is written, unless rows before the point
    /// where it stopped making sense were already imported (they stay, and are reported).
    pub async fn import_file(
        &self,
        actor: &Actor,
        params: ImportParams,
        input: Box<dyn Read + Send>,
        progress: Option<watch::Sender<ImportProgress>>,
    ) -> AppResult<ImportReport> {
        let bytes = Arc::new(AtomicU64::new(0));
        let options = ReadOptions {
            now: self.now(),
            zone: actor.user.timezone,
            file_name: params.file_name.clone(),
        };
        let (sender, mut receiver) = mpsc::channel::<Row>(CHANNEL_ROWS);
        let source = params.source;
        let counting = CountingReader {
            inner: input,
            bytes: Arc::clone(&bytes),
        };
        let reader = tokio::task::spawn_blocking(move || {
            let mut sink = |row: Row| sender.blocking_send(row).is_ok();
            tickler_import::read(source, counting, &options, &mut sink)
        });
        let mut run = Run {
            app: self,
            actor: Actor {
                origin: Origin::Import,
                ..actor.clone()
            },
            report: ImportReport {
                source: params.source.as_str().to_owned(),
                dry_run: params.dry_run,
                ..ImportReport::default()
            },
            params,
            field_counts: Vec::new(),
            seen: HashSet::new(),
            series: HashMap::new(),
            advanced: HashMap::new(),
            pending: Vec::new(),
            bytes,
            progress,
            published_at: 0,
        };
        while let Some(row) = receiver.recv().await {
            run.row(row).await?;
        }
        run.flush().await?;
        let outcome = reader
            .await
            .map_err(|error| AppError::Internal(format!("the import reader failed: {error}")))?;
        match outcome {
            Ok(()) => {}
            Err(ReadError::NotThisFormat { line, reason })
                if run.report.progress.rows_read == 0 =>
            {
                return Err(FieldError::new(
                    "file",
                    "unreadable_file",
                    format!("line {line}: {reason}"),
                )
                .into());
            }
            Err(ReadError::NotThisFormat { line, reason }) => {
                run.report.malformed.push(MalformedRow {
                    line,
                    reason: format!("reading stopped here: {reason}"),
                });
                run.report.progress.malformed += 1;
            }
            Err(ReadError::Io(error)) => {
                return Err(FieldError::new(
                    "file",
                    "unreadable_file",
                    format!("the upload broke off: {error}"),
                )
                .into());
            }
        }
        run.report.fields = run
            .field_counts
            .iter()
            .map(|(field, from, tasks)| FieldMapping {
                field: (*field).to_owned(),
                from: (*from).to_owned(),
                tasks: *tasks,
            })
            .collect();
        run.publish();
        tracing::info!(
            source = run.params.source.as_str(),
            dry_run = run.params.dry_run,
            created = run.report.progress.tasks_created,
            already_imported = run.report.progress.already_imported,
            malformed = run.report.progress.malformed,
            "import finished"
        );
        Ok(run.report)
    }
}

impl Run<'_> {
    async fn row(&mut self, row: Row) -> AppResult<()> {
        self.report.progress.rows_read += 1;
        match row {
            Row::Task(task) => {
                if !self.seen.insert(task.source_id.clone()) {
                    self.malformed(
                        task.line,
                        format!("a second item with the id {:?}", task.source_id),
                    );
                } else {
                    self.pending.push(*task);
                    if self.pending.len() >= BATCH {
                        self.flush().await?;
                    }
                }
            }
            Row::NotCarried {
                line,
                source_id,
                reason,
            } => {
                self.report.not_carried_over.push(NotCarriedOver {
                    line,
                    source_id,
                    field: "item".to_owned(),
                    reason,
                });
            }
            Row::Malformed { line, reason } => self.malformed(line, reason),
            Row::Channel(channel) => self.channel(*channel).await?,
        }
        // Rows that are not tasks (a file of malformed rows, say) are progress too.
        if self.pending.is_empty()
            && self.report.progress.rows_read - self.published_at >= BATCH as u64
        {
            self.publish();
        }
        Ok(())
    }

    /// Recreates a notification channel of a tickler export, unless the account has an equal
    /// one (same kind and URL or address). A webhook channel is created off, with a new
    /// signing secret reported once: the export has none, and a receiver that checks
    /// signatures would refuse the new server's deliveries until given the new secret. An
    /// e-mail channel is created as `POST /api/v1/notification-channels` creates one, on or off
    /// as it was: pending until its owner posts the code mailed to it (beyond the verification
    /// mail limits it is not carried over, with the reason). The in-app channel takes the
    /// exported on/off.
    async fn channel(&mut self, imported: ImportedChannel) -> AppResult<()> {
        let kind = imported.kind;
        let dry_run = self.params.dry_run;
        let (url, address) = match self.app.checked_channel_target(
            kind,
            imported.url.as_deref(),
            imported.address.as_deref(),
        ) {
            Ok(target) => target,
            Err(error) => {
                self.channel_not_carried(&imported, error);
                return Ok(());
            }
        };
        let existing = self.app.list_channels(&self.actor).await?;
        let same = existing.iter().find(|channel| {
            channel.kind == kind && channel.url == url && channel.address == address
        });
        let mut body = ImportedChannelBody {
            kind,
            url: url.clone(),
            address: address.clone(),
            action: "already_imported".to_owned(),
            enabled: imported.enabled,
            channel_id: same.map(|channel| channel.id),
            secret: None,
        };
        match same {
            Some(channel) if channel.enabled == imported.enabled || kind != ChannelKind::InApp => {
                body.enabled = channel.enabled;
            }
            Some(channel) => {
                body.action = if dry_run { "update" } else { "updated" }.to_owned();
                if !dry_run {
                    let request = UpdateChannelRequest {
                        enabled: Some(imported.enabled),
                        ..UpdateChannelRequest::default()
                    };
                    self.app
                        .update_channel(&self.actor, &channel.id.to_string(), request)
                        .await?;
                }
            }
            None => {
                body.enabled = imported.enabled && kind != ChannelKind::Webhook;
                body.action = if dry_run { "create" } else { "created" }.to_owned();
                if !dry_run {
                    let request = CreateChannelRequest {
                        kind,
                        url,
                        address,
                        enabled: Some(body.enabled),
                    };
                    match self.app.create_channel(&self.actor, request).await {
                        Ok((channel, secret)) => {
                            body.channel_id = Some(channel.id);
                            body.secret = secret.map(|secret| secret.display());
                        }
                        Err(error)
                            if matches!(
                                error.kind(),
                                ErrorKind::Conflict | ErrorKind::TooManyRequests
                            ) =>
                        {
                            self.channel_not_carried(&imported, error);
                            return Ok(());
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        self.report.channels.push(body);
        Ok(())
    }

    fn channel_not_carried(&mut self, imported: &ImportedChannel, error: AppError) {
        let target = imported
            .url
            .as_deref()
            .or(imported.address.as_deref())
            .unwrap_or_default();
        self.report.not_carried_over.push(NotCarriedOver {
            line: imported.line,
            source_id: None,
            field: "channels".to_owned(),
            reason: format!(
                "notification channel {} {target}: {error}",
                imported.kind.as_str()
            ),
        });
    }

    fn malformed(&mut self, line: u64, reason: String) {
        self.report.progress.malformed += 1;
        self.report.malformed.push(MalformedRow { line, reason });
    }

    /// Publishes the counts: called when every row read so far is handled (no task pending).
    fn publish(&mut self) {
        self.published_at = self.report.progress.rows_read;
        self.report.progress.bytes_read = self.bytes.load(Ordering::Relaxed);
        if let Some(progress) = &self.progress {
            progress.send_replace(self.report.progress);
        }
    }

    /// Creates (or, in a dry run, plans) the pending tasks not imported before.
    async fn flush(&mut self) -> AppResult<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let ids: Vec<String> = batch.iter().map(|task| task.source_id.clone()).collect();
        let owner = self.actor.user.id;
        let source = self.params.source.as_str();
        let known: HashMap<String, TaskId> = self
            .app
            .store
            .imported_tasks(owner, source, &ids)
            .await?
            .into_iter()
            .collect();
        let now = self.app.now();
        let mut creations = Vec::new();
        for imported in batch {
            if let Some(task_id) = known.get(&imported.source_id) {
                self.report.progress.already_imported += 1;
                self.report.tasks.push(ImportedTaskBody {
                    line: imported.line,
                    source_id: imported.source_id.clone(),
                    title: imported.input.title.clone(),
                    action: "already_imported".to_owned(),
                    task_id: Some(*task_id),
                });
                continue;
            }
            match self.task_of(&imported, now) {
                Ok(task) => creations.push((imported, task)),
                Err(reason) => self.malformed(imported.line, reason),
            }
        }
        if self.params.dry_run {
            for (imported, _) in creations {
                self.created(imported, None);
            }
        } else {
            self.commit(creations, now).await?;
        }
        self.publish();
        Ok(())
    }

    /// Commits new tasks in one change set; if another import of the same file raced this one
    /// (a ledger conflict), falls back to one change set per task.
    async fn commit(
        &mut self,
        creations: Vec<(ImportedTask, Task)>,
        now: DateTime<Utc>,
    ) -> AppResult<()> {
        let (changes, advances) = self.change_set(&creations, now)?;
        match self.app.commit(changes).await {
            Ok(()) => {
                self.advanced.extend(advances);
                for (imported, task) in creations {
                    self.created(imported, Some(task.id));
                }
                Ok(())
            }
            Err(StoreError::Conflict(Conflict::AlreadyImported)) => {
                for creation in creations {
                    let (changes, advances) =
                        self.change_set(std::slice::from_ref(&creation), now)?;
                    let (imported, task) = creation;
                    match self.app.commit(changes).await {
                        Ok(()) => {
                            self.advanced.extend(advances);
                            self.created(imported, Some(task.id));
                        }
                        Err(StoreError::Conflict(Conflict::AlreadyImported)) => {
                            self.report.progress.already_imported += 1;
                        }
                        Err(error) => return Err(error.into()),
                    }
                }
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The change set creating `creations`, and the series it advances (to the highest
    /// sequence number of their instances, as the recurring engine would have): completing
    /// any open instance then makes the instance after the last one, never one that exists.
    fn change_set(
        &self,
        creations: &[(ImportedTask, Task)],
        now: DateTime<Utc>,
    ) -> AppResult<(ChangeSet, HashMap<TaskId, u32>)> {
        let mut changes = ChangeSet::default();
        let mut advances: HashMap<TaskId, u32> = HashMap::new();
        for (imported, task) in creations {
            if imported.series.is_some() {
                let highest = advances.entry(task.series.id).or_insert(0);
                *highest = (*highest).max(task.series.sequence);
            }
            let change = tickler_domain::TaskChange {
                kind: tickler_domain::TaskChangeKind::Created,
                task: task.clone(),
                changed_fields: Vec::new(),
            };
            changes.events.push(self.app.outbox_message(
                &self.actor,
                &DomainEvent::Task(change),
                now,
            )?);
            changes.tasks.push(TaskWrite::Insert(task.clone()));
            changes.imports.push(ImportRecord {
                owner: self.actor.user.id,
                source: self.params.source.as_str().to_owned(),
                source_id: imported.source_id.clone(),
                task: task.id,
                imported_at: now,
            });
        }
        // Only forward: the store refuses an advance to a number the series has passed.
        advances.retain(|series, sequence| {
            self.advanced
                .get(series)
                .is_none_or(|advanced| advanced < sequence)
        });
        for (series, sequence) in &advances {
            changes.series.push(SeriesWrite::Advance {
                owner: self.actor.user.id,
                series: *series,
                sequence: *sequence,
            });
        }
        Ok((changes, advances))
    }

    fn created(&mut self, imported: ImportedTask, task_id: Option<TaskId>) {
        self.report.progress.tasks_created += 1;
        for (field, from) in &imported.mapped {
            match self
                .field_counts
                .iter_mut()
                .find(|(known_field, known_from, _)| known_field == field && known_from == from)
            {
                Some(entry) => entry.2 += 1,
                None => self.field_counts.push((field, from, 1)),
            }
        }
        for dropped in &imported.not_carried {
            self.report.not_carried_over.push(NotCarriedOver {
                line: imported.line,
                source_id: Some(imported.source_id.clone()),
                field: dropped.field.clone(),
                reason: dropped.reason.clone(),
            });
        }
        self.report.tasks.push(ImportedTaskBody {
            line: imported.line,
            source_id: imported.source_id,
            title: imported.input.title,
            action: if task_id.is_some() {
                "created"
            } else {
                "create"
            }
            .to_owned(),
            task_id,
        });
    }

    /// Validates an item like API input and builds its task, keeping the source's creation
    /// and completion times and its series.
    fn task_of(&mut self, imported: &ImportedTask, now: DateTime<Utc>) -> Result<Task, String> {
        let fields = imported
            .input
            .clone()
            .validate(self.actor.user.timezone)
            .map_err(|errors| format!("not a valid tickler task: {errors}"))?;
        let id = TaskId::from_uuid(self.app.new_uuid());
        let mut task = Task::create(id, self.actor.user.id, fields, now).task;
        if let Some(created) = imported.created_at {
            task.created_at = truncate_to_micros(created.min(now));
        }
        if task.fields.status == TaskStatus::Done {
            task.completed_at = Some(truncate_to_micros(imported.completed_at.unwrap_or(now)));
        }
        if let Some(series) = &imported.series {
            let series_id = *self.series.entry(series.key.clone()).or_insert_with(|| {
                if series.key == imported.source_id {
                    id
                } else {
                    TaskId::from_uuid(uuid::Uuid::now_v7())
                }
            });
            task.series = SeriesPosition {
                id: series_id,
                sequence: series.sequence.max(1),
            };
        }
        Ok(task)
    }
}
