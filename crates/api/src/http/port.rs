//! `/api/v1/imports` and `/api/v1/exports`: moving tasks in from other task managers (or from
//! another tickler server) and out again.

use std::convert::Infallible;
use std::io::Read;

use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use tickler_app::port::{ExportParams, ImportParams, ImportSource};
use tickler_app::{AppError, Origin};
use tickler_domain::FieldError;
use tickler_protocol::port::{
    ExportDocument, ImportProgress, ImportReport, ImportStreamLine, NDJSON,
};
use tickler_protocol::problem::Problem;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use crate::ApiState;
use crate::error::ApiError;
use crate::extract::{Caller, QueryPairs};
use crate::http::json;

/// Chunks of the upload waiting for the reader.
const UPLOAD_CHUNKS: usize = 16;

fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError(AppError::from(FieldError::new(field, code, message)))
}

/// A blocking reader over the chunks of an upload as they arrive (the importer reads on a
/// blocking thread while the handler receives the upload).
struct UploadReader {
    chunks: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl Read for UploadReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(error)) => return Err(error),
                None => return Ok(0),
            }
        }
        let length = buf.len().min(self.current.len());
        buf[..length].copy_from_slice(&self.current.split_to(length));
        Ok(length)
    }
}

/// Imports a file. Multipart fields, in this order: `source` (`todoist`, `taskwarrior`,
/// `ticktick`, `ical` or `tickler`), optionally `dry_run` (`true` by default: nothing is
/// written), then `file`. The file streams: it is read while it arrives. With `Accept:
/// application/x-ndjson` the answer streams too: a progress line after each batch, then the
/// report (a file refused before any progress is still a plain problem document).
#[utoipa::path(
    post, path = "/api/v1/imports", tag = "import and export",
    request_body(content = tickler_protocol::port::ImportForm, content_type = "multipart/form-data", description = "Fields `source`, `dry_run` (default true) and `file`, in this order"),
    params(
        ("Accept" = Option<String>, Header, description = "`application/x-ndjson` to receive progress lines while the import runs, then the report as the last line"),
    ),
    responses(
        (status = 200, description = "What the import did, or (a dry run) would do. With `Accept: application/x-ndjson`: one JSON object per line, `{\"type\":\"progress\",\"processed\":N,\"counts\":{...}}` as the import goes, then `{\"type\":\"report\",\"report\":{...}}` (the plain answer's body) or, if it failed after progress was sent, `{\"type\":\"error\",\"problem\":{...}}`", content(
            (ImportReport = "application/json"),
            (ImportStreamLine = "application/x-ndjson"),
        )),
        (status = 422, description = "Unknown source, missing file, or a file not in the format", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, ApiError> {
    let streamed = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.split(';').next().unwrap_or_default().trim() == NDJSON);
    if !streamed {
        let report = run_import(state, actor, multipart, None).await?;
        return Ok(json(StatusCode::OK, &report));
    }
    let (lines, receiver) = mpsc::channel(PROGRESS_LINES);
    let (started, first) = oneshot::channel();
    let job = JobGuard(tokio::spawn(
        stream_import(state, actor, multipart, lines, started).instrument(tracing::Span::current()),
    ));
    match first.await {
        Ok(Ok(())) => {}
        Ok(Err(refused)) => return Err(refused),
        Err(_) => {
            return Err(ApiError(AppError::Internal(
                "the import stopped before answering".to_owned(),
            )));
        }
    }
    let body = Body::from_stream(LineStream {
        lines: receiver,
        _job: job,
    });
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, NDJSON)], body).into_response())
}

/// Progress lines waiting for a slow client (the import waits when they are all taken).
const PROGRESS_LINES: usize = 16;

/// Runs an import for an `application/x-ndjson` answer: says on `started` whether to answer
/// 200 (the first progress, or the end) or the problem of a file refused before any progress,
/// then sends each progress line and the last line. Stops (cancelling the import between
/// batches, as a closed connection does for the plain answer) when the client goes away.
async fn stream_import(
    state: ApiState,
    actor: tickler_app::Actor,
    multipart: Multipart,
    lines: mpsc::Sender<Result<Bytes, Infallible>>,
    started: oneshot::Sender<Result<(), ApiError>>,
) {
    let (progress, mut progressed) = watch::channel(ImportProgress::default());
    let import = run_import(state, actor, multipart, Some(progress));
    tokio::pin!(import);
    let mut started = Some(started);
    let outcome = loop {
        tokio::select! {
            outcome = &mut import => break outcome,
            Ok(()) = progressed.changed() => {
                let counts = *progressed.borrow_and_update();
                if let Some(started) = started.take() {
                    let _ = started.send(Ok(()));
                }
                let line = ImportStreamLine::Progress { processed: counts.rows_read, counts };
                if lines.send(Ok(ndjson_line(&line))).await.is_err() {
                    return;
                }
            }
        }
    };
    let last = match (outcome, started.take()) {
        (Err(refused), Some(started)) => {
            let _ = started.send(Err(refused));
            return;
        }
        (outcome, started) => {
            if let Some(started) = started {
                let _ = started.send(Ok(()));
            }
            match outcome {
                Ok(report) => ImportStreamLine::Report { report },
                Err(error) => ImportStreamLine::Error {
                    problem: error.problem(),
                },
            }
        }
    };
    let _ = lines.send(Ok(ndjson_line(&last))).await;
}

