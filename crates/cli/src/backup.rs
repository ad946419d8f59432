//! `tickler backup FILE` and `tickler restore FILE`: an online snapshot of the embedded
//! database (with the signing key generated into the data directory) while the server keeps
//! writing, and its restoration into an empty data directory. PostgreSQL is backed up with its
//! own tools (`pg_dump`; docs/operations.md).

use std::path::Path;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::secret::{self, SECRET_FILE};
use crate::storage::SQLITE_FILE;

/// Writes a backup of the data directory's database to `target` (a new file, readable by its
/// owner only: it holds the signing key) and returns a line saying what it holds.
pub fn backup(config: &Config, target: &Path) -> anyhow::Result<String> {
    refuse_postgres(config)?;
    let database = config.data_dir.join(SQLITE_FILE);
    if !database.is_file() {
        bail!("there is no database at {}", database.display());
    }
    if target.exists() {
        bail!("{} already exists; give a new file", target.display());
    }
    let generated = secret::generated(config)?;
    let info = tickler_store_sqlite::backup::backup(&database, target, generated.as_deref())
        .with_context(|| format!("cannot back up {}", database.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", target.display()))?;
    }
    let key = if info.secret.is_some() {
        "with the signing key of the data directory"
    } else {
        "without a signing key: the server's key is configured (auth.jwt_secret); keep it with the backup"
    };
    Ok(format!(
        "backed up {} as of {} to {} ({key})\n",
        database.display(),
        info.taken_at,
        target.display()
    ))
}

/// Restores the backup `source` into the data directory, which must hold no database and no
/// signing key, and returns a line saying what was restored.
pub fn restore(config: &Config, source: &Path) -> anyhow::Result<String> {
    refuse_postgres(config)?;
    if !source.is_file() {
        bail!("there is no backup at {}", source.display());
    }
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    let database = config.data_dir.join(SQLITE_FILE);
    let key = config.data_dir.join(SECRET_FILE);
    for existing in [&database, &key] {
        if existing.exists() {
            bail!(
                "{} exists: restore into an empty data directory (--data-dir)",
                existing.display()
            );
        }
    }
    let info = tickler_store_sqlite::backup::restore(source, &database)
        .with_context(|| format!("cannot restore {}", source.display()))?;
    if let Some(secret) = &info.secret {
        secret::write_new(&key, secret)?;
    }
    Ok(format!(
        "restored the backup of {} into {}{}\n",
        info.taken_at,
        config.data_dir.display(),
        if info.secret.is_some() {
            " with its signing key"
        } else {
            "; configure the server's signing key (auth.jwt_secret) as it was"
        }
    ))
}

fn refuse_postgres(config: &Config) -> anyhow::Result<()> {
    if config.uses_postgres() {
        bail!(
            "this configuration uses PostgreSQL: back it up with pg_dump and restore with \
             pg_restore (docs/operations.md); `tickler backup` copies the embedded database"
        );
    }
    Ok(())
}
