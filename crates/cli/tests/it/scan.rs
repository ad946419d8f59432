//! The secrets scan (RELIABILITY #32): every response a test server sends and every log line
//! it writes is searched for the secrets the harness knows, and any hit fails the test.
//!
//! - Responses: [`TestApp`](crate::helpers::TestApp) puts a TCP relay ([`Relay`]) in front of
//!   its server, so every request of every test passes through it; the relay scans the bytes
//!   going to the client (HTTP/1.1 bodies are not compressed here: reqwest asks for no
//!   encoding). A chunked body could split a secret with a chunk header; tickler's JSON
//!   responses have a length and are sent whole.
//! - Logs: the global subscriber of [`crate::helpers::init`] writes every event of the
//!   in-process servers (tickler's own crates at `debug`, the rest at `info`) through
//!   [`ScanWriter`]; a child `tickler serve` ([`crate::process::ServerProcess`]) has its
//!   stderr read line by line through [`scan_log_line`].
//!
//! The secrets: the server's JWT signing key (configured or generated into the data
//! directory), SMTP and database passwords of the configuration, every password a client sent
//! in a request body (`…password":"…"`, 12 characters or more), and every webhook signing
//! secret (`whsec_…`) after the one response that shows it. Log lines must not contain a
//! `whsec_` secret or a JWT (`eyJ…`) at all.
//!
//! Hits are kept for the process (nextest runs each test in a process of its own) and fail
//! the test when its `TestApp` or `ServerProcess` is dropped ([`assert_clean`]).

use std::collections::HashSet;
use std::io::Write;
use std::sync::Mutex;

/// What the scan knows and found.
#[derive(Default)]
struct State {
    /// Exact secrets, with what they are.
    secrets: Vec<(String, String)>,
    /// Webhook signing secrets already shown once.
    shown: HashSet<String>,
    hits: Vec<String>,
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    let mut state = STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    f(state.get_or_insert_with(State::default))
}

/// Secrets shorter than this are not searched for (they would match ordinary text).
const SHORTEST: usize = 8;
const WEBHOOK_SECRET_PREFIX: &[u8] = b"whsec_";
/// The shortest secret after the prefix: 24 random bytes in base64, the least Standard Webhooks
/// allows (tickler's have 32). Shorter `whsec_` text is documentation (`whsec_...` in the
/// OpenAPI document), not a secret.
const SHORTEST_WEBHOOK_SECRET: usize = 32;

/// Adds a secret to look for from now on.
pub fn know(what: &str, value: &str) {
    if value.len() < SHORTEST {
        return;
    }
    with_state(|state| {
        if !state.secrets.iter().any(|(_, known)| known == value) {
            state.secrets.push((what.to_owned(), value.to_owned()));
        }
    });
}

/// Adds the password of a database URL (`postgres://user:password@host/...`), if it has one.
pub fn know_url_password(url: &str) {
    if let Ok(url) = url::Url::parse(url)
        && let Some(password) = url.password()
    {
        know("the database password", password);
    }
}

fn hit(found: String) {
    eprintln!("secrets scan: {found}");
    with_state(|state| state.hits.push(found));
}

/// Returns and forgets the hits so far (for the scan's own test).
pub fn take_hits() -> Vec<String> {
    with_state(|state| std::mem::take(&mut state.hits))
}

/// Fails the test if anything leaked (not while it is failing already).
pub fn assert_clean() {
    if std::thread::panicking() {
        return;
    }
    let hits = take_hits();
    assert!(hits.is_empty(), "the secrets scan found {hits:?}");
}

fn is_secret_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// `whsec_` tokens of `text` that end before it does, as (start, end) offsets.
fn webhook_secrets(text: &[u8]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&text[from..], WEBHOOK_SECRET_PREFIX) {
        let start = from + at;
        let mut end = start + WEBHOOK_SECRET_PREFIX.len();
        while end < text.len() && is_secret_char(text[end]) {
            end += 1;
        }
        if end == text.len() {
            break;
        }
        if end - start - WEBHOOK_SECRET_PREFIX.len() >= SHORTEST_WEBHOOK_SECRET {
            found.push((start, end));
        }
        from = end;
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&haystack[from..], needle) {
        found.push(from + at);
        from += at + 1;
    }
    found
}

/// Scans one log line.
pub fn scan_log_line(line: &str) {
    let bytes = line.as_bytes();
    let ended = [bytes, b"\n"].concat();
    if !webhook_secrets(&ended).is_empty() {
        hit(format!("a webhook signing secret in a log line: {line}"));
    }
    // A JWT's header, `{"alg":"HS256","typ":"JWT"}` in base64url, starts with eyJ.
    if find(bytes, b"eyJhbGci").is_some() || find(bytes, b"eyJ0eXAi").is_some() {
        hit(format!("a JWT in a log line: {line}"));
    }
    let secrets = with_state(|state| state.secrets.clone());
    for (what, secret) in secrets {
        if find(bytes, secret.as_bytes()).is_some() {
            hit(format!("{what} in a log line: {line}"));
        }
    }
}

/// Scans one direction of a connection as its bytes pass, with an overlap between reads so
/// that a secret split over two reads is found once.
#[derive(Default)]
pub struct StreamScan {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already scanned (a match must end after them to be new).
    scanned: usize,
}

