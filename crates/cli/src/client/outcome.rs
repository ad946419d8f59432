//! How a client command ends: one line a person can act on, and an exit code a script can
//! branch on (0 ok, 1 error, 2 usage, 3 not found, 4 conflict).

use tickler_client::ClientError;

/// The exit codes of the client commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Anything else: the server unreachable or failing, not logged in, a local IO error.
    Failure = 1,
    /// The command line is wrong, or the server found the input invalid (400, 422).
    Usage = 2,
    /// The task, reminder or token does not exist for this user (404).
    NotFound = 3,
    /// The change conflicts with the current state (409, 412): an ambiguous id prefix, a
    /// done task's reminder, a stale version.
    Conflict = 4,
}

/// A failed client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The exit code.
    pub outcome: Outcome,
    /// One line, no trailing period.
    pub message: String,
}

impl CliError {
    /// A general failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Failure,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::Usage,
            message: message.into(),
        }
    }

    /// Nothing of that name (exit 3).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            outcome: Outcome::NotFound,
            message: message.into(),
        }
    }

    /// Turns a client error into its line and exit code. `server` is the URL the command
    /// talked to, named when it cannot be reached.
    pub fn from_client(error: ClientError, server: &str) -> Self {
        if error.is_unreachable() {
            return Self::failure(format!("server unreachable at {server}"));
        }
        match error {
            ClientError::Problem { status, problem } => {
                let detail = problem
                    .detail
                    .clone()
                    .unwrap_or_else(|| problem.title.clone());
                let detail = one_line(&detail);
                match status {
                    401 => Self::failure(format!(
                        "the server refused the login ({detail}): run tickler login"
                    )),
                    404 => Self::not_found(detail),
                    409 | 412 => Self {
                        outcome: Outcome::Conflict,
                        message: detail,
                    },
                    400 | 422 => {
                        let fields: Vec<String> = problem
                            .errors
                            .iter()
                            .map(|field| one_line(&field.message))
                            .collect();
                        if fields.is_empty() {
                            Self::usage(detail)
                        } else {
                            Self::usage(fields.join("; "))
                        }
                    }
                    _ => Self::failure(detail),
                }
            }
            ClientError::Unexpected { status, .. } => Self::failure(format!(
                "the server at {server} answered {status} with something that is not tickler's API"
            )),
            ClientError::Transport(error) => {
                Self::failure(format!("the exchange with {server} failed: {error}"))
            }
        }
    }
}

/// Collapses whitespace (a multi-line detail) into one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
