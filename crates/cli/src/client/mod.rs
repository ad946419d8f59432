//! The command-line client: `tickler login`, `add`, `ls`, `show`, `done`, `reopen`, `rm`,
//! `edit`, `snooze`, `chat` and `tail` (its own module), for people who live in a terminal
//! and for scripts. Every command talks to a server through `tickler-client`, prints text for
//! people (local time, colour on a terminal) or, with `--json`, the API's JSON; it ends with
//! one actionable line and an exit code from [`outcome::Outcome`] when it fails.
//!
//! Task ids may be abbreviated to any unique prefix, as git does with commits: the server
//! resolves it (`GET /api/v1/tasks/resolve/{prefix}`) among the caller's tasks.

pub mod input;
pub mod outcome;
pub mod render;
pub mod settings;
mod tail;
pub mod words;

use std::io::Write as _;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use tickler_app::Clock as _;
use tickler_client::{Client, ClientError};
use tickler_protocol::auth::{CreateApiTokenRequest, LoginRequest};
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
        } => login(&screen, server, token, email).await,
        ClientCommand::Logout => logout(&screen).await,
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
                let query = list_query(&args, screen.now, screen.zone);
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
        let patch = edit_patch(&task, &args, screen.now, screen.zone)?;
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
                render::relative(reminder.fire_at, false, screen.now, screen.zone),
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

/// The query parameters of `GET /api/v1/tasks` for `tickler ls`.
pub fn list_query(args: &ListArgs, now: DateTime<Utc>, zone: Tz) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&'static str, String)> = Vec::new();
    let status = if args.done { "done" } else { "open" };
    query.push(("status", status.to_owned()));
    if args.today {
        let today = now.with_timezone(&zone).date_naive();
        let start_of = |date: chrono::NaiveDate| {
            date.and_hms_opt(0, 0, 0)
                .and_then(|midnight| midnight.and_local_timezone(zone).earliest())
                .map(|start| start.with_timezone(&Utc).to_rfc3339())
        };
        if let Some(start) = start_of(today) {
            query.push(("due_after", start));
        }
        if let Some(end) = today.succ_opt().and_then(start_of) {
            query.push(("due_before", end));
        }
    }
    if args.overdue {
        query.push(("overdue", "true".to_owned()));
    }
    if args.upcoming {
        query.push(("due_after", now.to_rfc3339()));
    }
    for tag in &args.tags {
        query.push(("tag", tag.clone()));
    }
    for priority in &args.priorities {
        query.push(("priority", priority.as_str().to_owned()));
    }
    if let Some(search) = &args.search {
        query.push(("q", search.clone()));
    }
    let sort = if args.done {
        "-updated_at"
    } else if args.search.is_some() && !(args.today || args.overdue || args.upcoming) {
        "relevance"
    } else {
        "due_at,created_at"
    };
    query.push(("sort", sort.to_owned()));
    query.push(("limit", args.limit.to_string()));
    query
}

