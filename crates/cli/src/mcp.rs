//! `tickler mcp`: an MCP server on stdin/stdout for local clients (desktop assistants, editors)
//! that start their tools as processes. It is a bridge: every JSON-RPC message read from stdin
//! is posted to a running server's `/mcp` endpoint with the given token, and the answers are
//! written to stdout, one per line.
//!
//! Bridging to `/mcp` rather than re-implementing the tools over the REST API keeps one
//! implementation of every tool (the server's registry), reports errors exactly as the HTTP
//! transport does, and records the changes with origin `mcp` in the audit trail.

use serde_json::{Value, json};
use tickler_client::Client;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

/// JSON-RPC: the input is not JSON.
const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: the server could not be reached or refused the request.
const INTERNAL_ERROR: i64 = -32603;

/// Relays messages from `input` to the server and its answers to `output` until `input` ends.
/// Requests are relayed one at a time, in order.
pub async fn bridge<R, W>(client: &Client, input: R, mut output: W) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    let mut protocol_version: Option<String> = None;
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        let message: Value = match serde_json::from_str(&line) {
            Ok(message) => message,
            Err(error) => {
                let reply =
                    error_reply(&Value::Null, PARSE_ERROR, &format!("invalid JSON: {error}"));
                write_line(&mut output, &reply).await?;
                continue;
            }
        };
        let initializing = message.get("method").and_then(Value::as_str) == Some("initialize");
        match client
            .mcp_message(&message, protocol_version.as_deref())
            .await
        {
            Ok(replies) => {
                for reply in replies {
                    if initializing
                        && let Some(version) = reply["result"]["protocolVersion"].as_str()
                    {
                        protocol_version = Some(version.to_owned());
                    }
                    write_line(&mut output, &reply).await?;
                }
            }
            // A request gets its error as its answer; a failed notification has nobody to
            // tell but the operator.
            Err(error) => match message
                .get("id")
                .filter(|_| message.get("method").is_some())
            {
                Some(id) => {
                    let reply = error_reply(id, INTERNAL_ERROR, &error.to_string());
                    write_line(&mut output, &reply).await?;
                }
                None => eprintln!("tickler mcp: {error}"),
            },
        }
    }
    Ok(())
}

fn error_reply(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

async fn write_line<W: AsyncWrite + Unpin>(output: &mut W, message: &Value) -> anyhow::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    output.write_all(&line).await?;
    output.flush().await?;
    Ok(())
}
