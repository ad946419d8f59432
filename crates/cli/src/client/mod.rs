//! The command-line client: `tickler login`, `add`, `ls`, `show`, `done`, `reopen`, `rm`,
//! `edit`, `snooze`, `chat` and `tail` (its own module), for people who live in a terminal
//! and for scripts. Every command talks to a server through `tickler-client`, prints text for
//! people (local time, colour on a terminal) or, with `--json`, the API's JSON; it ends with
//! one actionable line and an exit code from [`outcome::Outcome`] when it fails.
//!
//! Task ids may be abbreviated to any unique prefix, as git does with commits: the server
//! resolves it (`GET /api/v1/tasks/resolve/{prefix}`) among the caller's tasks.

mod account;
pub mod input;
pub mod outcome;
pub mod render;
pub mod request;
pub mod settings;
mod tail;
pub mod words;

use std::io::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::json;
use tickler_app::Clock as _;
use tickler_client::{Client, ClientError};
use tickler_protocol::chat::{ChatRequest, ChatResponse};
use tickler_protocol::reminder::{ReminderBody, SnoozeRequest};
use tickler_protocol::task::{DeleteScope, TaskBody};

use self::outcome::CliError;
use self::render::Style;
use self::settings::Login;

/// A priority as `--priority` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PriorityArg {
    /// No priority.
    None,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Urgent.
    Urgent,
}

impl PriorityArg {
    fn as_str(self) -> &'static str {
        match self {
            PriorityArg::None => "none",
            PriorityArg::Low => "low",
            PriorityArg::Medium => "medium",
            PriorityArg::High => "high",
            PriorityArg::Urgent => "urgent",
        }
    }
}

/// Which tasks `tickler ls` lists.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Open tasks due today (local time).
    #[arg(long, conflicts_with_all = ["overdue", "upcoming", "done"])]
    pub today: bool,
    /// Open tasks whose due time has passed.
    #[arg(long, conflicts_with_all = ["upcoming", "done"])]
    pub overdue: bool,
    /// Open tasks due from now on, soonest first.
    #[arg(long, conflicts_with = "done")]
    pub upcoming: bool,
    /// Done tasks, most recently changed first (instead of open ones).
    #[arg(long)]
    pub done: bool,
    /// Only tasks carrying this tag (repeatable: all of them).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Only tasks of this priority (repeatable: any of them).
    #[arg(long = "priority", value_name = "P", value_enum)]
    pub priorities: Vec<PriorityArg>,
    /// Full-text search over titles, descriptions and tags.
    #[arg(long, value_name = "Q")]
    pub search: Option<String>,
    /// At most this many tasks (1 to 200).
    #[arg(long, value_name = "N", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=200))]
    pub limit: u32,
}

/// What `tickler edit` changes.
#[derive(Debug, Clone, Args)]
pub struct EditArgs {
    /// The task (any unique prefix of its id).
    pub id: String,
    /// A new title.
    #[arg(long)]
    pub title: Option<String>,
    /// A new due date: words ("tomorrow 5pm"), a date (2026-12-24), an instant, or "none".
    #[arg(long)]
    pub due: Option<String>,
    /// A new priority.
    #[arg(long, value_enum)]
    pub priority: Option<PriorityArg>,
    /// Add a tag (repeatable).
    #[arg(long = "tag", value_name = "T")]
    pub tags: Vec<String>,
    /// Remove a tag (repeatable).
    #[arg(long = "untag", value_name = "T")]
    pub untags: Vec<String>,
    /// Repeat: words after "every" (day, monday, "2 weeks"), an RRULE, or "none".
    #[arg(long)]
    pub every: Option<String>,
    /// The reminders, replacing the current ones (repeatable): a span before the due time
    /// (30m, 1d), an ISO 8601 offset, an instant, or "none".
    #[arg(long = "remind", value_name = "WHEN")]
    pub reminders: Vec<String>,
}

