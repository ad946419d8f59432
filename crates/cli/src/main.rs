//! `tickler`: the one binary. `serve` runs the product (SQLite in a data directory by
//! default, PostgreSQL with `--database-url`), `migrate` applies database migrations,
//! `config` prints the effective configuration, `admin` grants and revokes operator rights,
//! `roles` lists the roles, `healthcheck` asks a
//! running server's `/health`, `backup` and `restore` copy the embedded database. The client
//! commands (`login`, `add`, `ls`, `show`, `done`, `edit`, `chat`, ...) talk to a server and
//! exit 0 ok, 1 error, 2 usage, 3 not found, 4 conflict; `completions` prints shell
//! completions.
//!
//! Argument parsing only; the wiring lives in the `tickler_cli` library so integration tests
//! start exactly what the binary starts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser, Subcommand};
use tickler_cli::config::{
    self, BusKind, BusOverrides, Config, DatabaseOverrides, FlagOverrides, LlmOverrides,
    NotifierOverrides, SyncMode,
};
use tickler_cli::{admin, audit, dlq, secret, serve, storage, telemetry};

/// tickler: a self-hosted task manager.
#[derive(Debug, Parser)]
#[command(name = "tickler", version, about, long_about = None)]
struct Cli {
    /// A TOML configuration file (see `tickler config --defaults`).
    #[arg(long, global = true, env = "TICKLER_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the embedded database and local state [default: ./tickler-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...); SQLite in the data directory when absent.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Print the API's JSON instead of text (client commands).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// List dead letters, oldest first.
    List {
        /// Only this consumer's.
        #[arg(long)]
        consumer: Option<String>,
        /// Include those already replayed.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Hand a dead letter to its consumer again.
    Replay {
        /// The dead letter's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every user's audit hash chain (or one user's): exit 0 with a summary when intact,
    /// non-zero naming the first broken link.
    Verify {
        /// Only this user: an e-mail address or a user id.
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Give the account with this e-mail address operator rights (the /api/v1/admin routes).
    Grant {
        /// The account's e-mail address.
        email: String,
    },
    /// Take operator rights away from the account with this e-mail address.
    Revoke {
        /// The account's e-mail address.
        email: String,
    },
    /// List the operators (granted here or named in auth.admin_user_ids).
    List,
}

/// The server a client command talks to.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// The server's base URL.
    #[arg(long, env = "TICKLER_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An access token or personal API token.
    #[arg(long, env = "TICKLER_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: migrations, then the HTTP API until SIGTERM or Ctrl-C.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
        /// SQLite durability: full (survives power loss) or normal (survives crashes only).
        #[arg(long, value_enum)]
        sync: Option<SyncMode>,
        /// Services to run: all, or a comma-separated list of api, relay, audit, notifier,
        /// recurring, reminders, realtime (`tickler roles` lists them).
        #[arg(long, value_delimiter = ',')]
        roles: Option<Vec<String>>,
        /// Event transport: embedded (no broker), kafka or dapr.
        #[arg(long, value_enum)]
        bus: Option<BusKind>,
        /// Kafka bootstrap servers, HOST:PORT[,HOST:PORT...] (with --bus kafka).
        #[arg(long)]
        kafka_brokers: Option<String>,
        /// The Dapr sidecar's HTTP port (with --bus dapr).
        #[arg(long)]
        dapr_http_port: Option<u16>,
        /// An OpenAI-compatible endpoint (e.g. Ollama's http://127.0.0.1:11434) for chat
        /// messages the rules do not understand.
        #[arg(long)]
        llm_url: Option<String>,
        /// The model to use at --llm-url.
        #[arg(long)]
        llm_model: Option<String>,
        /// The SMTP server for e-mail notifications: `smtp://HOST[:PORT]` (STARTTLS, see
        /// notifier.smtp_tls) or `smtps://HOST[:PORT]`; credentials from the configuration.
        #[arg(long)]
        smtp_url: Option<String>,
        /// The sender of e-mail notifications, e.g. "tickler <tickler@example.org>".
        #[arg(long)]
        smtp_from: Option<String>,
        /// Hosts, addresses and CIDR networks webhooks may reach although they are not public
        /// (comma-separated), e.g. 127.0.0.1 for a receiver on this machine.
        #[arg(long, value_delimiter = ',')]
        webhook_allow_hosts: Option<Vec<String>>,
        /// Export traces over OTLP/HTTP to this base URL (e.g. http://jaeger:4318); without it,
        /// the standard OTEL_EXPORTER_OTLP_* variables decide.
        #[arg(long)]
        otlp_endpoint: Option<String>,
    },
    /// Check the audit trail's hash chains in the server's database.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Inspect and re-drive events consumers gave up on.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Grant, revoke and list operator rights, on the server's database.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Read one sentence with the natural-language parser and print the JSON object (offline).
    Parse {
        /// The RFC 3339 instant calendar words are read at [default: now].
        #[arg(long)]
        now: Option<String>,
        /// The IANA time zone calendar words are read in [default: $TZ, else UTC].
        #[arg(long)]
        tz: Option<String>,
        /// The sentence (several arguments are joined with spaces).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Serve MCP on stdin/stdout for a local client, relaying to a running server's /mcp.
    Mcp {
        /// The server's base URL.
        #[arg(long, env = "TICKLER_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// An access token or personal API token of the user the tools act for.
        #[arg(long, env = "TICKLER_TOKEN", hide_env_values = true)]
        token: String,
    },
    /// Import a Todoist, Taskwarrior, TickTick, iCalendar or tickler file into a running
    /// server (a dry run unless --apply).
    Import {
        /// The file's format.
        #[arg(long = "from", value_parser = tickler_cli::port::SOURCES)]
        source: String,
        /// The file.
        file: PathBuf,
        /// Create the tasks (without it, only report what would happen).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Export everything the user owns from a running server.
    Export {
        /// `json` (the versioned export document) or `ical`.
        #[arg(long, default_value = "json", value_parser = ["json", "ical"])]
        format: String,
        /// Include every task's audit trail (json).
        #[arg(long)]
        history: bool,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy the embedded database (and the generated signing key) into FILE while the server
    /// runs: a consistent snapshot of every write acknowledged before it started.
    Backup {
        /// The backup file to create.
        file: PathBuf,
    },
    /// Restore a backup made by `tickler backup` into an empty data directory.
    Restore {
        /// The backup file.
        file: PathBuf,
    },
    /// List the roles `serve --roles` accepts, one per line (`all` stands for every one).
    Roles,
    /// Ask a running server's /health; exit 0 when it answers 200 (container health checks).
    Healthcheck {
        /// The address to ask [default: the configured listen address, on loopback when it
        /// is 0.0.0.0 or ::].
        #[arg(long)]
        address: Option<std::net::SocketAddr>,
        /// The path to ask.
        #[arg(long, default_value = "/health")]
        path: String,
    },
    /// Print the effective configuration (secrets redacted).
    Config {
        /// Print the defaults, with a comment on every setting, instead.
        #[arg(long)]
        defaults: bool,
    },
    #[command(flatten)]
    Client(tickler_cli::client::ClientCommand),
    /// Print a shell completion script (e.g. `tickler completions bash > /etc/bash_completion.d/tickler`).
    Completions {
        /// The shell.
        shell: CompletionShell,
    },
}

/// The shells `tickler completions` writes for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

fn main() -> ExitCode {
    // One TLS provider for every outbound client (webhooks, Dapr, SMTP): ring, no OpenSSL.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        Command::Client(command) => return run_client(command, cli.json),
        Command::Completions { shell } => {
            let shell = match shell {
                CompletionShell::Bash => clap_complete::Shell::Bash,
                CompletionShell::Zsh => clap_complete::Shell::Zsh,
                CompletionShell::Fish => clap_complete::Shell::Fish,
            };
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tickler", &mut script);
            print_out(&String::from_utf8_lossy(&script));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickler: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a client command; failures print one line and exit with their code.
fn run_client(command: tickler_cli::client::ClientCommand, json: bool) -> ExitCode {
    let outcome = current_thread()
        .map_err(|error| tickler_cli::client::outcome::CliError::failure(error.to_string()))
        .and_then(|runtime| runtime.block_on(tickler_cli::client::run(command, json)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if !error.message.is_empty() {
                eprintln!("tickler: {}", error.message);
            }
            ExitCode::from(error.outcome as u8)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut flags = FlagOverrides {
        data_dir: cli.data_dir,
        database_url: cli.database_url,
        ..FlagOverrides::default()
    };
    if let Command::Serve {
        listen,
        sync,
        roles,
        bus,
        kafka_brokers,
        dapr_http_port,
        llm_url,
        llm_model,
        smtp_url,
        smtp_from,
        webhook_allow_hosts,
        otlp_endpoint,
    } = &cli.command
    {
        flags.tracing = otlp_endpoint
            .as_ref()
            .map(|otlp_endpoint| config::TracingOverrides {
                otlp_endpoint: otlp_endpoint.clone(),
            });
        flags.notifier = NotifierOverrides {
            smtp_url: smtp_url.clone(),
            smtp_from: smtp_from.clone(),
            webhook_allow_hosts: webhook_allow_hosts.clone(),
        };
        flags.listen.clone_from(listen);
        flags.database = sync.map(|sync| DatabaseOverrides { sync });
        flags.roles.clone_from(roles);
        flags.bus = BusOverrides {
            kind: *bus,
            kafka_brokers: kafka_brokers.clone(),
            dapr_http_port: *dapr_http_port,
        };
        if llm_url.is_some() || llm_model.is_some() {
            flags.llm = Some(LlmOverrides {
                url: llm_url.clone(),
                model: llm_model.clone(),
            });
        }
    }
    if let Command::Parse { now, tz, text } = &cli.command {
        let output = tickler_cli::parse::run(now.as_deref(), tz.as_deref(), &text.join(" "))?;
        print_out(&format!("{output}\n"));
        return Ok(());
    }
    if let Command::Mcp { server, token } = &cli.command {
        // stdout carries the protocol: nothing else may be printed there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = tickler_client::Client::new(server, token)?;
        return runtime()?.block_on(tickler_cli::mcp::bridge(
            &client,
            tokio::io::BufReader::new(tokio::io::stdin()),
            tokio::io::stdout(),
        ));
    }
    if let Command::Import {
        source,
        file,
        apply,
        server,
    } = &cli.command
    {
        let client = tickler_client::Client::new(&server.server, &server.token)?;
        let (report, summary) =
            runtime()?.block_on(tickler_cli::port::import(&client, source, file, *apply))?;
        print_out(&report);
        eprintln!("{summary}");
        return Ok(());
    }
    if let Command::Export {
        format,
        history,
        output,
        server,
    } = &cli.command
    {
        let client = tickler_client::Client::new(&server.server, &server.token)?;
        return runtime()?.block_on(tickler_cli::port::export(
            &client,
            format,
            *history,
            output.as_deref(),
        ));
    }
    if let Command::Roles = cli.command {
        let names: Vec<&str> = config::Role::ALL.iter().map(config::Role::as_str).collect();
        print_out(&format!("{}\n", names.join("\n")));
        return Ok(());
    }
    if let Command::Config { defaults: true } = cli.command {
        print_out(config::DEFAULTS);
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref(), &flags)?;
    match cli.command {
        Command::Config { .. } => {
            print_out(&config.to_redacted_toml()?);
            Ok(())
        }
        Command::Serve { .. } => runtime()?.block_on(serve::serve(config)),
        Command::Audit {
            command: AuditCommand::Verify { user },
        } => runtime()?.block_on(async {
            let config = secret::resolve(config).await?;
            print_out(&audit::verify(&config, user.as_deref()).await?);
            Ok(())
        }),
        Command::Dlq { command } => runtime()?.block_on(async {
            let config = secret::resolve(config).await?;
            let report = match command {
                DlqCommand::List {
                    consumer,
                    all,
                    limit,
                } => dlq::list(&config, consumer, all, limit).await?,
                DlqCommand::Replay { id } => dlq::replay(&config, &id).await?,
            };
            print_out(&report);
            Ok(())
        }),
        Command::Admin { command } => runtime()?.block_on(async {
            let config = secret::resolve(config).await?;
            let action = match command {
                AdminCommand::Grant { email } => admin::AdminAction::Grant(email),
                AdminCommand::Revoke { email } => admin::AdminAction::Revoke(email),
                AdminCommand::List => admin::AdminAction::List,
            };
            print_out(&admin::run(&config, &action).await?);
            Ok(())
        }),
        // Handled above: they need no configuration.
        Command::Parse { .. }
        | Command::Mcp { .. }
        | Command::Roles
        | Command::Client(_)
        | Command::Import { .. }
        | Command::Export { .. }
        | Command::Completions { .. } => Ok(()),
        Command::Backup { file } => runtime()?.block_on(async {
            let config = secret::resolve(config).await?;
            print_out(&tickler_cli::backup::backup(&config, &file)?);
            Ok(())
        }),
        Command::Restore { file } => runtime()?.block_on(async {
            let config = secret::resolve(config).await?;
            print_out(&tickler_cli::backup::restore(&config, &file)?);
            Ok(())
        }),
        Command::Healthcheck { address, path } => {
            let address =
                address.unwrap_or_else(|| tickler_cli::healthcheck::local_address(config.listen));
            current_thread()?.block_on(tickler_cli::healthcheck::check(address, &path))
        }
        Command::Migrate => runtime()?.block_on(async {
            #[allow(clippy::print_stdout)]
            fn done() {
                println!("migrations applied");
            }
            let _telemetry = telemetry::init(&config.log, &config.tracing, &config.roles)?;
            let config = secret::resolve(config).await?;
            let store = storage::open(&config).await?;
            store.migrate().await?;
            store.close().await;
            done();
            Ok(())
        }),
    }
}

/// Prints what a command produced; a reader that went away (`| head`) is not an error.
fn print_out(text: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}

fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tickler")
        .build()?)
}
