//! `tickler serve`: opens and migrates the store, builds the application and serves HTTP until
//! SIGTERM or Ctrl-C, then drains in-flight requests and closes the store.

use secrecy::ExposeSecret;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tickler_api::mcp::McpSettings;
use tickler_api::{ApiExtensions, ApiSettings};
use tickler_app::auth::throttle::ThrottleSettings;
use tickler_app::notifications::{AllowList, NotificationSettings, VerificationSettings};
use tickler_app::{App, AppSettings, AuthSettings, DeadLetterReplayer, EventSettings, SystemClock};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Role};
use crate::{roles, secret, storage, telemetry};

/// Runs the server until a shutdown signal.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    // Held until the end: dropping it flushes the spans not exported yet.
    let telemetry = telemetry::init(&config.log, &config.tracing, &config.roles)?;
    let server = start(config).await?;
    announce(server.address);
    tokio::spawn(cancel_on_signal(server.shutdown.clone()));
    let finished = server.finished().await;
    tokio::task::spawn_blocking(move || drop(telemetry)).await?;
    finished
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The address of the separate metrics listener, if `metrics.listen` is set.
    pub metrics_address: Option<SocketAddr>,
    /// Cancel to shut it down gracefully.
    pub shutdown: CancellationToken,
    /// The store it uses (shared with tests that inspect it).
    pub store: storage::OpenStore,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Waits until the server has shut down (after [`RunningServer::shutdown`] is cancelled).
    pub async fn finished(self) -> anyhow::Result<()> {
        self.task.await.context("server task failed")?
    }

    /// Shuts down gracefully and waits.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.finished().await
    }
}

/// Opens and migrates the store, binds the listener and runs the configured roles in the
/// background.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    // Before the store opens: its pools take their metric handles from the recorder once.
    let metrics = tickler_api::install_recorder();
    let config = secret::resolve(config).await?;
    let store = storage::open(&config).await?;
    if config.database.migrate_on_start {
        store.migrate().await?;
    } else {
        wait_for_schema(&store).await?;
    }
    let secret = secret::load_or_generate(&config)?;
    let previous: Vec<Vec<u8>> = config
        .auth
        .previous_jwt_secrets
        .iter()
        .map(|previous| previous.expose_secret().as_bytes().to_vec())
        .collect();
    let mut app = App::with_rotated_secrets(
        store.as_store(),
        Arc::new(SystemClock),
        app_settings(&config)?,
        &secret,
        &previous,
    );
    if let Some(settings) = config.llm_settings() {
        // The model is reached over HTTPS as often as not: reqwest needs the crypto provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        tracing::info!(
            url = %crate::config::redacted_url(&settings.url),
            model = %settings.model,
            "chat falls back to a language model"
        );
        let model = tickler_llm::OpenAiChatModel::new(settings)
            .context("cannot set up the language model client")?;
        app = app.with_chat_model(Arc::new(model));
    }
    if let Some(sender) = roles::email_sender(&config)? {
        // Codes that verify e-mail channels go out from whichever process serves the API.
        app = app.with_verification_mailer(Arc::new(sender));
    }
    let app = Arc::new(app);
    let shutdown = CancellationToken::new();
    let workers = roles::build(&config, &app, &shutdown).await?;
    let metrics_address = config.metrics.address()?;
    let router = tickler_api::router(
        app,
        &ApiSettings {
            request_timeout: config.request_timeout(),
            serve_api: config.roles.has(Role::Api),
            mcp: McpSettings {
                allowed_hosts: config.mcp.allowed_hosts.clone(),
            },
            serve_metrics: metrics_address.is_none(),
            public_url: config.public_url(),
            trusted_proxies: config.server.trusted_proxies()?,
        },
        ApiExtensions {
            replayer: workers
                .replayer
                .map(|replayer| Arc::new(replayer) as Arc<dyn DeadLetterReplayer>),
            routes: with_web_app(&config, workers.routes),
            live: workers.live,
        },
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let mut tasks = workers.tasks;
    tasks.push((
        "http",
        Box::pin(async move { server.into_future().await.context("http server failed") }),
    ));
    let metrics_address = match metrics_address {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} (metrics.listen)"))?;
            let bound = listener.local_addr()?;
            let server = axum::serve(listener, tickler_api::metrics_router())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
            tasks.push((
                "metrics",
                Box::pin(
                    async move { server.into_future().await.context("metrics server failed") },
                ),
            ));
            tracing::info!(address = %bound, "metrics listening");
            Some(bound)
        }
        None => None,
    };
    tasks.push((
        "pool-metrics",
        Box::pin({
            let (store, shutdown) = (store.clone(), shutdown.clone());
            async move {
                store.record_pool_metrics(shutdown).await;
                Ok(())
            }
        }),
    ));
    tasks.push((
        "metrics-upkeep",
        Box::pin({
            let shutdown = shutdown.clone();
            async move {
                metrics.keep_up(shutdown).await;
                Ok(())
            }
        }),
    ));
    let grace = Duration::from_secs(config.http.shutdown_grace_seconds);
    let task = tokio::spawn(supervise(tasks, shutdown.clone(), grace, store.clone()));
    Ok(RunningServer {
        address,
        metrics_address,
        shutdown,
        store,
        task,
    })
}

