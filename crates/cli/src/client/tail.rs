//! `tickler tail`: follows the live stream (`GET /api/v1/live`) and prints each change as it
//! happens, one line each (with `--json`, each frame as the server sent it). A dropped
//! connection is resumed from the last cursor by `tickler_client::live::LiveStream`, so
//! nothing is missed or repeated; Ctrl-C ends it.

use serde_json::Value;
use tickler_client::live::{LiveError, LiveStream};
use tickler_protocol::live::LiveFrame;

use super::outcome::CliError;
use super::{Screen, Session};

impl Session {
    /// Follows the caller's changes until Ctrl-C.
    pub(super) async fn tail(&self, screen: &Screen, token: &str) -> Result<(), CliError> {
        let mut stream = LiveStream::connect(&self.server, token, None)
            .await
            .map_err(|error| self.live_failure(error))?;
        let mut connections = 0u32;
        loop {
            let frame = tokio::select! {
                frame = stream.next_frame() => frame.map_err(|error| self.live_failure(error))?,
                _ = tokio::signal::ctrl_c() => {
                    stream.close().await;
                    return Ok(());
                }
            };
            if screen.json {
                screen.json_line(&frame)?;
                continue;
            }
            match frame {
                LiveFrame::Ready { .. } => {
                    connections += 1;
                    if connections == 1 {
                        eprintln!("following changes at {} (Ctrl-C to stop)", self.server);
                    } else {
                        eprintln!("reconnected; nothing was missed");
                    }
                }
                LiveFrame::Reset { reason } => {
                    eprintln!(
                        "tickler: the server reset the stream ({reason}); following from now"
                    );
                }
                LiveFrame::Event { event, .. } => {
                    let line = self.describe(screen, &event).await;
                    screen.text(&line)?;
                }
            }
        }
    }

    /// One line for an event: local time, what happened, the task and its title.
    async fn describe(&self, screen: &Screen, event: &Value) -> String {
        let kind = event["type"].as_str().unwrap_or("event");
        let what = kind
            .strip_prefix("tickler.task.")
            .or_else(|| kind.strip_prefix("tickler."))
            .unwrap_or(kind);
        let at = event["time"]
            .as_str()
            .and_then(|time| chrono::DateTime::parse_from_rfc3339(time).ok())
            .map(|time| {
                time.with_timezone(&screen.zone)
                    .format("%H:%M:%S")
                    .to_string()
            })
            .unwrap_or_default();
        let data = &event["data"];
        let task_id = data["task_id"]
            .as_str()
            .or_else(|| event["subject"].as_str())
            .unwrap_or_default();
        // The summary carries no title: read it, unless the task is gone.
        let title = if what == "deleted" || task_id.is_empty() {
            String::new()
        } else {
            match self.client.get_task(task_id).await {
                Ok(task) => task.title,
                Err(_) => String::new(),
            }
        };
        let changed: Vec<&str> = data["changed_fields"]
            .as_array()
            .map(|fields| fields.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut line = format!("{at}  {what:<10} {task_id}");
        if !title.is_empty() {
            line.push_str(&format!("  {title}"));
        }
        if what == "updated" && !changed.is_empty() {
            line.push_str(&format!("  ({})", changed.join(", ")));
        }
        if let Some(origin) = event["origin"].as_str()
            && origin != "api"
        {
            line.push_str(&format!("  via {origin}"));
        }
        line.push('\n');
        line
    }

    fn live_failure(&self, error: LiveError) -> CliError {
        match error {
            LiveError::Refused { status: 401, .. } => CliError::failure(
                "the server refused the login for the live stream: run tickler login",
            ),
            LiveError::Refused { status: 404, .. } => CliError::not_found(format!(
                "{} has no live stream (GET /api/v1/live)",
                self.server
            )),
            LiveError::Refused { status, problem } => {
                let detail = problem
                    .and_then(|problem| problem.detail)
                    .unwrap_or_else(|| format!("status {status}"));
                CliError::failure(format!("the live stream was refused: {detail}"))
            }
            LiveError::Transport(_) => {
                CliError::failure(format!("server unreachable at {}", self.server))
            }
            LiveError::InvalidUrl(url) => CliError::usage(format!("{url:?} is not a server URL")),
            LiveError::Malformed(reason) => CliError::failure(format!(
                "the live stream sent something unexpected: {reason}"
            )),
        }
    }
}