/// How much of the stream is kept for the next read: longer than any secret.
const OVERLAP: usize = 512;

impl StreamScan {
    /// Scans bytes going to the client.
    pub fn response(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
        let secrets = with_state(|state| state.secrets.clone());
        for (what, secret) in secrets {
            for start in find_all(&self.buffer, secret.as_bytes()) {
                if start + secret.len() > self.scanned {
                    hit(format!("{what} in a response"));
                }
            }
        }
        for (start, end) in webhook_secrets(&self.buffer) {
            // Counted once, when the byte after it arrives.
            if end < self.scanned {
                continue;
            }
            let secret = String::from_utf8_lossy(&self.buffer[start..end]).into_owned();
            if !with_state(|state| state.shown.insert(secret)) {
                hit("a webhook signing secret shown a second time in a response".to_owned());
            }
        }
        self.keep_overlap();
    }

    /// Reads bytes going to the server: learns the passwords clients send.
    pub fn request(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
        let key = b"password\":\"";
        for at in find_all(&self.buffer, key) {
            let start = at + key.len();
            let Some(length) = self.buffer[start..].iter().position(|byte| *byte == b'"') else {
                continue;
            };
            if let Ok(password) = std::str::from_utf8(&self.buffer[start..start + length])
                && password.len() >= 12
                && !password.contains('\\')
            {
                know("a password a client sent", password);
            }
        }
        self.keep_overlap();
    }

    fn keep_overlap(&mut self) {
        if self.buffer.len() > OVERLAP {
            self.buffer.drain(..self.buffer.len() - OVERLAP);
        }
        self.scanned = self.buffer.len();
    }
}

/// A TCP relay in front of a test server that scans what passes.
pub struct Relay {
    /// Where clients connect.
    pub address: std::net::SocketAddr,
    task: tokio::task::AbortHandle,
}

impl Relay {
    /// Relays connections on a free port to `upstream`.
    pub async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                tokio::spawn(relay(inbound, upstream));
            }
        });
        Self {
            address,
            task: task.abort_handle(),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(inbound: tokio::net::TcpStream, upstream: std::net::SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = inbound.set_nodelay(true);
    let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else {
        return;
    };
    let _ = outbound.set_nodelay(true);
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut server_read, mut server_write) = outbound.into_split();
    let to_server = async move {
        let mut scan = StreamScan::default();
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(read) = client_read.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            scan.request(&buffer[..read]);
            if server_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let to_client = async move {
        let mut scan = StreamScan::default();
        let mut buffer = vec![0u8; 16 * 1024];
        while let Ok(read) = server_read.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            scan.response(&buffer[..read]);
            if client_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(to_server, to_client);
}

/// The writer of the tests' log subscriber: scans each line, and prints it with `TEST_LOG`.
#[derive(Clone, Copy)]
pub struct ScanWriter {
    pub print: bool,
}

/// One log event being written.
pub struct ScanLine {
    line: Vec<u8>,
    print: bool,
}

impl Write for ScanLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for ScanLine {
    fn drop(&mut self) {
        let line = String::from_utf8_lossy(&self.line);
        for line in line.lines() {
            scan_log_line(line);
        }
        if self.print {
            eprint!("{line}");
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for ScanWriter {
    type Writer = ScanLine;

    fn make_writer(&'a self) -> Self::Writer {
        ScanLine {
            line: Vec::new(),
            print: self.print,
        }
    }
}

#[test]
fn a_secret_split_over_two_reads_is_found_once_and_a_webhook_secret_may_be_shown_once() {
    know("the scan's own test secret", "s3cr3t-of-the-scan-test");
    let mut scan = StreamScan::default();
    scan.response(b"HTTP/1.1 200 OK\r\n\r\n{\"a\":\"s3cr3t-of-");
    scan.response(b"the-scan-test\",\"secret\":\"whsec_AAAABBBBCCCCDDDDEEEEFFFFGGGG");
    assert_eq!(take_hits().len(), 1, "the split secret, once");
    scan.response(b"HHHH\"}");
    assert!(
        take_hits().is_empty(),
        "a webhook secret shown once is allowed"
    );
    let mut again = StreamScan::default();
    again.response(b"{\"secret\":\"whsec_AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH\"}");
    assert_eq!(take_hits().len(), 1, "shown a second time");
    // Documentation of the format is not a secret, however often it is shown.
    for _ in 0..2 {
        again.response(b"{\"description\":\"the secret (`whsec_...`), shown once\"}");
    }
    scan_log_line("INFO a channel's secret looks like whsec_...");
    assert!(take_hits().is_empty(), "text about whsec_ is no secret");
    scan_log_line("WARN whsec_AAAABBBBCCCCDDDDEEEEFFFFGGGGHHHH");
    assert_eq!(take_hits().len(), 1, "a webhook secret in a log line");
    let mut request = StreamScan::default();
    request.request(b"{\"email\":\"a@b.c\",\"password\":\"a password of the scan test\"}");
    scan_log_line("INFO login failed for a password of the scan test");
    assert_eq!(take_hits().len(), 1, "a learned password in a log line");
    scan_log_line("DEBUG bearer eyJhbGciOiJIUzI1NiJ9.e30.x");
    assert_eq!(take_hits().len(), 1, "a JWT in a log line");
}