/// The merge patch `tickler edit` sends for `args`, given the task as it is.
pub fn edit_patch(
    task: &TaskBody,
    args: &EditArgs,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<Value, CliError> {
    let mut patch = serde_json::Map::new();
    if let Some(title) = &args.title {
        patch.insert("title".into(), json!(title));
    }
    if let Some(due) = &args.due {
        if is_none(due) {
            patch.insert("due_at".into(), Value::Null);
            patch.insert("all_day".into(), json!(false));
        } else {
            let due = input::due(due, now, zone)?;
            patch.insert("due_at".into(), json!(due.due_at));
            patch.insert("all_day".into(), json!(due.all_day));
        }
    }
    if let Some(priority) = args.priority {
        patch.insert("priority".into(), json!(priority.as_str()));
    }
    if !args.tags.is_empty() || !args.untags.is_empty() {
        let normal = |tag: &String| tag.trim().trim_start_matches('#').to_lowercase();
        let removed: Vec<String> = args.untags.iter().map(normal).collect();
        let mut tags: Vec<String> = task
            .tags
            .iter()
            .filter(|tag| !removed.contains(tag))
            .cloned()
            .collect();
        for tag in args.tags.iter().map(normal) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        patch.insert("tags".into(), json!(tags));
    }
    if let Some(every) = &args.every {
        if is_none(every) {
            patch.insert("recurrence".into(), Value::Null);
        } else {
            let every = input::every(every, now, zone)?;
            patch.insert("recurrence".into(), json!(every.rule));
            if task.due_at.is_none()
                && !patch.contains_key("due_at")
                && let Some(first) = every.first_due
            {
                patch.insert("due_at".into(), json!(first.due_at));
                patch.insert("all_day".into(), json!(first.all_day));
            }
        }
    }
    if !args.reminders.is_empty() {
        let reminders = if args.reminders.iter().any(|spec| is_none(spec)) {
            Vec::new()
        } else {
            args.reminders
                .iter()
                .map(|spec| input::reminder(spec))
                .collect::<Result<Vec<_>, _>>()?
        };
        patch.insert("reminders".into(), json!(reminders));
    }
    if patch.is_empty() {
        return Err(CliError::usage(
            "nothing to change: give --title, --due, --priority, --tag, --untag, --every or --remind",
        ));
    }
    Ok(Value::Object(patch))
}

fn is_none(text: &str) -> bool {
    matches!(text.trim().to_lowercase().as_str(), "none" | "never" | "")
}

async fn login(
    screen: &Screen,
    server: Option<String>,
    token: Option<String>,
    email: Option<String>,
) -> Result<(), CliError> {
    let path = settings::path()?;
    let stored = settings::read(&path)?;
    let server = server
        .or_else(|| settings::non_empty_env("TICKLER_SERVER"))
        .or_else(|| stored.as_ref().map(|login| login.server.clone()))
        .unwrap_or_else(|| settings::DEFAULT_SERVER.to_owned());
    let server = server.trim().trim_end_matches('/').to_owned();
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(CliError::usage(format!(
            "--server {server:?} is not an http:// or https:// URL"
        )));
    }
    let fail = |error: ClientError| CliError::from_client(error, &server);
    let login = match token {
        Some(token) => Login {
            server: server.clone(),
            token: token.trim().to_owned(),
            token_id: None,
        },
        None => {
            let email = match email {
                Some(email) => email,
                None => input::prompt("e-mail: ", false)?
                    .ok_or_else(|| CliError::usage("no e-mail address given"))?,
            };
            let password = input::prompt("password: ", true)?
                .ok_or_else(|| CliError::usage("no password given"))?;
            let request = LoginRequest {
                email: email.trim().to_owned(),
                password,
                session: None,
            };
            let session = tickler_client::login(&server, &request)
                .await
                .map_err(|error| match error.status() {
                    Some(401) => CliError::failure("wrong e-mail address or password"),
                    _ => fail(error),
                })?;
            let signed_in = Client::new(&server, &session.access_token).map_err(fail)?;
            let created = signed_in
                .create_api_token(&CreateApiTokenRequest {
                    name: format!("tickler CLI on {}", host_name()),
                    expires_in_days: None,
                })
                .await
                .map_err(fail)?;
            // The API token is the login from now on; the sign-in session is not needed.
            if let Some(refresh_token) = &session.refresh_token {
                let _ = signed_in.end_session(refresh_token).await;
            }
            Login {
                server: server.clone(),
                token: created.token,
                token_id: Some(created.details.id.to_string()),
            }
        }
    };
    let client = Client::new(&login.server, &login.token).map_err(fail)?;
    let user = client.me().await.map_err(fail)?;
    // Replacing an earlier login of this machine: its token is no longer needed.
    if let Some(old) = stored
        && let Some(old_id) = &old.token_id
        && old.server == login.server
        && old.token != login.token
        && let Ok(old_client) = Client::new(&old.server, &old.token)
    {
        let _ = old_client.delete_api_token(old_id).await;
    }
    settings::write(&path, &login)?;
    let answer = json!({"server": login.server, "user": user, "config": path});
    screen.show(&answer, |_| {
        format!(
            "logged in to {} as {} (token kept in {})\n",
            login.server,
            user.email,
            path.display()
        )
    })
}

async fn logout(screen: &Screen) -> Result<(), CliError> {
    let path = settings::path()?;
    let Some(login) = settings::read(&path)? else {
        let answer = json!({"logged_out": false});
        return screen.show(&answer, |_| "not logged in\n".to_owned());
    };
    let mut warning = None;
    if let Some(token_id) = &login.token_id {
        let revoked = match Client::new(&login.server, &login.token) {
            Ok(client) => client.delete_api_token(token_id).await,
            Err(error) => Err(error),
        };
        match revoked {
            // Already revoked (on the web, or by another logout): nothing left to do.
            Ok(()) => {}
            Err(error) if matches!(error.status(), Some(401 | 404)) => {}
            Err(error) => warning = Some(CliError::from_client(error, &login.server).message),
        }
    }
    settings::remove(&path)?;
    if let Some(warning) = &warning {
        eprintln!("tickler: the token could not be revoked ({warning}); revoke it on the server");
    }
    let answer = json!({"logged_out": true, "server": login.server});
    screen.show(&answer, |_| format!("logged out of {}\n", login.server))
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this machine".to_owned())
}
