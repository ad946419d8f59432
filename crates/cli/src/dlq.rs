//! `tickler dlq`: the operator's view of dead letters, straight from the database.

use std::fmt::Write as _;
use std::sync::Arc;

use tickler_app::{App, AppSettings, Clock, SystemClock};
use tickler_store::DeadLetterQuery;
use tickler_workers::replay::Replayer;

use crate::config::Config;
use crate::{roles, storage};

/// Lists dead letters as a table.
pub async fn list(
    config: &Config,
    consumer: Option<String>,
    include_replayed: bool,
    limit: u32,
) -> anyhow::Result<String> {
    let store = storage::open(config).await?;
    let letters = store
        .as_store()
        .list_dead_letters(&DeadLetterQuery {
            consumer,
            include_replayed,
            limit: limit.clamp(1, 10_000),
        })
        .await;
    store.close().await;
    let letters = letters?;
    let mut out = String::new();
    writeln!(
        out,
        "id\tconsumer\tevent type\tattempts\tfailed at\treplayed at\terror"
    )?;
    for letter in &letters {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            letter.id,
            letter.consumer,
            letter.event_type.as_deref().unwrap_or("?"),
            letter.attempts,
            letter.failed_at.to_rfc3339(),
            letter
                .replayed_at
                .map(|at| at.to_rfc3339())
                .unwrap_or_else(|| "-".to_owned()),
            letter.error.replace(['\n', '\t'], " "),
        )?;
    }
    writeln!(out, "{} dead letter(s)", letters.len())?;
    Ok(out)
}

/// Replays one dead letter with its consumer.
pub async fn replay(config: &Config, id: &str) -> anyhow::Result<String> {
    let store = storage::open(config).await?;
    let shared = store.as_store();
    // The processors need an application for its outbox signal; nothing here signs tokens.
    let app = App::new(
        shared.clone(),
        Arc::new(SystemClock),
        AppSettings::default(),
        &[0; 32],
    );
    let replayer = Replayer::new(roles::processors(
        config,
        roles::all_consumers(&app),
        &shared,
        &app,
    ));
    let result =
        tickler_app::audit::replay_dead_letter(shared.as_ref(), id, &replayer, SystemClock.now())
            .await;
    store.close().await;
    let letter = result.map_err(|error| anyhow::anyhow!("{}", error.public_message()))?;
    Ok(format!("replayed {} ({})\n", letter.id, letter.consumer))
}