/// Adds the web app's pages and assets to the routes served beside the API, when this process
/// serves the API and the web app is enabled.
fn with_web_app(config: &Config, routes: Option<axum::Router>) -> Option<axum::Router> {
    if !(config.web.enabled && config.roles.has(Role::Api)) {
        return routes;
    }
    let web = tickler_web::router();
    Some(match routes {
        Some(routes) => routes.merge(web),
        None => web,
    })
}

/// Waits until the schema has every migration this binary knows (another process, the
/// migration Job of the Helm chart, applies them), logging what it waits for.
async fn wait_for_schema(store: &storage::OpenStore) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let mut logged = false;
    loop {
        match store.as_store().check_ready().await {
            Ok(()) => {
                if logged {
                    tracing::info!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "the schema is migrated"
                    );
                }
                return Ok(());
            }
            Err(error) => {
                if !logged {
                    tracing::warn!(%error, "waiting for `tickler migrate` (database.migrate_on_start is false)");
                    logged = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Runs the roles until shutdown. A role that stops on its own (an error, or a bug) is logged
/// by name and stops the others, and the process exits non-zero; after shutdown, roles get
/// `grace` to finish before they are aborted. The store is closed last.
async fn supervise(
    tasks: Vec<roles::RoleTask>,
    shutdown: CancellationToken,
    grace: Duration,
    store: storage::OpenStore,
) -> anyhow::Result<()> {
    let mut running = tokio::task::JoinSet::new();
    for (name, task) in tasks {
        running.spawn(async move { (name, task.await) });
    }
    let mut failure: Option<anyhow::Error> = None;
    loop {
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { break };
                let (name, result) = match joined {
                    Ok(outcome) => outcome,
                    Err(error) => ("unknown", Err(anyhow::anyhow!("role task failed: {error}"))),
                };
                if shutdown.is_cancelled() {
                    if let Err(error) = result {
                        tracing::warn!(role = name, error = %format!("{error:#}"), "role failed while stopping");
                    }
                    continue;
                }
                let error = result.err().unwrap_or_else(|| anyhow::anyhow!("stopped unexpectedly"));
                tracing::error!(role = name, error = %format!("{error:#}"), "role stopped; shutting down");
                failure = Some(error.context(format!("role {name} stopped")));
                shutdown.cancel();
            }
            () = shutdown.cancelled(), if failure.is_none() => {
                // Give the roles the grace period, then abort what is left.
                if tokio::time::timeout(grace, async {
                    while running.join_next().await.is_some() {}
                })
                .await
                .is_err()
                {
                    tracing::warn!("roles did not stop within the grace period; aborting them");
                    running.abort_all();
                }
                break;
            }
        }
    }
    store.close().await;
    tracing::info!("stopped");
    failure.map_or(Ok(()), Err)
}

#[allow(clippy::print_stdout)] // the one line a person starting the server reads
fn announce(address: SocketAddr) {
    println!("tickler listening on http://{address}");
    tracing::info!(%address, "listening");
}

fn app_settings(config: &Config) -> anyhow::Result<AppSettings> {
    let notifier = &config.notifier;
    Ok(AppSettings {
        auth: AuthSettings {
            registration: config.auth.registration,
            access_token_ttl: Duration::from_secs(config.auth.access_token_ttl_seconds),
            refresh_token_ttl: Duration::from_secs(config.auth.refresh_token_ttl_seconds),
            refresh_reuse_grace: Duration::from_secs(config.auth.refresh_reuse_grace_seconds),
            user_cache_ttl: Duration::from_secs(5),
            throttle: ThrottleSettings {
                failures_per_account: config.auth.login_failures_per_account,
                attempts_per_address: config.auth.login_attempts_per_address,
                registrations_per_network: config.auth.registrations_per_network,
                ..ThrottleSettings::default()
            },
            password_hash_concurrency: config.auth.password_hash_concurrency,
            password_hash_queue_wait: Duration::from_millis(config.auth.password_hash_queue_ms),
            admin_user_ids: config.auth.admin_user_ids()?,
        },
        events: EventSettings {
            source: config.events.source.clone(),
        },
        notifications: NotificationSettings {
            webhook_allow_hosts: AllowList::parse(&notifier.webhook_allow_hosts)
                .map_err(|error| anyhow::anyhow!("notifier.webhook_allow_hosts: {error}"))?,
            max_channels_per_user: notifier.max_channels_per_user,
            secret_rotation_overlap: Duration::from_secs(
                notifier.secret_rotation_overlap_hours * 3600,
            ),
            verification: VerificationSettings {
                code_ttl: notifier.verification_code_ttl()?,
                max_failures: notifier.verification_max_failures,
                per_user: notifier.verification_mails_per_user,
                user_window: Duration::from_secs(3600),
                per_address: notifier.verification_mails_per_address,
                address_window: Duration::from_secs(24 * 3600),
            },
        },
    })
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
