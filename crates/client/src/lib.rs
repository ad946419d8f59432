//! A typed HTTP client for tickler's API: requests and responses are the `tickler-protocol`
//! types, errors are the server's problem documents. The `tickler` command-line client
//! (`tickler add`, `ls`, `done`, ...) is built on it, `tickler mcp` uses it to bridge a local
//! stdio MCP client to a server's `/mcp` endpoint, and [`live`] follows the live stream.
//!
//! It needs a rustls crypto provider installed by the program
//! (`rustls::crypto::ring::default_provider().install_default()`), like every reqwest client
//! in tickler. Depends on `protocol` only; never on the server's crates.

pub mod live;

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tickler_protocol::auth::{
    CreateApiTokenRequest, CreatedApiTokenBody, LoginRequest, RefreshRequest, SessionBody, UserBody,
};
use tickler_protocol::chat::{ChatRequest, ChatResponse};
use tickler_protocol::nl::{ParseRequest, ParseResponse, QuickAddRequest};
use tickler_protocol::port::{ImportProgress, ImportReport, ImportStreamLine, NDJSON};
use tickler_protocol::problem::Problem;
use tickler_protocol::reminder::{ReminderBody, ReminderList, SnoozeRequest};
use tickler_protocol::task::{DeleteScope, TaskBody, TaskPage, TaskRequest};

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an import or export may take (they stream large files).
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(6 * 3600);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached or the exchange broke off.
    #[error("request to the server failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The server refused the request with a problem document.
    #[error("{status}: {}", .problem.detail.as_deref().unwrap_or(&.problem.title))]
    Problem {
        /// The HTTP status.
        status: u16,
        /// The server's explanation.
        problem: Box<Problem>,
    },
    /// The server answered with something that is not what the API documents.
    #[error("unexpected response ({status}): {body}")]
    Unexpected {
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
}

/// A client of one tickler server, authenticated with one bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ClientError {
    /// Whether the server could not be reached at all (refused, unresolvable, timed out),
    /// as opposed to answering with an error.
    pub fn is_unreachable(&self) -> bool {
        match self {
            ClientError::Transport(error) => error.is_connect() || error.is_timeout(),
            _ => false,
        }
    }

    /// The HTTP status of a refusal, if the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Problem { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Transport(error) => error.status().map(|status| status.as_u16()),
        }
    }
}