/// The client's subcommands (the `tickler` binary also has the server's).
#[derive(Debug, Clone, Subcommand)]
pub enum ClientCommand {
    /// Sign in to a server and keep a personal API token in
    /// $XDG_CONFIG_HOME/tickler/client.toml (asks for e-mail and password, or takes --token).
    Login {
        /// The server's URL [default: $TICKLER_SERVER, else the last one, else
        /// http://127.0.0.1:8080].
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Use this personal API token instead of signing in.
        #[arg(long)]
        token: Option<String>,
        /// The e-mail address (asked when absent).
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke the stored API token and forget the login.
    Logout,
    /// Quick add: create the task a sentence describes and print what was understood.
    Add {
        /// The sentence ("call mom tomorrow at 5pm #family p1").
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// List tasks (open ones by default) as a table in local time.
    Ls(ListArgs),
    /// Show one task, with its pending reminders' ids.
    Show {
        /// The task (any unique prefix of its id).
        id: String,
    },
    /// Mark tasks done.
    Done {
        /// The tasks (any unique prefixes of their ids).
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Put a done task back to do.
    Reopen {
        /// The task (any unique prefix of its id).
        id: String,
    },
    /// Delete a task (asks first unless --yes).
    Rm {
        /// The task (any unique prefix of its id).
        id: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
        /// For a recurring task: end the whole series, not only this occurrence.
        #[arg(long)]
        series: bool,
    },
    /// Change a task's title, due date, priority, tags, repetition or reminders.
    Edit(EditArgs),
    /// Snooze a reminder: fire it again after a while (10m, 1h, 1d) or at an instant.
    Snooze {
        /// The reminder (its id, or a unique prefix; `tickler show TASK` lists them).
        reminder_id: String,
        /// How long (10m, 2h, 1d) or until when (an RFC 3339 instant).
        duration: String,
    },
    /// Talk to the assistant: one message, or an interactive session when none is given.
    Chat {
        /// The message.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        message: Vec<String>,
    },
    /// Follow changes as they happen (the live stream), resuming after a dropped connection;
    /// Ctrl-C ends it.
    Tail,
}

/// Runs a client command, printing JSON with `json`.
pub async fn run(command: ClientCommand, json: bool) -> Result<(), CliError> {
    let now = tickler_app::SystemClock.now();
    let zone = render::local_zone();
    let style = Style::for_stdout();
    let screen = Screen {
        json,
        now,
        zone,
        style,
    };
    match command {
        ClientCommand::Login {
            server,
            token,
            email,
        } => account::login(&screen, server, token, email).await,
        ClientCommand::Logout => account::logout(&screen).await,
        command => {
            let path = settings::path()?;
            let login = settings::effective(settings::read(&path)?)?;
            let session = Session::open(login)?;
            session.run(&screen, command).await
        }
    }
}

/// How and when output is shown.
#[derive(Debug, Clone, Copy)]
struct Screen {
    json: bool,
    now: DateTime<Utc>,
    zone: Tz,
    style: Style,
}

impl Screen {
    fn text(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            // The reader went away (`tickler ls | head`): nothing more to say.
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(error) => Err(CliError::failure(format!("cannot write output: {error}"))),
        }
    }

    fn json_line(&self, value: &impl Serialize) -> Result<(), CliError> {
        let text = serde_json::to_string(value)
            .map_err(|error| CliError::failure(format!("cannot encode JSON: {error}")))?;
        self.text(&format!("{text}\n"))
    }

    /// Prints `value` as JSON with `--json`, else the text `human` renders.
    fn show<T: Serialize>(
        &self,
        value: &T,
        human: impl FnOnce(&T) -> String,
    ) -> Result<(), CliError> {
        if self.json {
            self.json_line(value)
        } else {
            self.text(&human(value))
        }
    }
}

/// A logged-in client.
struct Session {
    client: Client,
    server: String,
    token: String,
}

impl Session {
    fn open(login: Login) -> Result<Self, CliError> {
        let client = Client::new(&login.server, &login.token)
            .map_err(|error| CliError::from_client(error, &login.server))?;
        Ok(Self {
            client,
            server: login.server,
            token: login.token,
        })
    }

    fn fail(&self, error: ClientError) -> CliError {
        CliError::from_client(error, &self.server)
    }

    /// Resolves a task id prefix to the task.
    async fn task(&self, prefix: &str) -> Result<TaskBody, CliError> {
        let prefix = prefix.trim();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(CliError::not_found(format!(
                "no task id starts with {prefix:?} (ids are hex digits)"
            )));
        }
        self.client
            .resolve_task(prefix)
            .await
            .map_err(|error| match error.status() {
                Some(404) => CliError::not_found(format!("no task id starts with {prefix:?}")),
                _ => self.fail(error),
            })
    }

    async fn run(&self, screen: &Screen, command: ClientCommand) -> Result<(), CliError> {
        match command {
            ClientCommand::Add { text } => {
                let task = self
                    .client
                    .quick_add(&text.join(" "))
                    .await
                    .map_err(|error| self.fail(error))?;
                screen.show(&task, |task| {
                    format!(
                        "added {}",
                        render::details(task, &[], screen.now, screen.zone, screen.style)
                    )
                })
            }
            ClientCommand::Ls(args) => {
                let query = request::list_query(&args, screen.now, screen.zone);
                let page = self
                    .client
                    .query_tasks(&query)
                    .await
                    .map_err(|error| self.fail(error))?;
                screen.show(&page, |page| {
                    render::table(&page.items, screen.now, screen.zone, screen.style)
                })
            }
            ClientCommand::Show { id } => {
                let task = self.task(&id).await?;
                let reminders = if screen.json {
                    Vec::new()
                } else {
                    self.pending_reminders(&task).await?
                };
                screen.show(&task, |task| {
                    render::details(task, &reminders, screen.now, screen.zone, screen.style)
                })
            }
            ClientCommand::Done { ids } => {
                let mut first_error = None;
                for id in &ids {
                    let result = match self.task(id).await {
                        Ok(task) => self
                            .client
                            .complete_task(&task.id.to_string())
                            .await
                            .map_err(|error| self.fail(error)),
                        Err(error) => Err(error),
                    };
                    match result {
                        Ok(task) => screen.show(&task, |task| {
                            format!("done    {}  {}\n", task.id, task.title)
                        })?,
                        Err(error) => {
                            eprintln!("tickler: {id}: {}", error.message);
                            first_error.get_or_insert(error);
                        }
                    }
                }
                match first_error {
                    Some(error) => Err(CliError {
                        message: String::new(),
                        ..error
                    }),
                    None => Ok(()),
                }
            }
            ClientCommand::Reopen { id } => {
                let task = self.task(&id).await?;
                let task = self
                    .client
                    .reopen_task(&task.id.to_string())
                    .await
                    .map_err(|error| self.fail(error))?;
                screen.show(&task, |task| {
                    format!("reopened  {}  {}\n", task.id, task.title)
                })
            }
            ClientCommand::Rm { id, yes, series } => {
                let task = self.task(&id).await?;
                if !yes && !confirm(&format!("delete {} \"{}\"? [y/N] ", task.id, task.title))? {
                    return Err(CliError::failure("not deleted"));
                }
                let scope = if series {
                    DeleteScope::Series
                } else {
                    DeleteScope::This
                };
                self.client
                    .delete_task(&task.id.to_string(), scope)
                    .await
                    .map_err(|error| self.fail(error))?;
                let answer = json!({"id": task.id, "deleted": true});
                screen.show(&answer, |_| {
                    format!("deleted {}  {}\n", task.id, task.title)
                })
            }
            ClientCommand::Edit(args) => self.edit(screen, args).await,
            ClientCommand::Snooze {
                reminder_id,
                duration,
            } => self.snooze(screen, &reminder_id, &duration).await,
            ClientCommand::Chat { message } => self.chat(screen, message).await,
            ClientCommand::Tail => self.tail(screen, &self.token).await,
            // Handled by `run` before a session exists.
            ClientCommand::Login { .. } | ClientCommand::Logout => Ok(()),
        }
    }

    async fn pending_reminders(&self, task: &TaskBody) -> Result<Vec<ReminderBody>, CliError> {
        let list = self
            .client
            .list_reminders(true)
            .await
            .map_err(|error| self.fail(error))?;
        Ok(list
            .items
            .into_iter()
            .filter(|reminder| reminder.task_id == task.id)
            .collect())
    }

    async fn edit(&self, screen: &Screen, args: EditArgs) -> Result<(), CliError> {
        let task = self.task(&args.id).await?;
        let patch = request::edit_patch(&task, &args, screen.now, screen.zone)?;
        let task = self
            .client
            .patch_task(&task.id.to_string(), &patch, Some(task.version))
            .await
            .map_err(|error| self.fail(error))?;
        screen.show(&task, |task| {
            format!(
                "changed {}",
                render::details(task, &[], screen.now, screen.zone, screen.style)
            )
        })
    }

    async fn snooze(&self, screen: &Screen, id: &str, duration: &str) -> Result<(), CliError> {
        let request = match input::span_seconds(duration) {
            Some(seconds) if seconds > 0 => SnoozeRequest {
                minutes: Some((seconds + 59) / 60),
                until: None,
            },
            _ if DateTime::parse_from_rfc3339(duration.trim()).is_ok() => SnoozeRequest {
                minutes: None,
                until: Some(duration.trim().to_owned()),
            },
            _ => {
                return Err(CliError::usage(format!(
                    "{duration:?} is not a snooze: try 10m, 1h, 1d or an RFC 3339 instant"
                )));
            }
        };
        let id = self.reminder_id(id).await?;
        let reminder = self
            .client
            .snooze_reminder(&id, &request)
            .await
            .map_err(|error| self.fail(error))?;
        screen.show(&reminder, |reminder| {
            format!(
                "snoozed {}: fires {} ({})\n",
                reminder.id,
                render::relative(
                    reminder.fire_at,
                    false,
                    screen.now,
                    screen.zone,
                    screen.zone
                ),
                render::absolute(reminder.fire_at, false, screen.zone)
            )
        })
    }

    /// Resolves a reminder id prefix among the caller's reminders.
    async fn reminder_id(&self, prefix: &str) -> Result<String, CliError> {
        let prefix = prefix.trim().to_ascii_lowercase();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(CliError::not_found(format!(
                "no reminder id starts with {prefix:?} (ids are hex digits)"
            )));
        }
        if prefix.len() == 36 {
            return Ok(prefix);
        }
        let list = self
            .client
            .list_reminders(false)
            .await
            .map_err(|error| self.fail(error))?;
        let matches: Vec<&ReminderBody> = list
            .items
            .iter()
            .filter(|reminder| reminder.id.starts_with(&prefix))
            .collect();
        match matches.as_slice() {
            [] => Err(CliError::not_found(format!(
                "no reminder id starts with {prefix:?}"
            ))),
            [one] => Ok(one.id.clone()),
            several => Err(CliError {
                outcome: outcome::Outcome::Conflict,
                message: format!(
                    "reminder id prefix {prefix:?} is ambiguous: {}",
                    several
                        .iter()
                        .map(|reminder| reminder.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    async fn chat(&self, screen: &Screen, message: Vec<String>) -> Result<(), CliError> {
        let mut request = ChatRequest {
            message: message.join(" "),
            conversation_id: None,
        };
        if !request.message.trim().is_empty() {
            let answer = self
                .client
                .chat(&request)
                .await
                .map_err(|error| self.fail(error))?;
            return screen.show(&answer, chat_text);
        }
        loop {
            let Some(line) = input::prompt("you> ", false)? else {
                return Ok(());
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if matches!(line, "exit" | "quit" | "/exit" | "/quit") {
                return Ok(());
            }
            request.message = line.to_owned();
            match self.client.chat(&request).await {
                Ok(answer) => {
                    request.conversation_id = Some(answer.conversation_id.clone());
                    screen.show(&answer, chat_text)?;
                }
                // One failed message does not end the conversation, unless the server is gone.
                Err(error) if error.is_unreachable() => return Err(self.fail(error)),
                Err(error) => eprintln!("tickler: {}", self.fail(error).message),
            }
        }
    }
}

fn chat_text(answer: &ChatResponse) -> String {
    let mut text = format!("{}\n", answer.reply);
    if let Some(clarification) = &answer.clarification
        && !clarification.options.is_empty()
    {
        for (n, option) in clarification.options.iter().enumerate() {
            text.push_str(&format!("  {}. {option}\n", n + 1));
        }
    }
    text
}

/// Asks a yes/no question on the terminal; anything but y/yes (or end of input) is no.
fn confirm(question: &str) -> Result<bool, CliError> {
    eprint!("{question}");
    let answer = input::prompt("", false)?.unwrap_or_default();
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