fn ndjson_line(line: &ImportStreamLine) -> Bytes {
    let mut bytes = serde_json::to_vec(line).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

/// Aborts the import's task when the answer is dropped (the client went away).
struct JobGuard(tokio::task::JoinHandle<()>);

impl Drop for JobGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The lines of a streamed import, as a response body.
struct LineStream {
    lines: mpsc::Receiver<Result<Bytes, Infallible>>,
    _job: JobGuard,
}

impl futures::Stream for LineStream {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.lines.poll_recv(cx)
    }
}

/// Reads the multipart fields and imports the file as it arrives.
async fn run_import(
    state: ApiState,
    actor: tickler_app::Actor,
    mut multipart: Multipart,
    progress: Option<watch::Sender<ImportProgress>>,
) -> Result<ImportReport, ApiError> {
    let mut source = None;
    let mut dry_run = true;
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|error| invalid("file", "invalid_multipart", error.body_text()))?;
        let Some(mut field) = field else {
            return Err(invalid(
                "file",
                "required",
                "the multipart body has no file field",
            ));
        };
        match field.name().unwrap_or_default() {
            "source" => {
                let text = field
                    .text()
                    .await
                    .map_err(|error| invalid("source", "invalid_multipart", error.body_text()))?;
                source = Some(ImportSource::parse(text.trim()).ok_or_else(|| {
                    invalid(
                        "source",
                        "unknown_source",
                        "source must be todoist, taskwarrior, ticktick, ical or tickler",
                    )
                })?);
            }
            "dry_run" => {
                let text = field
                    .text()
                    .await
                    .map_err(|error| invalid("dry_run", "invalid_multipart", error.body_text()))?;
                dry_run = match text.trim() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(invalid(
                            "dry_run",
                            "invalid_boolean",
                            "dry_run must be true or false",
                        ));
                    }
                };
            }
            "file" => {
                let Some(source) = source else {
                    return Err(invalid(
                        "source",
                        "required",
                        "the source field must come before the file",
                    ));
                };
                let params = ImportParams {
                    source,
                    dry_run,
                    file_name: field.file_name().map(str::to_owned),
                };
                let (sender, chunks) = mpsc::channel(UPLOAD_CHUNKS);
                let reader = UploadReader {
                    chunks,
                    current: Bytes::new(),
                };
                let pump = async move {
                    loop {
                        match field.chunk().await {
                            Ok(Some(chunk)) => {
                                if sender.send(Ok(chunk)).await.is_err() {
                                    return;
                                }
                            }
                            Ok(None) => return,
                            Err(error) => {
                                let broken = std::io::Error::other(error.body_text());
                                let _ = sender.send(Err(broken)).await;
                                return;
                            }
                        }
                    }
                };
                let actor = tickler_app::Actor {
                    origin: Origin::Import,
                    ..actor
                };
                let (_, report) = tokio::join!(
                    pump,
                    state
                        .app
                        .import_file(&actor, params, Box::new(reader), progress)
                );
                return Ok(report?);
            }
            other => {
                return Err(invalid(
                    other,
                    "unknown_field",
                    "expected the fields source, dry_run and file",
                ));
            }
        }
    }
}

/// Exports everything the caller owns: `format=json` (default) is the versioned document of
/// `docs/import-export.md`, which `source=tickler` imports back; `history=true` adds each
/// task's audit trail.
#[utoipa::path(
    get, path = "/api/v1/exports", tag = "import and export",
    params(
        ("format" = Option<tickler_protocol::port::ExportFormat>, Query, description = "`json` (default) or `ical`"),
        ("history" = Option<bool>, Query, description = "Include each task's audit trail"),
    ),
    responses(
        (status = 200, description = "The export, as an attachment: the JSON document, or (`format=ical`) an iCalendar file",
            content((ExportDocument = "application/json"), (String = "text/calendar")),
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"tickler-export-<date>.json\"` (or `.ics`)"))),
        (status = 422, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<ApiState>,
    Caller(actor): Caller,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let history = match query.one("history").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(invalid(
                "history",
                "invalid_boolean",
                "history must be true or false",
            ));
        }
    };
    let format = query.one("format").unwrap_or_else(|| "json".to_owned());
    let date = state.app.now().format("%Y-%m-%d");
    match format.as_str() {
        "json" => {
            let document = state.app.export(&actor, ExportParams { history }).await?;
            let mut response = json(StatusCode::OK, &document);
            attach(&mut response, &format!("tickler-export-{date}.json"));
            Ok(response)
        }
        "ical" => {
            let body = state.app.export_ical(&actor).await?;
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
                body,
            )
                .into_response();
            attach(&mut response, &format!("tickler-export-{date}.ics"));
            Ok(response)
        }
        _ => Err(invalid(
            "format",
            "unknown_format",
            "format must be json or ical",
        )),
    }
}

fn attach(response: &mut Response, file_name: &str) {
    if let Ok(value) = format!("attachment; filename=\"{file_name}\"").parse() {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
}
