//! The live stream (`GET /api/v1/live`): a WebSocket of the caller's events. [`LiveStream`]
//! authenticates the upgrade with the bearer token, yields the server's frames in order, and,
//! when the connection drops, reconnects with the last cursor it saw, so the server replays
//! what happened meanwhile before going live again (no gaps, no duplicates).
//!
//! ```no_run
//! # async fn run() -> Result<(), tickler_client::live::LiveError> {
//! use tickler_client::live::LiveStream;
//! use tickler_protocol::live::LiveFrame;
//!
//! let mut stream = LiveStream::connect("http://127.0.0.1:8080", "tkl_...", None).await?;
//! loop {
//!     match stream.next_frame().await? {
//!         LiveFrame::Event { event, .. } => println!("{}", event["type"]),
//!         LiveFrame::Ready { .. } => println!("live"),
//!         LiveFrame::Reset { reason } => println!("refetch everything ({reason})"),
//!     }
//! }
//! # }
//! ```

use std::time::Duration;

use futures::StreamExt;
use tickler_protocol::live::LiveFrame;
use tickler_protocol::problem::Problem;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Why the live stream failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The server refused the upgrade (401 without valid credentials, 400 for a malformed
    /// cursor); reconnecting would be refused again.
    #[error("the server refused the live stream ({status}): {}", .problem.as_ref().and_then(|problem| problem.detail.as_deref()).unwrap_or("no details"))]
    Refused {
        /// The HTTP status of the refusal.
        status: u16,
        /// The server's problem document, when it sent one.
        problem: Option<Box<Problem>>,
    },
    /// The connection could not be made or broke off (and reconnecting is off).
    #[error("live stream connection failed: {0}")]
    Transport(String),
    /// The server sent a frame that is not one the API documents.
    #[error("unexpected live frame: {0}")]
    Malformed(String),
    /// The base URL is not an `http://` or `https://` URL.
    #[error("invalid server URL {0:?}")]
    InvalidUrl(String),
}

/// How a [`LiveStream`] behaves when its connection drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSettings {
    /// Whether to reconnect (with the last cursor) after a drop; otherwise the drop is an
    /// error.
    pub reconnect: bool,
    /// Wait before the first reconnection attempt after a failure; doubles per failure.
    pub min_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self {
            reconnect: true,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// A live stream that resumes by itself.
pub struct LiveStream {
    endpoint: String,
    token: String,
    cursor: Option<String>,
    socket: Option<Socket>,
    settings: LiveSettings,
    failures: u32,
}

impl std::fmt::Debug for LiveStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never printed.
        f.debug_struct("LiveStream")
            .field("endpoint", &self.endpoint)
            .field("cursor", &self.cursor)
            .field("connected", &self.socket.is_some())
            .finish_non_exhaustive()
    }
}

impl LiveStream {
    /// Connects to the server at `base` (`http://127.0.0.1:8080`) with `token` (an access
    /// token or a personal API token), resuming after `cursor` when given. Fails if this first
    /// connection fails; later drops reconnect (see [`LiveSettings`]).
    pub async fn connect(
        base: &str,
        token: &str,
        cursor: Option<String>,
    ) -> Result<Self, LiveError> {
        Self::connect_with(base, token, cursor, LiveSettings::default()).await
    }

    /// [`LiveStream::connect`] with explicit settings.
    pub async fn connect_with(
        base: &str,
        token: &str,
        cursor: Option<String>,
        settings: LiveSettings,
    ) -> Result<Self, LiveError> {
        let mut stream = Self {
            endpoint: live_endpoint(base)?,
            token: token.trim().to_owned(),
            cursor,
            socket: None,
            settings,
            failures: 0,
        };
        stream.socket = Some(stream.open().await?);
        Ok(stream)
    }

