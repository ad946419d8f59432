//! A typed HTTP client for tickler's API: requests and responses are the `tickler-protocol`
//! types, errors are the server's problem documents. `tickler mcp` uses it to bridge a local
//! stdio MCP client to a server's `/mcp` endpoint.
//!
//! It needs a rustls crypto provider installed by the program
//! (`rustls::crypto::ring::default_provider().install_default()`), like every reqwest client
//! in tickler. Depends on `protocol` only; never on the server's crates.

use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tickler_protocol::nl::{ParseRequest, ParseResponse, QuickAddRequest};
use tickler_protocol::port::ImportReport;
use tickler_protocol::problem::Problem;
use tickler_protocol::task::{TaskBody, TaskPage, TaskRequest};

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

    /// Imports a file (`POST /api/v1/imports`): `body` streams it, `length` is its size.
    pub async fn import(
        &self,
        source: &str,
        file_name: &str,
        body: reqwest::Body,
        length: u64,
        dry_run: bool,
    ) -> Result<ImportReport, ClientError> {
        let form = reqwest::multipart::Form::new()
            .text("source", source.to_owned())
            .text("dry_run", dry_run.to_string())
            .part(
                "file",
                reqwest::multipart::Part::stream_with_length(body, length)
                    .file_name(file_name.to_owned()),
            );
        let response = self
            .http
            .post(format!("{}/api/v1/imports", self.base))
            .bearer_auth(&self.token)
            .timeout(TRANSFER_TIMEOUT)
            .multipart(form)
            .send()
            .await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            return Err(problem_or_unexpected(status, &body));
        }
        serde_json::from_str(&body).map_err(|_| unexpected(status, &body))
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
        let response = request.send().await?;
        let status = response.status();
        let body = response.text().await?;
        if !status.is_success() {
            return Err(problem_or_unexpected(status, &body));
        }
        serde_json::from_str(&body).map_err(|_| unexpected(status, &body))
    }
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
    fn event_streams_yield_the_json_messages_of_their_data_lines() {
        let body = "id: 1\nretry: 3000\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        assert_eq!(
            event_stream_messages(body),
            [serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {}})]
        );
    }
}
