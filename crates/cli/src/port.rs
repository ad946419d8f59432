//! `tickler import --from SOURCE FILE [--apply]` and `tickler export --format json|ical`:
//! client commands against a running server (`--server`, `--token`), kept in their own module.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Context;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tickler_client::Client;
use tickler_protocol::port::ImportReport;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

/// The formats `--from` accepts.
pub const SOURCES: [&str; 5] = ["todoist", "taskwarrior", "ticktick", "ical", "tickler"];

/// Uploads `file` to the server's importer, with a progress bar on a terminal (stderr) fed
/// by the server's progress lines (the bytes of the file it has read, the items it has
/// handled); returns the report as pretty JSON and a one-line summary.
pub async fn import(
    client: &Client,
    source: &str,
    file: &Path,
    apply: bool,
) -> anyhow::Result<(String, String)> {
    let opened = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let length = opened.metadata().await?.len();
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(length);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} importing {bytes}/{total_bytes} [{wide_bar}] {msg} {eta} left",
        ) {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let file_name = file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "upload".to_owned());
    let shown = bar.clone();
    let report = client
        .import(
            source,
            &file_name,
            reqwest::Body::wrap_stream(ReaderStream::new(opened)),
            length,
            !apply,
            move |progress| {
                shown.set_position(progress.bytes_read.min(length));
                shown.set_message(format!(
                    "{} items, {} tasks",
                    progress.rows_read, progress.tasks_created
                ));
            },
        )
        .await;
    bar.finish_and_clear();
    let report = report?;
    Ok((
        serde_json::to_string_pretty(&report)? + "\n",
        summary(&report),
    ))
}

/// One line saying what an import did.
pub fn summary(report: &ImportReport) -> String {
    let progress = report.progress;
    let verb = if report.dry_run {
        "to create"
    } else {
        "created"
    };
    let mut line = format!(
        "{} tasks {verb}, {} already imported, {} malformed rows skipped, {} items or fields not carried over",
        progress.tasks_created,
        progress.already_imported,
        progress.malformed,
        report.not_carried_over.len()
    );
    if !report.channels.is_empty() {
        let new = report
            .channels
            .iter()
            .filter(|channel| matches!(channel.action.as_str(), "create" | "created"))
            .count();
        line.push_str(&format!(", {new} notification channels {verb}"));
        if report
            .channels
            .iter()
            .any(|channel| channel.secret.is_some())
        {
            line.push_str(" (webhooks off: give each receiver its new secret from the report, then turn it on)");
        }
    }
    if report.dry_run {
        line.push_str(" (a dry run: nothing was written; add --apply to import)");
    }
    line
}

/// Writes the export to `output` (or stdout), streaming it.
pub async fn export(
    client: &Client,
    format: &str,
    history: bool,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let response = client.export(format, history).await?;
    let mut body = response.bytes_stream();
    let mut sink: Box<dyn tokio::io::AsyncWrite + Unpin> = match output {
        Some(path) => Box::new(
            tokio::fs::File::create(path)
                .await
                .with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(tokio::io::stdout()),
    };
    while let Some(chunk) = body.next().await {
        sink.write_all(&chunk.context("the export broke off")?)
            .await?;
    }
    sink.flush().await?;
    Ok(())
}