    /// Returns the last cursor received (from an event or `ready`), the position a
    /// reconnection resumes after; `None` after a `reset`.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Returns the next frame, reconnecting with the last cursor when the connection dropped.
    /// After a `reset` frame the cursor is forgotten and the next call connects afresh.
    pub async fn next_frame(&mut self) -> Result<LiveFrame, LiveError> {
        loop {
            let Some(socket) = self.socket.as_mut() else {
                self.reconnect().await?;
                continue;
            };
            match socket.next().await {
                Some(Ok(Message::Text(text))) => {
                    let frame: LiveFrame = serde_json::from_str(text.as_str())
                        .map_err(|error| LiveError::Malformed(error.to_string()))?;
                    match &frame {
                        LiveFrame::Event { cursor, .. } => self.cursor = Some(cursor.clone()),
                        LiveFrame::Ready { cursor } => {
                            self.cursor = Some(cursor.clone());
                            self.failures = 0;
                        }
                        LiveFrame::Reset { .. } => self.cursor = None,
                    }
                    return Ok(frame);
                }
                // Pings are answered by the socket itself while it is read.
                Some(Ok(_)) => {}
                Some(Err(error)) => self.dropped(error.to_string())?,
                None => self.dropped("the server closed the connection".to_owned())?,
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(None).await;
        }
    }

    fn dropped(&mut self, reason: String) -> Result<(), LiveError> {
        self.socket = None;
        if self.settings.reconnect {
            Ok(())
        } else {
            Err(LiveError::Transport(reason))
        }
    }

    async fn reconnect(&mut self) -> Result<(), LiveError> {
        loop {
            if self.failures > 0 {
                tokio::time::sleep(self.backoff()).await;
            }
            match self.open().await {
                Ok(socket) => {
                    self.socket = Some(socket);
                    return Ok(());
                }
                // Keep trying: the server may be restarting or the network down.
                Err(LiveError::Transport(_)) if self.settings.reconnect => {
                    self.failures = self.failures.saturating_add(1);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Exponential backoff with jitter in its upper half, so clients of a restarted server do
    /// not come back in lockstep.
    fn backoff(&self) -> Duration {
        let exponential = self
            .settings
            .min_backoff
            .saturating_mul(1u32 << self.failures.saturating_sub(1).min(16));
        let capped = exponential.min(self.settings.max_backoff);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.subsec_nanos())
            .unwrap_or(0);
        capped.mul_f64(0.5 + f64::from(nanos % 1000) / 2000.0)
    }

    async fn open(&self) -> Result<Socket, LiveError> {
        let mut url = self.endpoint.clone();
        if let Some(cursor) = &self.cursor {
            url.push_str("?cursor=");
            url.push_str(&encode_query_value(cursor));
        }
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|_| LiveError::InvalidUrl(url.clone()))?;
        let authorization = HeaderValue::from_str(&format!("Bearer {}", self.token))
            .map_err(|_| LiveError::Transport("the token is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(tungstenite::http::header::AUTHORIZATION, authorization);
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let problem = response
                    .body()
                    .as_deref()
                    .and_then(|body| serde_json::from_slice::<Problem>(body).ok())
                    .map(Box::new);
                if status >= 500 {
                    Err(LiveError::Transport(format!(
                        "the server answered {status}"
                    )))
                } else {
                    Err(LiveError::Refused { status, problem })
                }
            }
            Err(error) => Err(LiveError::Transport(error.to_string())),
        }
    }
}

/// Returns the WebSocket URL of the live stream of the server at `base`.
fn live_endpoint(base: &str) -> Result<String, LiveError> {
    let base = base.trim().trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        return Err(LiveError::InvalidUrl(base.to_owned()));
    };
    Ok(format!("{rest}/api/v1/live"))
}

/// Percent-encodes a query value (cursors are plain ASCII today; this keeps them opaque).
fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_follows_the_scheme_of_the_base_url() {
        assert_eq!(
            live_endpoint("http://127.0.0.1:8080/").unwrap(),
            "ws://127.0.0.1:8080/api/v1/live"
        );
        assert_eq!(
            live_endpoint("https://tickler.example/base").unwrap(),
            "wss://tickler.example/base/api/v1/live"
        );
        assert!(live_endpoint("ftp://x").is_err());
    }

    #[test]
    fn cursors_are_percent_encoded() {
        assert_eq!(encode_query_value("12-34"), "12-34");
        assert_eq!(encode_query_value("a b&c"), "a%20b%26c");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut stream = LiveStream {
            endpoint: String::new(),
            token: String::new(),
            cursor: None,
            socket: None,
            settings: LiveSettings::default(),
            failures: 1,
        };
        assert!(stream.backoff() <= Duration::from_millis(500));
        stream.failures = 30;
        assert!(stream.backoff() <= Duration::from_secs(10));
        assert!(stream.backoff() >= Duration::from_secs(5));
    }
}
