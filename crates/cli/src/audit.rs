//! `tickler audit verify`: checks every user's audit hash chain (or one user's) straight from
//! the server's database, resolved as `tickler serve` resolves it.

use std::fmt::Write as _;

use anyhow::{Context as _, anyhow};
use tickler_domain::{Email, UserId};
use tickler_store::{Store, audit_chain};

use crate::config::Config;
use crate::storage;

/// Verifies the chains; `Ok` with a summary when every chain holds, an error naming the first
/// broken link (user, row, expected and found) when one does not.
pub async fn verify(config: &Config, user: Option<&str>) -> anyhow::Result<String> {
    let store = storage::open(config).await?;
    let shared = store.as_store();
    let result = verify_store(shared.as_ref(), user).await;
    store.close().await;
    result
}

async fn verify_store(store: &dyn Store, user: Option<&str>) -> anyhow::Result<String> {
    store
        .check_ready()
        .await
        .context("the database is not ready (run `tickler migrate` first)")?;
    let owners = match user {
        Some(user) => vec![resolve_user(store, user).await?],
        None => store.audit_owners().await?,
    };
    let mut out = String::new();
    let mut rows = 0;
    for owner in &owners {
        match audit_chain::verify(store, *owner).await? {
            Ok(summary) => {
                rows += summary.chained_rows + summary.unchained_rows;
                write!(out, "user {owner}: {} chained row(s)", summary.chained_rows)?;
                if summary.unchained_rows > 0 {
                    write!(out, ", {} from before the chain", summary.unchained_rows)?;
                }
                match &summary.head {
                    Some(head) => writeln!(out, ", head {head}")?,
                    None => writeln!(out, ", no chain yet")?,
                }
            }
            Err(broken) => return Err(anyhow!("audit chain broken: {broken}")),
        }
    }
    writeln!(
        out,
        "audit trail intact: {} user(s), {rows} row(s)",
        owners.len()
    )?;
    Ok(out)
}

/// Reads `--user`: a user id, or an account's e-mail address.
async fn resolve_user(store: &dyn Store, user: &str) -> anyhow::Result<UserId> {
    if let Ok(id) = user.parse::<UserId>() {
        return Ok(id);
    }
    let email = Email::parse(user)
        .map_err(|_| anyhow!("--user {user}: neither a user id nor an e-mail address"))?;
    let credentials = store
        .find_credentials(&email)
        .await?
        .ok_or_else(|| anyhow!("--user {user}: no such account"))?;
    Ok(credentials.user.id)
}