/// Signs in with an e-mail address and password (`POST /api/v1/auth/login`) at the server
/// `base`, returning the session (a short-lived access token and its refresh token).
pub async fn login(base: &str, request: &LoginRequest) -> Result<SessionBody, ClientError> {
    Client::new(base, "")?
        .send(Method::POST, "/api/v1/auth/login", Some(request))
        .await
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base` (`http://127.0.0.1:8080`) using `token` (an access
    /// token or a personal API token).
    pub fn new(base: &str, token: &str) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        })
    }

    /// Opens the caller's live stream (`GET /api/v1/live`), resuming after `cursor` when
    /// given; see [`live::LiveStream`].
    pub async fn live(&self, cursor: Option<String>) -> Result<live::LiveStream, live::LiveError> {
        live::LiveStream::connect(&self.base, &self.token, cursor).await
    }

    /// Returns the server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Reads a sentence with the server's parser (`POST /api/v1/parse`).
    pub async fn parse(&self, request: &ParseRequest) -> Result<ParseResponse, ClientError> {
        self.send(Method::POST, "/api/v1/parse", Some(request))
            .await
    }

    /// Creates the task a sentence describes (`POST /api/v1/tasks/quick`).
    pub async fn quick_add(&self, text: &str) -> Result<TaskBody, ClientError> {
        let request = QuickAddRequest {
            text: text.to_owned(),
        };
        self.send(Method::POST, "/api/v1/tasks/quick", Some(&request))
            .await
    }

    /// Creates a task (`POST /api/v1/tasks`).
    pub async fn create_task(&self, request: &TaskRequest) -> Result<TaskBody, ClientError> {
        self.send(Method::POST, "/api/v1/tasks", Some(request))
            .await
    }

    /// Reads a task (`GET /api/v1/tasks/{id}`).
    pub async fn get_task(&self, id: &str) -> Result<TaskBody, ClientError> {
        self.send::<(), _>(Method::GET, &format!("/api/v1/tasks/{id}"), None)
            .await
    }

    /// Lists the first page of tasks (`GET /api/v1/tasks`), newest first.
    pub async fn list_tasks(&self) -> Result<TaskPage, ClientError> {
        self.send::<(), _>(Method::GET, "/api/v1/tasks", None).await
    }

    /// Lists one page of tasks matching `query` (`GET /api/v1/tasks?...`): the pairs are the
    /// route's query parameters (`status`, `tag`, `q`, `due_before`, `sort`, `limit`, ...),
    /// repeatable ones given once per value.
    pub async fn query_tasks(&self, query: &[(&str, String)]) -> Result<TaskPage, ClientError> {
        let request = self
            .http
            .get(format!("{}/api/v1/tasks", self.base))
            .query(query)
            .bearer_auth(&self.token);
        read_json(request.send().await?).await
    }

    /// Finds the one task whose id starts with `prefix`
    /// (`GET /api/v1/tasks/resolve/{prefix}`); an ambiguous prefix is a 409 problem naming
    /// the candidates.
    pub async fn resolve_task(&self, prefix: &str) -> Result<TaskBody, ClientError> {
        let path = format!("/api/v1/tasks/resolve/{}", path_segment(prefix));
        self.send::<(), _>(Method::GET, &path, None).await
    }

    /// Changes a task with a JSON merge patch (`PATCH /api/v1/tasks/{id}`); with
    /// `if_match`, only if the task is still at that version (else a 412 problem).
    pub async fn patch_task(
        &self,
        id: &str,
        patch: &Value,
        if_match: Option<i64>,
    ) -> Result<TaskBody, ClientError> {
        let mut request = self
            .http
            .patch(format!("{}/api/v1/tasks/{}", self.base, path_segment(id)))
            .bearer_auth(&self.token)
            .header(header::CONTENT_TYPE, "application/merge-patch+json")
            .body(patch.to_string());
        if let Some(version) = if_match {
            request = request.header(header::IF_MATCH, format!("\"{version}\""));
        }
        read_json(request.send().await?).await
    }

    /// Marks a task done (`POST /api/v1/tasks/{id}/complete`).
    pub async fn complete_task(&self, id: &str) -> Result<TaskBody, ClientError> {
        let path = format!("/api/v1/tasks/{}/complete", path_segment(id));
        self.send::<(), _>(Method::POST, &path, None).await
    }

    /// Puts a done task back to `todo` (`POST /api/v1/tasks/{id}/reopen`).
    pub async fn reopen_task(&self, id: &str) -> Result<TaskBody, ClientError> {
        let path = format!("/api/v1/tasks/{}/reopen", path_segment(id));
        self.send::<(), _>(Method::POST, &path, None).await
    }

    /// Deletes a task (`DELETE /api/v1/tasks/{id}?scope=...`).
    pub async fn delete_task(&self, id: &str, scope: DeleteScope) -> Result<(), ClientError> {
        let path = format!(
            "/api/v1/tasks/{}?scope={}",
            path_segment(id),
            scope.as_str()
        );
        self.send_without_answer(Method::DELETE, &path).await
    }

    /// Lists reminders (`GET /api/v1/reminders`), only pending ones with `upcoming`.
    pub async fn list_reminders(&self, upcoming: bool) -> Result<ReminderList, ClientError> {
        let path = format!("/api/v1/reminders?upcoming={upcoming}");
        self.send::<(), _>(Method::GET, &path, None).await
    }

    /// Snoozes a reminder (`POST /api/v1/reminders/{id}/snooze`).
    pub async fn snooze_reminder(
        &self,
        id: &str,
        request: &SnoozeRequest,
    ) -> Result<ReminderBody, ClientError> {
        let path = format!("/api/v1/reminders/{}/snooze", path_segment(id));
        self.send(Method::POST, &path, Some(request)).await
    }

    /// Sends one message to the chat assistant (`POST /api/v1/chat`).
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, ClientError> {
        self.send(Method::POST, "/api/v1/chat", Some(request)).await
    }

    /// Reads the caller's account (`GET /api/v1/me`).
    pub async fn me(&self) -> Result<UserBody, ClientError> {
        self.send::<(), _>(Method::GET, "/api/v1/me", None).await
    }

    /// Creates a personal API token (`POST /api/v1/tokens`); its secret is shown only here.
    pub async fn create_api_token(
        &self,
        request: &CreateApiTokenRequest,
    ) -> Result<CreatedApiTokenBody, ClientError> {
        self.send(Method::POST, "/api/v1/tokens", Some(request))
            .await
    }

    /// Revokes a personal API token (`DELETE /api/v1/tokens/{id}`).
    pub async fn delete_api_token(&self, id: &str) -> Result<(), ClientError> {
        let path = format!("/api/v1/tokens/{}", path_segment(id));
        self.send_without_answer(Method::DELETE, &path).await
    }

    /// Ends the sign-in session of `refresh_token` (`POST /api/v1/auth/logout`).
    pub async fn end_session(&self, refresh_token: &str) -> Result<(), ClientError> {
        let request = RefreshRequest {
            refresh_token: Some(refresh_token.to_owned()),
        };
        let response = self
            .http
            .post(format!("{}/api/v1/auth/logout", self.base))
            .json(&request)
            .send()
            .await?;
        expect_no_answer(response).await
    }

    /// Imports a file (`POST /api/v1/imports`): `body` streams it, `length` is its size. The
    /// answer streams as `application/x-ndjson`: `on_progress` sees the server's counts as the
    /// import goes, then the report is returned.
    pub async fn import(
        &self,
        source: &str,
        file_name: &str,
        body: reqwest::Body,
        length: u64,
        dry_run: bool,
        mut on_progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportReport, ClientError> {
        let form = reqwest::multipart::Form::new()
            .text("source", source.to_owned())
            .text("dry_run", dry_run.to_string())
            .part(
                "file",
                reqwest::multipart::Part::stream_with_length(body, length)
                    .file_name(file_name.to_owned()),
            );
        let mut response = self
            .http
            .post(format!("{}/api/v1/imports", self.base))
            .bearer_auth(&self.token)
            .header(header::ACCEPT, NDJSON)
            .timeout(TRANSFER_TIMEOUT)
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await?;
            return Err(problem_or_unexpected(status, &body));
        }
        let mut pending: Vec<u8> = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                match serde_json::from_str::<ImportStreamLine>(&text) {
                    Ok(ImportStreamLine::Progress { counts, .. }) => on_progress(&counts),
                    Ok(ImportStreamLine::Report { report }) => return Ok(report),
                    Ok(ImportStreamLine::Error { problem }) => {
                        return Err(ClientError::Problem {
                            status: problem.status,
                            problem: Box::new(problem),
                        });
                    }
                    Err(_) => return Err(unexpected(status, &text)),
                }
            }
        }
        Err(unexpected(
            status,
            "the import's answer ended before its report",
        ))
    }

    /// Exports everything the user owns (`GET /api/v1/exports`): the response, streamed.
    pub async fn export(
        &self,
        format: &str,
        history: bool,
    ) -> Result<reqwest::Response, ClientError> {
        let response = self
            .http
            .get(format!("{}/api/v1/exports", self.base))
            .query(&[
                ("format", format),
                ("history", if history { "true" } else { "false" }),
            ])
            .bearer_auth(&self.token)
            .timeout(TRANSFER_TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await?;
            return Err(problem_or_unexpected(status, &body));
        }
        Ok(response)
    }

    /// Posts one JSON-RPC message to the server's MCP endpoint (streamable HTTP) and returns
    /// the messages that answer it: none for a notification, usually one for a request (read
    /// from a JSON body or from the events of an SSE body). `protocol_version` is the
    /// negotiated MCP version, sent as `MCP-Protocol-Version` after initialisation.
    pub async fn mcp_message(
        &self,
        message: &Value,
        protocol_version: Option<&str>,
    ) -> Result<Vec<Value>, ClientError> {
        let mut request = self
            .http
            .post(format!("{}/mcp", self.base))
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json, text/event-stream")
            .json(message);
        if let Some(version) = protocol_version {
            request = request.header("mcp-protocol-version", version);
        }
        let response = request.send().await?;
        let status = response.status();
        if status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        let is_event_stream = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let body = response.text().await?;
        if !status.is_success() {
            return Err(problem_or_unexpected(status, &body));
        }
        if is_event_stream {
            return Ok(event_stream_messages(&body));
        }
        if body.trim().is_empty() {
            return Ok(Vec::new());
        }
        match serde_json::from_str(&body) {
            Ok(Value::Array(messages)) => Ok(messages),
            Ok(message) => Ok(vec![message]),
            Err(_) => Err(unexpected(status, &body)),
        }
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        read_json(request.send().await?).await
    }

    async fn send_without_answer(&self, method: Method, path: &str) -> Result<(), ClientError> {
        let response = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        expect_no_answer(response).await
    }
}

