//! Online backups of the database file into one self-contained file, and restoring one.
//!
//! `VACUUM INTO` copies the database as one read transaction sees it: every transaction
//! committed before the copy started, including those still in the write-ahead log (which a
//! copy of `tickler.db` alone would miss: the writer checkpoints the log in the background), and
//! nothing half-written. Readers and the writer carry on meanwhile (WAL mode). The copy is a
//! plain SQLite database with one more table, `tickler_backup`, holding the backup's time and
//! what else a restore needs: the signing key generated into the data directory, without which
//! tokens and sealed webhook secrets could not be read.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tickler_store::StoreError;

use crate::error::ResultExt;

/// The table of a backup file that holds what is not in the database itself.
const META_TABLE: &str = "tickler_backup";

/// What a backup carries besides the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// When the copy was taken (the database's clock, RFC 3339).
    pub taken_at: String,
    /// The signing key of the data directory, if it held one.
    pub secret: Option<String>,
}

/// Copies the database at `database` into a new file `target` while other connections keep
/// writing, with `secret` beside it. Fails if `target` exists.
pub fn backup(
    database: &Path,
    target: &Path,
    secret: Option<&str>,
) -> Result<BackupInfo, StoreError> {
    if target.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} already exists",
            target.display()
        )));
    }
    let source = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|error| {
        StoreError::Unavailable(format!("cannot open {}: {error}", database.display()))
    })?;
    source
        .busy_timeout(std::time::Duration::from_secs(30))
        .store()?;
    let target_name = target
        .to_str()
        .ok_or_else(|| StoreError::Internal(format!("{} is not a UTF-8 path", target.display())))?;
    source.execute("VACUUM INTO ?1", [target_name]).store()?;
    drop(source);
    let copy = Connection::open(target).store()?;
    let taken_at: String = copy
        .query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |row| {
            row.get(0)
        })
        .store()?;
    copy.execute_batch(&format!(
        "CREATE TABLE {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
    ))
    .store()?;
    let mut insert = copy
        .prepare(&format!(
            "INSERT INTO {META_TABLE} (key, value) VALUES (?1, ?2)"
        ))
        .store()?;
    insert.execute(["taken_at", taken_at.as_str()]).store()?;
    if let Some(secret) = secret {
        insert.execute(["jwt_secret", secret]).store()?;
    }
    drop(insert);
    check_and_close(copy, "the copy")?;
    sync_file(target)?;
    Ok(BackupInfo {
        taken_at,
        secret: secret.map(str::to_owned),
    })
}

/// Writes the database of the backup file `backup` to `database` (which must not exist) and
/// returns what the backup carried besides. The backup file is left as it was.
pub fn restore(backup: &Path, database: &Path) -> Result<BackupInfo, StoreError> {
    if database.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} already exists: restore into an empty data directory",
            database.display()
        )));
    }
    let partial = database.with_extension("restoring");
    let _ = std::fs::remove_file(&partial);
    std::fs::copy(backup, &partial).map_err(|error| {
        StoreError::Unavailable(format!("cannot copy {}: {error}", backup.display()))
    })?;
    let info = read_and_strip(&partial, backup);
    let info = match info {
        Ok(info) => info,
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
    };
    sync_file(&partial)?;
    std::fs::rename(&partial, database).map_err(|error| {
        StoreError::Unavailable(format!("cannot write {}: {error}", database.display()))
    })?;
    if let Some(parent) = database.parent() {
        sync_file(parent)?;
    }
    Ok(info)
}

/// Reads what the copy `partial` of the backup carries besides the database, then removes it
/// from the copy and checks the copy.
fn read_and_strip(partial: &Path, backup: &Path) -> Result<BackupInfo, StoreError> {
    let connection = Connection::open(partial).store()?;
    let read = |key: &str| -> Result<Option<String>, StoreError> {
        connection
            .query_row(
                &format!("SELECT value FROM {META_TABLE} WHERE key = ?1"),
                [key],
                |row| row.get(0),
            )
            .optional()
            .store()
    };
    let taken_at = read("taken_at").map_err(|_| {
        StoreError::Internal(format!("{} is not a tickler backup", backup.display()))
    })?;
    let info = BackupInfo {
        taken_at: taken_at.unwrap_or_default(),
        secret: read("jwt_secret")?,
    };
    connection
        .execute_batch(&format!("DROP TABLE {META_TABLE}"))
        .store()?;
    check_and_close(connection, "the backup")?;
    Ok(info)
}

/// Checks the database's structure (`PRAGMA quick_check`) and closes it.
fn check_and_close(connection: Connection, what: &str) -> Result<(), StoreError> {
    let check: String = connection
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .store()?;
    if check != "ok" {
        return Err(StoreError::Internal(format!("{what} is damaged: {check}")));
    }
    connection
        .close()
        .map_err(|(_, error)| StoreError::Internal(error.to_string()))
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    std::fs::File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|error| {
            StoreError::Unavailable(format!("cannot flush {}: {error}", path.display()))
        })
}
