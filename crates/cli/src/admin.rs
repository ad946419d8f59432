//! `tickler admin`: who may use the operator routes, granted and revoked on the server's
//! database (the same configuration and storage `tickler serve` resolves), never by
//! registering an address.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Context as _;
use tickler_app::audit::{AccountChange, account_change};
use tickler_app::{Clock, Origin, SystemClock};
use tickler_domain::{Email, EventId, User};
use tickler_store::{AuditOf, Store, StoreError};

use crate::config::Config;
use crate::storage;

/// What `tickler admin` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminAction {
    /// Gives the account with this e-mail operator rights.
    Grant(String),
    /// Takes them away.
    Revoke(String),
    /// Lists the operators.
    List,
}

/// Runs an admin action on the configured store; returns what to print.
pub async fn run(config: &Config, action: &AdminAction) -> anyhow::Result<String> {
    let store = storage::open(config).await?;
    let result = run_on(store.as_store().as_ref(), config, action).await;
    store.close().await;
    result
}

async fn run_on(
    store: &dyn Store,
    config: &Config,
    action: &AdminAction,
) -> anyhow::Result<String> {
    store.check_ready().await.context(
        "the database is not ready for this build (run `tickler migrate`, or start the server once)",
    )?;
    match action {
        AdminAction::Grant(email) => set(store, email, true).await,
        AdminAction::Revoke(email) => set(store, email, false).await,
        AdminAction::List => list(store, config).await,
    }
}

async fn set(store: &dyn Store, raw: &str, operator: bool) -> anyhow::Result<String> {
    let email = Email::parse(raw).map_err(|error| anyhow::anyhow!("{raw:?}: {}", error.message))?;
    // The change is security-relevant: it goes into the account's audit trail (and its hash
    // chain) like every other account change, with origin `system`, in the change's own
    // transaction.
    let change = AccountChange::new(
        EventId::from_uuid(uuid::Uuid::now_v7()),
        if operator {
            account_change::OPERATOR_GRANTED
        } else {
            account_change::OPERATOR_REVOKED
        },
        Origin::System,
        None,
        SystemClock.now(),
    );
    let audit: AuditOf<User> = Arc::new(move |user: &User| {
        vec![change.record(user.id, None, serde_json::json!({ "by": "tickler admin" }))]
    });
    let user = match store.set_operator(&email, operator, audit).await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            anyhow::bail!("no account has the e-mail address {}", email.as_str())
        }
        Err(error) => return Err(error).context("failed to change operator rights"),
    };
    tracing::info!(user_id = %user.id, operator, "operator rights changed");
    let verb = if operator {
        "granted to"
    } else {
        "revoked from"
    };
    Ok(format!(
        "operator rights {verb} {} ({}); running servers apply this within seconds\n",
        user.email.as_str(),
        user.id
    ))
}

async fn list(store: &dyn Store, config: &Config) -> anyhow::Result<String> {
    let operators = store
        .list_operators()
        .await
        .context("failed to list operators")?;
    let mut out = String::new();
    writeln!(out, "id\temail\tgranted by")?;
    for user in &operators {
        writeln!(
            out,
            "{}\t{}\ttickler admin grant",
            user.id,
            user.email.as_str()
        )?;
    }
    let mut by_id = 0;
    for id in config.auth.admin_user_ids()? {
        if operators.iter().any(|user| user.id == id) {
            continue;
        }
        by_id += 1;
        let email = match store.get_user(id).await {
            Ok(User { email, .. }) => email.as_str().to_owned(),
            Err(StoreError::NotFound) => "(no such account)".to_owned(),
            Err(error) => return Err(error).context("failed to read an operator"),
        };
        writeln!(out, "{id}\t{email}\tauth.admin_user_ids")?;
    }
    writeln!(out, "{} operator(s)", operators.len() + by_id)?;
    Ok(out)
}