/// Reads a JSON answer, or the problem document of a refusal.
async fn read_json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, ClientError> {
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        return Err(problem_or_unexpected(status, &body));
    }
    serde_json::from_str(&body).map_err(|_| unexpected(status, &body))
}

/// Accepts any success (usually 204), or reads the problem document of a refusal.
async fn expect_no_answer(response: reqwest::Response) -> Result<(), ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await?;
    Err(problem_or_unexpected(status, &body))
}

/// Percent-encodes what a caller put in one path segment, so an id typed by a person cannot
/// reach another route (callers still refuse `.` and `..`, which URLs resolve even encoded).
fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Reads the JSON-RPC messages carried by the `data:` lines of a server-sent event stream.
fn event_stream_messages(body: &str) -> Vec<Value> {
    let mut messages = Vec::new();
    for event in body.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .map(|data| data.strip_prefix(' ').unwrap_or(data))
            .collect();
        if let Ok(message) = serde_json::from_str::<Value>(&data.join("\n")) {
            messages.push(message);
        }
    }
    messages
}

fn problem_or_unexpected(status: StatusCode, body: &str) -> ClientError {
    match serde_json::from_str::<Problem>(body) {
        Ok(problem) => ClientError::Problem {
            status: status.as_u16(),
            problem: Box::new(problem),
        },
        Err(_) => unexpected(status, body),
    }
}

fn unexpected(status: StatusCode, body: &str) -> ClientError {
    ClientError::Unexpected {
        status: status.as_u16(),
        body: body.chars().take(500).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("0193a1b2-7c"), "0193a1b2-7c");
        assert_eq!(path_segment("a/me?x"), "a%2Fme%3Fx");
    }

    #[test]
    fn event_streams_yield_the_json_messages_of_their_data_lines() {
        let body = "id: 1\nretry: 3000\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        assert_eq!(
            event_stream_messages(body),
            [serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}})]
        );
    }
}
